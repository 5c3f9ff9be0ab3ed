//! The guest side of `wsgiref.validate`: checks a guest application (or a
//! middleware stack) with the same rules as the host's validator.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Application, Body, Environ, Errors, Respond, StartResponse};
use crate::validate::{ResponseState, Violation, begin, warning_line};

/// `validator(application)`: `application`, checked on every call. Rules,
/// messages and reporting are those of the host's `--validate`:
/// a violation is written to `wsgi.errors` as `wsgi validator: <message>`
/// and raised as an exception.
pub fn validator<A: Application>(application: A) -> Validator<A> {
    Validator { app: application }
}

/// An application wrapped by [`validator`].
pub struct Validator<A> {
    app: A,
}

pub(crate) type State = Rc<RefCell<ResponseState>>;

/// Reports a violation on `wsgi.errors` and turns it into the exception.
#[track_caller]
pub(crate) fn raise(errors: &Errors, violation: Violation) -> crate::Error {
    errors.write(&violation.diagnostic());
    crate::Error::from(violation)
}

fn warn(errors: &Errors, warnings: &[String]) {
    for w in warnings {
        errors.write(&warning_line(w));
    }
}

impl<A: Application> Application for Validator<A> {
    fn call(&self, environ: Environ, start_response: StartResponse) -> crate::Result<Body> {
        let errors = environ.errors.clone();
        let mut warnings = Vec::new();
        let begun = begin(&environ.vars, &mut warnings);
        warn(&errors, &warnings);
        let state: State = Rc::new(RefCell::new(begun.map_err(|v| raise(&errors, v))?));
        let wrapped = StartResponse::from_respond(Checked {
            inner: start_response,
            state: state.clone(),
            errors: errors.clone(),
        });
        let body = self.app.call(environ, wrapped)?;
        Ok(body.checked(state, errors))
    }
}

/// The application's `start_response` and `write`, checked, then passed on.
struct Checked {
    inner: StartResponse,
    state: State,
    errors: Errors,
}

impl Respond for Checked {
    fn call(
        &self,
        status: &str,
        headers: &[(String, String)],
        exc_info: Option<&crate::Error>,
    ) -> crate::Result<()> {
        let mut warnings = Vec::new();
        let checked = self.state.borrow_mut().start_response(
            status,
            headers,
            exc_info.is_some(),
            &mut warnings,
        );
        warn(&self.errors, &warnings);
        checked.map_err(|v| raise(&self.errors, v))?;
        self.inner.call(status, headers.iter().cloned(), exc_info)?;
        Ok(())
    }

    fn write(&self, data: &[u8]) -> crate::Result<()> {
        let checked = self.state.borrow_mut().write(data.len());
        checked.map_err(|v| raise(&self.errors, v))?;
        self.inner.write(data)
    }
}
