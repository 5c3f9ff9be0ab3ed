//! What the host gives a guest, one module per capability (as wasmtime's
//! `wasi-*` crates each have their `add_to_linker`, and Spin its factors):
//! its place in the linker, the imports it satisfies, and its part of
//! each instance's store, set up from the app's options.
//!
//! A capability also reads its own settings: its command-line flags and
//! its keys in a manifest's `[[app]]` tables and `[defaults]`, into the
//! app's [`CapabilitySettings`]. The linker every component is linked
//! with, the list of imports the host can satisfy (with the error naming
//! one it cannot), the flags of `serve`, `cgi` and `check`, and the keys a
//! manifest may have are all derived from [`REGISTRY`]: adding a capability
//! is a module of its own and one line there.
//!
//! | module | imports | per instance |
//! |---|---|---|
//! | [`wasi`] | `wasi:cli`, `wasi:clocks`, `wasi:filesystem`, `wasi:io`, `wasi:random`, `wasi:sockets` | the WASI context |
//! | [`stdio`] | | stdout and stderr into the server log, a line at a time |
//! | [`env`] | | the app's environment variables (`--env`, `env`) |
//! | [`packaged`] | | the files the component carries, read-only |
//! | [`preopens`] | | the app's directories (`--dir`, `--dir-rw`, `dirs`) |
//! | [`tmp`] | | its own `/tmp`, removed with it (packaged components) |
//! | [`disk_quota`] | (`wasi:filesystem` writes) | its files' bounds (`--max-file-size`, `--tmp-size`) |
//! | [`outbound`] | `wasi:http` | the outbound policy (`--allow-outbound`, `allow_outbound`) |
//! | [`sockets`] | | TCP connections to `tcp://HOST:PORT` entries of that policy |
//! | [`config`] | `wasi:config`, `spin:variables` | configuration values (`--config-var`, `config`) |
//! | [`keyvalue`] | `wasi:keyvalue`, `spin:key-value` | the app's key-value stores (`--state-dir`, `key_value`, `[[store]]`) |
//! | [`kdf`] | `wasgi:wsgi/kdf` | (PBKDF2 and scrypt, done natively) |
//! | [`file_lock`] | `wasgi:wsgi/file-lock` | the file locks it holds (SQLite's, for Python guests) |
//! | [`tls`] | `wasgi:wsgi/tls` | its TLS client connections (Python's `ssl`) |
//!
//! (The table is the registry's order; flags and keys are the
//! capability's own.)

pub mod config;
pub mod disk_quota;
pub mod env;
pub mod file_lock;
mod instance_state;
pub mod kdf;
pub mod keyvalue;
pub mod outbound;
pub mod packaged;
pub mod preopens;
mod python_runtime;
mod resources;
mod settings;
pub mod sockets;
pub mod stdio;
pub mod tls;
pub mod tmp;
pub mod wasi;

pub use instance_state::InstanceState;
pub use resources::Resources;
pub use settings::{CapabilitySettings, KeyError, ManifestKey};

use wasmtime::component::Linker;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::component::{AppOptions, CurrentRequest, RequestCtx};
use outbound::OutboundHooks;
use wasgi::ExcInfo;

/// One thing the host gives guests.
pub trait Capability: Send + Sync {
    /// What it is, for errors and docs.
    fn name(&self) -> &'static str;

    /// The imported interfaces it satisfies: name prefixes such as
    /// `wasi:http` (any version, any interface of the package).
    fn provides(&self) -> &'static [&'static str] {
        &[]
    }

    /// Adds its host functions to `linker`.
    fn add_to_linker(&self, _linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        Ok(())
    }

    /// Its keys in a manifest's `[[app]]` tables and `[defaults]`.
    fn keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Reads `key`, one of its [`keys`](Self::keys), into `settings` (an
    /// app's table is read over `[defaults]`).
    fn read_key(
        &self,
        _key: &ManifestKey<'_>,
        _settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        Ok(())
    }

    /// Its command-line flags, on `serve`, `cgi` and `check`.
    fn flags(&self) -> Vec<clap::Arg> {
        Vec::new()
    }

    /// Reads its [`flags`](Self::flags) into `settings`.
    fn read_flags(
        &self,
        _flags: &clap::ArgMatches,
        _settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        Ok(())
    }

    /// Opens what the instances of the app `app` share for as long as
    /// the deployment keeps it (a database handle, a connection pool),
    /// from `resources`, once per load; it may keep a handle in
    /// `options.capabilities` for its host functions.
    fn open(
        &self,
        _app: &str,
        _options: &mut AppOptions,
        _resources: &Resources,
    ) -> Result<(), String> {
        Ok(())
    }

    /// Sets up its part of one instance of an app with `app`'s options.
    fn configure(&self, _app: &AppOptions, _instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        Ok(())
    }
}

/// Every capability the host has, in the order they set up an instance.
pub static REGISTRY: &[&dyn Capability] = &[
    &wasi::Wasi,
    &stdio::Stdio,
    &env::Env,
    &packaged::Packaged,
    &preopens::Preopens,
    &tmp::Tmp,
    &disk_quota::DiskQuota,
    &outbound::OutboundHttp,
    &sockets::OutboundTcp,
    &config::Config,
    &keyvalue::KeyValue,
    &kdf::Kdf,
    &file_lock::FileLock,
    &tls::Tls,
];

/// One instance's store being set up by the capabilities.
pub struct InstanceBuilder {
    /// The WASI context.
    pub(crate) wasi: WasiCtxBuilder,
    /// The `wasi:http` hooks (outbound requests); without them every
    /// outbound request is denied.
    pub(crate) hooks: Option<OutboundHooks>,
    /// The request the instance is serving, for what it logs.
    pub(crate) request: CurrentRequest,
    /// What the capabilities keep for the instance while it lives (its
    /// `/tmp`, its disk quota, the locks it holds), each its own part.
    pub(crate) state: InstanceState,
}

impl InstanceBuilder {
    /// An instance of an app, given nothing yet.
    pub(crate) fn new() -> Self {
        let mut wasi = WasiCtx::builder();
        // A guest's file operations run on the request's thread, as nginx
        // reads files without `aio threads`: a hop to tokio's blocking pool
        // for each one cost more than the operation (a body the guest read
        // from a file in 8 KiB blocks went 3.5x faster without it). It must
        // be set before any directory is preopened.
        wasi.allow_blocking_current_thread(true);
        InstanceBuilder {
            wasi,
            hooks: None,
            request: CurrentRequest::default(),
            state: InstanceState::default(),
        }
    }

    /// Every capability's part of an instance of `app`.
    pub(crate) fn configured(app: &AppOptions) -> Result<Self, ExcInfo> {
        let mut instance = InstanceBuilder::new();
        for capability in REGISTRY {
            capability.configure(app, &mut instance)?;
        }
        Ok(instance)
    }
}

/// Every capability's long-lived part of the app `app` (see
/// [`Capability::open`]).
pub fn open(app: &str, options: &mut AppOptions, resources: &Resources) -> Result<(), String> {
    for capability in REGISTRY {
        capability.open(app, options, resources)?;
    }
    Ok(())
}

/// Whether `linker`'s engine has the component model's concurrency
/// support, which WASIp3 and Spin 3's interfaces need: an engine for
/// WASIp2 components has not, and those interfaces are not linked there
/// ([`crate::component::engine::engine_for`]).
pub(crate) fn concurrent(linker: &Linker<RequestCtx>) -> bool {
    linker.engine().get_concurrency_support()
}

/// Links every capability into `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
    for capability in REGISTRY {
        capability
            .add_to_linker(linker)
            .map_err(|e| e.context(format!("linking {}", capability.name())))?;
    }
    Ok(())
}

/// Whether some capability satisfies the import `name`
/// (`wasi:http/types@0.2.6`).
pub fn provides(name: &str) -> bool {
    REGISTRY.iter().any(|c| {
        c.provides().iter().any(|prefix| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('@'))
        })
    })
}

/// Every capability's flags, added to a command (`serve`, `cgi`, `check`).
pub fn with_flags(command: clap::Command) -> clap::Command {
    REGISTRY
        .iter()
        .fold(command, |command, c| command.args(c.flags()))
}

/// Every capability's settings from the flags a command was given.
pub fn read_flags(flags: &clap::ArgMatches) -> Result<CapabilitySettings, String> {
    let mut settings = CapabilitySettings::default();
    for capability in REGISTRY {
        capability.read_flags(flags, &mut settings)?;
    }
    Ok(settings)
}

/// The capability that reads the manifest key `name`, if one does.
pub fn reading(name: &str) -> Option<&'static dyn Capability> {
    REGISTRY.iter().copied().find(|c| c.keys().contains(&name))
}

/// Every manifest key the capabilities read.
pub fn keys() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().flat_map(|c| c.keys()).copied()
}

/// The packages the host provides, for an error naming one it does not:
/// `wasi:cli, wasi:clocks, ...`.
pub fn provided() -> String {
    let packages: Vec<&str> = REGISTRY
        .iter()
        .flat_map(|c| c.provides())
        .copied()
        .collect();
    packages.join(", ")
}

/// `NAME=VALUE`, as `--env` and `--config-var` take it.
fn key_value(spec: &str) -> Result<(String, String), String> {
    match spec.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {spec:?}")),
    }
}
