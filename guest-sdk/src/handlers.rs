//! The response rules of wsgiref's `BaseHandler`, without I/O: what
//! `start_response` accepts, when the headers go out, and the automatic
//! `Content-Length`. The host's handlers and a guest serving `wasi:http`
//! both keep a [`HandlerState`] and do their own writing around it.

use crate::headers::check_header;
use crate::{Error, Headers, pyrepr, util};

/// The most header lines a response may have: more is refused by
/// `start_response` before anything else is looked at (HTTP clients give
/// up far sooner).
pub const MAX_HEADERS: usize = 10_000;

/// `BaseHandler`'s response state: `status`, `headers`, `headers_sent`,
/// `bytes_sent` and `result` (its length, when it has one).
#[derive(Default)]
pub struct HandlerState {
    status: Option<String>,
    headers: Option<Headers>,
    /// Why the stored status and headers were refused, if they were: they
    /// still count as set (as in wsgiref), but never go out.
    rejected: Option<Error>,
    /// Whether the head has gone out.
    pub headers_sent: bool,
    /// Body bytes sent so far.
    pub bytes_sent: u64,
    /// How many chunks the result has, when it is a list.
    pub result_len: Option<usize>,
}

impl HandlerState {
    /// `start_response(status, headers, exc_info)`: wsgiref's rules (once
    /// without `exc_info`; with it, re-raised once the headers are out), its
    /// status and hop-by-hop assertions, and the wire rules that keep CR/LF
    /// and non-latin-1 text off the wire.
    pub fn start_response(
        &mut self,
        status: String,
        headers: Vec<(String, String)>,
        exc_info: Option<Error>,
    ) -> Result<(), Error> {
        match exc_info {
            Some(exc) if self.headers_sent => return Err(exc),
            Some(_) => {}
            None if self.headers.is_some() => {
                return Err(Error::assertion("Headers already set!"));
            }
            None => {}
        }
        if headers.len() > MAX_HEADERS {
            let refused = Error::assertion(format!(
                "the response has {} headers; at most {MAX_HEADERS} are sent",
                headers.len()
            ));
            self.status = Some(status);
            self.headers = Some(Headers::default());
            self.rejected = Some(refused.clone());
            return Err(refused);
        }
        // Stored before the checks, as wsgiref does: a rejected call still
        // counts as "headers set". Unlike wsgiref, what was refused is
        // remembered, so it can never be sent.
        self.status = Some(status);
        self.headers = Some(Headers::new(headers));
        self.rejected = self.check_head().err();
        match &self.rejected {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn check_head(&self) -> Result<(), Error> {
        check_status(self.status.as_deref().unwrap_or_default())?;
        for (name, value) in self.headers.iter().flat_map(|h| h.items()) {
            if util::is_hop_by_hop(name) {
                return Err(Error::assertion(format!(
                    "Hop-by-hop header, '{name}: {value}', not allowed"
                )));
            }
            check_header(name, value).map_err(|e| Error::assertion(e.to_string()))?;
        }
        Ok(())
    }

    /// The status `start_response` stored.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// The headers `start_response` stored.
    pub fn headers_mut(&mut self) -> Option<&mut Headers> {
        self.headers.as_mut()
    }

    /// The bookkeeping of `write(data)` for `len` bytes: an error before
    /// `start_response`, else whether the headers must be sent first.
    pub fn write(&mut self, len: u64) -> Result<bool, Error> {
        if self.status.is_none() {
            return Err(Error::assertion("write() before start_response()"));
        }
        if self.headers_sent {
            self.bytes_sent += len;
            Ok(false)
        } else {
            self.bytes_sent = len;
            Ok(true)
        }
    }

    /// `cleanup_headers()` before the head goes out: the refusal, if
    /// `start_response` refused it, and a `Content-Length` for a one-item
    /// result. Returns the status and headers to send; the caller sets
    /// `headers_sent` once it has committed to sending them.
    pub fn head(&mut self) -> Result<(&str, &Headers), Error> {
        if let Some(refused) = &self.rejected {
            return Err(refused.clone());
        }
        let (Some(status), Some(headers)) = (self.status.as_deref(), self.headers.as_mut()) else {
            return Err(Error::assertion("write() before start_response()"));
        };
        if !headers.contains("Content-Length") && self.result_len == Some(1) {
            headers.set("Content-Length", self.bytes_sent.to_string());
        }
        Ok((status, headers))
    }

    /// `finish_content()`: whether the headers still have to go out (an
    /// empty body), with `Content-Length: 0` unless the app set one.
    pub fn finish_content(&mut self) -> Result<bool, Error> {
        if self.headers_sent {
            return Ok(false);
        }
        match self.headers.as_mut() {
            Some(headers) => {
                headers.setdefault("Content-Length", "0");
                Ok(true)
            }
            None => Err(Error::new(
                "AttributeError",
                "'NoneType' object has no attribute 'setdefault' (the application returned without calling start_response())",
            )),
        }
    }

    /// Forgets the response, ready for the next one (or the error page).
    pub fn reset(&mut self) {
        *self = HandlerState::default();
    }
}

/// The status checks wsgiref's `start_response` asserts, plus the wire
/// rules (latin-1, no control characters) that keep the status line intact.
pub fn check_status(status: &str) -> Result<(), Error> {
    let chars: Vec<char> = status.chars().collect();
    if chars.len() < 4 {
        return Err(Error::assertion("Status must be at least 4 characters"));
    }
    if !chars[..3].iter().all(char::is_ascii_digit) {
        return Err(Error::assertion("Status message must begin w/3-digit code"));
    }
    if chars[3] != ' ' {
        return Err(Error::assertion(
            "Status message must have a space after code",
        ));
    }
    if let Some(c) = chars
        .iter()
        .find(|&&c| u32::from(c) > 0xff || (c.is_control() && c != '\t'))
    {
        return Err(Error::assertion(format!(
            "Status must be a latin-1 native string without control characters (got {}, bad char {})",
            pyrepr::str(status),
            pyrepr::str(&c.to_string())
        )));
    }
    Ok(())
}
