//! An application that breaks one PEP 3333 rule per route, for the
//! validator: serve it with `host serve --validate misbehaving.wasm` and
//! each route is answered with the error page (or a cut connection) and a
//! `wsgi validator: ...` line in the log naming the rule.
//!
//! Under `/guest/` the same routes run inside the guest SDK's own
//! validator (`wasgi::validate::validator`), which reports the same
//! diagnostics without `--validate`.
//!
//! `/` lists the routes; `/ok` follows every rule.

use wasgi::util::shift_path_info;
use wasgi::validate::validator;
use wasgi::{Body, Environ, Error, Result, StartResponse};

/// (route, what it breaks)
pub const ROUTES: &[(&str, &str)] = &[
    ("/status-empty", "an empty status"),
    (
        "/status-not-three",
        "a status code that is not three characters ('200OK')",
    ),
    (
        "/status-four-digits",
        "a four-digit status code ('2000 OK')",
    ),
    (
        "/status-not-numeric",
        "a status code that is not a number ('abc OK')",
    ),
    ("/status-too-low", "a status code below 100 ('099 Low')"),
    (
        "/status-no-space",
        "a status without a reason phrase ('200', a warning)",
    ),
    (
        "/status-control",
        "a status with a line break in its reason",
    ),
    ("/status-header", "a Status header"),
    ("/header-colon", "a header name with a colon ('X:Y')"),
    (
        "/header-name-bad",
        "a header name that is not a token of letters, digits, - and _ ('X.A')",
    ),
    ("/header-name-end", "a header name ending in '-' ('X-A-')"),
    ("/header-value-control", "a header value with a TAB"),
    (
        "/header-value-crlf",
        "a header value with CR LF (header injection)",
    ),
    ("/hop-by-hop", "a hop-by-hop header (Connection)"),
    (
        "/header-not-latin1",
        "a header value with a character above U+00FF",
    ),
    (
        "/content-length-bad",
        "a Content-Length that is not a number",
    ),
    ("/no-content-type", "a 200 response without Content-Type"),
    ("/content-type-204", "a Content-Type on a 204 response"),
    ("/content-type-304", "a Content-Type on a 304 response"),
    (
        "/start-twice",
        "start_response called twice without exc_info",
    ),
    ("/write-before-start", "write() before start_response"),
    (
        "/body-before-start",
        "a body iterated before start_response was called",
    ),
    ("/body-204", "a body on a 204 response"),
    ("/body-too-long", "a body longer than its Content-Length"),
    ("/body-too-short", "a body shorter than its Content-Length"),
];

const TEXT: (&str, &str) = ("Content-Type", "text/plain");

fn misbehave(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let path = environ.get("PATH_INFO").unwrap_or("").to_string();
    let sr = |status: &str, headers: &[(&str, &str)]| {
        start_response.call(status, headers.iter().copied(), None)
    };
    match path.as_str() {
        "/" => {
            sr("200 OK", &[TEXT])?;
            let lines: Vec<String> = ROUTES
                .iter()
                .map(|(r, what)| format!("{r}: {what}\n"))
                .collect();
            Ok(Body::from(lines.concat()))
        }
        "/ok" => {
            sr("200 OK", &[TEXT])?;
            Ok(Body::from("fine"))
        }
        "/status-empty" => status(&start_response, ""),
        "/status-not-three" => status(&start_response, "200OK"),
        "/status-four-digits" => status(&start_response, "2000 OK"),
        "/status-not-numeric" => status(&start_response, "abc OK"),
        "/status-too-low" => status(&start_response, "099 Low"),
        "/status-no-space" => status(&start_response, "200"),
        "/status-control" => status(&start_response, "200 O\nK"),
        "/status-header" => header(&start_response, "Status", "200"),
        "/header-colon" => header(&start_response, "X:Y", "z"),
        "/header-name-bad" => header(&start_response, "X.A", "v"),
        "/header-name-end" => header(&start_response, "X-A-", "v"),
        "/header-value-control" => header(&start_response, "X-A", "a\tb"),
        "/header-value-crlf" => header(&start_response, "X-A", "a\r\nX-Injected: 1"),
        "/hop-by-hop" => header(&start_response, "Connection", "close"),
        "/header-not-latin1" => header(&start_response, "X-A", "\u{20ac}"),
        "/content-length-bad" => header(&start_response, "Content-Length", "abc"),
        "/no-content-type" => {
            sr("200 OK", &[])?;
            Ok(Body::from("no type"))
        }
        "/content-type-204" => {
            sr("204 No Content", &[TEXT])?;
            Ok(Body::empty())
        }
        "/content-type-304" => {
            sr("304 Not Modified", &[TEXT])?;
            Ok(Body::empty())
        }
        "/start-twice" => {
            sr("200 OK", &[TEXT])?;
            sr("200 OK", &[TEXT])?;
            Ok(Body::from("twice"))
        }
        "/write-before-start" => {
            start_response.write(b"early")?;
            Ok(Body::empty())
        }
        "/body-before-start" => Ok(Body::from("too soon")),
        "/body-204" => {
            sr("204 No Content", &[])?;
            Ok(Body::from("hello"))
        }
        "/body-too-long" => {
            sr("200 OK", &[TEXT, ("Content-Length", "3")])?;
            Ok(Body::from("hello"))
        }
        "/body-too-short" => {
            sr("200 OK", &[TEXT, ("Content-Length", "10")])?;
            Ok(Body::from_iter(["hello"]))
        }
        _ => {
            sr("404 Not Found", &[TEXT])?;
            Ok(Body::from(format!("no route {path}")))
        }
    }
}

fn status(start_response: &StartResponse, status: &str) -> Result<Body> {
    start_response.call(status, [TEXT], None)?;
    Ok(Body::from("status"))
}

fn header(start_response: &StartResponse, name: &str, value: &str) -> Result<Body> {
    start_response.call("200 OK", [TEXT, (name, value)], None)?;
    Ok(Body::from("header"))
}

/// `/guest/...` runs the routes inside the guest SDK's validator.
fn app(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let under_guest = environ
        .get("PATH_INFO")
        .is_some_and(|p| p == "/guest" || p.starts_with("/guest/"));
    if under_guest {
        shift_path_info(&mut environ.vars).map_err(Error::from)?;
        return wasgi::Application::call(&validator(misbehave), environ, start_response);
    }
    misbehave(environ, start_response)
}

wasgi::export!(app);
