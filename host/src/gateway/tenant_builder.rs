//! The one way an app becomes a tenant, for every deployment: a manifest's
//! apps, `host serve app.wasm` (a one-app deployment, the tenant `app`),
//! `host cgi` and `host check`. In order: the app's name on what its
//! guests write, its metrics hooks, what its capabilities open, its
//! component compiled (or loaded from the compile cache), and the service
//! it serves, under the validator when asked.

use std::path::Path;
use std::sync::Arc;

use super::metrics::Metrics;
use crate::capability::{self, Resources};
use crate::component::{self, AppOptions, Compiled, LoadError};
use crate::executor::Service;

/// Where a tenant's component comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A `.wasm` file.
    File(&'a Path),
    /// Bytes built into the host (the demo app): `label` names it in
    /// messages, `file` is the name it would have on disk.
    Bytes {
        /// The component.
        bytes: &'a [u8],
        /// What messages call it (`the built-in demo app`).
        label: &'a str,
        /// Its file name (`demo.wasm`).
        file: &'a str,
    },
}

/// What makes a tenant: see the module docs.
#[derive(Clone, Copy)]
pub struct TenantBuilder<'a> {
    /// The tenant's name: on its log lines, its metrics and its stores.
    pub name: &'a str,
    /// Its component.
    pub component: Source<'a>,
    /// Whether a WSGI app runs under the validator.
    pub validate: bool,
    /// The server's metrics, if it keeps them.
    pub metrics: Option<&'a Arc<Metrics>>,
    /// What the capabilities opened for the tenant at an earlier load
    /// (reload keeps them).
    pub resources: &'a Resources,
}

/// A tenant made.
pub struct Built {
    /// What it serves.
    pub service: Service,
    /// How its component was compiled.
    pub compiled: Compiled,
    /// How its instances serve requests (`fresh`, `reuse 100`, ...).
    pub reuse: String,
    /// The options it was loaded with, its capabilities opened.
    pub options: AppOptions,
}

/// Why a tenant could not be made.
#[derive(Debug)]
pub enum TenantError {
    /// A capability refused what it was given (the message says which).
    Capability(String),
    /// The component could not be loaded.
    Load(LoadError),
    /// The validator cannot wrap it (`is a wasi:http component`).
    Validate(&'static str),
}

impl std::fmt::Display for TenantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TenantError::Capability(e) => f.write_str(e),
            TenantError::Validate(e) => f.write_str(e),
            TenantError::Load(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TenantError {}

impl TenantBuilder<'_> {
    /// The tenant, from `options` (the app's, its limits merged).
    pub fn build(
        &self,
        engine: &wasmtime::Engine,
        mut options: AppOptions,
    ) -> Result<Built, TenantError> {
        // What its guests write names the app.
        options.log = options.log.with_app(&Arc::from(self.name));
        if let Some(metrics) = self.metrics {
            options.instantiated = Some(metrics.instantiation_hook(self.name));
            options.usage = Some(metrics.usage_hook(self.name));
        }
        capability::open(self.name, &mut options, self.resources)
            .map_err(TenantError::Capability)?;
        let loaded = match self.component {
            Source::File(path) => component::load_component(engine, path, options.clone()),
            Source::Bytes { bytes, label, file } => {
                component::load_component_bytes(engine, bytes, label, file, options.clone())
            }
        }
        .map_err(TenantError::Load)?;
        let (compiled, reuse) = (loaded.compiled(), loaded.reuse());
        let service = loaded
            .into_service(self.validate)
            .map_err(TenantError::Validate)?;
        Ok(Built {
            service,
            compiled,
            reuse,
            options,
        })
    }
}
