//! A guest's stdout and stderr go to the server log, a whole line at a
//! time ([`LogOutput`](crate::component::LogOutput)), each naming the
//! request it was written during; a command's (`host run-python`) are the
//! process's own.

use super::{Capability, InstanceBuilder};
use crate::component::{AppOptions, LogOutput};
use wasgi::ExcInfo;

/// Guest output into the log.
pub(crate) struct Stdio;

/// Set in an app's [`CapabilitySettings`](super::CapabilitySettings) to
/// give its guests the process's own stdin, stdout and stderr instead of
/// the log: a command run in the app, which talks to a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Inherit;

impl Capability for Stdio {
    fn name(&self) -> &'static str {
        "stdout and stderr"
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        if app.capabilities.get::<Inherit>().is_some() {
            instance.wasi.inherit_stdio();
            return Ok(());
        }
        let output = || LogOutput::new(app.log.clone(), instance.request.clone());
        let (stdout, stderr) = (output(), output());
        instance.wasi.stdout(stdout).stderr(stderr);
        Ok(())
    }
}
