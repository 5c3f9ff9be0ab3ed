//! The manifest: many apps on one listener (`host serve --config
//! wasgi.toml`), each mounted at a route and optionally on virtual hosts,
//! each with its own files, environment, outbound allowlist and limits.
//!
//! Parsing checks everything that can be checked without compiling:
//! unknown keys, bad values, missing files and directories, overlapping
//! mounts; each error names the file, the line and the key. An app's keys
//! are its own (`name`, `component`, `route`, `hosts`, `validate`), the
//! limits ([`Limits`], also in `[defaults]`), and the keys of the
//! capabilities (`env`, `dirs`, `allow_outbound`, ...: each capability
//! reads its own, [`crate::capability`]). An app's table is read over
//! `[defaults]`, once. [`load`] then compiles the components into a
//! [`Router`] — the same tenants the library API builds by hand.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue, ValueDeserializer};

use super::tenant_builder::{Source, TenantBuilder, TenantError};
use crate::capability::keyvalue::catalog::Catalog;
use crate::capability::{self, CapabilitySettings, KeyError, ManifestKey};
use crate::component::{self, AppOptions};
use crate::handlers::HandlerConfig;
use crate::router::{Mount, Router, Tenant};
use crate::units::Size;
use crate::units::parse_seconds;

/// A manifest error: where, and what.
#[derive(Debug)]
pub struct ManifestError {
    /// The manifest file.
    pub path: PathBuf,
    /// The line (1-based), when the error has one.
    pub line: Option<usize>,
    /// What is wrong, naming the key.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

/// One app of a manifest, checked: its own keys, and its limits and
/// capability settings read over `[defaults]`.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// `name`: unique in the manifest.
    pub name: String,
    /// `component`: the `.wasm` file (relative paths are relative to the
    /// manifest's directory).
    pub component: PathBuf,
    /// `route` and `hosts`.
    pub mount: Mount,
    /// The limits it sets, or `[defaults]` does.
    pub limits: Limits,
    /// What its capabilities read (`env`, `dirs`, `allow_outbound`, ...).
    pub capabilities: CapabilitySettings,
    /// `validate`: run a WSGI app under the validator.
    pub validate: bool,
    /// The line of the app's table, for errors found later.
    pub line: usize,
}

/// The limits an app (or `[defaults]`) sets; unset ones are the layer
/// below's (`[defaults]`, then the command line's).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `max_memory`, in bytes.
    pub max_memory: Option<usize>,
    /// `cpu_limit` (`Some(None)`: 0, no limit).
    pub cpu_limit: Option<Option<Duration>>,
    /// `timeout`, wall time per request (`Some(None)`: 0, no limit).
    pub timeout: Option<Option<Duration>>,
    /// `max_concurrency`.
    pub max_concurrency: Option<usize>,
    /// `max_queue`: requests waiting for a slot, beyond which: 503.
    pub max_queue: Option<usize>,
    /// `max_body_size`, in bytes.
    pub max_body_size: Option<u64>,
    /// `reuse`: requests per instance; `reuse_concurrency`: at once, in a
    /// WASIp3 instance; `idle_instance_timeout`: how long an idle WASIp3
    /// instance is kept.
    pub reuse: component::Reuse,
}

/// A parsed, checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it came from.
    pub path: PathBuf,
    /// The apps, in the file's order.
    pub apps: Vec<AppSpec>,
    /// `[[listener]]`: where to listen, each with its own TLS settings;
    /// empty: where the command line says.
    pub listeners: Vec<ListenerSpec>,
}

/// One `[[listener]]`.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// `address`: `HOST:PORT`, as written.
    pub address: String,
    /// Its host, brackets off (`::1` for `[::1]:8000`).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// `tls_cert` and `tls_key`: serve HTTPS (HTTP/2 and HTTP/1.1) with them.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The line of its table, for errors found later.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenerTable {
    address: Spanned<String>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
}

/// The keys of the file itself.
const FILE_KEYS: [&str; 5] = ["defaults", "app", "listener", "store", "state_dir"];

/// An app's own keys (the others are limits and capabilities').
const APP_KEYS: [&str; 5] = ["name", "component", "route", "hosts", "validate"];

/// An error at `offset` of the manifest.
type At = (usize, String);

impl Limits {
    /// The keys of the limits.
    const KEYS: [&'static str; 9] = [
        "max_memory",
        "cpu_limit",
        "timeout",
        "max_concurrency",
        "max_queue",
        "max_body_size",
        "reuse",
        "reuse_concurrency",
        "idle_instance_timeout",
    ];

    /// Reads `key`, one of [`Limits::KEYS`], checking its value.
    fn read(&mut self, key: &ManifestKey<'_>) -> Result<(), KeyError> {
        let size = |key: &ManifestKey<'_>| -> Result<usize, KeyError> {
            let n = key
                .parse::<Size>()?
                .bytes()
                .map_err(|e| key.error(None, e))?;
            usize::try_from(n).map_err(|_| key.error(None, format!("{n} is too large")))
        };
        let secs = |key: &ManifestKey<'_>| -> Result<Option<Duration>, KeyError> {
            parse_seconds(key.parse()?).map_err(|e| key.error(None, e))
        };
        match key.name() {
            "max_memory" => {
                let m = size(key)?;
                if m < 1 << 20 {
                    return Err(key.error(None, format!("{m} bytes is less than 1MiB")));
                }
                self.max_memory = Some(m);
            }
            "cpu_limit" => self.cpu_limit = Some(secs(key)?),
            "timeout" => self.timeout = Some(secs(key)?),
            "max_concurrency" => {
                let c = component::max_concurrency(key.parse()?);
                self.max_concurrency = Some(c.map_err(|e| key.error(None, e))?);
            }
            "max_queue" => self.max_queue = Some(key.parse()?),
            "max_body_size" => self.max_body_size = Some(size(key)? as u64),
            "reuse" => {
                let r: u32 = key.parse()?;
                if r == 0 {
                    return Err(key.error(None, "at least 1 (a fresh instance per request)"));
                }
                self.reuse.requests = Some(r);
            }
            "reuse_concurrency" => {
                let c: u32 = key.parse()?;
                if c == 0 {
                    return Err(key.error(None, "at least 1 (one request at a time)"));
                }
                self.reuse.concurrency = Some(c);
            }
            "idle_instance_timeout" => match secs(key)? {
                Some(idle) => self.reuse.idle = Some(idle),
                None => return Err(key.error(None, "more than 0 seconds")),
            },
            other => return Err(key.error(None, format!("{other} is not a limit"))),
        }
        Ok(())
    }

    /// These limits over `below`'s.
    fn over(&self, below: &Limits) -> Limits {
        Limits {
            max_memory: self.max_memory.or(below.max_memory),
            cpu_limit: self.cpu_limit.or(below.cpu_limit),
            timeout: self.timeout.or(below.timeout),
            max_concurrency: self.max_concurrency.or(below.max_concurrency),
            max_queue: self.max_queue.or(below.max_queue),
            max_body_size: self.max_body_size.or(below.max_body_size),
            reuse: self.reuse.over(&below.reuse),
        }
    }
}

/// A table's entries in the file's order.
fn entries<'a>(
    table: &'a DeTable<'a>,
) -> Vec<(&'a Spanned<DeString<'a>>, &'a Spanned<DeValue<'a>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// serde's words for a key that is not one of `expected`.
fn unknown(key: &Spanned<DeString<'_>>, expected: impl Iterator<Item = &'static str>) -> At {
    let expected: Vec<String> = expected.map(|k| format!("`{k}`")).collect();
    (
        key.span().start,
        format!(
            "unknown field `{}`, expected one of {}",
            key.get_ref(),
            expected.join(", ")
        ),
    )
}

/// `value` as a `T`, its fields of type [`Spanned`] keeping their place.
fn typed<'a, T: Deserialize<'a>>(value: &'a Spanned<DeValue<'a>>) -> Result<T, At> {
    T::deserialize(ValueDeserializer::from(value.clone())).map_err(|e| {
        let at = e.span().map_or(value.span().start, |s| s.start);
        (at, e.message().to_string())
    })
}

/// Reads the limits and capability keys of `table` (an app's or
/// `[defaults]`), and returns its own keys (`own`, for an app) unread.
fn read_layer<'a>(
    table: &'a DeTable<'a>,
    what: &str,
    own: &[&'static str],
    base: &'a Path,
    limits: &mut Limits,
    capabilities: &mut CapabilitySettings,
) -> Result<Vec<(&'a str, &'a Spanned<DeValue<'a>>)>, At> {
    let mut unread = Vec::new();
    let prefixed = |e: KeyError| match e.wrong_type {
        true => (e.offset, e.message),
        false => (e.offset, format!("{what}: {}", e.message)),
    };
    for (key, value) in entries(table) {
        let name: &str = key.get_ref();
        if own.contains(&name) {
            unread.push((name, value));
        } else if Limits::KEYS.contains(&name) {
            limits
                .read(&ManifestKey::new(name, value, base))
                .map_err(prefixed)?;
        } else if let Some(capability) = capability::reading(name) {
            let key = ManifestKey::new(name, value, base);
            capability.read_key(&key, capabilities).map_err(prefixed)?;
        } else {
            let expected = own
                .iter()
                .copied()
                .chain(Limits::KEYS)
                .chain(capability::keys());
            return Err(unknown(key, expected));
        }
    }
    Ok(unread)
}

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn from_file(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read it: {e}"),
        })?;
        Manifest::parse(&text, path)
    }

    /// Checks the manifest `text`, read from `path` (relative paths in it
    /// are relative to `path`'s directory).
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let line_of = |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count();
        let err = |offset: Option<usize>, message: String| ManifestError {
            path: path.to_path_buf(),
            line: offset.map(line_of),
            message,
        };
        let at = |(offset, message): At| err(Some(offset), message);
        let doc = DeTable::parse(text)
            .map_err(|e| err(e.span().map(|s| s.start), e.message().to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() { p } else { base.join(p) }
        };
        let (mut defaults_table, mut app_tables, mut listener_value) = (None, Vec::new(), None);
        let (mut state_dir, mut stores) = (None, None);
        for (key, value) in entries(doc.get_ref()) {
            match &**key.get_ref() {
                "defaults" => match value.get_ref().as_table() {
                    Some(table) => defaults_table = Some(table),
                    None => {
                        return Err(at((
                            value.span().start,
                            "defaults: expected a table ([defaults])".into(),
                        )));
                    }
                },
                "app" => {
                    let tables = value.get_ref().as_array().map(|a| {
                        a.iter()
                            .map(|t| t.get_ref().as_table().map(|table| (t.span().start, table)))
                            .collect::<Option<Vec<_>>>()
                    });
                    match tables.flatten() {
                        Some(tables) => app_tables = tables,
                        None => {
                            return Err(at((
                                value.span().start,
                                "app: expected tables ([[app]])".into(),
                            )));
                        }
                    }
                }
                "listener" => listener_value = Some(value),
                "state_dir" => state_dir = Some(ManifestKey::new("state_dir", value, base)),
                "store" => stores = Some(ManifestKey::new("store", value, base)),
                "spin_manifest_version" | "application" | "component" | "trigger" => {
                    return Err(at((
                        key.span().start,
                        format!(
                            "unknown field `{}`: this looks like a Spin manifest (spin.toml); --config takes a wasgi.toml ([[app]] tables: see examples/wasgi.toml), and `host serve COMPONENT.wasm` serves a Spin component by itself",
                            key.get_ref()
                        ),
                    )));
                }
                _ => return Err(at(unknown(key, FILE_KEYS.into_iter()))),
            }
        }
        if app_tables.is_empty() {
            return Err(err(None, "no [[app]] table: nothing to serve".into()));
        }
        let (mut defaults, mut defaults_capabilities) =
            (Limits::default(), CapabilitySettings::default());
        // The stores every app may be granted, and where they live.
        let catalog = Catalog::read(state_dir.as_ref(), stores.as_ref())
            .map_err(|e| at((e.offset, e.message)))?;
        defaults_capabilities.set(catalog);
        if let Some(table) = defaults_table {
            read_layer(
                table,
                "[defaults]",
                &[],
                base,
                &mut defaults,
                &mut defaults_capabilities,
            )
            .map_err(at)?;
        }
        let mut apps: Vec<AppSpec> = Vec::new();
        for (start, table) in app_tables {
            let (mut limits, mut capabilities) = (Limits::default(), CapabilitySettings::default());
            let named = entries(table)
                .into_iter()
                .find(|(k, _)| k.get_ref().as_ref() == "name");
            let what = match named.and_then(|(_, v)| v.get_ref().as_str()) {
                Some(name) => format!("app {name:?}"),
                None => "app".to_string(),
            };
            let own = read_layer(
                table,
                &what,
                &APP_KEYS,
                base,
                &mut limits,
                &mut capabilities,
            )
            .map_err(at)?;
            let find = |key: &str| own.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            let missing = |key: &str| at((start, format!("missing field `{key}`")));
            let name: Spanned<String> =
                typed(find("name").ok_or_else(|| missing("name"))?).map_err(at)?;
            let component: Spanned<String> =
                typed(find("component").ok_or_else(|| missing("component"))?).map_err(at)?;
            let route: Option<Spanned<String>> =
                find("route").map(typed).transpose().map_err(at)?;
            let hosts: Option<Spanned<Vec<String>>> =
                find("hosts").map(typed).transpose().map_err(at)?;
            let validate: Option<bool> = find("validate").map(typed).transpose().map_err(at)?;
            let name_text = name.get_ref().clone();
            let valid_name = !name_text.is_empty()
                && name_text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            if !valid_name {
                return Err(err(
                    Some(name.span().start),
                    format!("name: {name_text:?} must be letters, digits, '-', '_' or '.'"),
                ));
            }
            if let Some(other) = apps.iter().find(|a| a.name == name_text) {
                return Err(err(
                    Some(name.span().start),
                    format!(
                        "name: {name_text:?} is also the name of the app at line {}",
                        other.line
                    ),
                ));
            }
            let component_path = resolve(component.get_ref());
            if !component_path.is_file() {
                return Err(err(
                    Some(component.span().start),
                    format!(
                        "{what}: component: {}: no such file",
                        component_path.display()
                    ),
                ));
            }
            let route_text = route.as_ref().map_or("/", |r| r.get_ref().as_str());
            let host_names = hosts.as_ref().map_or(&[][..], |h| &h.get_ref()[..]);
            let mount = Mount::new(route_text, host_names).map_err(|e| {
                let offset = match (&route, &hosts) {
                    (Some(r), _) if e.starts_with("route") => r.span().start,
                    (_, Some(h)) => h.span().start,
                    _ => start,
                };
                err(Some(offset), format!("{what}: {e}"))
            })?;
            if let Some(other) = apps.iter().find(|a| a.mount.overlaps(&mount)) {
                return Err(err(
                    Some(route.as_ref().map_or(start, |r| r.span().start)),
                    format!(
                        "{what}: route: {} overlaps app {:?} (line {}): same route, same hosts",
                        mount.route(),
                        other.name,
                        other.line
                    ),
                ));
            }
            apps.push(AppSpec {
                name: name_text,
                component: component_path,
                mount,
                limits: limits.over(&defaults),
                capabilities: capabilities.over(&defaults_capabilities),
                validate: validate.unwrap_or(false),
                line: line_of(start),
            });
        }
        let listener_tables: Vec<Spanned<ListenerTable>> = match listener_value {
            Some(value) => typed(value).map_err(at)?,
            None => Vec::new(),
        };
        let mut listeners = Vec::new();
        for table in &listener_tables {
            let l = table.get_ref();
            let address = l.address.get_ref().clone();
            let Some((host, port)) = super::serving::split_host_port(&address) else {
                return Err(err(
                    Some(l.address.span().start),
                    format!("listener: address {address:?} is not HOST:PORT"),
                ));
            };
            let file = |f: &Option<Spanned<String>>, key: &str| match f {
                None => Ok(None),
                Some(f) => {
                    let p = resolve(f.get_ref());
                    if p.is_file() {
                        Ok(Some(p))
                    } else {
                        Err(err(
                            Some(f.span().start),
                            format!("listener {address}: {key}: {}: no such file", p.display()),
                        ))
                    }
                }
            };
            let tls = match (file(&l.tls_cert, "tls_cert")?, file(&l.tls_key, "tls_key")?) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                _ => {
                    return Err(err(
                        Some(table.span().start),
                        format!("listener {address}: tls_cert and tls_key go together"),
                    ));
                }
            };
            if listeners
                .iter()
                .any(|o: &ListenerSpec| o.address == address)
            {
                return Err(err(
                    Some(l.address.span().start),
                    format!("listener: {address} is listed twice"),
                ));
            }
            listeners.push(ListenerSpec {
                address,
                host,
                port,
                tls,
                line: line_of(table.span().start),
            });
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            apps,
            listeners,
        })
    }

    /// The largest `max_memory` and `max_concurrency` of any app (the
    /// engine's pool must hold them), given the defaults of apps that set
    /// none.
    pub fn largest(&self, base: &AppOptions) -> (usize, usize) {
        let memory = (self.apps.iter()).map(|a| a.limits.max_memory.unwrap_or(base.max_memory));
        let concurrency =
            (self.apps.iter()).map(|a| a.limits.max_concurrency.unwrap_or(base.max_concurrency));
        (
            memory.max().unwrap_or(base.max_memory),
            concurrency.max().unwrap_or(base.max_concurrency),
        )
    }
}

impl AppSpec {
    /// The app's options: `base` (the command line's) with the manifest's
    /// keys on top. The memory budget is `base`'s, shared by all apps.
    pub fn options(&self, base: &AppOptions, manifest_name: &str) -> AppOptions {
        let limits = &self.limits;
        AppOptions {
            log: base.log.clone(),
            capabilities: self.capabilities.over(&base.capabilities),
            max_concurrency: limits.max_concurrency.unwrap_or(base.max_concurrency),
            max_queue: limits.max_queue.unwrap_or(base.max_queue),
            cpu_limit: limits.cpu_limit.unwrap_or(base.cpu_limit),
            max_memory: limits.max_memory.unwrap_or(base.max_memory),
            memory_budget: base.memory_budget.clone(),
            reuse: limits.reuse.over(&base.reuse),
            limits_set_by: Arc::from(format!("app {:?} in {}", self.name, manifest_name)),
            instantiated: None,
            usage: None,
        }
    }
}

/// Compiles every app of `manifest` (with the compile cache, when the
/// engine has one) into the tenants of a [`Router`]. `base` gives the
/// options apps do not set; `timeout` and `max_body_size` not set stay the
/// server's; `handler` is the server's handler settings (an app with
/// `reuse` above 1 runs with `wsgi.multiprocess` true); `metrics`, if any,
/// records each app's instantiation times; `resources` holds what the
/// capabilities open for the apps (kept from an earlier load that asked for
/// it too). Returns the router and, per app, how it was compiled and the
/// limits it got.
pub fn load(
    manifest: &Manifest,
    engine: &wasmtime::Engine,
    base: &AppOptions,
    handler: &HandlerConfig,
    metrics: Option<&Arc<crate::metrics::Metrics>>,
    resources: &capability::Resources,
) -> Result<Loaded, ManifestError> {
    let (mut tenants, mut compiled, mut summaries) = (Vec::new(), Vec::new(), Vec::new());
    let mut stores = Vec::new();
    let limits = |options: &AppOptions, app: &AppSpec| {
        let seconds = |d: Option<Duration>| {
            d.map_or("none".to_string(), |d| format!("{} s", d.as_secs_f64()))
        };
        let mib = |n: usize| format!("{:.1} MiB", n as f64 / f64::from(1 << 20));
        format!(
            "{}: max_memory {}, cpu_limit {}, timeout {}, max_concurrency {}, max_queue {}, max_body_size {}",
            app.name,
            mib(options.max_memory),
            seconds(options.cpu_limit),
            match app.limits.timeout {
                Some(timeout) => seconds(timeout),
                None => "the server's".to_string(),
            },
            options.max_concurrency,
            options.max_queue,
            app.limits
                .max_body_size
                .map_or("the server's".to_string(), |n| mib(n as usize)),
        )
    };
    for app in &manifest.apps {
        let err = |message: String| ManifestError {
            path: manifest.path.clone(),
            line: Some(app.line),
            message: format!("app {:?}: {message}", app.name),
        };
        let file = manifest
            .path
            .file_name()
            .map_or("the manifest".into(), |f| f.to_string_lossy());
        let options = app.options(base, &file);
        let options_set_by = options.limits_set_by.clone();
        let mut summary = limits(&options, app);
        let built = TenantBuilder {
            name: &app.name,
            component: Source::File(&app.component),
            validate: app.validate,
            metrics,
            resources,
        }
        .build(engine, options)
        .map_err(|e| match e {
            TenantError::Validate(e) => err(format!("validate = true {e}")),
            e => err(e.to_string()),
        })?;
        stores.push(stores_of(&app.name, &built.options));
        let reuse = built.options.reuse.requests();
        summary.push_str(&format!(", reuse {}", built.reuse));
        compiled.push(format!(
            "{} ({}): {}",
            app.name,
            app.component.display(),
            built.compiled
        ));
        summaries.push(summary);
        let service = built.service;
        let mut tenant = Tenant::new(app.name.clone(), app.mount.clone(), service);
        tenant.timeout = app.limits.timeout.flatten();
        tenant.limits_set_by = options_set_by;
        tenant.max_body_size = app.limits.max_body_size;
        tenant.handler = handler_for(handler, reuse);
        tenants.push(tenant);
    }
    let router = Router::new(tenants).map_err(|message| ManifestError {
        path: manifest.path.clone(),
        line: None,
        message,
    })?;
    Ok(Loaded {
        router,
        compiled,
        limits: summaries,
        stores,
    })
}

/// `shop: default (sqlite .wasgi/apps/shop.sqlite), sessions (redis ...)`.
fn stores_of(app: &str, options: &AppOptions) -> String {
    use crate::capability::keyvalue::AppStores;
    let granted: Vec<String> = (options.capabilities.get::<AppStores>())
        .map(|s| {
            s.granted()
                .map(|s| format!("{} ({})", s.label, s.location))
                .collect()
        })
        .unwrap_or_default();
    match granted.is_empty() {
        true => format!("{app}: none"),
        false => format!("{app}: {}", granted.join(", ")),
    }
}

/// What [`load`] made of a manifest.
pub struct Loaded {
    /// The tenants.
    pub router: Router,
    /// How each component was compiled, a line per app.
    pub compiled: Vec<String>,
    /// Each app's resulting limits, a line per app.
    pub limits: Vec<String>,
    /// The key-value stores each app may open, and where each lives, a
    /// line per app.
    pub stores: Vec<String>,
}

/// Whether an app whose instances serve `reuse` requests each runs its
/// requests "in several processes" (`wsgi.multiprocess`): in several
/// instances, each serving many of them, as with worker processes.
pub fn multiprocess(reuse: u32) -> bool {
    reuse > 1
}

/// The handler settings of an app whose instances serve `reuse` requests
/// each, when they differ from the server's `handler`: requests then run
/// in several instances, each serving many of them, as with worker
/// processes (PEP 3333), so `wsgi.multiprocess` is true.
pub fn handler_for(handler: &HandlerConfig, reuse: u32) -> Option<Arc<HandlerConfig>> {
    let multiprocess = multiprocess(reuse);
    (multiprocess != handler.wsgi_multiprocess).then(|| {
        Arc::new(HandlerConfig {
            wsgi_multiprocess: multiprocess,
            ..handler.clone()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        let dir = std::env::temp_dir().join(format!("wasgi-manifest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("static")).unwrap();
        std::fs::write(dir.join("a.wasm"), b"").unwrap();
        Manifest::parse(text, &dir.join("wasgi.toml")).map_err(|e| {
            let shown = e.to_string();
            shown[shown.find("wasgi.toml").unwrap()..].to_string()
        })
    }

    #[test]
    fn a_manifest_with_defaults_and_two_apps() {
        let m = parse(
            "[defaults]\nmax_memory = \"64MiB\"\ntimeout = 10\n\n\
             [[app]]\nname = \"a\"\ncomponent = \"a.wasm\"\nroute = \"/shop\"\nmax_memory = 1048576\n\
             dirs = [{ host = \"static\", guest = \"/static\" }]\nenv = { K = \"v\" }\n\n\
             [[app]]\nname = \"b\"\ncomponent = \"a.wasm\"\nhosts = [\"b.test\"]\ncpu_limit = 0\n",
        )
        .unwrap();
        let (a, b) = (&m.apps[0], &m.apps[1]);
        assert_eq!(
            (a.limits.max_memory, b.limits.max_memory),
            (Some(1 << 20), Some(64 << 20))
        );
        assert_eq!(a.limits.timeout, Some(Some(Duration::from_secs(10))));
        assert_eq!(b.limits.cpu_limit, Some(None));
        assert_eq!(a.mount.script_name(), "/shop");
        assert_eq!(b.mount.hosts(), ["b.test"]);
        let env = a.capabilities.get::<crate::capability::env::EnvVars>();
        assert_eq!(
            env.map(|e| &e.0[..]),
            Some(&[("K".to_string(), "v".to_string())][..])
        );
        assert_eq!((a.line, b.line), (5, 13));
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let app = "[[app]]\nname = \"a\"\ncomponent = \"a.wasm\"\n";
        let cases = [
            (
                format!("{app}colour = 1\n"),
                "wasgi.toml, line 4: unknown field `colour`",
            ),
            (
                format!("{app}max_memory = \"12 parsecs\"\n"),
                "wasgi.toml, line 4: app \"a\": max_memory: unknown size unit",
            ),
            (
                format!("{app}tmp_size = \"lots\"\n"),
                "wasgi.toml, line 4: app \"a\": tmp_size: expected a size",
            ),
            (
                format!("{app}timeout = -1\n"),
                "wasgi.toml, line 4: app \"a\": timeout: -1: expected a number of seconds",
            ),
            (
                "[[app]]\nname = \"a\"\ncomponent = \"missing.wasm\"\n".into(),
                "wasgi.toml, line 3: app \"a\": component: ",
            ),
            (
                format!("{app}route = \"shop\"\n"),
                "wasgi.toml, line 4: app \"a\": route \"shop\" must start with /",
            ),
            (
                format!("{app}dirs = [{{ host = \"nope\" }}]\n"),
                "wasgi.toml, line 4: app \"a\": dirs: ",
            ),
            (
                format!("{app}\n[[app]]\nname = \"b\"\ncomponent = \"a.wasm\"\nroute = \"/\"\n"),
                "wasgi.toml, line 8: app \"b\": route: / overlaps app \"a\" (line 1)",
            ),
            (
                format!("{app}\n[[app]]\nname = \"a\"\ncomponent = \"a.wasm\"\n"),
                "wasgi.toml, line 6: name: \"a\" is also the name of the app at line 1",
            ),
            (
                "[defaults]\nmax_concurrency = 0\n[[app]]\nname = \"a\"\ncomponent = \"a.wasm\"\n"
                    .into(),
                "wasgi.toml, line 2: [defaults]: max_concurrency",
            ),
            ("".into(), "wasgi.toml: no [[app]] table"),
            (
                "[[app]]\nname = \"a\"\n".into(),
                "missing field `component`",
            ),
        ];
        for (text, expected) in cases {
            let e = parse(&text).unwrap_err();
            assert!(
                e.starts_with(expected) || e.contains(expected),
                "{text}\n=> {e}\nwanted {expected}"
            );
        }
    }
}
