//! The seed's "serve a directory" example, done properly.
//!
//! Serves the first directory the host preopened
//! (`host serve static-files.wasm --dir ./site`):
//! * the Content-Type is guessed from the file name;
//! * a directory is served by its `index.html` (and a directory URL
//!   without its trailing slash is redirected to it);
//! * a missing file is a 404; `..` segments are refused with a 403, and
//!   WASI itself refuses any path (or symlink) that would leave the
//!   directory;
//! * files are returned with `wsgi.file_wrapper`, so the host sends them
//!   without copying them through the guest.

use std::io::ErrorKind;

use wasgi::fs::{Dir, Kind};
use wasgi::{Body, Environ, Result, StartResponse};

fn app(environ: Environ, start_response: StartResponse) -> Result<Body> {
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
                let script_name = environ.get("SCRIPT_NAME").unwrap_or("");
                let location = format!("{script_name}{}/", environ.get("PATH_INFO").unwrap_or(""));
                start_response.call(
                    "301 Moved Permanently",
                    [
                        ("Location", location.as_str()),
                        ("Content-Type", "text/plain"),
                    ],
                    None,
                )?;
                return Ok(Body::from(format!("moved to {location}\n")));
            }
            relative = format!("{relative}/index.html");
        }
        Ok(_) => {}
        Err(e) => return refuse(&start_response, e.kind()),
    }
    let file = match root.open(&relative) {
        Ok(file) => file,
        Err(e) => return refuse(&start_response, e.kind()),
    };
    let length = file.len().to_string();
    start_response.call(
        "200 OK",
        [
            ("Content-Type", guess_type(&relative)),
            ("Content-Length", length.as_str()),
        ],
        None,
    )?;
    Ok(environ.wrap_file(file, 8192))
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

/// `mimetypes.guess_type` for the common web types.
fn guess_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "txt" | "text" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/vnd.microsoft.icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

wasgi::export!(app);
