//! `wsgiref.validate`: [`validator`] wraps any [`Application`] and checks
//! both sides of every call against PEP 3333.
//!
//! The **server side**: the environ the host built (`check_environ`). The
//! **application side**: every `start_response` (status, headers,
//! Content-Type, a second call), every `write`, and the body (iterated only
//! after `start_response`, never after `close()`, closed exactly once, as
//! long as its `Content-Length` says, empty for 204/304). The rules and
//! their messages are shared with the guest SDK (`wasgi::validate`).
//!
//! A violation is written to the request's `wsgi.errors` as
//! `wsgi validator: <message>` and raised as an exception (so the handler
//! logs its traceback, and sends the error page or cuts the connection);
//! warnings are written as `wsgi validator: WSGIWarning: <message>`. As in
//! wsgiref, a validated response has no automatic `Content-Length`: the
//! body is a wrapper without a length.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasgi::ExcInfo;
use wasgi::validate::{ResponseState, Violation, begin, warning_line};

use crate::app::{
    Admission, Application, Body, BodyIter, BoxFuture, Environ, Responder, StartResponse,
};
use crate::streams::ErrorStream;

/// `validator(application)`: `application`, checked on every call.
pub fn validator(application: impl Application) -> Validator {
    Validator {
        app: Arc::new(application),
    }
}

/// An application wrapped by [`validator`].
pub struct Validator {
    app: Arc<dyn Application>,
}

impl Application for Validator {
    fn admit(&self) -> BoxFuture<'_, Result<Admission, crate::app::Busy>> {
        self.app.admit()
    }

    fn call(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        self.call_admitted(environ, start_response, Admission::default())
    }

    fn call_admitted(
        &self,
        environ: Environ,
        start_response: StartResponse,
        admission: Admission,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        Box::pin(async move {
            let errors = environ.errors.clone();
            let mut warnings = Vec::new();
            let begun = begin(&environ.vars, &mut warnings);
            warn(&errors, &warnings);
            let state = Arc::new(Mutex::new(begun.map_err(|v| raise(&errors, v))?));
            let wrapped = StartResponse::new(CheckedResponder {
                inner: start_response,
                state: state.clone(),
                errors: errors.clone(),
            });
            let body = self.app.call_admitted(environ, wrapped, admission).await?;
            Ok(Body::Iter(Box::new(IteratorWrapper {
                body,
                state,
                errors,
            })))
        })
    }
}

/// Reports a violation on `wsgi.errors` and turns it into the exception.
fn raise(errors: &ErrorStream, violation: Violation) -> ExcInfo {
    errors.write(&violation.diagnostic());
    ExcInfo::from(violation)
}

fn warn(errors: &ErrorStream, warnings: &[String]) {
    for w in warnings {
        errors.write(&warning_line(w));
    }
}

/// Locks the state; a poisoned lock (a panic elsewhere) still holds valid
/// counters.
fn lock(state: &Mutex<ResponseState>) -> std::sync::MutexGuard<'_, ResponseState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The application's `start_response` and `write`, checked, then passed on.
struct CheckedResponder {
    inner: StartResponse,
    state: Arc<Mutex<ResponseState>>,
    errors: ErrorStream,
}

impl Responder for CheckedResponder {
    fn start_response(
        &self,
        status: String,
        headers: Vec<(String, String)>,
        exc_info: Option<ExcInfo>,
    ) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async move {
            let mut warnings = Vec::new();
            let checked = lock(&self.state).start_response(
                &status,
                &headers,
                exc_info.is_some(),
                &mut warnings,
            );
            warn(&self.errors, &warnings);
            checked.map_err(|v| raise(&self.errors, v))?;
            self.inner.call(status, headers, exc_info).await
        })
    }

    fn write(&self, data: Bytes) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async move {
            let checked = lock(&self.state).write(data.len());
            checked.map_err(|v| raise(&self.errors, v))?;
            self.inner.write(data).await
        })
    }
}

/// `IteratorWrapper`: checks how the server consumes the body.
/// Like wsgiref's, the wrapper has no length and no file: the body is
/// consumed item by item, whatever its kind.
struct IteratorWrapper {
    body: Body,
    state: Arc<Mutex<ResponseState>>,
    errors: ErrorStream,
}

impl BodyIter for IteratorWrapper {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, ExcInfo>> {
        Box::pin(async move {
            if lock(&self.state).closed() {
                return Err(raise(
                    &self.errors,
                    Violation {
                        kind: "AssertionError",
                        message: "Iterator read after closed".into(),
                    },
                ));
            }
            let item = self.body.next_chunk().await?;
            let checked = lock(&self.state).next_item(item.as_ref().map(Bytes::len));
            checked.map_err(|v| raise(&self.errors, v))?;
            Ok(item)
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async move {
            let checked = lock(&self.state).close();
            let closed = self.body.close().await;
            checked.map_err(|v| raise(&self.errors, v))?;
            closed
        })
    }
}

impl Drop for IteratorWrapper {
    fn drop(&mut self) {
        if !lock(&self.state).closed() {
            self.errors.write(&format!(
                "{}Iterator garbage collected without being closed\n",
                wasgi::validate::PREFIX
            ));
        }
    }
}
