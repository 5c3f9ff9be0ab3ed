//! Loading a component file, with one-line errors that say what was wrong.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p3::bindings::ServicePre;

use super::bindings::AppPre;
use super::bindings::wasgi::wsgi::types;
use super::ctx::Instances;
use super::wasi_http::Pre;
use super::{AppOptions, RequestCtx, WasiHttpApp, WasmApp};

/// The interface a wasgi app exports.
pub const APPLICATION_EXPORT: &str = "wasgi:wsgi/application@0.1.0";

/// The interface a `wasi:http/proxy` component (WASIp2) exports, any
/// `0.2.x` version.
pub const WASI_HTTP_EXPORT: &str = "wasi:http/incoming-handler@0.2";

/// The interface a WASIp3 `wasi:http/service` component exports, any
/// `0.3.x` version.
pub const WASI_HTTP_P3_EXPORT: &str = "wasi:http/handler@0.3";

/// A component ready to serve, of either kind.
#[derive(Clone)]
pub enum Loaded {
    /// A wasgi app (`wasgi:wsgi/application`).
    Wasgi(WasmApp),
    /// A `wasi:http` component: `wasi:http/incoming-handler` (WASIp2) or
    /// `wasi:http/handler` (WASIp3).
    WasiHttp(WasiHttpApp),
}

impl Loaded {
    /// What a server serves: a wasgi app under the validator when
    /// `validate` asks for it (it checks WSGI apps only: a `wasi:http`
    /// component cannot be validated, and this says so).
    pub fn into_service(self, validate: bool) -> Result<crate::Service, &'static str> {
        match self {
            Loaded::Wasgi(app) if validate => Ok(crate::Service::Wsgi(Arc::new(
                crate::validate::validator(app),
            ))),
            Loaded::WasiHttp(_) if validate => {
                Err("checks WSGI apps, and this is a wasi:http component")
            }
            loaded => Ok(loaded.into()),
        }
    }

    /// How its instances serve requests (see [`WasiHttpApp::reuse`]).
    pub fn reuse(&self) -> String {
        match self {
            Loaded::Wasgi(app) => app.instances().options.reuse.requests().to_string(),
            Loaded::WasiHttp(app) => app.reuse(),
        }
    }

    /// How the component was compiled: how long it took, and whether it
    /// came from the compile cache.
    pub fn compiled(&self) -> Compiled {
        match self {
            Loaded::Wasgi(app) => app.instances().compiled,
            Loaded::WasiHttp(app) => app.instances().compiled,
        }
    }
}

/// How a component was compiled.
#[derive(Clone, Copy, Debug, Default)]
pub struct Compiled {
    /// How long compiling (or loading it from the cache) took.
    pub took: std::time::Duration,
    /// Whether it came from the compile cache (`None`: no cache).
    pub from_cache: Option<bool>,
    /// When compiled: how many of its functions Cranelift compiled or found
    /// in the function cache, and how many it found there.
    pub functions: Option<(usize, usize)>,
}

impl fmt::Display for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.took.as_secs_f64() * 1000.0;
        match self.from_cache {
            Some(true) => write!(f, "loaded from the compile cache in {ms:.1} ms"),
            Some(false) => write!(f, "compiled in {ms:.1} ms (cached for the next start)"),
            None => write!(f, "compiled in {ms:.1} ms"),
        }?;
        match self.functions {
            Some((all, reused)) if self.from_cache == Some(false) && all > 0 => {
                write!(f, "; {reused} of {all} functions from the function cache")
            }
            _ => Ok(()),
        }
    }
}

/// Which kind a component's exports make it.
fn kind_of(exports: &[String]) -> Option<Kind> {
    // Release versions only: a pre-release interface never matches.
    let exports_version = |prefix: &str| {
        exports.iter().any(|e| {
            e.strip_prefix(prefix)
                .is_some_and(|v| v.starts_with('.') && !v.contains('-'))
        })
    };
    if exports.iter().any(|e| e == APPLICATION_EXPORT) {
        Some(Kind::Wasgi)
    } else if exports_version(WASI_HTTP_EXPORT) {
        Some(Kind::WasiHttp)
    } else if exports_version(WASI_HTTP_P3_EXPORT) {
        Some(Kind::WasiHttpP3)
    } else {
        None
    }
}

enum Kind {
    Wasgi,
    WasiHttp,
    WasiHttpP3,
}

/// Why a file could not be served. `file` names it in every case.
#[derive(Debug)]
#[allow(missing_docs)] // the fields are the message's parts
pub enum LoadError {
    /// The file could not be read.
    Read { file: String, error: std::io::Error },
    /// The file is not WebAssembly.
    NotWasm { file: String },
    /// The file is a core module, not a component.
    CoreModule { file: String },
    /// The component exports none of the interfaces the host serves
    /// (`exports`: what it does export).
    WrongWorld { file: String, exports: Vec<String> },
    /// The component imports interfaces the host does not provide.
    MissingImports { file: String, imports: Vec<String> },
    /// The component fails to compile or to link.
    Invalid { file: String, error: String },
    /// The files the component carries cannot be mounted.
    Files { file: String, error: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { file, error } => write!(
                f,
                "cannot read {file}: {error} (expected a wasgi app: a .wasm component built for wasm32-wasip2)"
            ),
            LoadError::NotWasm { file } => write!(
                f,
                "{file} is not a WebAssembly component (expected a .wasm file built for wasm32-wasip2 with the wasgi guest SDK)"
            ),
            LoadError::CoreModule { file } => write!(
                f,
                "{file} is a core WebAssembly module, not a component (expected a component built with `cargo build --target wasm32-wasip2`)"
            ),
            LoadError::WrongWorld { file, exports } => write!(
                f,
                "{file} is a component but exports none of {APPLICATION_EXPORT} (a wasgi app, wasgi::export!), {WASI_HTTP_EXPORT}.x (a wasi:http/proxy component) or {WASI_HTTP_P3_EXPORT}.x (a WASIp3 wasi:http/service component); it exports: {}",
                if exports.is_empty() {
                    "nothing".to_string()
                } else {
                    exports.join(", ")
                }
            ),
            LoadError::MissingImports { file, imports } => write!(
                f,
                "{file} imports {}, which this host does not provide (it provides {}, 0.2 and 0.3; platform interfaces such as Spin's fermyon:spin/* are not available)",
                imports.join(", "),
                crate::capability::provided()
            ),
            LoadError::Invalid { file, error } => {
                write!(f, "{file} cannot run as a wasgi app: {error}")
            }
            LoadError::Files { file, error } => write!(f, "{file}: {error}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A component may be made an executable script by putting a `#!` line in
/// front of it (`#!/usr/bin/env -S host cgi`); the component starts after
/// that line.
pub fn strip_script_line(bytes: &[u8]) -> &[u8] {
    if bytes.starts_with(b"#!") {
        match bytes.iter().position(|&b| b == b'\n') {
            Some(end) => &bytes[end + 1..],
            None => &[],
        }
    } else {
        bytes
    }
}

/// Whether `bytes` (named `file` in the error) are a component's: not
/// something else, nor a core module.
pub fn check_component(bytes: &[u8], file: &str) -> Result<(), LoadError> {
    let file = file.to_string();
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm { file });
    }
    // Core modules are version 1, layer 0; components have layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule { file });
    }
    Ok(())
}

/// Reads, checks, compiles and pre-instantiates the component at `path`
/// (a `.wasm` file, or a script: a `#!` line followed by the component).
pub fn load_component(
    engine: &Engine,
    path: &Path,
    options: AppOptions,
) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| LoadError::Read {
        file: file.clone(),
        error,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    load_component_bytes(engine, &bytes, &file, &name, options)
}

/// Like [`load_component`] for bytes in memory; `file` names them in
/// errors, `name` in tracebacks.
pub fn load_component_bytes(
    engine: &Engine,
    bytes: &[u8],
    file: &str,
    name: &str,
    mut options: AppOptions,
) -> Result<Loaded, LoadError> {
    let file = file.to_string();
    let bytes = strip_script_line(bytes);
    check_component(bytes, &file)?;
    let invalid = |e: wasmtime::Error| LoadError::Invalid {
        file: file.clone(),
        error: format!("{e:#}").replace('\n', " "),
    };
    let (engine, component, compiled) = compile(engine, bytes).map_err(invalid)?;
    let engine = &engine;
    if compiled.from_cache != Some(true) {
        trim_heap();
    }
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let Some(kind) = kind_of(&exports) else {
        return Err(LoadError::WrongWorld { file, exports });
    };
    let imports: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| {
            !(crate::capability::provides(name)
                || matches!(kind, Kind::Wasgi) && name.starts_with("wasgi:wsgi/"))
        })
        .collect();
    if !imports.is_empty() {
        return Err(LoadError::MissingImports { file, imports });
    }
    crate::capability::packaged::unpack_into(bytes, &mut options).map_err(|error| {
        LoadError::Files {
            file: file.clone(),
            error,
        }
    })?;
    let instances = Instances::new(engine, name, options, compiled);
    let mut linker = Linker::<RequestCtx>::new(engine);
    crate::capability::add_to_linker(&mut linker).map_err(invalid)?;
    let pre = match kind {
        Kind::Wasgi => {
            types::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx).map_err(invalid)?;
            let pre = linker.instantiate_pre(&component).map_err(invalid)?;
            let pre = AppPre::new(pre).map_err(invalid)?;
            Loaded::Wasgi(WasmApp::from_parts(instances, pre))
        }
        Kind::WasiHttp => {
            let pre = linker.instantiate_pre(&component).map_err(invalid)?;
            let pre = Pre::P2(ProxyPre::new(pre).map_err(invalid)?);
            Loaded::WasiHttp(WasiHttpApp::new(instances, pre))
        }
        Kind::WasiHttpP3 => {
            let pre = linker.instantiate_pre(&component).map_err(invalid)?;
            let pre = Pre::P3(ServicePre::new(pre).map_err(invalid)?);
            Loaded::WasiHttp(WasiHttpApp::new(instances, pre))
        }
    };
    Ok(pre)
}

/// `bytes` compiled for the engine [`super::engine::engine_for`] picks
/// (or, should a WASIp2 component use the component model's async
/// features after all, for `given`), and how: the time both tries took,
/// and what the caches had.
fn compile(given: &Engine, bytes: &[u8]) -> wasmtime::Result<(Engine, Component, Compiled)> {
    let started = std::time::Instant::now();
    let on = |engine: Engine| {
        let before = super::engine::cache_counts(&engine);
        let component = Component::new(&engine, bytes)?;
        let after = super::engine::cache_counts(&engine);
        // (Counts of components compiled at the same time on this engine
        // mix in; the line is a guide, not an account.)
        let delta = before.zip(after);
        let compiled = Compiled {
            took: started.elapsed(),
            from_cache: delta.map(|(a, b)| b.components > a.components),
            functions: delta.map(|(a, b)| {
                (
                    b.function_lookups - a.function_lookups,
                    b.function_hits - a.function_hits,
                )
            }),
        };
        wasmtime::Result::Ok((engine, component, compiled))
    };
    let picked = super::engine::engine_for(given, bytes);
    if Engine::same(&picked, given) {
        return on(picked);
    }
    on(picked).or_else(|_| on(given.clone()))
}

/// Returns the heap memory that is free again to the system. Compiling a
/// large component (a Python app: 20-30 MB) takes a few hundred MB, which
/// glibc's allocator would otherwise keep: the server then idles at that
/// size instead of ~60 MB. (The server also calls it every few seconds:
/// [`crate::gateway::serving::trim_heap_periodically`].)
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory that is free; it has no
    // preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
