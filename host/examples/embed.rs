//! Embedding the host in a plugin system: a Rust program that hosts two
//! tenants on one listener, each with its own limits, and adds, replaces
//! and removes tenants while serving — with the same `Router` and
//! `Tenant` that `host serve --config` builds from a manifest — or serves
//! a manifest's apps and reloads them when its files change, as `host
//! serve --config` does (`Deployment`).
//!
//!     cargo run -p host --example embed -- examples/hello.wasm examples/environ-echo.wasm
//!
//! It serves the first component at `/a` and the second at `/b` on a free
//! port of 127.0.0.1, prints `listening on ADDR`, then reads commands,
//! one per line, from standard input:
//!
//! - `swap`: tenant `b` now runs the first component (requests in flight
//!   finish on the old one);
//! - `remove a`: tenant `a` is gone (its path gets 404);
//! - `add c PATH ROUTE`: a new tenant `c` serves PATH at ROUTE;
//! - `manifest PATH`: the apps of the manifest at PATH replace the
//!   tenants, and are reloaded whenever the manifest or one of its
//!   components changes (a reload that fails keeps the apps serving and
//!   logs why on standard error).
//!
//! Each command answers `ok` (or `error: ...`) on standard output.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use host::component::{AppOptions, EngineOptions, load_component, new_engine};
use host::gateway::deployment::Deployment;
use host::simple_server::{ServerConfig, server_handler_config};
use host::{ErrorStream, Mount, Router, Tenant, WSGIServer};

fn tenant(
    engine: &wasmtime::Engine,
    name: &str,
    path: &Path,
    route: &str,
) -> Result<Tenant, String> {
    // Each tenant has limits of its own.
    let options = AppOptions {
        max_memory: 64 << 20,
        cpu_limit: Some(Duration::from_secs(2)),
        max_concurrency: 50,
        limits_set_by: Arc::from(format!("tenant {name:?}")),
        ..AppOptions::default()
    };
    let app = load_component(engine, path, options).map_err(|e| e.to_string())?;
    let mut tenant = Tenant::new(name, Mount::new::<&str>(route, &[])?, app);
    tenant.timeout = Some(Duration::from_secs(10));
    tenant.max_body_size = Some(1 << 20);
    Ok(tenant)
}

/// Serves the manifest at `path` on `server` from now on, reloading it
/// when its files change.
fn deploy(server: &Arc<WSGIServer>, path: &Path) -> Result<(), String> {
    let deployment = Deployment::new(
        path,
        AppOptions::default(),
        server_handler_config(),
        EngineOptions::default(),
    );
    let deployed = deployment.load().map_err(|e| e.to_string())?;
    server.set_router(deployed.router);
    Arc::new(deployment).watch(vec![server.clone()], deployed.files, ErrorStream::stderr());
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [first, second] = <[String; 2]>::try_from(args)
        .map_err(|_| "usage: embed FIRST.wasm SECOND.wasm".to_string())?;
    let engine = new_engine().map_err(|e| e.to_string())?;
    let router = Router::new(vec![
        tenant(&engine, "a", Path::new(&first), "/a")?,
        tenant(&engine, "b", Path::new(&second), "/b")?,
    ])?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let handle = runtime.handle().clone();
    runtime.block_on(async move {
        let server = WSGIServer::bind_router("127.0.0.1", 0, router, ServerConfig::default())
            .map_err(|e| e.to_string())?;
        let server = Arc::new(server);
        println!("listening on {}", server.server_address());
        let serving = server.clone();
        tokio::spawn(async move { serving.serve_forever().await });
        let commands = tokio::task::spawn_blocking(move || {
            // The reload's watch runs on the server's runtime.
            let _runtime = handle.enter();
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let ["manifest", path] = words[..] {
                    match deploy(&server, Path::new(path)) {
                        Ok(()) => println!("ok"),
                        Err(e) => println!("error: {e}"),
                    }
                    continue;
                }
                // Every change builds a new router from the current one
                // and swaps it in atomically.
                let current = server.router();
                let next = match words[..] {
                    ["swap"] => {
                        tenant(&engine, "b", Path::new(&first), "/b").and_then(|t| current.with(t))
                    }
                    ["remove", name] => current.without(name).ok_or(format!("no tenant {name}")),
                    ["add", name, path, route] => {
                        tenant(&engine, name, Path::new(path), route).and_then(|t| current.with(t))
                    }
                    _ => Err(format!("unknown command {line:?}")),
                };
                match next {
                    Ok(router) => {
                        server.set_router(router);
                        println!("ok");
                    }
                    Err(e) => println!("error: {e}"),
                }
            }
        });
        commands.await.map_err(|e| e.to_string())
    })
}
