use super::{Body, Environ, StartResponse};

/// A WSGI application: `application(environ, start_response)`.
///
/// Call `start_response` before the body yields its first chunk (or before
/// returning a list of chunks), then return the body. An `Err` is an
/// exception raised by the app: before the headers are sent the host answers
/// with its 500 error page, after that it cuts the connection.
pub trait Application {
    /// Handles one request.
    fn call(&self, environ: Environ, start_response: StartResponse) -> crate::Result<Body>;
}

impl<F> Application for F
where
    F: Fn(Environ, StartResponse) -> crate::Result<Body>,
{
    fn call(&self, environ: Environ, start_response: StartResponse) -> crate::Result<Body> {
        self(environ, start_response)
    }
}
