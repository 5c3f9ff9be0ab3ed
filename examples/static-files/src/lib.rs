//! The seed's "serve a directory" example, done like a real static file
//! server. Serves the first directory the host preopened
//! (`host serve static-files.wasm --dir ./site`):
//! * `GET` and `HEAD` only; any other method gets `405` with `Allow`;
//! * the Content-Type is guessed from the file name (the `mime_guess`
//!   crate: `.avif`, `.webp`, `.wasm`, `.mjs` included);
//! * `Last-Modified` and `ETag`, and `304 Not Modified` for a matching
//!   `If-None-Match` or a fresh `If-Modified-Since`;
//! * byte ranges: `Range: bytes=...` gets `206` with `Content-Range`
//!   (`curl -C -` resumes, a video seeks), an unsatisfiable one `416`;
//!   `If-Range` is honoured, and a multi-range request gets the whole file;
//! * a directory is served by its `index.html` (a directory URL without
//!   its trailing slash is redirected to it, query string kept), or, with
//!   `--env LISTING=1`, by a listing; otherwise it is a 403;
//! * a missing file is a 404; `..` segments are refused with a 403, and
//!   WASI itself refuses any path (or symlink) that would leave the
//!   directory;
//! * files go out through `wsgi.file_wrapper`, so the host sends them (a
//!   range included) without copying them through the guest.

use std::io::{ErrorKind, Seek, SeekFrom};
use std::time::UNIX_EPOCH;

use wasgi::fs::{Dir, File, Kind};
use wasgi::html::escape;
use wasgi::parse::quote;
use wasgi::{Body, Environ, Result, StartResponse};

fn app(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let method = environ.get("REQUEST_METHOD").unwrap_or("GET");
    if method != "GET" && method != "HEAD" {
        start_response.call(
            "405 Method Not Allowed",
            [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")],
            None,
        )?;
        return Ok(Body::from(format!("{method} is not allowed here\n")));
    }
    let Some(root) = Dir::preopened().into_iter().next() else {
        return respond(
            &start_response,
            "500 Internal Server Error",
            "static-files needs a directory to serve: host serve static-files.wasm --dir ./site\n",
        );
    };
    let Some(path) = environ
        .bytes("PATH_INFO")
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return respond(&start_response, "404 Not Found", "not found\n");
    };
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if segments
        .iter()
        .any(|s| *s == ".." || s.contains('\0') || s.contains('\\'))
    {
        return respond(&start_response, "403 Forbidden", "forbidden\n");
    }
    let mut relative = if segments.is_empty() {
        ".".to_string()
    } else {
        segments.join("/")
    };
    match root.kind(&relative) {
        Ok(Kind::Directory) => {
            if !path.ends_with('/') {
                return redirect_to_slash(&environ, &start_response);
            }
            let index = format!("{relative}/index.html");
            match root.kind(&index) {
                Ok(Kind::File) => relative = index,
                _ if std::env::var("LISTING").is_ok_and(|v| v == "1") => {
                    return listing(&root, &relative, &path, &start_response);
                }
                _ => return respond(&start_response, "403 Forbidden", "forbidden\n"),
            }
        }
        Ok(_) => {}
        Err(e) => return refuse(&start_response, e.kind()),
    }
    match root.open(&relative) {
        Ok(file) => serve_file(&environ, &start_response, &relative, file),
        Err(e) => refuse(&start_response, e.kind()),
    }
}

/// `301` to the directory's URL with its trailing slash, query kept.
fn redirect_to_slash(environ: &Environ, start_response: &StartResponse) -> Result<Body> {
    let script_name = environ.get("SCRIPT_NAME").unwrap_or("");
    let mut location = format!("{script_name}{}/", environ.get("PATH_INFO").unwrap_or(""));
    if let Some(query) = environ.get("QUERY_STRING").filter(|q| !q.is_empty()) {
        location = format!("{location}?{query}");
    }
    start_response.call(
        "301 Moved Permanently",
        [
            ("Location", location.as_str()),
            ("Content-Type", "text/plain"),
        ],
        None,
    )?;
    Ok(Body::from(format!("moved to {location}\n")))
}

/// A file: the validators, then `304`, `206`, `416` or `200`.
fn serve_file(
    environ: &Environ,
    start_response: &StartResponse,
    relative: &str,
    mut file: File,
) -> Result<Body> {
    let len = file.len();
    let modified = file
        .modified()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let etag = format!("\"{:x}-{len:x}\"", modified.map_or(0, |m| m.as_secs()));
    let last_modified = modified.map(|m| httpdate::fmt_http_date(UNIX_EPOCH + m));
    let mut headers = vec![("ETag".to_string(), etag.clone())];
    if let Some(date) = &last_modified {
        headers.push(("Last-Modified".to_string(), date.clone()));
    }
    if not_modified(environ, &etag, modified.map(|m| m.as_secs())) {
        start_response.call("304 Not Modified", headers, None)?;
        return Ok(Body::empty());
    }
    let range = environ
        .get("HTTP_RANGE")
        .filter(|_| if_range_holds(environ, &etag, last_modified.as_deref()))
        .and_then(|r| parse_range(r, len));
    let accept_ranges = ("Accept-Ranges".to_string(), "bytes".to_string());
    if let Some(Err(Unsatisfiable)) = range {
        headers.push(accept_ranges);
        headers.push(("Content-Type".to_string(), "text/plain".to_string()));
        headers.push(("Content-Range".to_string(), format!("bytes */{len}")));
        start_response.call("416 Range Not Satisfiable", headers, None)?;
        return Ok(Body::from("range not satisfiable\n"));
    }
    headers.push(("Content-Type".to_string(), guess_type(relative)));
    headers.push(accept_ranges);
    let (status, start, count) = match range {
        Some(Ok((start, end))) => {
            headers.push((
                "Content-Range".to_string(),
                format!("bytes {start}-{end}/{len}"),
            ));
            ("206 Partial Content", start, end - start + 1)
        }
        _ => ("200 OK", 0, len),
    };
    headers.push(("Content-Length".to_string(), count.to_string()));
    file.seek(SeekFrom::Start(start))?;
    start_response.call(status, headers, None)?;
    // The host sends `Content-Length` bytes from the file's position.
    Ok(environ.wrap_file(file, 8192))
}

/// Whether the client's copy is current (RFC 9110 §13.2.2: `If-None-Match`
/// decides when present, else `If-Modified-Since`).
fn not_modified(environ: &Environ, etag: &str, modified: Option<u64>) -> bool {
    if let Some(tags) = environ.get("HTTP_IF_NONE_MATCH") {
        return tags.split(',').any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
        });
    }
    let since = environ
        .get("HTTP_IF_MODIFIED_SINCE")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|d| d.duration_since(UNIX_EPOCH).ok());
    matches!((modified, since), (Some(m), Some(s)) if m <= s.as_secs())
}

/// `If-Range`: the range applies only to the representation the client
/// has (a strong ETag, or exactly its `Last-Modified` date).
fn if_range_holds(environ: &Environ, etag: &str, last_modified: Option<&str>) -> bool {
    match environ.get("HTTP_IF_RANGE").map(str::trim) {
        None => true,
        Some(v) if v.starts_with('"') => v == etag,
        Some(v) => last_modified == Some(v),
    }
}

/// A range no byte of the file satisfies.
struct Unsatisfiable;

/// One `bytes=` range of a file of `len` bytes, as inclusive `(start,
/// end)`. `None` (serve the whole file) for anything else: another unit, a
/// malformed value, or several ranges.
fn parse_range(value: &str, len: u64) -> Option<std::result::Result<(u64, u64), Unsatisfiable>> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => {
            let suffix = number(last)?;
            if suffix == 0 || len == 0 {
                return Some(Err(Unsatisfiable));
            }
            Some(Ok((len.saturating_sub(suffix), len - 1)))
        }
        // `bytes=N-`: from N to the end.
        (false, true) => {
            let start = number(first)?;
            Some(if start < len {
                Ok((start, len - 1))
            } else {
                Err(Unsatisfiable)
            })
        }
        (false, false) => {
            let (start, end) = (number(first)?, number(last)?);
            if end < start {
                return None;
            }
            Some(if start < len {
                Ok((start, end.min(len - 1)))
            } else {
                Err(Unsatisfiable)
            })
        }
        (true, true) => None,
    }
}

/// A directory listing (with `--env LISTING=1`), like `python -m
/// http.server`'s: names escaped, links quoted, directories with a `/`.
fn listing(root: &Dir, relative: &str, path: &str, start_response: &StartResponse) -> Result<Body> {
    let mut entries = match root.entries(relative) {
        Ok(entries) => entries,
        Err(e) => return refuse(start_response, e.kind()),
    };
    entries.sort_by_key(|e| e.name.to_lowercase());
    let title = format!("Directory listing for {}", escape(path));
    let mut page = format!(
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<hr>\n<ul>\n"
    );
    for entry in entries {
        let slash = if entry.kind == Kind::Directory {
            "/"
        } else {
            ""
        };
        page += &format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            quote(&entry.name, "/"),
            escape(&entry.name)
        );
    }
    page += "</ul>\n<hr>\n</body>\n</html>\n";
    start_response.call(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8")],
        None,
    )?;
    Ok(Body::from(page))
}

fn refuse(start_response: &StartResponse, kind: ErrorKind) -> Result<Body> {
    match kind {
        ErrorKind::PermissionDenied => respond(start_response, "403 Forbidden", "forbidden\n"),
        _ => respond(start_response, "404 Not Found", "not found\n"),
    }
}

fn respond(start_response: &StartResponse, status: &str, text: &str) -> Result<Body> {
    start_response.call(status, [("Content-Type", "text/plain")], None)?;
    Ok(Body::from(text))
}

/// `mimetypes.guess_type`, by the `mime_guess` crate's table.
fn guess_type(path: &str) -> String {
    // RFC 9239: JavaScript modules are text/javascript too (the table
    // still says application/javascript for .mjs).
    if path.to_ascii_lowercase().ends_with(".mjs") {
        return "text/javascript".to_string();
    }
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

wasgi::export!(app);
