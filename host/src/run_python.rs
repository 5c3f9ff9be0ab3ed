//! `host run-python APP.wasm -- ARGV...`: a command (`manage.py migrate`,
//! `flask db upgrade`) run inside the app's own guest Python, with the
//! files, directories and state it is served with.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use host::capability::{self, CapabilitySettings};
use host::component::{self, AppOptions, EngineOptions, Loaded, MemoryBudget, Reuse};
use host::streams::ErrorStream;
use host::units::parse_size;

/// `host run-python`.
#[derive(Args)]
pub struct RunPythonArgs {
    /// The app: a component `host build-python` made
    #[arg(value_name = "APP.wasm")]
    app: PathBuf,

    /// The command, after `--`: what follows `python` natively (a script
    /// such as manage.py, -m MODULE, -c CODE) or a console script of the
    /// app's packages (flask, alembic)
    #[arg(last = true, required = true, value_name = "ARGV")]
    argv: Vec<String>,

    /// What the capabilities' own flags (`--dir-rw`, `--env`,
    /// `--allow-outbound`, ...) set, read after parsing.
    #[arg(skip)]
    pub capabilities: CapabilitySettings,

    /// CPU time the command may use in the guest, in seconds (0: no limit)
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    cpu_limit: f64,

    /// The most memory the command's instance may use (e.g. 256MiB, 1G)
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    max_memory: usize,

    /// Where compiled components are cached (as for `serve`)
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Compile the component every time instead of caching it
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

/// Runs the command; the process exits with its status (2 when the app
/// cannot be loaded or runs no commands, 1 when the guest traps).
pub fn run(mut args: RunPythonArgs) -> ExitCode {
    match run_command(&mut args) {
        Ok(status) => ExitCode::from(status),
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn run_command(args: &mut RunPythonArgs) -> Result<u8, (u8, String)> {
    let usage = |e: String| (2, e);
    let cpu_limit = host::units::parse_seconds(args.cpu_limit)
        .map_err(|e| usage(format!("--cpu-limit {e}")))?;
    args.capabilities.set(capability::stdio::Inherit);
    let mut options = AppOptions {
        log: ErrorStream::stderr(),
        capabilities: args.capabilities.clone(),
        cpu_limit,
        max_concurrency: 1,
        max_queue: 0,
        max_memory: args.max_memory,
        memory_budget: MemoryBudget::new(component::default_memory_budget()),
        reuse: Reuse::default(),
        limits_set_by: Arc::from(""),
        instantiated: None,
        usage: None,
    };
    capability::open("app", &mut options, &capability::Resources::default()).map_err(usage)?;
    let engine = component::new_engine_with(
        &EngineOptions {
            pooling: false,
            cache_dir: component::chosen_cache_dir(args.cache_dir.as_ref(), args.no_cache),
            ..EngineOptions::default()
        }
        .sized(args.max_memory, 1),
    )
    .map_err(|e| usage(format!("cannot create the wasm engine: {e:#}")))?;
    let file = args.app.display().to_string();
    let app = match component::load_component(&engine, &args.app, options) {
        Ok(Loaded::Wasgi(app)) => app,
        Ok(_) => {
            return Err(usage(format!(
                "{file} is a wasi:http component; run-python runs commands in Python apps"
            )));
        }
        Err(e) => return Err(usage(e.to_string())),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (1, format!("cannot start the runtime: {e}")))?;
    match runtime.block_on(app.run_command(&args.argv)) {
        Ok(status) => Ok(status),
        Err(e @ component::CommandError::NotExported) => Err(usage(format!("{file}: {e}"))),
        Err(e) => {
            if let component::CommandError::Failed(exc) = &e
                && !exc.traceback.is_empty()
            {
                eprintln!("The guest's calls (most recent call last):");
                for line in &exc.traceback {
                    eprintln!("{line}");
                }
            }
            Err((1, format!("{file}: {e}")))
        }
    }
}
