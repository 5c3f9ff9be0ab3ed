//! Glue between the generated bindings and the SDK types; used by
//! [`export!`](crate::export) only.

/// The `wit-bindgen` bindings of the `app` world (generated, undocumented).
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "app",
        pub_export_macro: true,
        export_macro_name: "__export_app",
        default_bindings_module: "wasgi::__private::bindings",
        with: {
            "wasi:filesystem/types@0.2.12": wasip2::filesystem::types,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
        },
    });
}

use bindings::exports::wasgi::wsgi::application as wit_app;
use bindings::wasgi::wsgi::types as wit;

pub use super::body::GuestBody;
pub use wit::{
    Environ as WitEnviron, ErrorStream as WitErrorStream, ExcInfo as WitExcInfo,
    InputStream as WitInputStream, StartResponse as WitStartResponse,
};
pub use wit_app::{Guest, Response};

pub use super::wasi_http::serve as serve_wasi_http;
pub use wasip2;

use super::{Application, Environ, Errors, Input, StartResponse};

/// Runs `app` for one request and converts its return value for the host.
pub fn call<A: Application + ?Sized>(
    app: &A,
    environ: WitEnviron,
    input: WitInputStream,
    errors: WitErrorStream,
    start_response: WitStartResponse,
) -> Result<Response, WitExcInfo> {
    super::panic::install_hook();
    let environ = Environ::from_wit(environ, Input::new(input), Errors::new(errors));
    super::body::set_file_wrapper_offered(environ.file_wrapper);
    let start_response = StartResponse::from_respond(start_response);
    match app.call(environ, start_response) {
        Ok(body) => Ok(body.into_response()),
        Err(err) => Err(to_wit(err)),
    }
}

/// An [`Error`](crate::Error) as the WIT `exc-info` record.
pub(crate) fn to_wit(err: crate::Error) -> WitExcInfo {
    WitExcInfo {
        kind: err.kind,
        message: err.message,
        traceback: err.traceback,
    }
}

/// A WIT `exc-info` record as an [`Error`](crate::Error).
pub(crate) fn from_wit(err: WitExcInfo) -> crate::Error {
    crate::Error {
        kind: err.kind,
        message: err.message,
        traceback: err.traceback,
    }
}
