//! The access log: one line per request, whatever happened to it, written
//! here and nowhere else; and wsgiref's `code N, message ...` line for a
//! request the server refused.

use std::net::IpAddr;
use std::sync::Arc;

use crate::handlers::date::PerSecond;
use crate::simple_server::LogFormat;
use crate::streams::{ErrorStream, Event};

/// What one request's access line says besides its outcome: who asked,
/// what, and which app answered. Cheap to clone (the line is shared).
#[derive(Clone)]
pub(crate) struct AccessLog {
    log: ErrorStream,
    format: LogFormat,
    remote_ip: IpAddr,
    request_line: Arc<str>,
    app: Option<Arc<str>>,
    /// When the request's head arrived.
    started: std::time::Instant,
}

impl AccessLog {
    /// The access log of a request from `remote_ip`, `request_line`
    /// (`GET / HTTP/1.1`, `-` when there is none).
    pub(crate) fn new(
        log: ErrorStream,
        format: LogFormat,
        remote_ip: IpAddr,
        request_line: impl Into<Arc<str>>,
    ) -> Self {
        let request_line: Arc<str> = request_line.into();
        AccessLog {
            // What the request causes to be logged names it.
            log: log.with_request(Some(request_line.clone())),
            format,
            remote_ip,
            request_line,
            app: None,
            started: std::time::Instant::now(),
        }
    }

    /// The same request, once routed to `app`.
    pub(crate) fn for_app(&self, app: &Arc<str>) -> Self {
        // What the request causes to be logged names the app too.
        AccessLog {
            log: self.log.with_app(app),
            format: self.format,
            remote_ip: self.remote_ip,
            request_line: self.request_line.clone(),
            app: Some(app.clone()),
            started: self.started,
        }
    }

    /// Where the request's other log lines go.
    pub(crate) fn stream(&self) -> &ErrorStream {
        &self.log
    }

    /// The request's access line: `code` (`200`, `499`), the body bytes
    /// that went to the connection, and whether the response was `cut`
    /// short (the client did not get all of it).
    pub(crate) fn write(&self, code: &str, bytes: u64, cut: bool) {
        self.log.event(
            Event::Access,
            &access_line(
                self.format,
                Entry {
                    app: self.app.as_deref(),
                    ip: self.remote_ip,
                    request_line: &self.request_line,
                    code,
                    size: bytes,
                    took: self.started.elapsed(),
                    cut,
                },
            ),
        );
    }

    /// wsgiref's `log_error` line for a request the server answered itself
    /// (or could not): `127.0.0.1 - - [...] code 400, message Bad request`.
    pub(crate) fn refusal(&self, code: u16, message: &str) {
        let time = chrono::Local::now().format("%d/%b/%Y %H:%M:%S");
        let ip = self.remote_ip;
        self.log.event(
            Event::Refused,
            &format!("{ip} - - [{time}] code {code}, message {message}\n"),
        );
    }
}

/// A request hyper refused before it reached the server (bad syntax, a
/// head too large, headers too slow): wsgiref's `code N, message ...`
/// line, and an access line when an answer went out.
pub(crate) fn log_refused(log: &ErrorStream, format: LogFormat, ip: IpAddr, e: &hyper::Error) {
    let answered = if e.is_parse_too_large() {
        if e.to_string().contains("URI") {
            414
        } else {
            431
        }
    } else if e.is_parse() || e.is_parse_version_h2() {
        400
    } else if e.is_timeout() {
        408
    } else {
        return; // the client left, or the connection broke: nothing to say
    };
    let access = AccessLog::new(log.clone(), format, ip, "-");
    access.refusal(answered, &e.to_string());
    if answered != 408 {
        access.write(&answered.to_string(), 0, false);
    }
}

/// What one access line says.
struct Entry<'a> {
    app: Option<&'a str>,
    ip: IpAddr,
    request_line: &'a str,
    code: &'a str,
    size: u64,
    took: std::time::Duration,
    cut: bool,
}

/// wsgiref's access log line: `127.0.0.1 - - [24/Nov/2026 17:00:00]
/// "GET / HTTP/1.1" 200 12`, in local time; a response cut short says so
/// after its bytes (`200 12 (cut short)`).
///
/// With [`LogFormat::Json`], one JSON object per line instead, naming the
/// app, with the time the request took and whether it was cut:
/// `{"time": "2026-11-24T17:00:00.000+01:00", "level": "info", "event":
/// "access", "remote_addr": "127.0.0.1",
/// "app": "shop", "request": "GET / HTTP/1.1", "status": 200, "bytes": 12,
/// "duration_ms": 0.8, "cut": false}`.
fn access_line(format: LogFormat, e: Entry<'_>) -> String {
    if format == LogFormat::Json {
        let fields = serde_json::json!({
            "remote_addr": e.ip.to_string(),
            "status": e.code.parse::<u16>().ok(),
            "bytes": e.size,
            "duration_ms": (e.took.as_secs_f64() * 1e6).round() / 1e3,
            "cut": e.cut,
        });
        return super::json_log::line(fields, "info", "access", e.app, Some(e.request_line));
    }
    thread_local! {
        static TIME: PerSecond = const { PerSecond::new() };
    }
    let time = TIME
        .with(|time| time.get(|_| chrono::Local::now().format("%d/%b/%Y %H:%M:%S").to_string()));
    let request_line = escape_log(e.request_line);
    let (ip, code, size) = (e.ip, e.code, e.size);
    let cut = if e.cut { " (cut short)" } else { "" };
    format!("{ip} - - [{time}] \"{request_line}\" {code} {size}{cut}\n")
}

/// `log_message`'s escaping: the bytes as latin-1 characters, control
/// characters (U+0000-U+001F, U+007F-U+009F) as `\xNN`, `\` doubled.
pub(crate) fn escape_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'\\' => out.push_str("\\\\"),
            0x00..=0x1f | 0x7f..=0x9f => out.push_str(&format!("\\x{byte:02x}")),
            _ => out.push(char::from(byte)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_escape_like_log_message() {
        assert_eq!(
            super::escape_log("GET /a\\b HTTP/1.1"),
            "GET /a\\\\b HTTP/1.1"
        );
        assert_eq!(
            super::escape_log("GET /caf\u{e9}/\u{85}"),
            "GET /caf\u{c3}\u{a9}/\u{c2}\\x85"
        );
        assert_eq!(super::escape_log("x\u{1}y"), "x\\x01y");
    }
}
