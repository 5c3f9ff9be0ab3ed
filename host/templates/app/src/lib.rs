//! {{name}}: a wasgi app, a WSGI application compiled to a WebAssembly
//! component.
//!
//! ```text
//! cargo build --release
//! host serve target/wasm32-wasip2/release/{{crate}}.wasm
//! ```
//!
//! `GET /` shows a form; posting it (as a plain or a multipart form, with
//! an optional file) greets you and remembers your name in a cookie.

use std::io::Read;

use wasgi::cookies::{self, Cookie};
use wasgi::html::escape;
use wasgi::multipart::{self, Limits, Multipart};
use wasgi::parse::{parse_qsl, quote, unquote};
use wasgi::{Body, Environ, Result, StartResponse};

/// The largest upload accepted.
const MAX_UPLOAD: u64 = 1 << 20;

fn app(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let method = environ.get("REQUEST_METHOD").unwrap_or("GET").to_string();
    let path = environ.text("PATH_INFO").unwrap_or_default();
    match (method.as_str(), path.as_str()) {
        ("GET" | "HEAD", "" | "/") => {
            let greeting = match cookies::get(&environ.vars, "name") {
                Some(name) => format!("<p>Welcome back, {}!</p>", escape(&unquote(&name))),
                None => String::new(),
            };
            html(&start_response, "200 OK", &[], &format!("{greeting}{FORM}"))
        }
        ("POST", "" | "/") => {
            let form = match read_form(&mut environ) {
                Ok(form) => form,
                Err(e) => {
                    return html(&start_response, e.status(), &[], &escape(&e.to_string()));
                }
            };
            let name = form.name.unwrap_or_else(|| "stranger".to_string());
            let mut page = format!("<p>Hello, {}!</p>", escape(&name));
            if let Some((file, size)) = form.upload {
                page += &format!("<p>You sent {} ({size} bytes).</p>", escape(&file));
            }
            // Percent-encoded: a cookie value cannot hold spaces or `;`.
            let cookie = Cookie::build(("name", quote(&name, "")))
                .path("/")
                .http_only(true)
                .build();
            html(
                &start_response,
                "200 OK",
                &[cookies::set_cookie(&cookie)],
                &page,
            )
        }
        ("GET" | "HEAD" | "POST", _) => html(&start_response, "404 Not Found", &[], "Not found"),
        _ => {
            let allow = ("Allow".to_string(), "GET, HEAD, POST".to_string());
            html(
                &start_response,
                "405 Method Not Allowed",
                &[allow],
                "Method not allowed",
            )
        }
    }
}

/// What the form sent.
struct Form {
    name: Option<String>,
    /// The uploaded file's name and size.
    upload: Option<(String, u64)>,
}

/// Reads a multipart form part by part (an upload streams through and is
/// only counted), or a plain urlencoded one.
fn read_form(environ: &mut Environ) -> std::result::Result<Form, multipart::MultipartError> {
    let mut form = Form {
        name: None,
        upload: None,
    };
    let content_type = environ.get("CONTENT_TYPE").unwrap_or_default();
    if multipart::boundary(content_type).is_none() {
        let mut body = Vec::new();
        Read::take(&mut environ.input, MAX_UPLOAD).read_to_end(&mut body)?;
        for (key, value) in parse_qsl(&String::from_utf8_lossy(&body), false) {
            if key == "name" {
                form.name = Some(value);
            }
        }
        return Ok(form);
    }
    let limits = Limits {
        body: 2 * MAX_UPLOAD,
        part: MAX_UPLOAD,
        parts: 10,
    };
    let mut parts = Multipart::from_environ(environ, limits)?;
    while let Some(mut part) = parts.next_part()? {
        match (part.name(), part.filename().map(str::to_string)) {
            (Some("upload"), Some(file)) if !file.is_empty() => {
                let size = std::io::copy(&mut part, &mut std::io::sink())?;
                form.upload = Some((file, size));
            }
            (Some("name"), None) => form.name = Some(part.text()?),
            _ => {}
        }
    }
    Ok(form)
}

const FORM: &str = r#"<form method="post" enctype="multipart/form-data">
<label>Your name <input name="name"></label>
<input type="file" name="upload">
<button>Send</button>
</form>"#;

fn html(
    start_response: &StartResponse,
    status: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<Body> {
    let page = format!("<!doctype html>\n<title>{{name}}</title>\n{body}\n");
    let mut all = vec![(
        "Content-Type".to_string(),
        "text/html; charset=utf-8".to_string(),
    )];
    all.extend_from_slice(headers);
    start_response.call(status, all, None)?;
    Ok(Body::from(page))
}

wasgi::export!(app);
