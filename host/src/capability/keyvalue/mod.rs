//! Key-value stores for guests (`wasi:keyvalue` `store`, `atomics` and
//! `batch`, at `0.2.0-draft` as wasmtime 48 serves it and `0.2.0-draft2`
//! as Spin 4 links it, and Spin SDK 7's `spin:key-value@3.0.0`): state
//! that outlives the request's instance.
//!
//! Every app has its own `default` store, apart from every other app's;
//! a manifest's `[[store]]` tables declare more, shared with the apps that
//! list them in `key_value` (which replaces the `default` it grants
//! otherwise). A guest opening a label it was not granted gets
//! `access-denied` (one it could never open: `no-such-store`), and the log
//! a line naming it. SQLite ([`sqlite`]) keeps a store by default, a file
//! under the state directory (`--state-dir`, `state_dir`, `.wasgi/`);
//! Redis ([`redis`]) one that spans hosts. Quotas ([`catalog::Quotas`])
//! are checked on every write, the store unchanged when one would be
//! exceeded.

pub mod catalog;
mod common;
mod draft;
mod draft2;
pub mod redis;
mod spin;
pub mod sqlite;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Arg, ArgMatches};
use wasmtime::component::{HasData, Linker, ResourceTable};

use super::{Capability, CapabilitySettings, KeyError, ManifestKey, Resources};
use crate::component::{AppOptions, RequestCtx};
use crate::streams::{ErrorStream, Event};
use catalog::{Backend, Catalog, DEFAULT_STATE_DIR, Granted, StateDir, StoreSpec};
use store::{AppStore, OpenStore};

/// `wasi:keyvalue` over the app's stores.
pub(crate) struct KeyValue;

/// The stores one app may open, by label, as its guests use them.
pub struct AppStores {
    granted: BTreeMap<String, Arc<AppStore>>,
    /// Labels that name a store the app was not granted.
    others: Vec<String>,
    app: String,
    log: ErrorStream,
}

impl AppStores {
    /// The stores it may open, with where each lives (for `host check`).
    pub fn granted(&self) -> impl Iterator<Item = &OpenStore> {
        self.granted.values().map(|s| &*s.store)
    }

    /// The store `label`, or why the guest may not open it (logged).
    pub(crate) fn open(&self, label: &str) -> Result<Arc<AppStore>, Denied> {
        if let Some(store) = self.granted.get(label) {
            return Ok(store.clone());
        }
        let exists = label == "default" || self.others.iter().any(|o| o == label);
        let why = match exists {
            true => "the app was not granted it (key_value in the manifest)",
            false => "there is no store by that name",
        };
        self.log.event(
            Event::StoreDenied,
            &format!(
                "app {:?}: key-value store {label:?} refused: {why}\n",
                self.app
            ),
        );
        Err(match exists {
            true => Denied::AccessDenied,
            false => Denied::NoSuchStore,
        })
    }
}

/// Why a guest may not open a label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Denied {
    AccessDenied,
    NoSuchStore,
}

/// What a guest holding [`MAX_OPEN`] stores is told.
pub(crate) fn too_many() -> String {
    format!("the instance holds {MAX_OPEN} open stores and reads, the most it may")
}

/// An open bucket in a guest's resource table.
pub struct Bucket(pub(crate) Arc<AppStore>);

/// A compare-and-swap's read (`0.2.0-draft2`'s `cas`).
pub struct Cas {
    pub(crate) store: Arc<AppStore>,
    pub(crate) key: String,
    pub(crate) current: Option<Vec<u8>>,
}

/// The most stores and compare-and-swap reads one instance holds open at
/// once: past it, opening another fails (`store-table-full` for Spin's
/// interface), so a guest opening in a loop does not grow the host's
/// memory without bound.
pub const MAX_OPEN: usize = 1024;

/// What the host functions see of a request's store.
pub(crate) struct KvView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) stores: Option<&'a AppStores>,
    /// How many buckets and reads the instance holds (of [`MAX_OPEN`]).
    pub(crate) open: &'a mut usize,
    /// The request the instance serves, for what its calls log.
    pub(crate) request: &'a crate::component::CurrentRequest,
}

impl KvView<'_> {
    /// Calls to the store of `bucket`, during this request.
    pub(crate) fn call(
        &self,
        bucket: &wasmtime::component::Resource<Bucket>,
    ) -> wasmtime::Result<store::Call> {
        Ok(self.during(self.table.get(bucket)?.0.clone()))
    }

    /// Calls to `store`, during this request.
    pub(crate) fn during(&self, store: Arc<AppStore>) -> store::Call {
        store::Call::new(store, self.request.clone())
    }

    /// `value` in the table, counted; `None` when the instance holds
    /// [`MAX_OPEN`] already.
    pub(crate) fn hold<T: Send + 'static>(
        &mut self,
        value: T,
    ) -> wasmtime::Result<Option<wasmtime::component::Resource<T>>> {
        if *self.open >= MAX_OPEN {
            return Ok(None);
        }
        *self.open += 1;
        Ok(Some(self.table.push(value)?))
    }

    /// Takes `resource` out of the table, uncounted.
    pub(crate) fn release<T: 'static>(
        &mut self,
        resource: wasmtime::component::Resource<T>,
    ) -> wasmtime::Result<T> {
        let value = self.table.delete(resource)?;
        *self.open = self.open.saturating_sub(1);
        Ok(value)
    }

    fn open(&self, label: &str) -> Result<Arc<AppStore>, Denied> {
        match self.stores {
            Some(stores) => stores.open(label),
            None => Err(Denied::NoSuchStore),
        }
    }
}

/// How many stores and reads the instance holds open: this capability's
/// part of the instance.
#[derive(Default)]
struct Open(usize);

pub(crate) struct HasKv;

impl HasData for HasKv {
    type Data<'a> = KvView<'a>;
}

fn view(ctx: &mut RequestCtx) -> KvView<'_> {
    KvView {
        table: &mut ctx.table,
        stores: ctx.capabilities.get::<AppStores>(),
        open: &mut ctx.state.get_or_default::<Open>().0,
        request: &ctx.request,
    }
}

impl Capability for KeyValue {
    fn name(&self) -> &'static str {
        "key-value stores"
    }

    fn provides(&self) -> &'static [&'static str] {
        &["wasi:keyvalue", "spin:key-value"]
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        draft::add_to_linker(linker, view)?;
        draft2::add_to_linker(linker, view)?;
        if !super::concurrent(linker) {
            return Ok(());
        }
        spin::add_to_linker(linker, view)
    }

    fn keys(&self) -> &'static [&'static str] {
        &["key_value"]
    }

    fn read_key(
        &self,
        key: &ManifestKey<'_>,
        settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        let labels: Vec<String> = key.parse()?;
        if let Some(bad) = labels.iter().find(|l| !catalog::valid_name(l)) {
            return Err(key.error(
                None,
                format!("{bad:?}: a store's name is letters, digits, '-', '_' or '.'"),
            ));
        }
        settings.set(Granted(labels));
        Ok(())
    }

    fn flags(&self) -> Vec<Arg> {
        vec![
            Arg::new("state_dir")
                .long("state-dir")
                .value_name("DIR")
                .value_parser(clap::value_parser!(PathBuf))
                .help(
                    "Keep the key-value stores' SQLite files in DIR \
                     (default: .wasgi in the working directory; overrides a \
                     manifest's state_dir)",
                ),
        ]
    }

    fn read_flags(
        &self,
        flags: &ArgMatches,
        settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        if let Some(dir) = flags.get_one::<PathBuf>("state_dir") {
            settings.set(StateDir(dir.clone()));
        }
        Ok(())
    }

    fn open(
        &self,
        app: &str,
        options: &mut AppOptions,
        resources: &Resources,
    ) -> Result<(), String> {
        let settings = &options.capabilities;
        let catalog = settings.get::<Catalog>().cloned().unwrap_or_default();
        let state_dir = state_dir(settings);
        let labels = match settings.get::<Granted>() {
            Some(Granted(labels)) => labels.clone(),
            None => vec!["default".to_string()],
        };
        let mut granted = BTreeMap::new();
        for label in &labels {
            let (spec, place) = locate(&catalog, app, label)
                .map_err(|e| format!("key_value: {e} in the manifest"))?;
            let store = open_store(label, &spec, &place, &state_dir, resources)?;
            if let Some(usage) = &options.usage {
                usage.store_opened(&store);
            }
            let store = AppStore {
                app: app.to_string(),
                store,
                log: options.log.clone(),
                count: options.usage.clone(),
            };
            granted.insert(label.clone(), Arc::new(store));
        }
        let others = catalog
            .stores
            .keys()
            .filter(|name| !granted.contains_key(*name))
            .cloned()
            .collect();
        options.capabilities.set(AppStores {
            granted,
            others,
            app: app.to_string(),
            log: options.log.clone(),
        });
        Ok(())
    }
}

/// Where the app's SQLite stores live: `--state-dir`, else the manifest's
/// `state_dir`, else `.wasgi`.
fn state_dir(settings: &CapabilitySettings) -> PathBuf {
    let catalog = settings.get::<Catalog>();
    match (
        settings.get::<StateDir>(),
        catalog.and_then(|c| c.state_dir.as_ref()),
    ) {
        (Some(StateDir(dir)), _) => dir.clone(),
        (None, Some(dir)) => dir.clone(),
        (None, None) => PathBuf::from(DEFAULT_STATE_DIR),
    }
}

/// The store `label` as the app `app` with `settings` opens it (its own
/// `default`, or a declared one, granted or not): for an operator looking
/// inside (`host kv`), not for guests.
pub fn open_for_operator(
    app: &str,
    settings: &CapabilitySettings,
    label: &str,
    log: ErrorStream,
) -> Result<AppStore, String> {
    let catalog = settings.get::<Catalog>().cloned().unwrap_or_default();
    let (spec, place) = locate(&catalog, app, label)?;
    let store = open_store(
        label,
        &spec,
        &place,
        &state_dir(settings),
        &Resources::default(),
    )?;
    Ok(AppStore {
        app: app.to_string(),
        store,
        log,
        count: None,
    })
}

/// How the store `label` of the app `app` is kept, and whose it is.
fn locate<'a>(
    catalog: &Catalog,
    app: &'a str,
    label: &'a str,
) -> Result<(StoreSpec, Place<'a>), String> {
    match (label, catalog.stores.get(label)) {
        ("default", spec) => Ok((spec.cloned().unwrap_or_default(), Place::App(app))),
        (_, Some(spec)) => Ok((spec.clone(), Place::Shared(label))),
        (_, None) => Err(format!("no [[store]] named {label:?}")),
    }
}

/// Whose store a label opens: the app's own (`default`), or one shared.
enum Place<'a> {
    App(&'a str),
    Shared(&'a str),
}

/// The store `spec` describes for `place`, opened once per deployment.
fn open_store(
    label: &str,
    spec: &StoreSpec,
    place: &Place<'_>,
    state_dir: &Path,
    resources: &Resources,
) -> Result<Arc<OpenStore>, String> {
    let (backend, location): (Arc<dyn store::Backend>, String) = match &spec.backend {
        Backend::Sqlite(path) => {
            let path = match (path, place) {
                (Some(path), Place::Shared(_)) => path.clone(),
                (_, Place::App(app)) => state_dir.join("apps").join(format!("{app}.sqlite")),
                (None, Place::Shared(name)) => {
                    state_dir.join("stores").join(format!("{name}.sqlite"))
                }
            };
            let key = format!("sqlite {}", path.display());
            let opened = resources.get_or_open(&key, || Ok(sqlite::Sqlite::new(&path)));
            let db = opened.map_err(|e| format!("key-value store {label:?}: {e}"))?;
            (db, key)
        }
        Backend::Redis(url) => {
            let prefix = match place {
                Place::App(app) => format!("wasgi:app:{app}:"),
                Place::Shared(name) => format!("wasgi:store:{name}:"),
            };
            let key = format!("redis {url} {prefix}");
            let opened = resources.get_or_open(&key, || redis::Redis::new(url, prefix.clone()));
            let db = opened.map_err(|e| format!("key-value store {label:?}: {e}"))?;
            (db, key)
        }
    };
    Ok(Arc::new(OpenStore {
        label: label.to_string(),
        location,
        backend,
        quotas: spec.quotas,
    }))
}
