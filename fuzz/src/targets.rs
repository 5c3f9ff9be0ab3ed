//! What each fuzz target checks, as plain functions of the input bytes: a
//! panic is a finding. The fuzzer (`fuzz_targets/`) and the regression test
//! in the normal suite (`tests/e2e/fuzz_regressions.rs`) both call these.

use wasgi::Vars;

/// Lines of the input, split at `\n` (a trailing `\r` kept: it is data).
fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n').collect()
}

fn latin1(bytes: &[u8]) -> String {
    wasgi::util::from_bytes(bytes)
}

fn is_native(s: &str) -> bool {
    s.chars().all(|c| u32::from(c) <= 0xff)
}

/// A request head (`METHOD TARGET PROTOCOL`, then `name: value` lines) made
/// into an environ: every value a native string, every header key
/// upper-case `HTTP_*` without underscore-named headers, nothing panics.
pub fn environ(data: &[u8]) {
    let lines = lines(data);
    let first = latin1(lines.first().copied().unwrap_or_default());
    let mut words = first.splitn(3, ' ');
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or("/").to_string();
    let protocol = words.next().unwrap_or("HTTP/1.1").to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    let headers: Vec<(String, &[u8])> = lines[1.min(lines.len())..]
        .iter()
        .filter_map(|line| {
            let at = line.iter().position(|&b| b == b':')?;
            Some((latin1(&line[..at]).to_ascii_lowercase(), &line[at + 1..]))
        })
        .collect();
    let request = wasgi::environ::RequestLine {
        method: &method,
        path,
        query,
        protocol: &protocol,
        remote_addr: Some("127.0.0.1"),
    };
    let env = wasgi::environ::request_environ(
        &Vars::new(),
        &request,
        headers.iter().map(|(n, v)| (n.as_str(), *v)),
        "fuzz",
    );
    for (key, value) in &env {
        assert!(is_native(value), "{key} is not a native string: {value:?}");
        if let Some(name) = key.strip_prefix("HTTP_") {
            assert!(!name.is_empty() || headers.iter().any(|(n, _)| n.is_empty()));
            assert_eq!(name, name.to_ascii_uppercase(), "{key}");
        }
    }
    assert!(
        !env.keys()
            .any(|k| k == "HTTP_CONTENT_TYPE" || k == "HTTP_CONTENT_LENGTH")
    );
    for (name, _) in &headers {
        if name.contains('_') && !name.contains('-') {
            let key = format!("HTTP_{}", name.to_ascii_uppercase());
            assert!(
                !env.contains_key(&key)
                    || headers
                        .iter()
                        .any(|(n, _)| n.replace('-', "_") == *name && !n.contains('_')),
                "{name} (with an underscore) reached the environ"
            );
        }
    }
}

/// A script of operations on `wasgi::Headers`: whatever they do, what
/// `to_bytes` accepts is one `Name: value\r\n` line per header with no CR,
/// LF or NUL inside, and `Headers` never panics.
pub fn headers(data: &[u8]) {
    let mut headers = wasgi::Headers::default();
    for line in lines(data) {
        let Some((&op, rest)) = line.split_first() else {
            continue;
        };
        let text = latin1(rest);
        let (name, value) = text.split_once('=').unwrap_or((&text, ""));
        match op % 6 {
            0 => headers.add_header(name, Some(value), &[("p", Some(value)), ("q", None)]),
            1 => headers.set(name, value),
            2 => headers.remove(name),
            3 => {
                let _ = headers.setdefault(name, value);
            }
            4 => {
                let _ = headers.get_all(name);
            }
            _ => headers.add_header(name, None, &[]),
        }
    }
    if let Ok(bytes) = headers.to_bytes() {
        let text = latin1(&bytes);
        assert!(text.ends_with("\r\n\r\n") || text == "\r\n", "{text:?}");
        let body = &text[..text.len() - 2];
        for line in body.split_terminator("\r\n") {
            assert!(!line.contains(['\r', '\n', '\0']), "{line:?}");
            assert!(line.contains(": "), "{line:?}");
        }
        assert_eq!(body.matches("\r\n").count(), headers.len());
    }
}

#[cfg(any(test, feature = "cgi"))]
pub use cgi::cgi;

#[cfg(any(test, feature = "cgi"))]
mod cgi {
    use std::io;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use super::{latin1, lines};

    /// A CGI request (environment lines `NAME=value`, a blank line, then the
    /// body; the status and headers the app sends come from `X_STATUS` and
    /// `X_HEADERS`) run through `BaseCGIHandler` with an app that echoes its
    /// input: the output is always a well-formed CGI response, a `Status:`
    /// header first, header lines free of CR/LF inside, then a blank line.
    pub fn cgi(data: &[u8]) {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (env_part, body) = match split {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &[][..]),
        };
        let vars = lines(env_part).into_iter().filter_map(|line| {
            let at = line.iter().position(|&b| b == b'=')?;
            Some((bytes_os(&line[..at]), bytes_os(&line[at + 1..])))
        });
        let environ = host::handlers::transcode_environ(vars);
        let status = environ
            .get("X_STATUS")
            .cloned()
            .unwrap_or_else(|| "200 OK".into());
        let headers: Vec<(String, String)> = environ
            .get("X_HEADERS")
            .map(|h| {
                h.split('|')
                    .map(|pair| {
                        let (n, v) = pair.split_once(':').unwrap_or((pair, ""));
                        (n.to_string(), v.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let out = SharedBuf::default();
        let (log, _memory) = host::ErrorStream::memory();
        let mut handler = host::handlers::BaseCGIHandler::new(
            host::InputStream::from_bytes(body.to_vec()),
            out.clone(),
            log,
            environ,
            false,
            true,
        );
        let app = move |mut environ: host::Environ, start_response: host::StartResponse| {
            let (status, headers) = (status.clone(), headers.clone());
            async move {
                let body = environ
                    .input
                    .read(None)
                    .await
                    .map_err(wasgi::ExcInfo::from)?;
                start_response.call(status, headers, None).await?;
                Ok(host::Body::Chunks([body].into()))
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(handler.run(&app));
        let output = out.0.lock().expect("output").clone();
        let end = output
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a CGI response has a blank line after its headers");
        let head = latin1(&output[..end]);
        assert!(head.starts_with("Status: "), "{head:?}");
        for line in head.split("\r\n") {
            assert!(!line.contains(['\r', '\n', '\0']), "{line:?}");
            assert!(line.contains(": "), "{line:?}");
        }
    }

    fn bytes_os(bytes: &[u8]) -> std::ffi::OsString {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(bytes).to_os_string()
    }

    /// An in-memory stdout.
    #[derive(Clone, Default)]
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl tokio::io::AsyncWrite for SharedBuf {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().expect("output").extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}

/// `SCRIPT_NAME` and `PATH_INFO` (the first two lines) shifted until
/// nothing is left: it ends, never panics, and what it moves keeps
/// SCRIPT_NAME a native string that does not end in `/` unless PATH_INFO
/// was `/`.
pub fn shift_path_info(data: &[u8]) {
    let lines = lines(data);
    let mut environ = Vars::new();
    environ.insert(
        "SCRIPT_NAME".into(),
        latin1(lines.first().copied().unwrap_or_default()),
    );
    environ.insert(
        "PATH_INFO".into(),
        latin1(lines.get(1).copied().unwrap_or_default()),
    );
    for _ in 0..=data.len() + 1 {
        match wasgi::util::shift_path_info(&mut environ) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
        assert!(is_native(&environ["SCRIPT_NAME"]));
    }
    let rest = environ.get("PATH_INFO").cloned().unwrap_or_default();
    assert!(
        rest.is_empty() || rest == "/",
        "shift_path_info never ends: {rest:?}"
    );
}

/// A status line and header lines given to `start_response`: what the
/// shared rules accept can go on the wire (a 3-digit status, names that are
/// tokens, values free of CR, LF and NUL, at most `MAX_HEADERS`), and the
/// validator's own checks never panic.
pub fn validator(data: &[u8]) {
    let lines = lines(data);
    let status = latin1(lines.first().copied().unwrap_or_default());
    let headers: Vec<(String, String)> = lines[1.min(lines.len())..]
        .iter()
        .map(|line| {
            let text = latin1(line);
            let (n, v) = text.split_once(':').unwrap_or((&text, ""));
            (n.to_string(), v.to_string())
        })
        .collect();
    let mut warnings = Vec::new();
    let _ = wasgi::validate::check_status(&status, &mut warnings);
    let _ = wasgi::validate::check_headers(&headers);
    let _ = wasgi::validate::check_wire_headers(&headers);
    let mut state = wasgi::handlers::HandlerState::default();
    if state.start_response(status.clone(), headers, None).is_ok() {
        let (status, headers) = state.head().expect("an accepted head can be sent");
        assert!(status.len() >= 4 && status.as_bytes()[..3].iter().all(u8::is_ascii_digit));
        assert!(!status.contains(['\r', '\n', '\0']));
        assert!(headers.len() <= wasgi::handlers::MAX_HEADERS);
        for (name, value) in headers.items() {
            assert!(
                !name.is_empty() && name.bytes().all(wasgi::headers::is_token_byte),
                "{name:?}"
            );
            assert!(!value.contains(['\r', '\n', '\0']), "{value:?}");
        }
    }
}
