//! A deployment: the apps of a manifest, loaded with an engine sized for
//! them, and loaded again when their files change ([`Deployment::watch`]),
//! with what their capabilities opened kept across loads ([`Resources`]).
//! `host serve --config` and an embedder (`host/examples/embed.rs`) use
//! the same code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmtime::Engine;

use super::manifest::{ListenerSpec, Manifest};
use super::metrics::Metrics;
use crate::capability::Resources;
use crate::component::{self, AppOptions, EngineOptions};
use crate::handlers::HandlerConfig;
use crate::router::Router;
use crate::simple_server::WSGIServer;
use crate::streams::ErrorStream;

/// Loads one manifest into tenants, again and again (hot reload), keeping
/// one engine while its pool is large enough for the apps.
pub struct Deployment {
    path: PathBuf,
    base: AppOptions,
    handler: HandlerConfig,
    validate: bool,
    /// The engine options but the pool's size.
    engine: EngineOptions,
    /// The engine, and the largest memory and concurrency its pool holds.
    current: Mutex<Option<(Engine, usize, usize)>>,
    metrics: Option<Arc<Metrics>>,
    /// What the capabilities opened for the apps, kept across reloads.
    resources: Resources,
    /// The listeners of the first load: where the servers listen.
    listening: std::sync::OnceLock<Vec<ListenKey>>,
}

/// What a listener is, for telling whether the listeners changed.
type ListenKey = (String, Option<(PathBuf, PathBuf)>);

fn listen_keys(listeners: &[ListenerSpec]) -> Vec<ListenKey> {
    let keys = listeners.iter().map(|l| (l.address.clone(), l.tls.clone()));
    keys.collect()
}

/// What one load of a manifest made.
pub struct Deployed {
    /// The tenants.
    pub router: Router,
    /// How each component was compiled, a line per app for the log.
    pub compiled: Vec<String>,
    /// Each app's resulting limits, a line per app (`host check`).
    pub limits: Vec<String>,
    /// The key-value stores each app may open, a line per app (`host check`).
    pub stores: Vec<String>,
    /// The files it came from, the manifest first: what to watch.
    pub files: Vec<PathBuf>,
    /// The manifest's listeners (none: the command line's).
    pub listeners: Vec<ListenerSpec>,
}

/// Why a manifest did not load: exit status 2 for a manifest or
/// component at fault, 1 for the machine (no engine could be made); the
/// message names the file and line where there is one.
pub type DeploymentError = super::Failure;

impl Deployment {
    /// The manifest at `path`: its apps get `base` for what they do not
    /// set, and run with the server's `handler` settings; `engine` gives
    /// the engine's options but the pool's size, which the apps decide.
    pub fn new(
        path: &Path,
        base: AppOptions,
        handler: HandlerConfig,
        engine: EngineOptions,
    ) -> Deployment {
        Deployment {
            path: path.to_path_buf(),
            base,
            handler,
            validate: false,
            engine,
            current: Mutex::new(None),
            metrics: None,
            resources: Resources::default(),
            listening: std::sync::OnceLock::new(),
        }
    }

    /// Runs every WSGI app under the validator (`--validate`).
    pub fn validate_all(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }

    /// Counts the apps' instantiations and the reloads in `metrics`.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads the manifest and compiles its apps (with the compile cache,
    /// when the engine has one).
    pub fn load(&self) -> Result<Deployed, DeploymentError> {
        let fault = |message: String| DeploymentError {
            exit_code: 2,
            message,
        };
        let mut manifest = Manifest::from_file(&self.path).map_err(|e| fault(e.to_string()))?;
        for app in &mut manifest.apps {
            app.validate |= self.validate;
        }
        let engine = self.engine_for(&manifest)?;
        let loaded = super::manifest::load(
            &manifest,
            &engine,
            &self.base,
            &self.handler,
            self.metrics.as_ref(),
            &self.resources,
        );
        // What this load did not ask for is let go; after a failed one,
        // the apps still serving keep theirs.
        match &loaded {
            Ok(_) => self.resources.keep_asked(),
            Err(_) => self.resources.forget_asked(),
        }
        let loaded = loaded.map_err(|e| fault(e.to_string()))?;
        let _ = self.listening.set(listen_keys(&manifest.listeners));
        let mut files = vec![self.path.clone()];
        files.extend(manifest.apps.iter().map(|a| a.component.clone()));
        Ok(Deployed {
            router: loaded.router,
            compiled: loaded.compiled,
            limits: loaded.limits,
            stores: loaded.stores,
            files,
            listeners: manifest.listeners,
        })
    }

    /// The engine whose pool holds the manifest's apps: the current one
    /// while it is large enough, else a new one.
    fn engine_for(&self, manifest: &Manifest) -> Result<Engine, DeploymentError> {
        let (memory, concurrency) = manifest.largest(&self.base);
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((engine, m, c)) = &*current
            && memory <= *m
            && concurrency <= *c
        {
            return Ok(engine.clone());
        }
        let engine =
            component::new_engine_with(&self.engine.sized(memory, concurrency)).map_err(|e| {
                DeploymentError {
                    exit_code: 1,
                    message: format!("cannot create the wasm engine: {e:#}"),
                }
            })?;
        *current = Some((engine.clone(), memory, concurrency));
        Ok(engine)
    }

    /// Reloads the `servers`' tenants whenever one of `files` (what the
    /// last load came from) changes or the process gets SIGHUP, until the
    /// process ends; a load that fails leaves the old tenants serving and
    /// logs why on `log`. Call it inside a tokio runtime.
    pub fn watch(
        self: Arc<Self>,
        servers: Vec<Arc<WSGIServer>>,
        files: Vec<PathBuf>,
        log: ErrorStream,
    ) {
        let metrics = self.metrics.clone();
        let load: Arc<super::reload::Load> = Arc::new(move || {
            let deployed = self.load().map_err(|e| e.message)?;
            // The servers listen where the manifest said when they
            // started; a reload cannot move them.
            if self.listening.get() != Some(&listen_keys(&deployed.listeners)) {
                return Err(format!(
                    "{}: its [[listener]] tables changed; listeners change only with a restart",
                    self.path.display()
                ));
            }
            Ok((deployed.router, deployed.files))
        });
        super::reload::watch(servers, load, files, log, metrics);
    }
}
