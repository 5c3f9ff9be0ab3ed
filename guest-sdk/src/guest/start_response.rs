use std::rc::Rc;

use super::__private::{WitStartResponse, from_wit, to_wit};

/// What stands behind a [`StartResponse`]: the host's `start_response`, or
/// a middleware wrapping another `StartResponse` (the validator).
pub trait Respond {
    /// `start_response(status, headers, exc_info)`.
    fn call(
        &self,
        status: &str,
        headers: &[(String, String)],
        exc_info: Option<&crate::Error>,
    ) -> crate::Result<()>;

    /// `write(data)`.
    fn write(&self, data: &[u8]) -> crate::Result<()>;
}

impl Respond for WitStartResponse {
    fn call(
        &self,
        status: &str,
        headers: &[(String, String)],
        exc_info: Option<&crate::Error>,
    ) -> crate::Result<()> {
        let exc_info = exc_info.cloned().map(to_wit);
        WitStartResponse::call(self, status, headers, exc_info.as_ref()).map_err(from_wit)
    }

    fn write(&self, data: &[u8]) -> crate::Result<()> {
        WitStartResponse::write(self, data).map_err(from_wit)
    }
}

/// `start_response(status, response_headers, exc_info=None)`.
///
/// Cloning gives another handle to the same callable, so a lazy body (a
/// generator) can call it later.
#[derive(Clone)]
pub struct StartResponse(Rc<dyn Respond>);

impl StartResponse {
    /// A `start_response` backed by `respond` (for middleware).
    pub fn from_respond(respond: impl Respond + 'static) -> Self {
        StartResponse(Rc::new(respond))
    }

    /// Starts the response: `status` is `"NNN Reason"`, `headers` are
    /// `(name, value)` pairs (native strings). Pass `exc_info` when replacing
    /// a response from an error handler; once the headers are sent that call
    /// fails with the same exception, which the app should return.
    ///
    /// Returns the `write()` callable. A failure's traceback starts at the
    /// line that made this call.
    #[track_caller]
    pub fn call<I, K, V>(
        &self,
        status: &str,
        headers: I,
        exc_info: Option<&crate::Error>,
    ) -> crate::Result<Write>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        match self.0.call(status, &headers, exc_info) {
            Ok(()) => Ok(Write(self.0.clone())),
            Err(e) => Err(e.called_from_here()),
        }
    }

    /// The `write(data)` callable, also reachable before `call` (where it
    /// fails, as PEP 3333 requires).
    #[track_caller]
    pub fn write(&self, data: &[u8]) -> crate::Result<()> {
        match self.0.write(data) {
            Ok(()) => Ok(()),
            // (Not in a closure: the location must be the caller's.)
            Err(e) => Err(e.called_from_here()),
        }
    }
}

/// The `write(data)` callable returned by [`StartResponse::call`]: sends the
/// headers if needed, then `data`, and returns once it was transmitted.
#[derive(Clone)]
pub struct Write(Rc<dyn Respond>);

impl Write {
    /// `write(data)`; a failure's traceback starts at the calling line.
    #[track_caller]
    pub fn write(&self, data: &[u8]) -> crate::Result<()> {
        match self.0.write(data) {
            Ok(()) => Ok(()),
            // (Not in a closure: the location must be the caller's.)
            Err(e) => Err(e.called_from_here()),
        }
    }
}

impl std::io::Write for Write {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
