//! The guest runtime: what a wasgi app sees inside its component.

mod app;
mod body;
mod environ;
mod errors;
pub mod fs;
mod input;
mod start_response;
pub(crate) mod validator;

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
