//! What the host gives a guest, one module per capability (as wasmtime's
//! `wasi-*` crates each have their `add_to_linker`, and Spin its factors):
//! its place in the linker, the imports it satisfies, and its part of
//! each instance's store, set up from the app's options.
//!
//! The linker every component is linked with, and the list of imports the
//! host can satisfy (with the error naming one it cannot), are derived
//! from [`REGISTRY`]: adding a capability is a module of its own and one
//! line there.
//!
//! | module | imports | per instance |
//! |---|---|---|
//! | [`wasi`] | `wasi:cli`, `wasi:clocks`, `wasi:filesystem`, `wasi:io`, `wasi:random`, `wasi:sockets` | the WASI context |
//! | [`stdio`] | | stdout and stderr into the server log, a line at a time |
//! | [`env`] | | the app's environment variables (`--env`, `env`) |
//! | [`preopens`] | | the app's directories (`--dir`, `--dir-rw`, `dirs`) |
//! | [`outbound`] | `wasi:http` | the outbound policy (`--allow-outbound`, `allow_outbound`) |

pub mod env;
pub mod outbound;
pub mod preopens;
pub mod stdio;
pub mod wasi;

use wasmtime::component::Linker;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::component::{AppOptions, RequestCtx};
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
    &preopens::Preopens,
    &outbound::OutboundHttp,
];

/// One instance's store being set up by the capabilities.
pub struct InstanceBuilder {
    /// The WASI context.
    pub(crate) wasi: WasiCtxBuilder,
    /// The `wasi:http` hooks (outbound requests); by default every
    /// outbound request is denied.
    pub(crate) hooks: OutboundHooks,
}

impl InstanceBuilder {
    /// An instance of an app logging to `app.log`, given nothing yet.
    pub(crate) fn new(app: &AppOptions) -> Self {
        InstanceBuilder {
            wasi: WasiCtx::builder(),
            hooks: OutboundHooks::new(Default::default(), app.log.clone()),
        }
    }

    /// Every capability's part of an instance of `app`.
    pub(crate) fn configured(app: &AppOptions) -> Result<Self, ExcInfo> {
        let mut instance = InstanceBuilder::new(app);
        for capability in REGISTRY {
            capability.configure(app, &mut instance)?;
        }
        Ok(instance)
    }
}

/// Links every capability into `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
    for capability in REGISTRY {
        capability.add_to_linker(linker)?;
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
