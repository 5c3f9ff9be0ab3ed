//! Configuration values for guests (`wasi:config/store@0.2.0-rc.1`, as
//! wasmtime's `wasi-config` serves it, and Spin's `spin:variables@3.0.0`,
//! [`spin`]): a manifest app's (or
//! `[defaults]`') `config = { api_base = "https://...", token = { env =
//! "SHOP_TOKEN" } }`, or `--config-var KEY=VALUE`. A value comes from the
//! host's environment only by such an explicit reference, and a reference
//! to a variable that is not set is a load error naming it. Values never
//! reach a log line.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use clap::{Arg, ArgAction, ArgMatches};
use serde::Deserialize;
use wasmtime::component::Linker;
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};

use super::{Capability, CapabilitySettings, KeyError, ManifestKey};
use crate::component::RequestCtx;

mod spin;

/// `wasi:config/store` with the app's values.
pub(crate) struct Config;

/// An app's configuration values.
pub struct ConfigVars {
    wasi: WasiConfigVariables,
    values: BTreeMap<String, String>,
}

impl ConfigVars {
    fn new(values: BTreeMap<String, String>) -> Self {
        let wasi = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        ConfigVars { wasi, values }
    }
}

/// A value in a manifest: given, or the host's environment variable named.
#[derive(Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    FromEnv {
        /// The variable.
        env: String,
    },
}

static NONE: LazyLock<WasiConfigVariables> = LazyLock::new(WasiConfigVariables::new);

impl Capability for Config {
    fn name(&self) -> &'static str {
        "configuration values"
    }

    fn provides(&self) -> &'static [&'static str] {
        &["wasi:config", "spin:variables"]
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        wasmtime_wasi_config::add_to_linker(linker, |ctx| {
            let vars = ctx.capabilities.get::<ConfigVars>();
            WasiConfig::new(vars.map_or(&*NONE, |v| &v.wasi))
        })?;
        if !super::concurrent(linker) {
            return Ok(());
        }
        spin::add_to_linker(linker)
    }

    fn keys(&self) -> &'static [&'static str] {
        &["config"]
    }

    fn read_key(
        &self,
        key: &ManifestKey<'_>,
        settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        let values: BTreeMap<String, Value> = key.parse()?;
        let mut vars = BTreeMap::new();
        for (name, value) in values {
            let value = match value {
                Value::Text(text) => text,
                Value::FromEnv { env } => std::env::var(&env).map_err(|_| {
                    key.error(
                        None,
                        format!("{name}: the environment variable {env} is not set"),
                    )
                })?,
            };
            vars.insert(name, value);
        }
        settings.set(ConfigVars::new(vars));
        Ok(())
    }

    fn flags(&self) -> Vec<Arg> {
        vec![
            Arg::new("config_var")
                .long("config-var")
                .value_name("KEY=VALUE")
                .action(ArgAction::Append)
                .value_parser(super::key_value)
                .help(
                    "Give the guest the configuration value KEY (wasi:config/store). \
                     Repeatable",
                ),
        ]
    }

    fn read_flags(
        &self,
        flags: &ArgMatches,
        settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        if let Some(vars) = flags.get_many::<(String, String)>("config_var") {
            settings.set(ConfigVars::new(vars.cloned().collect()));
        }
        Ok(())
    }
}
