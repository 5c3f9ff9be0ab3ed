//! Serving tenants on listeners until a signal: what `host serve` runs
//! once its flags are read, and what an embedder can run too.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::manifest::ListenerSpec;
use super::tls::tls_config_named;
use crate::router::Router;
use crate::simple_server::{ServerConfig, WSGIServer};

/// Where a server listens, and its TLS settings.
pub struct Listen {
    /// The address to bind (`127.0.0.1`, `::`, a name).
    pub host: String,
    /// The port (0: a free one).
    pub port: u16,
    /// Serve HTTPS with these settings.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// `HOST:PORT` (`[::1]:8000` for IPv6) as the host to bind, brackets
/// off, and the port; `None` if it is not that. The one place an address
/// is split, for `--listen` and a manifest's `[[listener]]`.
pub fn split_host_port(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_matches(['[', ']']);
    (!host.is_empty()).then(|| (host.to_string(), port))
}

impl Listen {
    /// A manifest's `[[listener]]`s, their certificates loaded; an error
    /// names the manifest and the listener.
    pub fn from_manifest(
        listeners: &[ListenerSpec],
        manifest: &Path,
    ) -> Result<Vec<Listen>, String> {
        listeners
            .iter()
            .map(|l| {
                let tls = match &l.tls {
                    Some((cert, key)) => {
                        let named = tls_config_named(cert, key, ["tls_cert", "tls_key"]);
                        Some(named.map_err(|e| {
                            let (file, line) = (manifest.display(), l.line);
                            format!("{file}, line {line}: listener {}: {e}", l.address)
                        })?)
                    }
                    None => None,
                };
                Ok(Listen {
                    host: l.host.clone(),
                    port: l.port,
                    tls,
                })
            })
            .collect()
    }
}

/// What runs once the servers are bound, before they serve (a
/// deployment's reload watch).
pub type OnStart = Box<dyn FnOnce(Vec<Arc<WSGIServer>>) + Send>;

/// Tenants to serve, and how.
pub struct Serve {
    /// Where to listen: one server per address, the same tenants on all.
    pub listen: Vec<Listen>,
    /// The tenants.
    pub router: Router,
    /// The servers' settings (TLS is each listener's).
    pub config: ServerConfig,
    /// Where the admin endpoints listen (with `config.metrics`).
    pub admin: Option<SocketAddr>,
    /// What is served, for the `Serving ...` lines.
    pub what: String,
    /// Runs once the servers are bound.
    pub on_start: Option<OnStart>,
}

/// Why serving stopped short: what to say, and the exit status.
pub type ServeError = super::Failure;

/// Binds every listener and the admin endpoints, prints a `Serving ...`
/// line for each listener on stdout, and serves until SIGINT or SIGTERM:
/// then stops accepting and drains (`config.drain_timeout`); a second
/// signal exits the process at once (130). Returns once every server has
/// drained.
pub async fn serve(serve: Serve) -> Result<(), ServeError> {
    let Serve {
        listen,
        router,
        config,
        admin,
        what,
        on_start,
    } = serve;
    let fail = |message: String| ServeError {
        exit_code: 1,
        message,
    };
    let metrics = config.metrics.clone();
    let log = config.log.clone();
    let mut servers = Vec::new();
    for l in &listen {
        let config = ServerConfig {
            tls: l.tls.clone(),
            ..config.clone()
        };
        let server = WSGIServer::bind_router(&l.host, l.port, router.clone(), config)
            .map_err(|e| fail(format!("cannot listen on {}:{}: {e}", l.host, l.port)))?;
        servers.push(Arc::new(server));
    }
    let Some(first) = servers.first().cloned() else {
        return Err(fail("nowhere to listen".into()));
    };
    if let (Some(addr), Some(metrics)) = (admin, metrics) {
        let listener = super::metrics::bind_admin(addr)
            .map_err(|e| fail(format!("cannot listen on {addr} (--admin): {e}")))?;
        if let Ok(addr) = listener.local_addr() {
            log.event(
                crate::streams::Event::Admin,
                &format!("Admin endpoints on http://{addr}/ (healthz, readyz, metrics)\n"),
            );
        }
        tokio::spawn(super::metrics::serve_admin(
            listener,
            metrics,
            first.draining(),
        ));
    }
    // Before the server says it serves: a change made, or a signal sent,
    // right after that is seen.
    let mut signals = Signals::new();
    if let Some(on_start) = on_start {
        on_start(servers.clone());
    }
    for (server, l) in servers.iter().zip(&listen) {
        let addr = server.server_address();
        let scheme = if l.tls.is_some() { "https" } else { "http" };
        // A closed stdout (`host serve | head -1`) must not stop the server.
        let _ = writeln!(
            std::io::stdout(),
            "Serving {what} on {} port {} ({scheme}://{addr}/) ...",
            addr.ip(),
            addr.port()
        );
    }
    let stoppers = servers.clone();
    let drain = first.drain_timeout();
    tokio::spawn(async move {
        let signal = signals.next().await;
        let again = match signal {
            "SIGINT" => "Ctrl-C",
            other => other,
        };
        if drain.is_zero() {
            log.event(crate::streams::Event::Shutdown, &format!(
                "Shutting down on {signal}: requests in flight are cut now (--drain-timeout 0)\n"
            ));
        } else {
            log.event(crate::streams::Event::Shutdown, &format!(
                "Shutting down on {signal}: finishing requests in flight for up to {} s (--drain-timeout; {again} again to quit now)\n",
                drain.as_secs_f64()
            ));
        }
        log.flush();
        for s in &stoppers {
            s.shutdown();
        }
        signals.next().await;
        std::process::exit(130);
    });
    let mut serving = tokio::task::JoinSet::new();
    for server in servers {
        serving.spawn(async move { server.serve_forever().await });
    }
    while let Some(done) = serving.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(fail(e.to_string())),
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    Ok(())
}

/// SIGINT and SIGTERM, caught from the moment this is made.
struct Signals {
    #[cfg(unix)]
    caught: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let caught = signal(SignalKind::interrupt())
                .ok()
                .zip(signal(SignalKind::terminate()).ok());
            Signals { caught }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next SIGINT or SIGTERM, named.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.caught {
            return tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// `1 app`, `5 apps`.
pub fn apps(n: usize) -> String {
    match n {
        1 => "1 app".to_string(),
        n => format!("{n} apps"),
    }
}

/// Gives memory the host's allocator holds but no longer uses back to the
/// system, every few seconds, for as long as the process lives: after a
/// burst (a guest's 100,000 headers, a flood of log lines) glibc's malloc
/// would otherwise keep it.
pub fn trim_heap_periodically() {
    let _ = std::thread::Builder::new()
        .name("wasgi-trim".into())
        .spawn(|| {
            loop {
                std::thread::sleep(Duration::from_secs(2));
                crate::component::trim_heap();
            }
        });
}
