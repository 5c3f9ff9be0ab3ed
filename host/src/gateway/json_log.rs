//! `--log-format json`: every line of the server's log one JSON object,
//! with `time`, `level`, `event` and, where there is one, `app`. Access
//! lines come already formed; a traceback is one object with its frames;
//! every other line (guest output, refusals, reloads, startup) is an
//! object of its own.

use serde_json::{Value, json};

use crate::streams::{ErrorSink, ErrorStream};

/// A log sink writing JSON objects, one per line, into `inner`.
pub struct JsonLog {
    inner: ErrorStream,
}

impl JsonLog {
    /// JSON lines into `inner`.
    pub fn new(inner: ErrorStream) -> Self {
        JsonLog { inner }
    }
}

impl ErrorSink for JsonLog {
    fn write(&self, text: &str) {
        self.write_from(None, text);
    }

    fn write_from(&self, app: Option<&str>, text: &str) {
        // Access lines are JSON objects already.
        if text.starts_with('{') {
            return self.inner.write(text);
        }
        let mut out = String::new();
        if let Some(traceback) = text.strip_prefix("Traceback (most recent call last):\n") {
            push(&mut out, exception(app, traceback));
        } else {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                push(&mut out, event(app, line));
            }
        }
        if !out.is_empty() {
            self.inner.write(&out);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

fn push(out: &mut String, mut object: Value) {
    object["time"] =
        json!(chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false));
    out.push_str(&object.to_string());
    out.push('\n');
}

/// A traceback: its frames, and the exception on its last line.
fn exception(app: Option<&str>, traceback: &str) -> Value {
    let lines: Vec<&str> = traceback.lines().filter(|l| !l.is_empty()).collect();
    let (frames, last) = match lines.split_last() {
        Some((last, frames)) => (frames, *last),
        None => (&[][..], ""),
    };
    let (kind, message) = last.split_once(": ").unwrap_or((last, ""));
    json!({
        "level": "error",
        "event": "exception",
        "app": app,
        "exception": kind,
        "message": message,
        "frames": frames.iter().map(|f| f.trim()).collect::<Vec<_>>(),
    })
}

/// One line the server or a guest wrote, and what kind of line it is.
fn event(app: Option<&str>, line: &str) -> Value {
    let (level, event) = if line.contains("] code ") && line.contains(", message ") {
        ("warning", "refused")
    } else if line.starts_with("reloaded: ") {
        ("info", "reload")
    } else if line.starts_with("reload failed") {
        ("error", "reload_failed")
    } else if line.starts_with("Shutting down") {
        ("info", "shutdown")
    } else if line.contains(": loaded from the compile cache in ")
        || line.contains(": compiled in ")
    {
        ("info", "compiled")
    } else if line.starts_with("Admin endpoints on ") {
        ("info", "admin")
    } else if line.starts_with("outbound request denied") {
        ("warning", "outbound_denied")
    } else if app.is_some() {
        ("info", "guest_output")
    } else {
        ("info", "log")
    };
    json!({ "level": level, "event": event, "app": app, "message": line })
}
