//! `host build-python MODULE:CALLABLE -o app.wasm`: compiles a Python WSGI
//! app into a component of the wasgi world with componentize-py.
//!
//! The pinned componentize-py is installed into a cache on first use. The
//! app, the Python bridge (`guest-sdk/python/wasgi`) and the dependencies
//! (`--path` directories, `--requirements` installed into a staging
//! directory) are snapshotted after importing the app, so what the app
//! imports costs nothing per request; their files and the standard library
//! are packed into the component too ([`host::capability::packaged`]), for
//! what the code reads or imports at run time. Errors in the app (a
//! missing module or callable, a syntax error, a dependency that needs
//! native code) come back as one message naming the file and line.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::capability::tmp;

/// componentize-py's version, pinned: its bindings' shape is what the
/// bridge is written against.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The CPython that componentize-py builds into the component, the one the
/// app runs under: dependencies are resolved for it, not for the build
/// machine's Python.
pub const GUEST_PYTHON: &str = "3.14";

/// uv's version, pinned: it resolves and installs the dependencies for
/// [`GUEST_PYTHON`] (pip resolves for the Python that runs it: its
/// `--python-version` leaves markers such as `python_version >= "3.13"`
/// evaluated for the build machine's).
pub const UV: &str = "0.13.9";

/// The platform the dependencies are resolved for. The guest is
/// wasm32-wasi, which no wheel names: a Linux wheel's pure-Python files
/// serve it, and its native extensions are left out.
const GUEST_PLATFORM: &str = "x86_64-manylinux_2_28";

/// The bridge and the world it targets, built into this binary so that
/// `host build-python` works wherever `host` is installed.
const BRIDGE: &[(&str, &str)] = &[
    (
        "wasgi/__init__.py",
        include_str!("../../guest-sdk/python/wasgi/__init__.py"),
    ),
    (
        "wasgi/bridge.py",
        include_str!("../../guest-sdk/python/wasgi/bridge.py"),
    ),
    (
        "wasgi/build.py",
        include_str!("../../guest-sdk/python/wasgi/build.py"),
    ),
    (
        "wasgi/errors.py",
        include_str!("../../guest-sdk/python/wasgi/errors.py"),
    ),
    (
        "wasgi/files.py",
        include_str!("../../guest-sdk/python/wasgi/files.py"),
    ),
    (
        "wasgi/command.py",
        include_str!("../../guest-sdk/python/wasgi/command.py"),
    ),
    (
        "wasgi/building.py",
        include_str!("../../guest-sdk/python/wasgi/building.py"),
    ),
    (
        "wasgi/warm.py",
        include_str!("../../guest-sdk/python/wasgi/warm.py"),
    ),
    (
        "wasgi/scan.py",
        include_str!("../../guest-sdk/python/wasgi/scan.py"),
    ),
    (
        "wasgi/metadata.py",
        include_str!("../../guest-sdk/python/wasgi/metadata.py"),
    ),
    (
        "wasgi/streams.py",
        include_str!("../../guest-sdk/python/wasgi/streams.py"),
    ),
    (
        "wasgi/kv.py",
        include_str!("../../guest-sdk/python/wasgi/kv.py"),
    ),
    (
        "wasgi/config.py",
        include_str!("../../guest-sdk/python/wasgi/config.py"),
    ),
    (
        "wasgi/sessions.py",
        include_str!("../../guest-sdk/python/wasgi/sessions.py"),
    ),
    (
        "wasgi/patches.py",
        include_str!("../../guest-sdk/python/wasgi/patches.py"),
    ),
    (
        "wasgi/hashes.py",
        include_str!("../../guest-sdk/python/wasgi/hashes.py"),
    ),
    (
        "wasgi/sqlite.py",
        include_str!("../../guest-sdk/python/wasgi/sqlite.py"),
    ),
    // Beside the package: the standard library's `ssl` imports it by
    // this name.
    ("_ssl.py", include_str!("../../guest-sdk/python/_ssl.py")),
    ("wit/wsgi.wit", include_str!("../../wit/wsgi.wit")),
    (
        "wit/python.wit",
        include_str!("../../guest-sdk/python/python.wit"),
    ),
    (
        "wit/deps/clocks.wit",
        include_str!("../../wit/deps/clocks.wit"),
    ),
    (
        "wit/deps/filesystem.wit",
        include_str!("../../wit/deps/filesystem.wit"),
    ),
    ("wit/deps/io.wit", include_str!("../../wit/deps/io.wit")),
    // (wsgi.wit's `state` world names them.)
    (
        "wit/deps/config/store.wit",
        include_str!("../../wit/deps/config/store.wit"),
    ),
    (
        "wit/deps/keyvalue-draft/keyvalue.wit",
        include_str!("../../wit/deps/keyvalue-draft/keyvalue.wit"),
    ),
    (
        "wit/deps/keyvalue-draft2/keyvalue.wit",
        include_str!("../../wit/deps/keyvalue-draft2/keyvalue.wit"),
    ),
];

/// The line `wasgi/build.py` writes when the app cannot be loaded.
const ERROR_MARK: &str = "wasgi-build-error: ";

/// The build machine's time zones, which components carry for `zoneinfo`.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The file in the bridge's directory where `wasgi/build.py` writes lines
/// for the build's output (how each `--warm` request went).
const NOTES: &str = ".build-notes";

/// What to build.
pub struct BuildPython {
    /// `MODULE:CALLABLE` (`CALLABLE` defaults to `application`).
    pub target: String,
    /// The component to write.
    pub output: PathBuf,
    /// Directories searched for the module and its dependencies.
    pub paths: Vec<PathBuf>,
    /// The dependencies installed into the component: a requirements
    /// file or a `pyproject.toml` (None: the first path's
    /// `requirements.txt` or `pyproject.toml`, if it has one).
    pub requirements: Option<PathBuf>,
    /// `NAME=VALUE` environment variables for the app's import (over the
    /// first path's `.env` and `.flaskenv`).
    pub env: Vec<String>,
    /// Requests served through the app before the snapshot (`--warm`):
    /// paths or absolute URLs (none: the first path's `pyproject.toml`
    /// `[tool.wasgi] warm`, if it has one).
    pub warm: Vec<String>,
    /// Packages (or distributions) of the requirements whose native code
    /// may be left out though they do not import without it
    /// (`--allow-missing-native`).
    pub allow_missing_native: Vec<String>,
}

/// Why a build failed.
#[derive(Debug)]
pub enum BuildError {
    /// The app or its arguments are at fault: exit status 2.
    App(String),
    /// The tools could not run (no Python, no network for pip): status 1.
    Tool(String),
}

impl BuildError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            BuildError::App(_) => 2,
            BuildError::Tool(_) => 1,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::App(m) | BuildError::Tool(m) => f.write_str(m),
        }
    }
}

/// What a successful build reports.
pub struct Built {
    /// The component's size in bytes.
    pub size: u64,
    /// Seconds the build took.
    pub seconds: f64,
    /// Native extension files left out of the dependencies (the packages
    /// imported without them).
    pub left_out: Vec<String>,
    /// The files packed into the component for run time, and their bytes.
    pub files: (u64, u64),
    /// What the build found by itself (a requirements file, a `.env`),
    /// one line each.
    pub notes: Vec<String>,
}

/// Builds the component `build` describes.
pub fn build_python(build: &BuildPython) -> Result<Built, BuildError> {
    let started = Instant::now();
    let (module, callable) = parse_target(&build.target)?;
    let mut paths = Vec::new();
    for path in &build.paths {
        let dir = path
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| {
                BuildError::App(format!("--path {}: no such directory", path.display()))
            })?;
        paths.push(dir);
    }
    if paths.is_empty() {
        paths.push(std::env::current_dir().map_err(|e| BuildError::Tool(e.to_string()))?);
    }
    // componentize-py runs in the staging directory.
    let output = std::path::absolute(&build.output)
        .map_err(|e| BuildError::App(format!("-o {}: {e}", build.output.display())))?;
    let tool = componentize_py()?;
    let stage = Staging::new()?;
    for (name, text) in BRIDGE {
        let name = if name.ends_with(".py") {
            format!("bridge/{name}")
        } else {
            name.to_string()
        };
        stage.write(&name, text)?;
    }
    // componentize-py mounts each `-p` directory at `/0`, `/1`, ... in
    // order; tracebacks name them as the user knows them. The bridge's
    // directory is `/0`; the guest copies the standard library into
    // `/0/.packaged` for the packer.
    let bridge = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk/python");
    let bridge = Path::new(bridge)
        .canonicalize()
        .unwrap_or_else(|_| bridge.into());
    let bridge_dir = stage.path().join("bridge");
    let mut mounts = vec![(bridge_dir.clone(), bridge.display().to_string())];
    let mut left_out = Vec::new();
    let mut native = Vec::new();
    let mut notes = Vec::new();
    let env = import_env(&paths[0], &build.env, &mut notes)?;
    let requirements = dependencies(build.requirements.as_deref(), &paths[0], &mut notes);
    if let Some(requirements) = &requirements {
        let site = stage.path().join("site-packages");
        pip_install(
            &tool,
            requirements,
            &site,
            &build.allow_missing_native,
            &mut notes,
        )?;
        left_out = remove_native_code(&site)?;
        native =
            crate::native_deps::checks(&site, &left_out, requirements, &build.allow_missing_native);
        mounts.push((site, "site-packages".into()));
    }
    mounts.extend(paths.iter().map(|p| (p.clone(), p.display().to_string())));
    let source_dirs: Vec<String> = (mounts.iter().enumerate())
        .map(|(i, (_, shown))| format!("{}: {}", py_str(&format!("/{i}")), py_str(shown)))
        .collect();
    let warm = warm_urls(&build.warm, &paths[0], &mut notes)?;
    // Warm requests may need the time zones (Django's TIME_ZONE), which
    // the component carries for run time: mounted after the others, for
    // the build alone.
    let zones = Some(Path::new(ZONEINFO)).filter(|z| !warm.is_empty() && z.is_dir());
    let modules = scan(&tool, module, &mounts);
    let list = |items: Vec<String>| items.join(", ");
    let env = list(
        env.iter()
            .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
            .collect(),
    );
    let warm = list(warm.iter().map(|u| py_str(u)).collect());
    let native = (native.iter())
        .map(|c| format!("({}, {})", py_str(&c.module), py_str(&c.package)))
        .collect();
    let tzpath = zones.map_or("None".to_string(), |_| {
        py_str(&format!("/{}", mounts.len()))
    });
    stage.write(
        "bridge/wasgi_main.py",
        &format!(
            "# Written by `host build-python`: the component's entry module.\n\
             import wasgi.build\n\n\
             MODULES = {modules}\n\n\
             from wasgi.command import Command\n\
             Application = wasgi.build.load(\n    \
                 {module}, {callable},\n    \
                 source_dirs={{{source_dirs}}},\n    \
                 modules=MODULES,\n    \
                 packaged='/0/{PACKAGED}',\n    \
                 cwd={cwd},\n    \
                 env={{{env}}},\n    \
                 warm=[{warm}],\n    \
                 tzpath={tzpath},\n    \
                 native=[{native}],\n\
             )\n",
            module = py_str(module),
            callable = py_str(callable),
            source_dirs = source_dirs.join(", "),
            cwd = py_str(&format!("/{}", mounts.len() - paths.len())),
            native = list(native),
        ),
    )?;
    if let Some(parent) = output.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| BuildError::App(format!("cannot create {}: {e}", parent.display())))?;
    }
    let mut cmd = Command::new(tool.join("bin/componentize-py"));
    cmd.args(["-q", "-d"])
        .arg(stage.path().join("wit"))
        .args(["-w", "wasgi:wsgi/python-app", "componentize", "wasgi_main"])
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .current_dir(stage.path());
    for dir in mounts.iter().map(|(dir, _)| dir.as_path()).chain(zones) {
        cmd.arg("-p").arg(dir);
    }
    cmd.arg("-o").arg(&output);
    let out = run(&mut cmd, "componentize-py")?;
    if !out.status.success() {
        return Err(explain_failure(&out, &left_out, &paths));
    }
    let told = fs::read_to_string(bridge_dir.join(NOTES)).unwrap_or_default();
    notes.extend(told.lines().map(str::to_string));
    let files = pack(
        &output,
        &bridge_dir,
        &mounts,
        requirements.is_some(),
        paths.len(),
    )
    .map_err(|e| {
        BuildError::Tool(format!(
            "cannot pack the app's files into {}: {e}",
            output.display()
        ))
    })?;
    let size = fs::metadata(&output)
        .map_err(|e| BuildError::Tool(format!("{}: {e}", output.display())))?
        .len();
    Ok(Built {
        size,
        seconds: started.elapsed().as_secs_f64(),
        left_out,
        files,
        notes,
    })
}

/// The environment the app is imported in at build time: the project's
/// `.flaskenv`, then its `.env` (as Flask's and python-dotenv's tooling
/// read them), then `--env`, each over the one before; `HOME` is the
/// instance's `/tmp` unless one of them names it.
fn import_env(
    project: &Path,
    flags: &[String],
    notes: &mut Vec<String>,
) -> Result<Vec<(String, String)>, BuildError> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |name: String, value: String| {
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
    };
    for file in [".flaskenv", ".env"] {
        let path = project.join(file);
        if !path.is_file() {
            continue;
        }
        let vars = dotenvy::from_path_iter(&path)
            .map_err(|e| BuildError::App(format!("{}: {e}", path.display())))?;
        let mut names = Vec::new();
        for var in vars {
            let (name, value) =
                var.map_err(|e| BuildError::App(format!("{}: {e}", path.display())))?;
            names.push(name.clone());
            set(name, value);
        }
        notes.push(format!(
            "note: the import at build time reads {} from {}",
            names.join(", "),
            path.display()
        ));
    }
    for flag in flags {
        let Some((name, value)) = flag.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            return Err(BuildError::App(format!("--env {flag:?}: not NAME=VALUE")));
        };
        set(name.to_string(), value.to_string());
    }
    // The home the app will have when it runs (the instance's /tmp),
    // already when it is imported: a path made from it at import holds.
    if !env.iter().any(|(n, _)| n == "HOME") {
        env.push(("HOME".into(), tmp::GUEST_PATH.into()));
    }
    Ok(env)
}

/// The dependencies to install: `given`, else the project's
/// `requirements.txt`, else its `pyproject.toml` when that lists
/// `[project] dependencies`.
fn dependencies(given: Option<&Path>, project: &Path, notes: &mut Vec<String>) -> Option<PathBuf> {
    if let Some(given) = given {
        return Some(given.to_path_buf());
    }
    let found = [
        project.join("requirements.txt"),
        project.join("pyproject.toml"),
    ]
    .into_iter()
    .find(|file| match file.file_name().and_then(|n| n.to_str()) {
        Some("pyproject.toml") => lists_dependencies(file),
        _ => file.is_file(),
    });
    if let Some(file) = &found {
        notes.push(format!("note: dependencies from {}", file.display()));
    }
    found
}

/// The requests to warm the snapshot with: `--warm`, else the project's
/// `pyproject.toml` `[tool.wasgi] warm`. Each is a path or an absolute
/// http(s) URL.
fn warm_urls(
    given: &[String],
    project: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<String>, BuildError> {
    let file = project.join("pyproject.toml");
    if !given.is_empty() || !file.is_file() {
        return checked_urls(given.to_vec(), "--warm");
    }
    let listed = (fs::read_to_string(&file).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|doc| {
            let warm = doc.get("tool")?.get("wasgi")?.get("warm")?.clone();
            Some(warm.try_into::<Vec<String>>().map_err(|_| {
                BuildError::App(format!(
                    "{}: [tool.wasgi] warm must be a list of paths or URLs",
                    file.display()
                ))
            }))
        })
        .transpose()?
        .unwrap_or_default();
    let from = format!("{} [tool.wasgi] warm", file.display());
    let urls = checked_urls(listed, &from)?;
    if !urls.is_empty() {
        notes.push(format!("note: warming with {from}"));
    }
    Ok(urls)
}

/// `urls` if each is a path or an absolute http(s) URL; else an error
/// naming where it came from.
fn checked_urls(urls: Vec<String>, from: &str) -> Result<Vec<String>, BuildError> {
    for url in &urls {
        let absolute = url.starts_with("http://") || url.starts_with("https://");
        if !(url.starts_with('/') || absolute) || url.chars().any(char::is_whitespace) {
            return Err(BuildError::App(format!(
                "{from}: {url:?} is neither a path (/catalog/) nor an http(s) URL (https://example.com/)"
            )));
        }
    }
    Ok(urls)
}

/// Whether the `pyproject.toml` at `file` lists `[project] dependencies`.
fn lists_dependencies(file: &Path) -> bool {
    let Ok(text) = fs::read_to_string(file) else {
        return false;
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return false;
    };
    let dynamic = (doc.get("project"))
        .and_then(|p| p.get("dynamic"))
        .and_then(|d| d.as_array())
        .is_some_and(|d| d.iter().any(|v| v.as_str() == Some("dependencies")));
    !pyproject_dependencies(&doc).is_empty() || dynamic
}

/// The requirements a `pyproject.toml` lists (`[project] dependencies`).
pub(crate) fn pyproject_dependencies(doc: &toml::Table) -> Vec<String> {
    (doc.get("project"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .map(|d| {
            d.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Where in the bridge's directory the guest leaves the standard library
/// (hidden: the project walk leaves it out of `/0`).
const PACKAGED: &str = ".packaged";

/// Packs the files the app can read at run time into `output`: the
/// standard library and componentize-py's modules (copied out by the
/// guest), the bridge, the dependencies, the `--path` directories, and
/// the build machine's time zone database for `zoneinfo`. Returns how
/// many files and bytes.
fn pack(
    output: &Path,
    bridge_dir: &Path,
    mounts: &[(PathBuf, String)],
    has_site: bool,
    paths: usize,
) -> std::io::Result<(u64, u64)> {
    use host::capability::packaged::archive::{Mount, Packer, Walk, append_section};
    let mount = |guest: &str, source: Option<&str>| Mount {
        guest: guest.into(),
        source: source.map(str::to_string),
    };
    let mut packer = Packer::new()?;
    let copied = bridge_dir.join(PACKAGED);
    packer.add(
        mount("/python", None),
        &copied.join("python"),
        Walk::All { skip: &[] },
    )?;
    packer.add(
        mount("/bundled", None),
        &copied.join("bundled"),
        Walk::All { skip: &[] },
    )?;
    for (i, (dir, shown)) in mounts.iter().enumerate() {
        let guest = format!("/{i}");
        let walk = || Walk::Project {
            except: output.to_path_buf(),
        };
        match i {
            0 => packer.add(mount(&guest, None), dir, walk())?,
            1 if has_site => packer.add(mount(&guest, None), dir, Walk::All { skip: &[] })?,
            _ => packer.add(mount(&guest, Some(shown)), dir, walk())?,
        }
    }
    // The first `--path` directory is the guest's working directory.
    packer.set_workdir(&format!("/{}", mounts.len() - paths));
    let zoneinfo = Path::new(ZONEINFO);
    if zoneinfo.is_dir() {
        let skip = &["posix", "right", "localtime", "posixrules"];
        packer.add(mount(ZONEINFO, None), zoneinfo, Walk::All { skip })?;
    }
    let counted = (packer.files, packer.bytes);
    let payload = packer.finish()?;
    let mut component = fs::read(output)?;
    append_section(&mut component, &payload);
    fs::write(output, component)?;
    Ok(counted)
}

/// The modules the app's code (and its dependencies' code) can import
/// (`wasgi/scan.py`, run with the build machine's Python), as a Python
/// list literal; an empty list if the scan fails (then only what the app
/// imports at load time is built in).
fn scan(tool: &Path, module: &str, mounts: &[(PathBuf, String)]) -> String {
    let mut cmd = Command::new(tool.join("bin/python"));
    cmd.args(["-m", "wasgi.scan", module])
        .env("PYTHONPATH", &mounts[0].0)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&mounts[0].0);
    for (dir, _) in &mounts[1..] {
        cmd.arg(dir);
    }
    let names = run(&mut cmd, "python")
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| serde_json::from_slice::<Vec<String>>(&out.stdout).ok())
        .unwrap_or_default();
    let literals: Vec<String> = names.iter().map(|n| py_str(n)).collect();
    format!("[{}]", literals.join(", "))
}

/// `MODULE:CALLABLE`, both dotted Python names; `CALLABLE(ARGS)` (an
/// application factory, as gunicorn takes it) is called at build time,
/// its arguments Python literals (`create_app("development")`), which the
/// guest's Python checks.
fn parse_target(target: &str) -> Result<(&str, &str), BuildError> {
    let (module, callable) = target.split_once(':').unwrap_or((target, "application"));
    let name = match callable.split_once('(') {
        Some((name, args)) if args.ends_with(')') => name,
        Some(_) => "",
        None => callable,
    };
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                let mut chars = part.chars();
                chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && chars.all(|c| c == '_' || c.is_alphanumeric())
            })
    };
    if !dotted(module) || !dotted(name) {
        return Err(BuildError::App(format!(
            "{target:?} is not MODULE:CALLABLE (e.g. app:application, myproject.wsgi:app, or \
             flaskr:create_app() for an application factory, create_app(\"dev\") with literal \
             arguments)"
        )));
    }
    Ok((module, callable))
}

/// A Python string literal for `s`.
fn py_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The virtual environment holding the pinned componentize-py, created on
/// first use (under a lock, so parallel builds share one install).
fn componentize_py() -> Result<PathBuf, BuildError> {
    let tools = host::component::default_tools_dir();
    let venv = tools.join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let done = venv.join(format!(".installed-uv-{UV}"));
    if done.exists() {
        return Ok(venv);
    }
    let tool_err = |what: &str, e: std::io::Error| BuildError::Tool(format!("{what}: {e}"));
    fs::create_dir_all(&tools).map_err(|e| tool_err(&tools.display().to_string(), e))?;
    let lock_path = tools.join(format!("componentize-py-{COMPONENTIZE_PY}.lock"));
    let lock = fs::File::create(&lock_path).map_err(|e| tool_err("lock", e))?;
    lock.lock().map_err(|e| tool_err("lock", e))?;
    if done.exists() {
        return Ok(venv);
    }
    eprintln!(
        "installing componentize-py {COMPONENTIZE_PY} and uv {UV} into {} (once)",
        venv.display()
    );
    let _ = fs::remove_dir_all(&venv);
    let python = std::env::var("WASGI_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = run(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        &python,
    )
    .map_err(|_| {
        BuildError::Tool(format!(
            "cannot run {python}: build-python needs Python 3.9 or newer, with venv and pip, \
             to install componentize-py (set WASGI_PYTHON to use another interpreter)"
        ))
    })?;
    if !out.status.success() {
        return Err(BuildError::Tool(format!(
            "{python} -m venv {} failed:\n{}",
            venv.display(),
            tail(&out, 10)
        )));
    }
    let out = run(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
            .arg(format!("componentize-py=={COMPONENTIZE_PY}"))
            .arg(format!("uv=={UV}")),
        "pip",
    )?;
    if !out.status.success() {
        return Err(BuildError::Tool(format!(
            "pip could not install componentize-py {COMPONENTIZE_PY} and uv {UV}:\n{}",
            tail(&out, 10)
        )));
    }
    fs::write(&done, COMPONENTIZE_PY).map_err(|e| tool_err("cache", e))?;
    Ok(venv)
}

/// Installs `requirements` (a requirements file, or a `pyproject.toml`'s
/// dependencies) into `site`, resolved for the guest's Python
/// ([`GUEST_PYTHON`]) with uv: its markers, its `Requires-Python`, its
/// wheels. A requirement with no release for it is an error naming it,
/// unless `allowed` names it (`--allow-missing-native`): then it is left
/// out, with a note, as a package with no wheel is its native code, which
/// a component cannot run anyway.
fn pip_install(
    tool: &Path,
    requirements: &Path,
    site: &Path,
    allowed: &[String],
    notes: &mut Vec<String>,
) -> Result<(), BuildError> {
    if !requirements.is_file() {
        return Err(BuildError::App(format!(
            "--requirements {}: no such file",
            requirements.display()
        )));
    }
    let allowed: Vec<String> = (allowed.iter())
        .map(|a| crate::native_deps::requirement_name(a))
        .collect();
    // Each requirement left out is an override whose marker never holds,
    // which takes it out of uv's resolution.
    let overrides = site.with_extension("overrides.txt");
    let mut left_out: Vec<String> = Vec::new();
    loop {
        let mut uv = Command::new(tool.join("bin/uv"));
        uv.args([
            "pip",
            "install",
            "--quiet",
            "--no-progress",
            "--color",
            "never",
        ])
        .args(["--python-version", GUEST_PYTHON])
        .args(["--python-platform", GUEST_PLATFORM])
        // sdists are built with the tool's own Python
        .arg("--python")
        .arg(tool.join("bin/python"))
        .arg("--target")
        .arg(site)
        .arg("-r")
        .arg(requirements)
        .env_remove("VIRTUAL_ENV")
        .env_remove("UV_SYSTEM_PYTHON");
        if !left_out.is_empty() {
            let lines: String = (left_out.iter())
                .map(|name| format!("{name} ; sys_platform == 'never'\n"))
                .collect();
            fs::write(&overrides, lines).map_err(|e| BuildError::Tool(e.to_string()))?;
            uv.arg("--overrides").arg(&overrides);
        }
        let out = run(&mut uv, "uv")?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        match built_from_source(&stderr).map(crate::native_deps::requirement_name) {
            Some(name) if allowed.contains(&name) && !left_out.contains(&name) => {
                notes.push(format!(
                    "note: {name} left out: it has no wheel for CPython {GUEST_PYTHON} \
                     (--allow-missing-native {name})"
                ));
                left_out.push(name);
            }
            _ => {
                return Err(BuildError::App(format!(
                    "cannot install {} for the guest's Python {GUEST_PYTHON}:\n{}",
                    requirements.display(),
                    uv_failure(&stderr)
                )));
            }
        }
    }
}

/// The requirement uv failed to build from source
/// (`psycopg2-binary==2.9.9`), if that is why it failed.
fn built_from_source(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("Failed to"))
        .find_map(|l| l.split_once("build `"))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(package, _)| package)
}

/// uv's reasons, without the output of a build backend it ran; a package
/// it had to build from source is named with what that means here.
fn uv_failure(stderr: &str) -> String {
    let mut lines: Vec<String> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            ["error:", "cause:", "hint:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(|l| l.trim_start_matches("error: ").to_string())
        .collect();
    if let Some(package) = built_from_source(stderr) {
        let name = crate::native_deps::requirement_name(package);
        lines.push(format!(
            "`{package}` has no wheel for CPython {GUEST_PYTHON}, and building it from source \
             failed (a native extension could not run in wasm anyway): require a release with \
             a wheel for Python {GUEST_PYTHON} or a pure-Python package, or build with \
             --allow-missing-native {name} to leave it out if the app never imports it"
        ));
    }
    if lines.is_empty() {
        let all: Vec<&str> = stderr.lines().collect();
        lines = all[all.len().saturating_sub(10)..]
            .iter()
            .map(|l| l.to_string())
            .collect();
    }
    lines.join("\n")
}

/// Compiled extension modules under `dir` (built for this machine, not
/// for wasm), relative to `dir`.
fn native_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "so" || e == "pyd" || e == "dylib")
                && let Ok(rel) = path.strip_prefix(dir)
            {
                found.push(rel.display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Removes the extension modules from `site` and returns them. Packages
/// with a pure-Python fallback (markupsafe's speedups) import without
/// them; the others fail to import, and the build says which file it was.
fn remove_native_code(site: &Path) -> Result<Vec<String>, BuildError> {
    let found = native_files(site);
    for file in &found {
        fs::remove_file(site.join(file)).map_err(|e| BuildError::Tool(format!("{file}: {e}")))?;
    }
    Ok(found)
}

/// The one message for a failed componentize-py run: the app's error as
/// `wasgi/build.py` reported it, else the end of the tool's output.
fn explain_failure(out: &Output, left_out: &[String], paths: &[PathBuf]) -> BuildError {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(report) = text
        .lines()
        .find_map(|l| l.split_once(ERROR_MARK).map(|(_, json)| json))
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
    else {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("  ") && !l.trim().is_empty())
            .collect();
        let start = lines.len().saturating_sub(8);
        return BuildError::Tool(format!(
            "componentize-py failed:\n{}",
            lines[start..].join("\n")
        ));
    };
    let field = |k: &str| report.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let (kind, message) = (field("kind"), field("message"));
    let place = match (field("file"), report.get("line").and_then(|v| v.as_u64())) {
        ("", _) => String::new(),
        (file, Some(line)) => format!("{file}, line {line}: "),
        (file, None) => format!("{file}: "),
    };
    if kind == "NativeCode" {
        // A requirement that does not import without what was removed.
        return BuildError::App(message.to_string());
    }
    if kind == "ModuleNotFoundError" || kind == "ImportError" {
        // Removed from --requirements, or lying in a --path directory.
        let in_paths: Vec<String> = paths.iter().flat_map(|p| native_files(p)).collect();
        let native =
            native_culprit(message, left_out).or_else(|| native_culprit(message, &in_paths));
        if let Some(native) = native {
            let package = top_level(native);
            return BuildError::App(format!(
                "{place}{kind}: {message}\n\
                 the dependency `{package}` needs native code ({native}), which cannot run \
                 in a wasm component; use a pure-Python package instead"
            ));
        }
    }
    if message.contains("no network while the app is built") {
        // An `app.run()` or `make_server(...)` at import, or a connection
        // made then: the component is served by `host serve`.
        return BuildError::App(format!(
            "{place}{kind}: {message}\n\
             the import may not open a connection or start a server (`host serve` serves the \
             app): guard `app.run()` with `if __name__ == \"__main__\":`, and connect when a \
             request needs it"
        ));
    }
    BuildError::App(format!("{place}{kind}: {message}"))
}

/// The top-level package (or module) a file belongs to:
/// `pkg/_core.cpython-311-x86_64-linux-gnu.so` is in `pkg`.
fn top_level(file: &str) -> &str {
    let first = file.split('/').next().unwrap_or(file);
    first.split('.').next().unwrap_or(first)
}

/// The removed native file an import error is about, if any: the error
/// names its module (`No module named 'pkg._speedups'`) or its package.
fn native_culprit<'a>(message: &str, left_out: &'a [String]) -> Option<&'a str> {
    left_out.iter().map(String::as_str).find(|file| {
        let stem = file.split('.').next().unwrap_or(file);
        let module = stem.replace('/', ".");
        let package = top_level(file);
        message.contains(&format!("'{module}'"))
            || message.contains(&format!("'{package}"))
            || message.contains(&format!("{package}."))
    })
}

/// The last `n` lines of a command's stderr (or stdout).
fn tail(out: &Output, n: usize) -> String {
    let text = if out.stderr.is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn run(cmd: &mut Command, name: &str) -> Result<Output, BuildError> {
    cmd.output()
        .map_err(|e| BuildError::Tool(format!("cannot run {name}: {e}")))
}

/// A staging directory, removed when dropped.
struct Staging(tempfile::TempDir);

impl Staging {
    fn new() -> Result<Staging, BuildError> {
        let dir = tempfile::Builder::new()
            .prefix("wasgi-build-python-")
            .tempdir()
            .map_err(|e| BuildError::Tool(format!("a staging directory: {e}")))?;
        Ok(Staging(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, text: &str) -> Result<(), BuildError> {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| BuildError::Tool(e.to_string()))?;
        }
        fs::write(&path, text).map_err(|e| BuildError::Tool(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_dotted_names() {
        assert_eq!(parse_target("app").unwrap(), ("app", "application"));
        assert_eq!(
            parse_target("my.wsgi:app.wsgi_app").unwrap(),
            ("my.wsgi", "app.wsgi_app")
        );
        assert_eq!(
            parse_target("flaskr:create_app()").unwrap(),
            ("flaskr", "create_app()")
        );
        assert_eq!(
            parse_target("app:create_app(\"development\", debug=False)").unwrap(),
            ("app", "create_app(\"development\", debug=False)")
        );
        for bad in [
            "", "app:", ":app", "a-b:app", "app:1x", "a..b:c", "app:x y", "a:f(1", "a:()",
        ] {
            assert!(parse_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn python_literals_escape_quotes_and_controls() {
        assert_eq!(py_str(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(py_str("x\ny"), r"'x\x0ay'");
    }

    #[test]
    fn an_import_error_names_the_removed_native_file() {
        let left = vec!["fastlib/_core.cpython-311-x86_64-linux-gnu.so".to_string()];
        assert!(native_culprit("No module named 'fastlib._core'", &left).is_some());
        assert!(native_culprit("No module named 'other'", &left).is_none());
        assert_eq!(top_level(&left[0]), "fastlib");
        assert_eq!(top_level("ujson.cpython-311-x86_64-linux-gnu.so"), "ujson");
    }
}
