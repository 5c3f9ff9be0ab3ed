//! The guest's environment variables (`--env NAME=VALUE`, a manifest
//! app's `env`): these and nothing of the host's own environment.

use super::{Capability, InstanceBuilder};
use crate::component::AppOptions;
use wasgi::ExcInfo;

/// The app's environment.
pub(crate) struct Env;

impl Capability for Env {
    fn name(&self) -> &'static str {
        "environment variables"
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        instance.wasi.envs(&app.env);
        Ok(())
    }
}
