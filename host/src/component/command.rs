//! `host run-python`: a command run in a fresh instance of a wasgi app
//! that exports `wasgi:wsgi/command` (every component `host build-python`
//! makes), with the files, grants and limits it is served with.

use super::bindings::command_line::{CommandLine, CommandLineIndices};
use super::limits::metered;
use super::wasgi::WasmApp;
use crate::app::Admission;
use wasgi::ExcInfo;

/// Why a command did not run to an exit status.
#[derive(Debug)]
pub enum CommandError {
    /// The component does not export `wasgi:wsgi/command`: it was built by
    /// an older `host build-python`, or is not a Python app.
    NotExported,
    /// The guest trapped or ran out of its limits, or could not be
    /// instantiated.
    Failed(ExcInfo),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::NotExported => write!(
                f,
                "the component does not export wasgi:wsgi/command: build it with this host's `host build-python` to run commands in it"
            ),
            CommandError::Failed(exc) => write!(f, "{}: {}", exc.kind, exc.message),
        }
    }
}

impl std::error::Error for CommandError {}

impl WasmApp {
    /// Runs `argv` in a fresh instance (its stdout and stderr where the
    /// app's options send them) and returns the command's exit status.
    pub async fn run_command(&self, argv: &[String]) -> Result<u8, CommandError> {
        let instance_pre = self.pre().instance_pre();
        let indices =
            CommandLineIndices::new(instance_pre).map_err(|_| CommandError::NotExported)?;
        let instances = self.instances();
        let mut store = (instances.fresh_store(Admission::default(), None).await)
            .map_err(CommandError::Failed)?;
        let trap = |e| CommandError::Failed(instances.trap(e));
        let cpu = store.data().cpu.clone();
        let instantiate = instance_pre.instantiate_async(&mut store);
        let instance = metered(cpu.clone(), instantiate).await.map_err(trap)?;
        let command: CommandLine = indices.load(&mut store, &instance).map_err(trap)?;
        let run = command.wasgi_wsgi_command().call_run(&mut store, argv);
        metered(cpu, run).await.map_err(trap)
    }
}
