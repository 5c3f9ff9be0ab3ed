//! Outbound TCP (`wasi:sockets`) to the places the operator allows:
//! `tcp://HOST:PORT` entries of `allow_outbound` (`--allow-outbound`), as
//! Spin's `allowed_outbound_hosts` has them, where `wasmtime serve` has only
//! all or nothing (`-S inherit-network`).
//!
//! A guest may connect to an allowed host and port, at most
//! [`MAX_CONNECTS`] times per instance, and look up only the allowed
//! names (WASIp2's and WASIp3's `ip-name-lookup` are the host's, filtered
//! here). It may
//! not bind a port of its own or listen, and has no UDP. A denied connect,
//! bind or lookup fails at once, with one log line naming the address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::component::{Accessor, HasData, Linker, Resource};
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, HostResolveAddressStream, IpAddress, Network,
};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode};
use wasmtime_wasi::p3::bindings::sockets::ip_name_lookup as p3_lookup;
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSockets, WasiSocketsCtxView, WasiSocketsView};

use super::outbound::OutboundPolicy;
use super::{Capability, InstanceBuilder};
use crate::component::{AppOptions, CurrentRequest, RequestCtx};
use crate::streams::{ErrorStream, Event};
use wasgi::ExcInfo;

/// The most TCP connections one instance may open, over its life.
pub const MAX_CONNECTS: usize = 64;

/// TCP connections to allowed destinations.
pub(crate) struct OutboundTcp;

impl Capability for OutboundTcp {
    fn name(&self) -> &'static str {
        "outbound TCP"
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        // The name lookup WASI linked, replaced by one that first asks the
        // policy.
        linker.allow_shadowing(true);
        let linked = ip_name_lookup::add_to_linker::<_, HasLookup>(linker, lookup).and_then(|()| {
            match super::concurrent(linker) {
                true => p3_lookup::add_to_linker::<_, HasLookup>(linker, lookup),
                false => Ok(()),
            }
        });
        linker.allow_shadowing(false);
        linked
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        let policy = app
            .capabilities
            .get::<OutboundPolicy>()
            .cloned()
            .unwrap_or_default();
        let allowed: Arc<Vec<(String, u16)>> = Arc::new(policy.tcp().to_vec());
        let (log, request) = (app.log.clone(), instance.request.clone());
        let connects = Arc::new(AtomicUsize::new(0));
        instance
            .wasi
            .allow_tcp(true)
            .allow_udp(false)
            .allow_ip_name_lookup(!allowed.is_empty())
            .socket_addr_check(move |addr, usage| {
                let (allowed, log, request) = (allowed.clone(), log.clone(), request.clone());
                let connects = connects.clone();
                Box::pin(async move {
                    let why = match usage {
                        // The implicit bind of a connect: any port of the host's.
                        SocketAddrUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => {
                            return true;
                        }
                        SocketAddrUse::TcpConnect => {
                            if !permitted(&allowed, addr).await {
                                format!("tcp {addr} is not allowed; see --allow-outbound tcp://HOST:PORT")
                            } else if connects.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTS {
                                format!("tcp {addr}: the instance made {MAX_CONNECTS} connections, the most it may")
                            } else {
                                return true;
                            }
                        }
                        SocketAddrUse::TcpBind | SocketAddrUse::TcpListen => {
                            format!("binding or listening on {addr}: a guest does not accept connections")
                        }
                        _ => format!("udp {addr}: a guest has no UDP"),
                    };
                    denied(&log, &request, &why);
                    false
                })
            });
        Ok(())
    }
}

fn denied(log: &ErrorStream, request: &CurrentRequest, why: &str) {
    log.with_request(request.get()).event(
        Event::OutboundDenied,
        &format!("outbound connection denied: {why}\n"),
    );
}

/// Whether `addr` is an allowed host's, on its port.
async fn permitted(allowed: &[(String, u16)], addr: SocketAddr) -> bool {
    for (host, port) in allowed.iter().filter(|(_, p)| *p == addr.port()) {
        let matches = match host.parse::<IpAddr>() {
            Ok(ip) => ip == addr.ip(),
            Err(_) => match tokio::net::lookup_host((host.as_str(), *port)).await {
                Ok(mut ips) => ips.any(|a| a.ip() == addr.ip()),
                Err(_) => false,
            },
        };
        if matches {
            return true;
        }
    }
    false
}

/// The name lookup of a request's store, with its app's policy.
pub(crate) struct Lookup<'a> {
    pub(crate) sockets: WasiSocketsCtxView<'a>,
    pub(crate) policy: Option<&'a OutboundPolicy>,
    pub(crate) log: &'a ErrorStream,
    pub(crate) request: &'a CurrentRequest,
}

/// What the name lookup of `ctx`'s instance sees: its sockets context,
/// the app's outbound policy and its log.
fn lookup(ctx: &mut RequestCtx) -> Lookup<'_> {
    Lookup {
        sockets: WasiSocketsCtxView {
            ctx: ctx.wasi.sockets(),
            table: &mut ctx.table,
        },
        policy: ctx.capabilities.get(),
        log: &ctx.log,
        request: &ctx.request,
    }
}

struct HasLookup;

impl HasData for HasLookup {
    type Data<'a> = Lookup<'a>;
}

impl Lookup<'_> {
    /// Whether `name` may be looked up (an address literal, or the host of
    /// a `tcp://` entry); if not, logs the refusal.
    fn may_look_up(&self, name: &str) -> bool {
        let allowed = self.policy.map_or(&[][..], |p| p.tcp());
        let literal = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>();
        if literal.is_err()
            && !allowed
                .iter()
                .any(|(host, _)| host.eq_ignore_ascii_case(name))
        {
            let why =
                format!("looking up {name:?}: only the hosts of tcp:// entries may be looked up");
            denied(self.log, self.request, &why);
            return false;
        }
        true
    }
}

impl ip_name_lookup::Host for Lookup<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ip_name_lookup::ResolveAddressStream>, SocketError> {
        if !self.may_look_up(&name) {
            return Err(ErrorCode::PermanentResolverFailure.into());
        }
        ip_name_lookup::Host::resolve_addresses(&mut self.sockets, network, name)
    }
}

impl p3_lookup::Host for Lookup<'_> {}

/// WASIp3's lookup: the same check, then WASI's own.
impl p3_lookup::HostWithStore<RequestCtx> for HasLookup {
    async fn resolve_addresses(
        store: &Accessor<RequestCtx, Self>,
        name: String,
    ) -> wasmtime::Result<Result<Vec<p3_lookup::IpAddress>, p3_lookup::ErrorCode>> {
        if !store.with(|mut view| view.get().may_look_up(&name)) {
            return Ok(Err(p3_lookup::ErrorCode::PermanentResolverFailure));
        }
        let wasi = store.with_getter::<WasiSockets>(<RequestCtx as WasiSocketsView>::sockets);
        <WasiSockets as p3_lookup::HostWithStore<RequestCtx>>::resolve_addresses(&wasi, name).await
    }
}

impl network::Host for Lookup<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network::Host::convert_error_code(&mut self.sockets, error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.sockets.network_error_code(err)
    }
}

impl network::HostNetwork for Lookup<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.sockets, this)
    }
}

impl HostResolveAddressStream for Lookup<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ip_name_lookup::ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        self.sockets.resolve_next_address(stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<ip_name_lookup::ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<ip_name_lookup::Pollable>> {
        self.sockets.subscribe(stream)
    }

    fn drop(
        &mut self,
        stream: Resource<ip_name_lookup::ResolveAddressStream>,
    ) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.sockets, stream)
    }
}
