//! Outbound HTTP (`wasi:http`, 0.2 and 0.3): the interfaces in the linker,
//! and requests denied unless the operator allows the destination
//! (`--allow-outbound HOST[:PORT]`, `allow_outbound` in a manifest). The
//! same list's `tcp://HOST:PORT` entries are [`super::sockets`]'.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::{RequestOptions, WasiHttpHooks};

use wasmtime::component::Linker;

use clap::{Arg, ArgAction, ArgMatches};

use super::{Capability, CapabilitySettings, InstanceBuilder, KeyError, ManifestKey};
use crate::component::{AppOptions, CurrentRequest, RequestCtx};
use crate::streams::ErrorStream;
use wasgi::ExcInfo;

/// `wasi:http` for guests, with the outbound policy of their app.
pub(crate) struct OutboundHttp;

impl Capability for OutboundHttp {
    fn name(&self) -> &'static str {
        "outbound HTTP"
    }

    fn provides(&self) -> &'static [&'static str] {
        &["wasi:http"]
    }

    fn keys(&self) -> &'static [&'static str] {
        &["allow_outbound"]
    }

    fn read_key(
        &self,
        key: &ManifestKey<'_>,
        settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        let allowed: Vec<String> = key.parse()?;
        settings.set(OutboundPolicy::allow(&allowed).map_err(|e| key.error(None, e))?);
        Ok(())
    }

    fn flags(&self) -> Vec<Arg> {
        vec![
            Arg::new("allow_outbound")
                .long("allow-outbound")
                .value_name("HOST[:PORT]")
                .action(ArgAction::Append)
                .help(
                    "Let the app make HTTP requests (wasi:http/outgoing-handler) to HOST, on \
                     any port or only PORT; `*` allows any host. tcp://HOST:PORT lets it open \
                     TCP connections (wasi:sockets) to HOST on PORT instead. Repeatable. \
                     Without it every outbound request or connection fails, with a log line",
                ),
        ]
    }

    fn read_flags(
        &self,
        flags: &ArgMatches,
        settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        if let Some(allowed) = flags.get_many::<String>("allow_outbound") {
            let allowed: Vec<&String> = allowed.collect();
            let policy =
                OutboundPolicy::allow(&allowed).map_err(|e| format!("--allow-outbound {e}"))?;
            settings.set(policy);
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
        if !super::concurrent(linker) {
            return Ok(());
        }
        wasmtime_wasi_http::p3::add_to_linker(linker)
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        let policy = app.capabilities.get::<OutboundPolicy>().cloned();
        instance.hooks = Some(OutboundHooks::new(
            policy.unwrap_or_default(),
            app.log.clone(),
            instance.request.clone(),
        ));
        Ok(())
    }
}

/// Where a guest may send HTTP requests, and open TCP connections (the
/// `tcp://HOST:PORT` entries, [`super::sockets`]). Empty (the default):
/// nowhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed: Arc<Vec<Destination>>,
    tcp: Arc<Vec<(String, u16)>>,
}

/// One allowed destination: a host (or `*`) and optionally a port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Destination {
    /// Lower-case host name or IP address (IPv6 without brackets); `*`: any.
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

/// An `--allow-outbound` (or `allow_outbound`) value that is not
/// `HOST[:PORT]` or `*`; the message names the value, the caller the flag
/// or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDestination(String);

impl fmt::Display for BadDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: expected HOST, HOST:PORT, [IPV6]:PORT or * (any host) for HTTP, or tcp://HOST:PORT for a TCP connection",
            self.0
        )
    }
}

impl std::error::Error for BadDestination {}

impl OutboundPolicy {
    /// Allows each of `specs`: `HOST`, `HOST:PORT`, `[IPV6]:PORT`, `*`,
    /// `*:PORT`.
    pub fn allow<S: AsRef<str>>(specs: &[S]) -> Result<Self, BadDestination> {
        let (mut allowed, mut tcp) = (Vec::new(), Vec::new());
        for spec in specs.iter().map(AsRef::as_ref) {
            match spec.strip_prefix("tcp://") {
                Some(rest) => {
                    // A host and a port, nothing wider: no `*`, no port range.
                    let d =
                        Destination::parse(rest).map_err(|_| BadDestination(spec.to_string()))?;
                    match (d.host.as_str(), d.port) {
                        ("*", _) | (_, None) => return Err(BadDestination(spec.to_string())),
                        (host, Some(port)) => tcp.push((host.to_string(), port)),
                    }
                }
                None => allowed.push(Destination::parse(spec)?),
            }
        }
        Ok(OutboundPolicy {
            allowed: Arc::new(allowed),
            tcp: Arc::new(tcp),
        })
    }

    /// The `tcp://HOST:PORT` entries: where TCP connections may go.
    pub fn tcp(&self) -> &[(String, u16)] {
        &self.tcp
    }

    /// Whether a request to `host:port` may go out.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed.iter().any(|d| {
            (d.host == "*" || d.host.eq_ignore_ascii_case(host)) && d.port.is_none_or(|p| p == port)
        })
    }
}

impl Destination {
    fn parse(spec: &str) -> Result<Self, BadDestination> {
        let bad = || BadDestination(spec.to_string());
        let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else if spec.matches(':').count() > 1 {
            (spec, None) // a bare IPv6 address
        } else {
            match spec.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (spec, None),
            }
        };
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .transpose()?;
        let valid = host == "*"
            || (!host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b)));
        if !valid {
            return Err(bad());
        }
        Ok(Destination {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// The `wasi:http` hooks of a request's store: outbound requests go through
/// the policy, denied ones fail with `HttpRequestDenied` and one log line.
pub(crate) struct OutboundHooks {
    policy: OutboundPolicy,
    log: ErrorStream,
    /// The request the instance serves, named in the refusal's line.
    request: CurrentRequest,
}

impl OutboundHooks {
    pub(crate) fn new(policy: OutboundPolicy, log: ErrorStream, request: CurrentRequest) -> Self {
        OutboundHooks {
            policy,
            log,
            request,
        }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let uri = request.uri();
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if !self.policy.allows(&host, port) {
            let log = self.log.with_request(self.request.get());
            log.event(crate::streams::Event::OutboundDenied, &format!(
                "outbound request denied: {} {} ({host}:{port} is not allowed; see --allow-outbound)\n",
                request.method(),
                uri
            ));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::OutboundPolicy;

    #[test]
    fn destinations_match_host_and_port() {
        let policy =
            OutboundPolicy::allow(&["api.example.com", "127.0.0.1:8080", "[::1]:9000"]).unwrap();
        assert!(policy.allows("API.example.com", 443));
        assert!(policy.allows("127.0.0.1", 8080));
        assert!(!policy.allows("127.0.0.1", 8081));
        assert!(policy.allows("[::1]", 9000));
        assert!(!policy.allows("example.com", 80));
        assert!(OutboundPolicy::default().allows("a", 1).eq(&false));
        assert!(OutboundPolicy::allow(&["*"]).unwrap().allows("anything", 1));
        assert!(OutboundPolicy::allow(&["*:80"]).unwrap().allows("x", 80));
        for bad in ["", "a:b", "a b", "[::1", "host:70000", "a/b"] {
            assert!(OutboundPolicy::allow(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn tcp_entries_name_one_host_and_port_and_allow_no_http() {
        let policy =
            OutboundPolicy::allow(&["tcp://DB.internal:5432", "tcp://[::1]:6379"]).unwrap();
        let tcp: Vec<(&str, u16)> = policy.tcp().iter().map(|(h, p)| (h.as_str(), *p)).collect();
        assert_eq!(tcp, [("db.internal", 5432), ("::1", 6379)]);
        assert!(!policy.allows("db.internal", 5432));
        for bad in ["tcp://db", "tcp://*:5432", "tcp://", "tcp://db:x"] {
            let e = OutboundPolicy::allow(&[bad]).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
