//! # wasgi guest SDK
//!
//! Write WSGI (PEP 3333) applications in Rust and compile them to
//! WebAssembly components that the wasgi host serves:
//!
//! ```ignore
//! use wasgi::{Body, Environ, Result, StartResponse};
//!
//! fn hello_world_app(_environ: Environ, start_response: StartResponse) -> Result<Body> {
//!     start_response.call("200 OK", [("Content-type", "text/plain; charset=utf-8")], None)?;
//!     Ok(Body::from("Hello World"))
//! }
//!
//! wasgi::export!(hello_world_app);
//! ```
//!
//! The pure-Rust modules — [`util`] (`wsgiref.util`), [`headers`]
//! (`wsgiref.headers`), [`FileWrapper`], [`pyrepr`] and [`Error`] — compile on every target
//! and are what the host uses too. The guest runtime (environ, streams,
//! `start_response`, bodies, `export!`) exists on `wasm32` only.

pub mod environ;
pub mod file_wrapper;
pub mod handlers;
pub mod headers;
pub mod parse;
pub mod pyrepr;
pub mod util;
pub mod validate;

mod error;
pub use error::{Error, ExcInfo, Result};
pub use file_wrapper::FileWrapper;
pub use headers::Headers;
pub use util::Vars;

#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
pub use guest::*;
