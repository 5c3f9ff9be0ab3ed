//! `host serve --validate`: the misbehaving guest's violations, route by
//! route, and a sweep proving the host's own environ and the example apps
//! are conformant.

use std::time::Duration;

use bytes::Bytes;
use host::streams::InputStream;
use host::validate::validator;
use host::{Body, BoxFuture, Environ, ErrorStream, ExcInfo, Responder, StartResponse};

use crate::common::{Conn, Host, example, source_line};

/// (route, status the client gets, the diagnostic line in the log)
const CASES: &[(&str, u16, &str)] = &[
    (
        "/status-empty",
        500,
        "IndexError: list index out of range (the status '' has no code)",
    ),
    (
        "/status-not-three",
        500,
        "Status codes must be three characters: '200OK'",
    ),
    (
        "/status-four-digits",
        500,
        "Status codes must be three characters: '2000'",
    ),
    (
        "/status-not-numeric",
        500,
        "ValueError: invalid literal for int() with base 10: 'abc'",
    ),
    ("/status-too-low", 500, "Status code is invalid: 99"),
    (
        "/status-no-space",
        500,
        "WSGIWarning: The status string ('200') should be a three-digit integer followed by a single space and a status explanation",
    ),
    (
        "/status-control",
        500,
        "The status may not contain control characters or characters above U+00FF: '200 O\\nK' (bad char: '\\n')",
    ),
    (
        "/status-header",
        500,
        "The Status header cannot be used; it conflicts with CGI script, and HTTP status is not given through headers (value: '200').",
    ),
    (
        "/header-colon",
        500,
        "Header names may not contain ':' or '\\n': 'X:Y'",
    ),
    ("/header-name-bad", 500, "Bad header name: 'X.A'"),
    (
        "/header-name-end",
        500,
        "Names may not end in '-' or '_': 'X-A-'",
    ),
    (
        "/header-value-control",
        500,
        "Bad header value: 'a\\tb' (bad char: '\\t')",
    ),
    (
        "/header-value-crlf",
        500,
        "Bad header value: 'a\\r\\nX-Injected: 1' (bad char: '\\r')",
    ),
    (
        "/hop-by-hop",
        500,
        "Hop-by-hop headers are the server's business, not the application's: 'Connection'",
    ),
    (
        "/header-not-latin1",
        500,
        "Header values must be latin-1 native strings without DEL: '\u{20ac}' (bad char: '\u{20ac}')",
    ),
    (
        "/content-length-bad",
        500,
        "Content-Length must be a non-negative integer: 'abc'",
    ),
    (
        "/no-content-type",
        500,
        "No Content-Type header found in headers ([])",
    ),
    (
        "/content-type-204",
        500,
        "Content-Type header found in a 204 response, which must not return content.",
    ),
    (
        "/content-type-304",
        500,
        "Content-Type header found in a 304 response, which must not return content.",
    ),
    (
        "/start-twice",
        500,
        "start_response() called a second time without exc_info",
    ),
    (
        "/write-before-start",
        500,
        "write() called before start_response(); the write callable is what start_response returns",
    ),
    (
        "/body-before-start",
        500,
        "The application returns and we started iterating over its body, but start_response has not yet been called",
    ),
    (
        "/body-204",
        500,
        "A 204 response must not have a body (5 bytes given)",
    ),
    (
        "/body-too-long",
        500,
        "The body is longer than its Content-Length: 5 bytes given, 3 declared",
    ),
    (
        "/body-too-short",
        200,
        "The body is shorter than its Content-Length: 5 bytes sent, 10 declared",
    ),
];

fn check_routes(host: &Host, prefix: &str) {
    for (route, status, diagnostic) in CASES {
        let path = format!("{prefix}{route}");
        let mut conn = Conn::open(host.addr);
        conn.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = conn.response(false);
        assert_eq!(r.status, *status, "{path}: {}", r.head);
        if *status == 500 {
            assert_eq!(
                r.text(),
                "A server error occurred.  Please contact the administrator."
            );
        } else {
            // The violation came after the headers: the response is cut.
            assert!(!r.complete, "{path}");
            assert!(conn.is_closed(Duration::from_secs(5)), "{path}");
        }
        // The violation is logged before the request's access line.
        let diagnostic = format!("wsgi validator: {diagnostic}\n");
        let access = format!("\"GET {path} HTTP/1.1\" {status} ");
        let log = host.wait_log(&access);
        let (Some(d), Some(a)) = (log.rfind(&diagnostic), log.rfind(&access)) else {
            panic!("{path}: no diagnostic in {log}");
        };
        assert!(
            d < a,
            "{path}: the violation came after the access line: {log}"
        );
    }
    // A violation's traceback starts at the app's line that broke the rule.
    let line = source_line(
        "misbehaving",
        "start_response.call(\"200 OK\", [TEXT, (name, value)]",
    );
    let log = host.log();
    let at = log
        .find(&format!("{prefix}/status-header HTTP/1.1"))
        .unwrap();
    let frame = format!("File \"misbehaving/src/lib.rs\", line {line}\n");
    assert!(log[..at].contains(&frame), "{frame} in {log}");
}

#[test]
fn every_app_side_rule_has_its_diagnostic() {
    let host = Host::serve(&["--validate", example("misbehaving").to_str().unwrap()]);
    check_routes(&host, "");
    assert!(CASES.len() >= 20);
    // The exception is logged with its traceback, then the access line.
    let log = host.log();
    let at = log.find("wsgi validator: Bad header name: 'X.A'").unwrap();
    let rest = &log[at..];
    let tb = rest.find("Traceback (most recent call last):").unwrap();
    let last = rest.find("AssertionError: Bad header name: 'X.A'").unwrap();
    let access = rest
        .find("\"GET /header-name-bad HTTP/1.1\" 500 59")
        .unwrap();
    assert!(tb < last && last < access, "{rest}");
    // The warning is a warning: the handler's own check then fails '200'.
    assert!(
        log.contains("AssertionError: Status must be at least 4 characters"),
        "{log}"
    );
    // And the server goes on serving.
    assert_eq!(host.get("/ok").text(), "fine");
}

#[test]
fn the_guest_sdk_validator_reports_the_same_diagnostics() {
    let host = Host::serve(&[example("misbehaving").to_str().unwrap()]);
    check_routes(&host, "/guest");
    assert_eq!(host.get("/guest/ok").text(), "fine");
}

#[test]
fn without_validate_the_misbehaving_app_is_not_checked() {
    let host = Host::serve(&[example("misbehaving").to_str().unwrap()]);
    let r = host.get("/no-content-type");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "no type");
    assert!(!host.log().contains("wsgi validator"));
}

#[test]
fn validated_responses_have_no_automatic_content_length() {
    let host = Host::serve(&["--validate", example("hello").to_str().unwrap()]);
    let r = host.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.text(), "Hello World");
}

/// Every example app, under the validator, over a matrix of requests:
/// no violation and no warning, so the host's environ is conformant.
#[test]
fn server_side_sweep_has_zero_violations() {
    let site = std::env::temp_dir().join(format!("wasgi-sweep-{}", std::process::id()));
    std::fs::create_dir_all(site.join("sub")).unwrap();
    std::fs::write(site.join("index.html"), "<p>home</p>").unwrap();
    std::fs::write(site.join("sub/a.txt"), "a").unwrap();
    let site_dir = site.to_str().unwrap().to_string();
    let apps: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("hello", vec![], vec!["/", "/x"]),
        ("demo", vec![], vec!["/", "/caf%C3%A9?x=1"]),
        (
            "environ-echo",
            vec![],
            vec!["/", "/a%20b/c?q=1?x", "//double//slash"],
        ),
        (
            "router",
            vec![],
            vec!["/", "/hello", "/whoami/x", "/api/v1/items/42", "/api/v9"],
        ),
        (
            "static-files",
            vec!["--dir", &site_dir],
            vec!["/", "/sub/a.txt", "/sub", "/missing", "/../x"],
        ),
        ("misbehaving", vec![], vec!["/", "/ok"]),
        (
            "conformance",
            vec![],
            vec![
                "/hello",
                "/list?n=3",
                "/empty",
                "/stream?n=5",
                "/write",
                "/close",
                "/exc-info",
                "/status?status=404+Not+Found",
                "/echo",
                "/lines",
                "/read?size=2",
                "/head-length",
            ],
        ),
    ];
    for (name, extra, paths) in apps {
        let file = example(name);
        let mut args = vec!["--validate", file.to_str().unwrap()];
        args.extend(extra);
        let mut host = Host::serve(&args);
        let mut requests = 0;
        for path in &paths {
            for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
                if name == "conformance" && *path == "/head-length" && method != "HEAD" {
                    continue; // announces 42 bytes it never sends: only right for HEAD
                }
                let body = if method == "POST" || method == "PUT" {
                    "a=1&b=2\nline\n"
                } else {
                    ""
                };
                let raw = format!(
                    "{method} {path} HTTP/1.1\r\nHost: sweep.test\r\nConnection: close\r\nX-Custom: v\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let r = host.request(&raw);
                assert!(
                    r.status >= 200 && r.status != 500,
                    "{name} {method} {path}: {}",
                    r.head
                );
                requests += 1;
            }
        }
        // HTTP/1.0 and chunked uploads too.
        host.request("GET / HTTP/1.0\r\n\r\n");
        host.request("POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        requests += 2;
        // Stop the server (it drains) and read everything it logged.
        let (code, log) = host.stop();
        assert_eq!(code, Some(0), "{name}:\n{log}");
        let access_lines = log
            .lines()
            .filter(|l| l.starts_with("127.0.0.1 - - ["))
            .count();
        assert_eq!(
            access_lines, requests,
            "{name}: one access line per request:\n{log}"
        );
        assert!(
            !log.contains("wsgi validator"),
            "{name}: violations after {requests} requests:\n{log}"
        );
        assert!(!log.contains("Traceback"), "{name}:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&site);
}

/// A `start_response` that accepts anything (the server side under test is
/// this test itself).
struct AcceptAll;

impl Responder for AcceptAll {
    fn start_response(
        &self,
        _status: String,
        _headers: Vec<(String, String)>,
        _exc_info: Option<ExcInfo>,
    ) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async { Ok(()) })
    }

    fn write(&self, _data: Bytes) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async { Ok(()) })
    }
}

fn test_environ(errors: ErrorStream) -> Environ {
    let mut vars = host::Vars::new();
    wasgi::util::setup_testing_defaults(&mut vars);
    vars.insert("QUERY_STRING".into(), String::new());
    Environ {
        vars,
        input: InputStream::empty(),
        errors,
        version: (1, 0),
        multithread: false,
        multiprocess: false,
        run_once: false,
        file_wrapper: true,
        input_terminated: true,
    }
}

/// The host validator wrapping a native app, its body driven by hand the
/// way a faulty server would.
#[tokio::test]
async fn the_validator_checks_how_the_server_consumes_the_body() {
    let app = validator(|_env: Environ, sr: StartResponse| async move {
        sr.call(
            "200 OK",
            vec![("Content-Type".into(), "text/plain".into())],
            None,
        )
        .await?;
        Ok(Body::lazy(
            vec![Ok(Bytes::from("a")), Ok(Bytes::from("b"))],
            || Ok(()),
        ))
    });
    let (errors, log) = ErrorStream::memory();
    let start_response = StartResponse::new(AcceptAll);
    let Ok(Body::Iter(mut body)) =
        host::Application::call(&app, test_environ(errors.clone()), start_response.clone()).await
    else {
        panic!("the validator returns its iterator wrapper");
    };
    assert_eq!(body.len().unwrap(), None, "the wrapper has no length");
    assert_eq!(body.next().await.unwrap(), Some(Bytes::from("a")));
    body.close().await.unwrap();
    let after = body.next().await.unwrap_err();
    assert_eq!(
        after.to_string(),
        "AssertionError: Iterator read after closed"
    );
    let twice = body.close().await.unwrap_err();
    assert!(twice.message.contains("close() called twice"), "{twice}");
    assert!(
        log.contents()
            .contains("wsgi validator: Iterator read after closed\n")
    );

    let Ok(Body::Iter(unclosed)) =
        host::Application::call(&app, test_environ(errors), start_response).await
    else {
        panic!("the validator returns its iterator wrapper");
    };
    drop(unclosed);
    assert!(
        log.contents()
            .contains("wsgi validator: Iterator garbage collected without being closed\n"),
        "{}",
        log.contents()
    );
}
