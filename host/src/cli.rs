//! Command-line interface: `host serve`, `host cgi`, `host new`,
//! `host build-python` and the others.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use host::ErrorStream;
use host::capability::{self, CapabilitySettings};
use host::component::{self, AppOptions, EngineOptions, MemoryBudget, Reuse};
use host::gateway::deployment::{Deployed, Deployment};
use host::gateway::json_log::JsonLog;
use host::gateway::serving::{self, Listen, OnStart, Serve};
use host::gateway::tenant_builder::{Source, TenantBuilder, TenantError};
use host::handlers::{BaseHandler, CGIHandler, IISCGIHandler};
use host::simple_server::ServerConfig;
use host::units::parse_size;

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
    /// APP is a wasgi app (exports wasgi:wsgi/application) or a standard
    /// wasi:http/proxy component (exports wasi:http/incoming-handler, as
    /// `wasmtime serve` and Spin run). Every request runs in a fresh instance
    /// of the component. Without an app file the built-in demo app is
    /// served: it answers "Hello world!" and lists the request's environ.
    Serve(Box<ServeArgs>),
    /// Run an app as a CGI script (wsgiref's CGIHandler)
    ///
    /// Reads the request from the CGI environment and stdin, writes the
    /// response (with a `Status:` header) to stdout, logs to stderr. APP may
    /// be a component or a script: a `#!` line followed by the component,
    /// e.g. `(echo '#!/usr/bin/env -S host cgi'; cat app.wasm) > app.cgi`.
    Cgi(CgiArgs),
    /// Create a new app: a guest crate that builds and serves as is
    ///
    /// Writes NAME/ with Cargo.toml (depending on the wasgi guest SDK),
    /// .cargo/config.toml (builds for wasm32-wasip2), rust-toolchain.toml and
    /// src/lib.rs: a small form-handling app (a form, a multipart upload, a
    /// cookie). Then: `cd NAME && cargo build --release` and serve the
    /// component it names.
    New(NewArgs),
    /// Compile a Python WSGI app into a component (with componentize-py)
    ///
    /// TARGET is MODULE:CALLABLE, as gunicorn takes it (CALLABLE defaults to
    /// `application`): any WSGI callable, a bottle or a Flask app. The module
    /// and its pure-Python dependencies are looked up on the --path
    /// directories; --requirements installs more into the component,
    /// resolved for the guest's CPython 3.14. The app is imported at build
    /// time (in the environment --env and the project's .env give it) and
    /// the component starts from that snapshot. The --path directories (less hidden, .gitignore'd and
    /// .wasgiignore'd files), the dependencies, the standard library and
    /// the time zones are packed into the component and mounted read-only
    /// at run time where the code expects them (templates, static files,
    /// lazy imports); the first --path is the working directory. The
    /// first build installs componentize-py 0.25.1 and uv 0.13.9 into the
    /// tools cache (~/.cache/wasgi/tools, or $WASGI_TOOLS_DIR) with pip.
    ///
    /// Errors in the app (a missing module or callable, a syntax error, a
    /// dependency that needs native code) are one message naming the file
    /// and line, with exit status 2.
    #[command(name = "build-python")]
    BuildPython(BuildPythonArgs),
    /// Run a command inside a Python app's component: manage.py migrate
    ///
    /// Runs ARGV (after `--`) as `python ARGV...` would in the app's
    /// directory, in the component's own CPython 3.14, with the files it
    /// carries and the directories, environment, state and outbound access
    /// the flags grant, as `serve` would give them: `host run-python
    /// app.wasm --dir-rw var -- manage.py migrate`, or a console script of
    /// the app's packages (`-- flask db upgrade`). The environment is
    /// --env over what the build's import had (its --env, .env and
    /// .flaskenv). stdin, stdout and stderr are the terminal's; the exit
    /// status is the command's.
    #[command(name = "run-python")]
    RunPython(crate::run_python::RunPythonArgs),
    /// Pack directories into a component, for it to carry its own files
    ///
    /// Writes OUTPUT: APP with each --dir packed in (a `wasgi-files`
    /// custom section, which other runtimes ignore). `serve` unpacks them
    /// once into ~/.cache/wasgi/files ($WASGI_FILES_DIR) and mounts them
    /// read-only at their guest paths, as if given with `--dir`: a static
    /// site, templates or data deploy as one file.
    Pack(PackArgs),
    /// Check a manifest without serving it
    ///
    /// Reads wasgi.toml as `serve --config` would: unknown keys, bad
    /// values, missing files and directories and overlapping mounts are
    /// errors naming the line and the key (exit status 2). Then compiles
    /// every component (filling the compile cache) and lists the apps.
    Check(CheckArgs),
    /// Look inside a key-value store: list its keys, get, set or delete one
    ///
    /// Opens the store a guest of the app sees, as `serve` would: the
    /// app's `default` or a store the manifest declares, in SQLite or
    /// Redis, with its quotas. E.g. `host kv get --config wasgi.toml --app
    /// shop default visits`, or `host kv list default` for the single app
    /// of `host serve APP.wasm`.
    Kv(crate::kv_command::KvArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// The manifest
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    #[command(flatten)]
    app_args: AppArgs,
}

#[derive(Args)]
struct PackArgs {
    /// The component
    app: PathBuf,

    /// The component to write
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// A directory to pack, seen by the guest at GUEST_PATH (default: /
    /// followed by its name as given); repeatable. Hidden, .gitignore'd
    /// and .wasgiignore'd files are left out
    #[arg(long = "dir", value_name = "HOST_PATH[::GUEST_PATH]", required = true)]
    dirs: Vec<String>,
}

#[derive(Args)]
struct BuildPythonArgs {
    /// The WSGI callable: MODULE:CALLABLE, e.g. app:application or
    /// myproject.wsgi:app; MODULE:FACTORY() calls an application factory
    /// (flaskr:create_app())
    target: String,

    /// The component to write
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// A directory holding the module and its dependencies (repeatable;
    /// default: the current directory)
    #[arg(short, long = "path", value_name = "DIR")]
    paths: Vec<PathBuf>,

    /// The dependencies to install into the component, resolved for the
    /// guest's Python: a requirements file or a pyproject.toml (default:
    /// the first --path directory's requirements.txt, else its
    /// pyproject.toml's [project] dependencies)
    #[arg(short, long, value_name = "FILE")]
    requirements: Option<PathBuf>,

    /// An environment variable for the app's import at build time
    /// (repeatable; over the first --path's .env and .flaskenv): what the
    /// import reads of it is baked into the snapshot
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,

    /// A request to serve through the app before the snapshot is taken
    /// (repeatable): a path (/catalog/, for Host: localhost) or an
    /// absolute URL (https://example.com/). What the first requests do
    /// (URL resolution, templates, ORM setup) is then in the snapshot;
    /// nothing is written meanwhile (SQLite opens read-only, the host's
    /// stores refuse). Default: the first --path's pyproject.toml
    /// [tool.wasgi] warm
    #[arg(long = "warm", value_name = "URL")]
    warm: Vec<String>,

    /// Build though PACKAGE, a requirement, does not import without the
    /// native code a component cannot run, or has no wheel for the guest's
    /// Python (then it is left out), for an app that never imports it
    /// (repeatable). Without it either is an error naming the package
    #[arg(long = "allow-missing-native", value_name = "PACKAGE")]
    allow_missing_native: Vec<String>,
}

#[derive(Args)]
struct NewArgs {
    /// The app's name (a cargo package name)
    name: String,

    /// Directory to create (default: ./NAME)
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,

    /// The wasgi guest SDK to depend on (default: the one this binary was
    /// built from)
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// The app: a wasm component exporting wasgi:wsgi/application (built
    /// with the wasgi guest SDK) or wasi:http/incoming-handler 0.2 (any
    /// wasi:http/proxy component). Default: the demo app
    #[arg(value_name = "APP.wasm")]
    app: Option<PathBuf>,

    /// Serve the apps of a manifest instead of one app: each mounted at its
    /// route (which becomes SCRIPT_NAME) and optionally on virtual hosts,
    /// with its own files, environment and limits (see examples/wasgi.toml).
    /// The app flags below give every app the defaults it does not set.
    /// When the manifest or a component changes, or on SIGHUP, the apps are
    /// reloaded in the background and swapped in; if that fails, the old
    /// ones keep serving and the log says why
    #[arg(long, value_name = "FILE", conflicts_with = "app")]
    config: Option<PathBuf>,

    /// Also listen on ADDR (e.g. 127.0.0.1:9000) for the admin endpoints:
    /// /healthz, /readyz (503 once draining after SIGTERM) and /metrics
    /// (Prometheus: requests by app and status class, latency, requests in
    /// flight, guests stopped by a limit or a trap, reloads)
    /// (`--admin 9000` is 127.0.0.1:9000)
    #[arg(long, value_name = "ADDR", value_parser = parse_admin)]
    admin: Option<std::net::SocketAddr>,

    /// Serve HTTPS with this certificate chain (PEM; with --tls-key): HTTP/2
    /// or HTTP/1.1 as the client's ALPN chooses, and HTTPS=on in every
    /// environ, so wsgi.url_scheme is 'https'
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// The access log's format: wsgiref (wsgiref's lines) or json (one
    /// object per line, naming the app, for log pipelines)
    #[arg(long, value_name = "FORMAT", default_value = "wsgiref",
          value_parser = ["wsgiref", "json"])]
    log_format: String,

    /// Address to listen on (use 0.0.0.0 for every interface)
    #[arg(long, default_value = "127.0.0.1", value_parser = parse_host)]
    host: String,

    /// Port to listen on (0 picks a free one)
    #[arg(long, short, default_value_t = 8000)]
    port: u16,

    /// Where to listen, HOST:PORT (as `spin up --listen` and `wasmtime
    /// serve --addr` take it), instead of --host and --port
    #[arg(long, visible_alias = "addr", value_name = "HOST:PORT",
          conflicts_with_all = ["host", "port"], value_parser = parse_listen)]
    listen: Option<(String, u16)>,

    /// Worker threads (default: one per CPU)
    #[arg(long)]
    workers: Option<usize>,

    /// Share the port with other `host serve` processes (SO_REUSEPORT): the
    /// kernel spreads new connections across them, and one can stop (it
    /// drains its requests) while the others go on serving
    #[arg(long)]
    reuse_port: bool,

    #[command(flatten)]
    app_args: AppArgs,

    /// Do not offer wsgi.file_wrapper: apps stream files through the guest
    #[arg(long)]
    no_file_wrapper: bool,

    /// Send file bodies in the wrapper's block size instead of large blocks
    #[arg(long)]
    no_sendfile: bool,

    /// Let one instance serve up to N requests instead of a fresh instance
    /// per request. Faster, above all for apps with a costly start
    /// (CPython), but less isolated: the app's memory and globals carry
    /// over between the requests an instance serves. An instance that traps
    /// is never reused; wsgi.multiprocess is then true. Default: 1 (fresh),
    /// but 128 for a WASIp3 component, as under `wasmtime serve` and Spin
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    reuse: Option<u32>,

    /// How many requests one WASIp3 instance serves at once, its guest
    /// taking the next while it waits on the others (default 16). wasgi and
    /// wasi:http 0.2 components take one request at a time
    #[arg(long, value_name = "M",
          value_parser = clap::value_parser!(u32).range(1..))]
    reuse_concurrency: Option<u32>,

    /// How long a reused WASIp3 instance with no request open is kept for
    /// the next one, in seconds (default 1); then it is dropped, with
    /// whatever its own tasks still do
    #[arg(long, value_name = "SECONDS")]
    idle_instance_timeout: Option<f64>,

    /// The largest request body accepted, in bytes (0: no limit). A larger
    /// Content-Length gets 413 without running the app; a chunked body that
    /// grows larger fails the app's read of wsgi.input
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    max_body_size: usize,

    /// How long a request may take, in seconds, from its head to the end
    /// of its response (0: no limit). Past it the app is stopped: 504 if no
    /// header was sent, else a cut connection, and a TimeoutError in the log
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    timeout: f64,

    /// How long a client may take to send a request's headers, in seconds;
    /// slower connections are closed (slowloris)
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    header_timeout: f64,

    /// After Ctrl-C or SIGTERM, how long requests in flight may take to
    /// finish, in seconds; the rest are then cut and the server exits 0
    /// (0: they are cut at once)
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    drain_timeout: f64,
}

/// `--host`: a host, not `HOST:PORT` (that is `--listen`'s).
fn parse_host(host: &str) -> Result<String, String> {
    let ipv6 = host.parse::<std::net::Ipv6Addr>().is_ok();
    match host.rsplit_once(':') {
        Some((name, port)) if !ipv6 && port.parse::<u16>().is_ok() => Err(format!(
            "{host:?} has a port: use --listen {host} (or --host {name} --port {port})"
        )),
        _ => Ok(host.to_string()),
    }
}

/// `--listen HOST:PORT` (`[::1]:8000` for IPv6).
fn parse_listen(addr: &str) -> Result<(String, u16), String> {
    serving::split_host_port(addr).ok_or_else(|| match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_err() => {
            format!("{addr:?}: {port:?} is not a port")
        }
        _ => format!("{addr:?}: expected HOST:PORT, e.g. 127.0.0.1:8000"),
    })
}

/// `--admin`: `HOST:PORT`, or a port on 127.0.0.1.
fn parse_admin(addr: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = addr.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    addr.parse()
        .map_err(|_| format!("{addr:?}: expected HOST:PORT (127.0.0.1:9000) or a port"))
}

/// `seconds` as a duration; `None` for 0 (no limit).
fn seconds(flag: &str, seconds: f64) -> Result<Option<Duration>, String> {
    host::units::parse_seconds(seconds).map_err(|e| format!("{flag} {e}"))
}

#[derive(Args)]
struct CgiArgs {
    /// The app: a wasgi component, or a `#!` script line followed by one
    #[arg(value_name = "APP.wasm")]
    app: PathBuf,

    /// Run as IISCGIHandler: remove SCRIPT_NAME from the front of PATH_INFO,
    /// for IIS without allowPathInfo
    #[arg(long)]
    iis: bool,

    #[command(flatten)]
    app_args: AppArgs,
}

/// What `serve` and `cgi` share.
#[derive(Args)]
struct AppArgs {
    /// What the capabilities' own flags (`--dir`, `--env`,
    /// `--allow-outbound`, ...) set, read after parsing.
    #[arg(skip)]
    capabilities: CapabilitySettings,

    /// Check every request and response against PEP 3333 (wsgiref.validate):
    /// violations are logged as `wsgi validator: ...` and answered with the
    /// error page (or a cut connection once the headers are out)
    #[arg(long)]
    validate: bool,

    /// Where compiled components are cached, a directory of its own (other
    /// files there are deleted); compiled functions, which components that
    /// share code share, go in DIR-functions beside it [default:
    /// $WASGI_CACHE_DIR, $XDG_CACHE_HOME/wasgi/compiled or
    /// ~/.cache/wasgi/compiled]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Compile the component every time instead of caching it
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,

    /// How many requests may run in instances of the app at once; more
    /// wait for a free one (up to --max-queue)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_concurrency: usize,

    /// How many requests may wait for a free instance; beyond them a
    /// request gets 503 with Retry-After at once
    #[arg(long, value_name = "N", default_value_t = component::DEFAULT_MAX_QUEUE)]
    max_queue: usize,

    /// CPU time a request may use in the guest, in seconds (0: no limit).
    /// Waiting for the client does not count. A guest over its limit is
    /// stopped and logged as a TimeoutError; the request gets the error page
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    cpu_limit: f64,

    /// The most memory one instance of the app may use (e.g. 256MiB, 1G,
    /// or bytes). A guest that grows past it is stopped and logged as a
    /// MemoryError naming the limit; the request gets the error page
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    max_memory: usize,

    /// The memory all guests together may use (default: half the
    /// machine's memory). A guest growing past it is stopped like one past
    /// --max-memory; new requests wait for room, and get 503 when none
    /// comes within 10 s
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_budget: Option<usize>,
}

impl AppArgs {
    /// An engine whose pool holds this app's instances.
    fn engine(&self, pooling: bool) -> Result<wasmtime::Engine, String> {
        let options = self
            .engine_options(pooling)
            .sized(self.max_memory, self.max_concurrency);
        component::new_engine_with(&options)
            .map_err(|e| format!("cannot create the wasm engine: {e:#}"))
    }

    /// The engine's options but the pool's size.
    fn engine_options(&self, pooling: bool) -> EngineOptions {
        EngineOptions {
            pooling,
            cache_dir: component::chosen_cache_dir(self.cache_dir.as_ref(), self.no_cache),
            ..EngineOptions::default()
        }
    }

    /// What the component may see and use.
    fn app_options(&self, log: ErrorStream) -> Result<AppOptions, String> {
        let cpu_limit = seconds("--cpu-limit", self.cpu_limit)?;
        let max_concurrency = component::max_concurrency(self.max_concurrency)
            .map_err(|e| format!("--max-concurrency 0: {e}"))?;
        Ok(AppOptions {
            log,
            capabilities: self.capabilities.clone(),
            cpu_limit,
            max_concurrency,
            max_queue: self.max_queue,
            max_memory: self.max_memory,
            memory_budget: MemoryBudget::new(
                self.memory_budget
                    .unwrap_or_else(component::default_memory_budget),
            ),
            reuse: Reuse::default(),
            limits_set_by: Arc::from(""),
            instantiated: None,
            usage: None,
        })
    }
}

/// A single app's tenant error, as `--validate` and the file name say it.
fn tenant_error(e: TenantError, file: &str) -> String {
    match e {
        TenantError::Validate(e) => {
            format!("--validate {}", e.replace("this is", &format!("{file} is")))
        }
        e => e.to_string(),
    }
}

pub fn main() -> ExitCode {
    // The capabilities' flags go on every command that runs an app.
    let mut command = Cli::command();
    for name in ["serve", "cgi", "check", "run-python"] {
        command = command.mut_subcommand(name, capability::with_flags);
    }
    let matches = command.get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let app_args = match &mut cli.command {
        Command::Serve(args) => Some(&mut args.app_args),
        Command::Cgi(args) => Some(&mut args.app_args),
        Command::Check(args) => Some(&mut args.app_args),
        Command::RunPython(args) => {
            if let Some((_, flags)) = matches.subcommand() {
                match capability::read_flags(flags) {
                    Ok(capabilities) => args.capabilities = capabilities,
                    Err(e) => return fail(2, e),
                }
            }
            None
        }
        Command::New(_) | Command::BuildPython(_) | Command::Pack(_) | Command::Kv(_) => None,
    };
    if let (Some(app_args), Some((_, flags))) = (app_args, matches.subcommand()) {
        match capability::read_flags(flags) {
            Ok(capabilities) => app_args.capabilities = capabilities,
            Err(e) => return fail(2, e),
        }
    }
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Cgi(args) => cgi(args),
        Command::New(args) => new(args),
        Command::BuildPython(args) => build_python(args),
        Command::RunPython(args) => crate::run_python::run(args),
        Command::Pack(args) => pack(args),
        Command::Check(args) => check(args),
        Command::Kv(args) => crate::kv_command::run(args),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let base = match args.app_args.app_options(ErrorStream::stderr()) {
        Ok(base) => base,
        Err(e) => return fail(2, e),
    };
    let handler = host::simple_server::server_handler_config();
    let deployment = Deployment::new(
        &args.config,
        base,
        handler,
        args.app_args.engine_options(true),
    )
    .validate_all(args.app_args.validate);
    match deployment.load() {
        Ok(Deployed {
            router,
            compiled,
            limits,
            stores,
            listeners,
            ..
        }) => {
            for line in compiled {
                eprintln!("{line}");
            }
            // What serve would load, check loads: the certificates too.
            if let Err(e) = Listen::from_manifest(&listeners, &args.config) {
                return fail(2, e);
            }
            let apps = host::gateway::serving::apps(router.tenants().len());
            println!("{}: {apps}", args.config.display());
            for t in router.tenants() {
                let kind = t.service.kind();
                let hosts = match t.mount.hosts() {
                    [] => "any host".to_string(),
                    hosts => hosts.join(", "),
                };
                println!(
                    "  {:<16} {:<20} {:<24} {kind}",
                    t.name,
                    t.mount.route(),
                    hosts
                );
            }
            println!("limits:");
            for line in limits {
                println!("  {line}");
            }
            println!("key-value stores:");
            for line in stores {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.exit_code, e),
    }
}

fn build_python(args: BuildPythonArgs) -> ExitCode {
    use crate::build_python::{BuildPython, build_python};
    let build = BuildPython {
        target: args.target,
        output: args.output,
        paths: args.paths,
        requirements: args.requirements,
        env: args.env,
        warm: args.warm,
        allow_missing_native: args.allow_missing_native,
    };
    match build_python(&build) {
        Ok(built) => {
            for line in &built.notes {
                eprintln!("{line}");
            }
            for file in &built.left_out {
                eprintln!(
                    "note: left out {file}: native code cannot run in wasm (its package imported without it)"
                );
            }
            eprintln!(
                "Built {} ({:.1} MB, with {} files of {:.1} MB for run time) from {}, for CPython {}, in {:.1} s",
                build.output.display(),
                built.size as f64 / 1e6,
                built.files.0,
                built.files.1 as f64 / 1e6,
                build.target,
                crate::build_python::GUEST_PYTHON,
                built.seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.exit_code(), e),
    }
}

fn new(args: NewArgs) -> ExitCode {
    let dir = args.path.unwrap_or_else(|| PathBuf::from(&args.name));
    match crate::scaffold::new_app(&args.name, &dir, args.sdk.as_deref()) {
        Ok(component) => {
            let bin = std::env::args().next().map(PathBuf::from);
            let bin = bin
                .as_deref()
                .and_then(|b| b.file_name())
                .map_or("host".into(), |b| b.to_string_lossy());
            println!("Created app `{}` in {}", args.name, dir.display());
            println!();
            println!("    cd {}", dir.display());
            println!("    cargo build --release");
            println!(
                "    {bin} serve {}",
                component.strip_prefix(&dir).unwrap_or(&component).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(2, e),
    }
}

fn pack(args: PackArgs) -> ExitCode {
    use host::capability::packaged::archive::{Mount, Packer, Walk, append_section, find_section};
    let mut component = match std::fs::read(&args.app) {
        Ok(bytes) => bytes,
        Err(e) => return fail(2, format!("cannot read {}: {e}", args.app.display())),
    };
    if let Err(e) = host::component::check_component(&component, &args.app.display().to_string()) {
        return fail(2, e);
    }
    if find_section(&component).is_some() {
        return fail(
            2,
            format!("{} already carries packed files", args.app.display()),
        );
    }
    let packed = (|| -> Result<(Vec<u8>, u64, u64), String> {
        let mut packer = Packer::new().map_err(|e| e.to_string())?;
        for spec in &args.dirs {
            let (host_dir, guest) = match spec.split_once("::") {
                Some((h, g)) => (h, g.to_string()),
                None => {
                    let name = spec.trim_start_matches("./").trim_matches('/');
                    (spec.as_str(), format!("/{name}"))
                }
            };
            if !std::path::Path::new(host_dir).is_dir() {
                return Err(format!("--dir {host_dir}: no such directory"));
            }
            let mount = Mount {
                guest,
                source: None,
            };
            let walk = Walk::Project {
                except: args.output.clone(),
            };
            packer
                .add(mount, std::path::Path::new(host_dir), walk)
                .map_err(|e| format!("--dir {spec}: {e} (the guest path must be absolute)"))?;
        }
        let counted = (packer.files, packer.bytes);
        let payload = packer.finish().map_err(|e| e.to_string())?;
        Ok((payload, counted.0, counted.1))
    })();
    let (payload, files, bytes) = match packed {
        Ok(p) => p,
        Err(e) => return fail(2, e),
    };
    append_section(&mut component, &payload);
    if let Err(e) = std::fs::write(&args.output, &component) {
        return fail(1, format!("cannot write {}: {e}", args.output.display()));
    }
    eprintln!(
        "Packed {files} files ({:.1} MB, {:.1} MB compressed) into {}",
        bytes as f64 / 1e6,
        payload.len() as f64 / 1e6,
        args.output.display()
    );
    ExitCode::SUCCESS
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn serve(args: ServeArgs) -> ExitCode {
    serving::trim_heap_periodically();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = args.workers {
        if workers == 0 {
            return fail(2, "--workers 0: at least one worker thread is needed");
        }
        runtime.worker_threads(workers);
        component::set_heavy_lanes(workers);
    }
    let runtime = match runtime.build() {
        Ok(rt) => rt,
        Err(e) => return fail(1, format!("cannot start the runtime: {e}")),
    };
    let mut config = ServerConfig::default();
    config.handler.wsgi_file_wrapper = !args.no_file_wrapper;
    config.handler.sendfile = !args.no_sendfile;
    config.reuse_port = args.reuse_port;
    config.metrics = args.admin.map(|_| Arc::new(host::metrics::Metrics::new()));
    if args.log_format == "json" {
        config.log_format = host::simple_server::LogFormat::Json;
        config.log = ErrorStream::new(Arc::new(JsonLog::new(ErrorStream::stderr())));
    }
    let (host, port) = (args.listen.clone()).unwrap_or_else(|| (args.host.clone(), args.port));
    let mut listen = vec![Listen {
        host,
        port,
        tls: None,
    }];
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        match host::simple_server::tls_config(cert, key) {
            Ok(tls) => listen[0].tls = Some(tls),
            Err(e) => return fail(2, e),
        }
    }
    config.max_body_size = (args.max_body_size > 0).then_some(args.max_body_size as u64);
    let limits = seconds("--timeout", args.timeout).and_then(|timeout| {
        let drain = seconds("--drain-timeout", args.drain_timeout)?;
        let header = seconds("--header-timeout", args.header_timeout)?;
        Ok((timeout, drain.unwrap_or(Duration::ZERO), header))
    });
    match limits {
        Ok((timeout, drain, header)) => {
            config.timeout = timeout;
            config.drain_timeout = drain;
            config.header_read_timeout = header.unwrap_or(Duration::from_secs(30));
        }
        Err(e) => return fail(2, e),
    }
    let idle = match args
        .idle_instance_timeout
        .map(|s| seconds("--idle-instance-timeout", s))
    {
        Some(Ok(None)) => return fail(2, "--idle-instance-timeout: more than 0 seconds"),
        Some(Err(e)) => return fail(2, e),
        Some(Ok(idle)) => idle,
        None => None,
    };
    let reuse = Reuse {
        requests: args.reuse,
        concurrency: args.reuse_concurrency,
        idle,
    };
    let options = match args.app_args.app_options(config.log.clone()) {
        Ok(options) => AppOptions { reuse, ..options },
        Err(e) => return fail(2, e),
    };
    // Requests run in several instances, each serving many of them: as
    // with worker processes (PEP 3333).
    config.handler.wsgi_multiprocess = host::manifest::multiprocess(reuse.requests());
    if let Some(path) = &args.config {
        let engine = args.app_args.engine_options(true);
        let deployment = Deployment::new(path, options, config.handler.clone(), engine)
            .validate_all(args.app_args.validate)
            .with_metrics(config.metrics.clone());
        let Deployed {
            router,
            compiled,
            files,
            listeners,
            ..
        } = match deployment.load() {
            Ok(deployed) => deployed,
            Err(e) => return fail(e.exit_code, e),
        };
        // The manifest's listeners replace --host and --port.
        if !listeners.is_empty() {
            listen = match Listen::from_manifest(&listeners, path) {
                Ok(listen) => listen,
                Err(e) => return fail(2, e),
            };
        }
        for line in compiled {
            config
                .log
                .event(host::streams::Event::Compiled, &format!("{line}\n"));
        }
        let apps = serving::apps(router.tenants().len());
        let what = format!("{apps} from {}", path.display());
        let log = config.log.clone();
        let reload: OnStart =
            Box::new(move |servers| Arc::new(deployment).watch(servers, files, log));
        return run_server(&runtime, &args, listen, router, config, what, Some(reload));
    }
    let engine = match args.app_args.engine(true) {
        Ok(engine) => engine,
        Err(e) => return fail(1, e),
    };
    let what = match &args.app {
        Some(path) => path.display().to_string(),
        None => "the demo app".to_string(),
    };
    // A single app is the tenant "app": a one-app deployment, loaded now
    // and again on SIGHUP or when its file changes, with what its
    // capabilities opened kept across loads.
    let single: Arc<host::gateway::reload::Load> = {
        let (path, validate, what) = (args.app.clone(), args.app_args.validate, what.clone());
        let (log, metrics) = (config.log.clone(), config.metrics.clone());
        let resources = capability::Resources::default();
        Arc::new(move || {
            let component = match &path {
                Some(path) => Source::File(path),
                None => Source::Bytes {
                    bytes: DEMO_APP,
                    label: "the built-in demo app",
                    file: "demo.wasm",
                },
            };
            let built = TenantBuilder {
                name: "app",
                component,
                validate,
                metrics: metrics.as_ref(),
                resources: &resources,
            }
            .build(&engine, options.clone())
            .map_err(|e| tenant_error(e, &what))?;
            log.event(
                host::streams::Event::Compiled,
                &format!("{what}: {}\n", built.compiled),
            );
            Ok((
                host::Router::single(built.service),
                path.iter().cloned().collect(),
            ))
        })
    };
    let (router, files) = match single() {
        Ok(loaded) => loaded,
        Err(e) => return fail(2, e),
    };
    let (log, metrics) = (config.log.clone(), config.metrics.clone());
    let reload: OnStart =
        Box::new(move |servers| host::gateway::reload::watch(servers, single, files, log, metrics));
    run_server(&runtime, &args, listen, router, config, what, Some(reload))
}

/// Serves `router` on `listen` until a signal (the library's
/// [`serving::serve`]).
fn run_server(
    runtime: &tokio::runtime::Runtime,
    args: &ServeArgs,
    listen: Vec<Listen>,
    router: host::Router,
    config: ServerConfig,
    what: String,
    on_start: Option<OnStart>,
) -> ExitCode {
    let serve = Serve {
        listen,
        router,
        config,
        admin: args.admin,
        what,
        on_start,
    };
    match runtime.block_on(serving::serve(serve)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e.exit_code, e),
    }
}

/// `CGIHandler().run(app)`: one request from the CGI environment.
fn cgi(args: CgiArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(1, format!("cannot start the runtime: {e}")),
    };
    let mut handler: BaseHandler = if args.iis {
        IISCGIHandler::new()
    } else {
        CGIHandler::new()
    };
    let file = args.app.display().to_string();
    let loaded =
        args.app_args
            .app_options(ErrorStream::stderr())
            .and_then(|options| {
                let engine = args.app_args.engine(false)?;
                let built = TenantBuilder {
                    name: "app",
                    component: Source::File(&args.app),
                    validate: args.app_args.validate,
                    metrics: None,
                    resources: &capability::Resources::default(),
                }
                .build(&engine, options)
                .map_err(|e| tenant_error(e, &file))?;
                built.service.wsgi().cloned().ok_or_else(|| {
                    format!("{file} is a wasi:http component; host cgi runs wasgi apps")
                })
            });
    runtime.block_on(async move {
        match loaded {
            Ok(app) => handler.run(&*app).await,
            // The web server still gets a well-formed response: the error
            // page, with the reason in its error log.
            Err(e) => {
                eprintln!("error: {e}");
                handler.run(&cannot_load).await;
            }
        }
    });
    ExitCode::SUCCESS
}

/// Stands in for an app that could not be loaded: raises, so the handler
/// answers with its error page.
async fn cannot_load(
    _environ: host::Environ,
    _start_response: host::StartResponse,
) -> Result<host::Body, host::ExcInfo> {
    Err(host::ExcInfo::bare(
        "RuntimeError",
        "the application could not be loaded",
    ))
}
