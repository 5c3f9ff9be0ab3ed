//! The guest's environment variables (`--env NAME=VALUE`, a manifest
//! app's `env = { NAME = "value" }`): these and nothing of the host's own
//! environment.

use std::collections::BTreeMap;

use clap::{Arg, ArgAction, ArgMatches};

use super::{Capability, CapabilitySettings, InstanceBuilder, KeyError, ManifestKey};
use crate::component::AppOptions;
use wasgi::ExcInfo;

/// The app's environment.
pub(crate) struct Env;

/// An app's environment variables, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvVars(pub Vec<(String, String)>);

impl Capability for Env {
    fn name(&self) -> &'static str {
        "environment variables"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["env"]
    }

    fn read_key(
        &self,
        key: &ManifestKey<'_>,
        settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        let vars: BTreeMap<String, String> = key.parse()?;
        settings.set(EnvVars(vars.into_iter().collect()));
        Ok(())
    }

    fn flags(&self) -> Vec<Arg> {
        vec![
            Arg::new("env")
                .long("env")
                .value_name("NAME=VALUE")
                .action(ArgAction::Append)
                .value_parser(super::key_value)
                .help(
                    "Give the guest the environment variable NAME (its process environment, \
                     not the WSGI environ). Repeatable. The host's own environment is never \
                     passed on",
                ),
        ]
    }

    fn read_flags(
        &self,
        flags: &ArgMatches,
        settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        if let Some(vars) = flags.get_many::<(String, String)>("env") {
            settings.set(EnvVars(vars.cloned().collect()));
        }
        Ok(())
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        if let Some(EnvVars(vars)) = app.capabilities.get() {
            instance.wasi.envs(vars);
        }
        Ok(())
    }
}
