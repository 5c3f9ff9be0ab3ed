use wasgi::Headers;

/// Everything `send_preamble` and the header block need: the status, the
/// headers as they will be sent, and the handler's server settings.
pub struct ResponseHead {
    /// The status, `"NNN Reason"`.
    pub status: String,
    /// The application's headers, after `cleanup_headers`.
    pub headers: Headers,
    /// Origin server (status line, `Date`, `Server`) or gateway (`Status:`).
    pub origin_server: bool,
    /// The HTTP version of the status line.
    pub http_version: String,
    /// The default `Server` header.
    pub server_software: Option<String>,
    /// The default `Date` header value.
    pub date: String,
}

impl ResponseHead {
    /// The status code.
    pub fn code(&self) -> u16 {
        self.status
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or(500)
    }

    /// The reason phrase (what follows the code and a space).
    pub fn reason(&self) -> &str {
        self.status.get(4..).unwrap_or("")
    }

    /// The header lines in wire order: for an origin server `Date` and
    /// `Server` first unless the application set them, then the
    /// application's headers in its order.
    pub fn wire_headers(&self) -> Vec<(&str, &str)> {
        let mut lines = Vec::with_capacity(self.headers.len() + 2);
        if self.origin_server {
            if !self.headers.contains("Date") {
                lines.push(("Date", self.date.as_str()));
            }
            if let Some(sw) = self.server_software.as_deref().filter(|s| !s.is_empty())
                && !self.headers.contains("Server")
            {
                lines.push(("Server", sw));
            }
        }
        lines.extend(
            self.headers
                .items()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        lines
    }

    /// The preamble and header block as bytes (wsgiref §3.8 layouts):
    /// `HTTP/1.0 200 OK\r\nDate: ...\r\n...\r\n\r\n` for origin servers,
    /// `Status: 200 OK\r\n...\r\n\r\n` for gateways. Text is latin-1.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = if self.origin_server {
            format!("HTTP/{} {}\r\n", self.http_version, self.status)
        } else {
            format!("Status: {}\r\n", self.status)
        };
        for (name, value) in self.wire_headers() {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        // start_response only admits native strings.
        wasgi::util::latin1_bytes(&text)
    }
}

/// The response's `Content-Length`, when it has one that can be honoured:
/// given once, and a number of bytes. The `Err` names what is wrong.
pub fn declared_length(headers: &Headers) -> Result<Option<u64>, String> {
    let lengths = headers.get_all("Content-Length");
    if lengths.len() > 1 {
        return Err(format!(
            "a response may carry one Content-Length header (got {})",
            wasgi::pyrepr::str(&lengths.join(", "))
        ));
    }
    match lengths.first() {
        None => Ok(None),
        Some(len) => len
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| len.parse().ok())
            .flatten()
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "Content-Length must be a number of bytes (got {})",
                    wasgi::pyrepr::str(len)
                )
            }),
    }
}
