//! `--log-format json`: every line of the server's log one JSON object,
//! with `time`, `level`, `event` and, where there is one, `app`. Access
//! lines come already formed; a traceback is one object with its frames;
//! every other line is an object of its own. What kind of line it is
//! ([`Event`]), and the app and request it came from, are what its writer
//! said ([`Record`]).

use serde_json::{Value, json};

use crate::streams::{ErrorSink, ErrorStream, Event, Record};

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
        self.record(&Record {
            event: Event::Log,
            app: None,
            request: None,
            text,
        });
    }

    fn record(&self, record: &Record<'_>) {
        // Access lines are JSON objects already.
        if record.event == Event::Access {
            return self.inner.write(record.text);
        }
        let mut out = String::new();
        let traceback = record
            .text
            .strip_prefix("Traceback (most recent call last):\n");
        match traceback {
            Some(traceback) => push(&mut out, record, exception(traceback)),
            None => {
                for line in record.text.lines().filter(|l| !l.trim().is_empty()) {
                    push(&mut out, record, json!({ "message": line }));
                }
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

/// `fields` with what every object has: time, level, event, and the app
/// and request where there are.
fn push(out: &mut String, record: &Record<'_>, fields: Value) {
    // A traceback a guest printed is an exception all the same.
    let event = match fields.get("frames") {
        Some(_) => Event::Exception,
        None => record.event,
    };
    out.push_str(&line(
        fields,
        event.level(),
        event.name(),
        record.app,
        record.request,
    ));
}

/// `fields` as one line of the JSON log, with what every object has: the
/// time, `level`, `event`, the app (`null` for the server's own) and the
/// request where there is one. The one place the envelope is written, for
/// the log's events and the access lines alike.
pub(crate) fn line(
    mut fields: Value,
    level: &str,
    event: &str,
    app: Option<&str>,
    request: Option<&str>,
) -> String {
    fields["time"] =
        json!(chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false));
    fields["level"] = json!(level);
    fields["event"] = json!(event);
    fields["app"] = json!(app);
    if let Some(request) = request {
        fields["request"] = json!(request);
    }
    let mut line = fields.to_string();
    line.push('\n');
    line
}

/// A traceback: its frames, and the exception on its last line.
fn exception(traceback: &str) -> Value {
    let lines: Vec<&str> = traceback.lines().filter(|l| !l.is_empty()).collect();
    let (frames, last) = match lines.split_last() {
        Some((last, frames)) => (frames, *last),
        None => (&[][..], ""),
    };
    let (kind, message) = last.split_once(": ").unwrap_or((last, ""));
    json!({
        "exception": kind,
        "message": message,
        "frames": frames.iter().map(|f| f.trim()).collect::<Vec<_>>(),
    })
}
