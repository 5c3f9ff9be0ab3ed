//! The manifest: many apps on one listener (`host serve --config
//! wasgi.toml`), each mounted at a route and optionally on virtual hosts,
//! each with its own files, environment, outbound allowlist and limits.
//!
//! Parsing checks everything that can be checked without compiling:
//! unknown keys, bad values, missing files and directories, overlapping
//! mounts; each error names the file, the line and the key. [`load`]
//! then compiles the components into a [`Router`] — the same tenants the
//! library API builds by hand.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::component::{self, AppOptions, Loaded, OutboundPolicy, Preopen};
use crate::executor::Service;
use crate::handlers::HandlerConfig;
use crate::router::{Mount, Router, Tenant};

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

/// One app of a manifest, checked.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// `name`: unique in the manifest.
    pub name: String,
    /// `component`: the `.wasm` file (relative paths are relative to the
    /// manifest's directory).
    pub component: PathBuf,
    /// `route` and `hosts`.
    pub mount: Mount,
    /// `env`: the guest's environment variables, and only these.
    pub env: Vec<(String, String)>,
    /// `dirs`: preopened directories (read-only unless `rw = true`).
    pub dirs: Vec<Preopen>,
    /// `allow_outbound`: hosts the app may send HTTP requests to.
    pub allow_outbound: Vec<String>,
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
    /// `reuse`: requests per instance.
    pub reuse: Option<u32>,
    /// `validate`: run a WSGI app under the validator.
    pub validate: bool,
    /// The line of the app's table, for errors found later.
    pub line: usize,
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
    /// `address`: `HOST:PORT`.
    pub address: String,
    /// `tls_cert` and `tls_key`: serve HTTPS (HTTP/2 and HTTP/1.1) with them.
    pub tls: Option<(PathBuf, PathBuf)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenerTable {
    address: Spanned<String>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
}

/// A size: bytes, or a string such as `64MiB`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirTable {
    host: Spanned<String>,
    guest: Option<String>,
    rw: Option<bool>,
}

/// The keys every app may set, and `[defaults]` for all of them.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Limits {
    max_memory: Option<Spanned<Size>>,
    cpu_limit: Option<Spanned<f64>>,
    timeout: Option<Spanned<f64>>,
    max_concurrency: Option<Spanned<usize>>,
    max_queue: Option<Spanned<usize>>,
    max_body_size: Option<Spanned<Size>>,
    reuse: Option<Spanned<u32>>,
}

/// An `[[app]]`: its own keys, then the keys of [`Limits`] again, because
/// serde's `flatten` cannot go with `deny_unknown_fields` (and would lose
/// the spans errors need).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppTable {
    name: Spanned<String>,
    component: Spanned<String>,
    route: Option<Spanned<String>>,
    hosts: Option<Spanned<Vec<String>>>,
    env: Option<BTreeMap<String, String>>,
    dirs: Option<Vec<Spanned<DirTable>>>,
    allow_outbound: Option<Spanned<Vec<String>>>,
    validate: Option<bool>,
    max_memory: Option<Spanned<Size>>,
    cpu_limit: Option<Spanned<f64>>,
    timeout: Option<Spanned<f64>>,
    max_concurrency: Option<Spanned<usize>>,
    max_queue: Option<Spanned<usize>>,
    max_body_size: Option<Spanned<Size>>,
    reuse: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTable {
    #[serde(default)]
    defaults: Limits,
    #[serde(default)]
    app: Vec<Spanned<AppTable>>,
    #[serde(default)]
    listener: Vec<Spanned<ListenerTable>>,
}

/// `256MiB`, `1G`, `512k`, `1000`: a number of bytes, with an optional
/// binary unit (K, M, G; `iB` and `B` suffixes allowed).
pub fn parse_size(spec: &str) -> Result<usize, String> {
    let spec = spec.trim();
    let split = spec
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(spec.len());
    let (number, unit) = spec.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("expected a size such as 256MiB or 1G, got {spec:?}"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("unknown size unit in {spec:?} (use K, M or G)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{spec:?} is too large"))
}

/// `seconds` as a limit: `None` for 0 (no limit).
pub fn parse_seconds(seconds: f64) -> Result<Option<Duration>, String> {
    if seconds == 0.0 {
        Ok(None)
    } else if seconds.is_finite() && seconds > 0.0 {
        Ok(Some(Duration::from_secs_f64(seconds)))
    } else {
        Err(format!(
            "{seconds}: expected a number of seconds (0: no limit)"
        ))
    }
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
        let file: FileTable = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            err(e.span().map(|s| s.start), message)
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() { p } else { base.join(p) }
        };
        if file.app.is_empty() {
            return Err(err(None, "no [[app]] table: nothing to serve".into()));
        }
        let defaults =
            check_limits(&file.defaults, "[defaults]").map_err(|(o, m)| err(Some(o), m))?;
        let mut apps: Vec<AppSpec> = Vec::new();
        for table in &file.app {
            let at = table.span().start;
            let app = table.get_ref();
            let name = app.name.get_ref().clone();
            let what = format!("app {name:?}");
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            if !valid_name {
                return Err(err(
                    Some(app.name.span().start),
                    format!("name: {name:?} must be letters, digits, '-', '_' or '.'"),
                ));
            }
            if let Some(other) = apps.iter().find(|a| a.name == name) {
                return Err(err(
                    Some(app.name.span().start),
                    format!(
                        "name: {name:?} is also the name of the app at line {}",
                        other.line
                    ),
                ));
            }
            let component = resolve(app.component.get_ref());
            if !component.is_file() {
                return Err(err(
                    Some(app.component.span().start),
                    format!("{what}: component: {}: no such file", component.display()),
                ));
            }
            let route = app.route.as_ref().map_or("/", |r| r.get_ref().as_str());
            let hosts = app.hosts.as_ref().map_or(&[][..], |h| &h.get_ref()[..]);
            let mount = Mount::new(route, hosts).map_err(|e| {
                let offset = match (&app.route, &app.hosts) {
                    (Some(r), _) if e.starts_with("route") => r.span().start,
                    (_, Some(h)) => h.span().start,
                    _ => at,
                };
                err(Some(offset), format!("{what}: {e}"))
            })?;
            if let Some(other) = apps.iter().find(|a| a.mount.overlaps(&mount)) {
                return Err(err(
                    Some(app.route.as_ref().map_or(at, |r| r.span().start)),
                    format!(
                        "{what}: route: {} overlaps app {:?} (line {}): same route, same hosts",
                        mount.route(),
                        other.name,
                        other.line
                    ),
                ));
            }
            let mut dirs = Vec::new();
            for dir in app.dirs.iter().flatten() {
                let d = dir.get_ref();
                let host = resolve(d.host.get_ref());
                if !host.is_dir() {
                    return Err(err(
                        Some(d.host.span().start),
                        format!("{what}: dirs: {}: no such directory", host.display()),
                    ));
                }
                let guest = d.guest.clone().unwrap_or_else(|| d.host.get_ref().clone());
                if !guest.starts_with('/') {
                    return Err(err(
                        Some(dir.span().start),
                        format!("{what}: dirs: guest path {guest:?} must be absolute"),
                    ));
                }
                dirs.push(Preopen {
                    host,
                    guest,
                    writable: d.rw.unwrap_or(false),
                });
            }
            let allow_outbound = app
                .allow_outbound
                .as_ref()
                .map_or(Vec::new(), |a| a.get_ref().clone());
            if let Some(a) = &app.allow_outbound {
                OutboundPolicy::allow(a.get_ref()).map_err(|e| {
                    err(Some(a.span().start), format!("{what}: allow_outbound: {e}"))
                })?;
            }
            let limits = check_limits(
                &Limits {
                    max_memory: app.max_memory.clone(),
                    cpu_limit: app.cpu_limit.clone(),
                    timeout: app.timeout.clone(),
                    max_concurrency: app.max_concurrency.clone(),
                    max_queue: app.max_queue.clone(),
                    max_body_size: app.max_body_size.clone(),
                    reuse: app.reuse.clone(),
                },
                &what,
            )
            .map_err(|(o, m)| err(Some(o), m))?;
            apps.push(AppSpec {
                name,
                component,
                mount,
                env: app.env.clone().unwrap_or_default().into_iter().collect(),
                dirs,
                allow_outbound,
                max_memory: limits.max_memory.or(defaults.max_memory),
                cpu_limit: limits.cpu_limit.or(defaults.cpu_limit),
                timeout: limits.timeout.or(defaults.timeout),
                max_concurrency: limits.max_concurrency.or(defaults.max_concurrency),
                max_queue: limits.max_queue.or(defaults.max_queue),
                max_body_size: limits.max_body_size.or(defaults.max_body_size),
                reuse: limits.reuse.or(defaults.reuse),
                validate: app.validate.unwrap_or(false),
                line: line_of(at),
            });
        }
        let mut listeners = Vec::new();
        for table in &file.listener {
            let l = table.get_ref();
            let address = l.address.get_ref().clone();
            let valid = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err(err(
                    Some(l.address.span().start),
                    format!("listener: address {address:?} is not HOST:PORT"),
                ));
            }
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
            listeners.push(ListenerSpec { address, tls });
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
        let memory = self
            .apps
            .iter()
            .map(|a| a.max_memory.unwrap_or(base.max_memory));
        let concurrency =
            (self.apps.iter()).map(|a| a.max_concurrency.unwrap_or(base.max_concurrency));
        (
            memory.max().unwrap_or(base.max_memory),
            concurrency.max().unwrap_or(base.max_concurrency),
        )
    }
}

/// Checked limits.
#[derive(Default)]
struct Checked {
    max_memory: Option<usize>,
    cpu_limit: Option<Option<Duration>>,
    timeout: Option<Option<Duration>>,
    max_concurrency: Option<usize>,
    max_queue: Option<usize>,
    max_body_size: Option<u64>,
    reuse: Option<u32>,
}

fn check_limits(l: &Limits, what: &str) -> Result<Checked, (usize, String)> {
    let size = |s: &Option<Spanned<Size>>, key: &str| -> Result<Option<usize>, (usize, String)> {
        match s {
            None => Ok(None),
            Some(s) => match s.get_ref() {
                Size::Bytes(n) => usize::try_from(*n)
                    .map(Some)
                    .map_err(|_| (s.span().start, format!("{what}: {key}: {n} is too large"))),
                Size::Text(t) => parse_size(t)
                    .map(Some)
                    .map_err(|e| (s.span().start, format!("{what}: {key}: {e}"))),
            },
        }
    };
    let secs = |s: &Option<Spanned<f64>>,
                key: &str|
     -> Result<Option<Option<Duration>>, (usize, String)> {
        match s {
            None => Ok(None),
            Some(s) => parse_seconds(*s.get_ref())
                .map(Some)
                .map_err(|e| (s.span().start, format!("{what}: {key}: {e}"))),
        }
    };
    let max_memory = size(&l.max_memory, "max_memory")?;
    if let (Some(m), Some(s)) = (max_memory, &l.max_memory)
        && m < 1 << 20
    {
        return Err((
            s.span().start,
            format!("{what}: max_memory: {m} bytes is less than 1MiB"),
        ));
    }
    if let Some(c) = &l.max_concurrency
        && *c.get_ref() == 0
    {
        return Err((
            c.span().start,
            format!("{what}: max_concurrency: at least one request must be able to run"),
        ));
    }
    if let Some(r) = &l.reuse
        && *r.get_ref() == 0
    {
        return Err((
            r.span().start,
            format!("{what}: reuse: at least 1 (a fresh instance per request)"),
        ));
    }
    Ok(Checked {
        max_memory,
        cpu_limit: secs(&l.cpu_limit, "cpu_limit")?,
        timeout: secs(&l.timeout, "timeout")?,
        max_concurrency: l.max_concurrency.as_ref().map(|c| *c.get_ref()),
        max_queue: l.max_queue.as_ref().map(|c| *c.get_ref()),
        max_body_size: size(&l.max_body_size, "max_body_size")?.map(|n| n as u64),
        reuse: l.reuse.as_ref().map(|r| *r.get_ref()),
    })
}

impl AppSpec {
    /// The app's options: `base` (the command line's) with the manifest's
    /// keys on top. The memory budget is `base`'s, shared by all apps.
    pub fn options(&self, base: &AppOptions, manifest_name: &str) -> Result<AppOptions, String> {
        Ok(AppOptions {
            log: base.log.clone(),
            dirs: if self.dirs.is_empty() {
                base.dirs.clone()
            } else {
                self.dirs.clone()
            },
            max_concurrency: self.max_concurrency.unwrap_or(base.max_concurrency),
            max_queue: self.max_queue.unwrap_or(base.max_queue),
            cpu_limit: self.cpu_limit.unwrap_or(base.cpu_limit),
            outbound: if self.allow_outbound.is_empty() {
                base.outbound.clone()
            } else {
                OutboundPolicy::allow(&self.allow_outbound).map_err(|e| e.to_string())?
            },
            env: if self.env.is_empty() {
                base.env.clone()
            } else {
                self.env.clone()
            },
            max_memory: self.max_memory.unwrap_or(base.max_memory),
            memory_budget: base.memory_budget.clone(),
            reuse: self.reuse.unwrap_or(base.reuse),
            limits_set_by: Arc::from(format!("app {:?} in {}", self.name, manifest_name)),
            instantiated: None,
        })
    }
}

/// Compiles every app of `manifest` (with the compile cache, when the
/// engine has one) into the tenants of a [`Router`]. `base` gives the
/// options apps do not set; `timeout` and `max_body_size` not set stay the
/// server's; `handler` is the server's handler settings (an app with
/// `reuse` above 1 runs with `wsgi.multiprocess` true); `metrics`, if any,
/// records each app's instantiation times. Returns the router and, per app,
/// how it was compiled.
pub fn load(
    manifest: &Manifest,
    engine: &wasmtime::Engine,
    base: &AppOptions,
    handler: &HandlerConfig,
    metrics: Option<&Arc<crate::metrics::Metrics>>,
) -> Result<(Router, Vec<String>), ManifestError> {
    let mut tenants = Vec::new();
    let mut compiled = Vec::new();
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
        let mut options = app.options(base, &file).map_err(err)?;
        if let Some(metrics) = metrics {
            options.instantiated = Some(metrics.instantiation_hook(&app.name));
        }
        let multiprocess = options.reuse > 1;
        let loaded = component::load_component(engine, &app.component, options)
            .map_err(|e| err(e.to_string()))?;
        compiled.push(format!(
            "{} ({}): {}",
            app.name,
            app.component.display(),
            loaded.compiled()
        ));
        let service = match loaded {
            Loaded::Wasgi(wasm) if app.validate => {
                Service::Wsgi(Arc::new(crate::validate::validator(wasm)))
            }
            Loaded::WasiHttp(_) if app.validate => {
                return Err(err(
                    "validate = true checks WSGI apps, and this is a wasi:http component".into(),
                ));
            }
            loaded => loaded.into(),
        };
        let mut tenant = Tenant::new(app.name.clone(), app.mount.clone(), service);
        tenant.timeout = app.timeout.flatten();
        tenant.max_body_size = app.max_body_size;
        if multiprocess != handler.wsgi_multiprocess {
            tenant.handler = Some(Arc::new(HandlerConfig {
                wsgi_multiprocess: multiprocess,
                ..handler.clone()
            }));
        }
        tenants.push(tenant);
    }
    let router = Router::new(tenants).map_err(|message| ManifestError {
        path: manifest.path.clone(),
        line: None,
        message,
    })?;
    Ok((router, compiled))
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
            (a.max_memory, b.max_memory),
            (Some(1 << 20), Some(64 << 20))
        );
        assert_eq!(a.timeout, Some(Some(Duration::from_secs(10))));
        assert_eq!(b.cpu_limit, Some(None));
        assert_eq!(a.mount.script_name(), "/shop");
        assert_eq!(b.mount.hosts(), ["b.test"]);
        assert_eq!(a.env, [("K".to_string(), "v".to_string())]);
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
