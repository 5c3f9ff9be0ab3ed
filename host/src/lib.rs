//! # wasgi host
//!
//! Python's `wsgiref`, rebuilt in Rust for WebAssembly components: WSGI
//! (PEP 3333) apps compiled to components, served over HTTP, run as CGI
//! scripts, checked by a validator.
//!
//! | wsgiref | here |
//! |---|---|
//! | the WSGI callable | [`Application`] (a [`component::WasmApp`], a closure, ...) |
//! | `simple_server` | [`simple_server`]: [`make_server`], [`WSGIServer`], [`WSGIRequestHandler`] |
//! | `handlers` | [`handlers`]: [`BaseHandler`], `SimpleHandler`, `CGIHandler`, ... |
//! | `validate` | [`validate::validator`] |
//! | `util`, `headers` | the guest SDK's [`wasgi::util`] and [`wasgi::headers`], shared |
//! | `environ` building | [`environ`] |
//! | many apps on one server | [`router`]: [`Router`], [`Tenant`], [`Mount`] (`shift_path_info` mounting); [`manifest`]: `wasgi.toml` |

#![deny(missing_docs)]

// The wsgiref core.
pub mod app;
pub mod environ;
pub mod handlers;
pub mod simple_server;
pub mod streams;
pub mod validate;

// The gateway: a request's path from the listener to an executor.
pub mod gateway;

// One executor per guest ABI.
pub mod executor;

// What the host gives guests, one module per capability.
pub mod capability;

// The wasmtime layer: engine, loading, stores.
pub mod component;

// Sizes and seconds, as flags and manifest keys give them.
pub mod units;

// The `host` command (and `wasgi`, the same under another name): its
// arguments and what each subcommand calls. In the library so both
// binaries are one line each; written against the library's public API
// as any embedder would (`host::...`).
extern crate self as host;
mod build_python;
#[doc(hidden)]
pub mod cli;
mod kv_command;
mod native_deps;
mod run_python;
mod scaffold;

pub use gateway::{manifest, metrics, router};

pub use app::{
    Application, Body, BodyIter, BoxFuture, Busy, Environ, FileBody, Responder, StartResponse,
};
pub use executor::Service;
pub use handlers::BaseHandler;
pub use router::{Mount, Router, Tenant};
pub use simple_server::{WSGIRequestHandler, WSGIServer, make_server};
pub use streams::{ErrorStream, InputStream};
pub use wasgi::{ExcInfo, Vars};
