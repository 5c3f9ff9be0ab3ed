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
//! (`wsgiref.headers`), [`parse`] (`urllib.parse`), [`cookies`],
//! [`multipart`], [`FileWrapper`], [`pyrepr`] and [`Error`] — are what the
//! host uses too, through the `native` feature. The guest runtime (environ,
//! streams, `start_response`, bodies, `export!`) exists on `wasm32` only;
//! built natively without `native`, the SDK stops with one error naming
//! `--target wasm32-wasip2`.
//!
//! Read these docs with `cargo doc -p guest-sdk --target wasm32-wasip2 --open`.

#![deny(missing_docs)]

#[cfg(not(any(target_arch = "wasm32", feature = "native", test, doc)))]
compile_error!(
    "wasgi apps are WebAssembly components: build them with `--target wasm32-wasip2` \
     (or set `[build] target = \"wasm32-wasip2\"` in .cargo/config.toml, as `host new` does)"
);

pub mod cookies;
pub mod environ;
pub mod file_wrapper;
pub mod handlers;
pub mod headers;
pub mod html;
pub mod multipart;
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
