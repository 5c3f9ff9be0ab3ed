//! A guest's stdout and stderr go to the server log, a whole line at a
//! time ([`LogOutput`](crate::component::LogOutput)), each naming the
//! request it was written during.

use super::{Capability, InstanceBuilder};
use crate::component::{AppOptions, LogOutput};
use wasgi::ExcInfo;

/// Guest output into the log.
pub(crate) struct Stdio;

impl Capability for Stdio {
    fn name(&self) -> &'static str {
        "stdout and stderr"
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        let output = || LogOutput::new(app.log.clone(), instance.request.clone());
        let (stdout, stderr) = (output(), output());
        instance.wasi.stdout(stdout).stderr(stderr);
        Ok(())
    }
}
