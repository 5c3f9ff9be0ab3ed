//! The guest runtime: what a wasgi app sees inside its component.

mod app;
mod body;
pub mod client;
pub mod config;
mod environ;
mod errors;
pub mod fs;
mod input;
pub mod kv;
mod panic;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod start_response;
mod state;
pub(crate) mod validator;
mod wasi_http;

#[doc(hidden)]
pub mod __private;

pub use app::Application;
pub use body::Body;
pub use environ::Environ;
pub use errors::Errors;
pub use input::Input;
pub use start_response::{Respond, StartResponse, Write};

/// Exports a WSGI application from this component.
///
/// The argument is any expression whose value implements [`Application`]:
/// a function `fn(Environ, StartResponse) -> wasgi::Result<Body>`, or a value
/// of your own type. It is evaluated once per request (each request runs in
/// a fresh instance).
///
/// ```ignore
/// wasgi::export!(hello_world_app);
/// ```
///
/// The component exports `wasgi:wsgi/application`, which the wasgi host
/// serves. Built with the SDK's `wasi-http` feature
/// (`cargo build --target wasm32-wasip2 --features wasgi/wasi-http`), the
/// same line exports `wasi:http/incoming-handler` instead, like
/// [`export_wasi_http!`](crate::export_wasi_http).
#[cfg(not(feature = "wasi-http"))]
#[macro_export]
macro_rules! export {
    ($app:expr) => {
        #[doc(hidden)]
        struct __WasgiExport;

        impl $crate::__private::Guest for __WasgiExport {
            type Body = $crate::__private::GuestBody;

            fn call(
                environ: $crate::__private::WitEnviron,
                input: $crate::__private::WitInputStream,
                errors: $crate::__private::WitErrorStream,
                start_response: $crate::__private::WitStartResponse,
            ) -> ::core::result::Result<$crate::__private::Response, $crate::__private::WitExcInfo>
            {
                $crate::__private::call(&$app, environ, input, errors, start_response)
            }
        }

        $crate::__private::bindings::__export_app!(__WasgiExport with_types_in $crate::__private::bindings);
    };
}

/// Exports a WSGI application from this component (the `wasi-http`
/// feature is on: as `wasi:http/incoming-handler`, see
/// [`export_wasi_http!`](crate::export_wasi_http)).
#[cfg(feature = "wasi-http")]
#[macro_export]
macro_rules! export {
    ($app:expr) => {
        $crate::export_wasi_http!($app);
    };
}

/// Exports a WSGI application as a standard `wasi:http/proxy` component:
/// it exports `wasi:http/incoming-handler` and runs under any wasi:http
/// host (`wasmtime serve -Scli`, Spin, `host serve`).
///
/// Inside the component, the SDK does what a WSGI server does: it builds
/// the environ from the request by the same rules as the wasgi host,
/// streams `wsgi.input` from the request body, runs the app, sends the
/// headers on the first body chunk (a one-chunk list gets a
/// `Content-Length`), streams the rest, and calls `close()`. A failure
/// before the headers gets wsgiref's error page; after them, the response
/// is cut. `wsgi.errors` is the component's stderr. What `wasi:http` does
/// not carry is absent: `REMOTE_ADDR`, the client's HTTP version
/// (`SERVER_PROTOCOL` is `HTTP/1.1`), custom reason phrases, and
/// `wsgi.file_wrapper` (files stream through the guest).
///
/// ```ignore
/// wasgi::export_wasi_http!(hello_world_app);
/// ```
#[macro_export]
macro_rules! export_wasi_http {
    ($app:expr) => {
        #[doc(hidden)]
        struct __WasgiHttpExport;

        impl $crate::__private::wasip2::exports::wasi::http::incoming_handler::Guest
            for __WasgiHttpExport
        {
            fn handle(
                request: $crate::__private::wasip2::http::types::IncomingRequest,
                response_out: $crate::__private::wasip2::http::types::ResponseOutparam,
            ) {
                $crate::__private::serve_wasi_http(&$app, request, response_out)
            }
        }

        $crate::__private::wasip2::http::proxy::export!(
            __WasgiHttpExport with_types_in $crate::__private::wasip2
        );
    };
}
