//! Loading a component file, with one-line errors that say what was wrong.

use std::fmt;
use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

use super::bindings::AppPre;
use super::bindings::wasgi::wsgi::types;
use super::{AppOptions, RequestCtx, WasmApp};

/// The interface a wasgi app must export.
pub const APPLICATION_EXPORT: &str = "wasgi:wsgi/application@0.1.0";

/// Why a file could not be served.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Read { file: String, error: std::io::Error },
    /// The file is not WebAssembly.
    NotWasm { file: String },
    /// The file is a core module, not a component.
    CoreModule { file: String },
    /// The component does not export the wasgi application interface.
    WrongWorld { file: String, exports: Vec<String> },
    /// The component needs imports the host does not provide, or fails to
    /// compile.
    Invalid { file: String, error: String },
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
                "{file} is a component but does not export {APPLICATION_EXPORT} (it exports: {}); expected a wasgi app (wasgi::export!)",
                if exports.is_empty() {
                    "nothing".to_string()
                } else {
                    exports.join(", ")
                }
            ),
            LoadError::Invalid { file, error } => {
                write!(f, "{file} cannot run as a wasgi app: {error}")
            }
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

/// Reads, checks, compiles and pre-instantiates the component at `path`
/// (a `.wasm` file, or a script: a `#!` line followed by the component).
pub fn load_component(
    engine: &Engine,
    path: &Path,
    options: AppOptions,
) -> Result<WasmApp, LoadError> {
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
    options: AppOptions,
) -> Result<WasmApp, LoadError> {
    let file = file.to_string();
    let bytes = strip_script_line(bytes);
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm { file });
    }
    // Core modules are version 1, layer 0; components have layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule { file });
    }
    let invalid = |e: wasmtime::Error| LoadError::Invalid {
        file: file.clone(),
        error: format!("{e:#}").replace('\n', " "),
    };
    let component = Component::new(engine, bytes).map_err(invalid)?;
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    if !exports.iter().any(|e| e == APPLICATION_EXPORT) {
        return Err(LoadError::WrongWorld { file, exports });
    }
    let mut linker = Linker::<RequestCtx>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(invalid)?;
    types::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx).map_err(invalid)?;
    let pre = linker.instantiate_pre(&component).map_err(invalid)?;
    let pre = AppPre::new(pre).map_err(invalid)?;
    Ok(WasmApp::new(engine, pre, name, options))
}
