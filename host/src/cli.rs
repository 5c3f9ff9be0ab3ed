//! Command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use host::Application;
use host::component::{self, AppOptions, LoadError, Preopen, WasmApp};
use host::simple_server::{ServerConfig, WSGIServer};
use host::validate::validator;

/// The demo app (`examples/demo`, wsgiref's `demo_app`), built by build.rs.
const DEMO_APP: &[u8] = include_bytes!(concat!(env!("WASGI_EXAMPLES_DIR"), "/demo.wasm"));

#[derive(Parser)]
#[command(
    name = "host",
    version,
    about = "Serve WSGI (PEP 3333) apps compiled to WebAssembly components: Python's wsgiref, rebuilt for wasm",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an app over HTTP, like `python -m wsgiref.simple_server`
    ///
    /// Every request runs in a fresh instance of the component. Without an
    /// app file the built-in demo app is served: it answers "Hello world!"
    /// and lists the request's environ.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// The app: a wasm component exporting wasgi:wsgi/application (built
    /// with the wasgi guest SDK for wasm32-wasip2). Default: the demo app
    #[arg(value_name = "APP.wasm")]
    app: Option<PathBuf>,

    /// Address to listen on (use 0.0.0.0 for every interface)
    #[arg(long, default_value = "127.0.0.1")]
    host: String,

    /// Port to listen on (0 picks a free one)
    #[arg(long, short, default_value_t = 8000)]
    port: u16,

    /// Worker threads (default: one per CPU)
    #[arg(long)]
    workers: Option<usize>,

    /// Let the app read files under HOST_PATH, seen by the guest at
    /// GUEST_PATH (default: the same path). Read-only; repeatable. Nothing
    /// else of the host filesystem is visible
    #[arg(long = "dir", value_name = "HOST_PATH[::GUEST_PATH]")]
    dirs: Vec<String>,

    /// Like --dir, but the app may also create, change and delete files there
    #[arg(long = "dir-rw", value_name = "HOST_PATH[::GUEST_PATH]")]
    dirs_rw: Vec<String>,

    /// Do not offer wsgi.file_wrapper: apps stream files through the guest
    #[arg(long)]
    no_file_wrapper: bool,

    /// Send file bodies in the wrapper's block size instead of large blocks
    #[arg(long)]
    no_sendfile: bool,

    /// Check every request and response against PEP 3333 (wsgiref.validate):
    /// violations are logged as `wsgi validator: ...` and answered with the
    /// error page (or a cut connection once the headers are out)
    #[arg(long)]
    validate: bool,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn load(
    engine: &wasmtime::Engine,
    app: Option<&PathBuf>,
    options: AppOptions,
) -> Result<WasmApp, LoadError> {
    match app {
        Some(path) => component::load_component(engine, path, options),
        None => component::load_component_bytes(
            engine,
            DEMO_APP,
            "the built-in demo app",
            "demo.wasm",
            options,
        ),
    }
}

/// The `--dir` and `--dir-rw` directories, each checked to exist.
fn preopens(args: &ServeArgs) -> Result<Vec<Preopen>, String> {
    let ro = args.dirs.iter().map(|d| Preopen::parse(d, false));
    let rw = args.dirs_rw.iter().map(|d| Preopen::parse(d, true));
    ro.chain(rw)
        .map(|p| {
            if p.host.is_dir() {
                Ok(p)
            } else {
                Err(format!("--dir {}: not a directory", p.host.display()))
            }
        })
        .collect()
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = args.workers {
        runtime.worker_threads(workers.max(1));
    }
    let runtime = match runtime.build() {
        Ok(rt) => rt,
        Err(e) => return fail(1, format!("cannot start the runtime: {e}")),
    };
    let engine = match component::new_engine() {
        Ok(engine) => engine,
        Err(e) => return fail(1, format!("cannot create the wasm engine: {e:#}")),
    };
    let mut config = ServerConfig::default();
    config.handler.wsgi_file_wrapper = !args.no_file_wrapper;
    config.handler.sendfile = !args.no_sendfile;
    let dirs = match preopens(&args) {
        Ok(dirs) => dirs,
        Err(e) => return fail(2, e),
    };
    let options = AppOptions {
        log: config.log.clone(),
        dirs,
    };
    let app = match load(&engine, args.app.as_ref(), options) {
        Ok(app) => app,
        Err(e) => return fail(2, e),
    };
    runtime.block_on(async move {
        let app: Arc<dyn Application> = if args.validate {
            Arc::new(validator(app))
        } else {
            Arc::new(app)
        };
        let server = match WSGIServer::bind(&args.host, args.port, app, config) {
            Ok(server) => Arc::new(server),
            Err(e) => {
                return fail(
                    1,
                    format!("cannot listen on {}:{}: {e}", args.host, args.port),
                );
            }
        };
        let addr = server.server_address();
        let what = match &args.app {
            Some(path) => path.display().to_string(),
            None => "the demo app".to_string(),
        };
        println!(
            "Serving {what} on {} port {} (http://{addr}/) ...",
            addr.ip(),
            addr.port()
        );
        let stopper = server.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("Shutting down: finishing requests in flight (Ctrl-C again to quit now)");
            stopper.shutdown();
            shutdown_signal().await;
            std::process::exit(130);
        });
        match server.serve_forever().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(1, e),
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
