//! `wsgiref.validate` conformance cases 146–150 that a typed API can still
//! break, plus wasgi's own rules. (Cases about argument counts, keyword
//! arguments and str/bytes types cannot be written in Rust.)

use wasgi::util::Vars;
use wasgi::validate::{
    ResponseState, Violation, check_content_type, check_environ, check_headers, check_status,
    check_wire_headers,
};

fn status(s: &str) -> (Result<u16, Violation>, Vec<String>) {
    let mut warnings = Vec::new();
    (check_status(s, &mut warnings), warnings)
}

fn message(r: Result<impl std::fmt::Debug, Violation>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn case_147_check_status_table() {
    for ok in ["200 OK", "600 High", "200  Two spaces", "100 Continue"] {
        let (r, w) = status(ok);
        assert!(r.is_ok() && w.is_empty(), "{ok}: {r:?} {w:?}");
    }
    for warned in ["200", " 200 OK", "200\tOK"] {
        let (r, w) = status(warned);
        assert_eq!(r, Ok(200), "{warned}");
        assert_eq!(
            w,
            [format!(
                "The status string ({}) should be a three-digit integer followed by a single space and a status explanation",
                wasgi::pyrepr::str(warned)
            )]
        );
    }
    assert_eq!(
        message(status("200OK").0),
        "AssertionError: Status codes must be three characters: '200OK'"
    );
    assert_eq!(
        message(status("2000 OK").0),
        "AssertionError: Status codes must be three characters: '2000'"
    );
    assert_eq!(
        message(status("099 Low").0),
        "AssertionError: Status code is invalid: 99"
    );
    assert_eq!(
        message(status("+12 X").0),
        "AssertionError: Status code is invalid: 12"
    );
    assert_eq!(
        message(status("1_0 X").0),
        "AssertionError: Status code is invalid: 10"
    );
    for bad in ["abc", "20x"] {
        let v = status(&format!("{bad} OK")).0.unwrap_err();
        assert_eq!(v.kind, "ValueError");
        assert_eq!(
            v.message,
            format!("invalid literal for int() with base 10: '{bad}'")
        );
    }
    assert_eq!(status("").0.unwrap_err().kind, "IndexError");
    assert_eq!(status("   ").0.unwrap_err().kind, "IndexError");
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn case_147_check_headers_table() {
    for name in ["1abc", "a b", "X.A", "\u{e9}", ""] {
        assert_eq!(
            message(check_headers(&headers(&[(name, "v")]))),
            format!(
                "AssertionError: Bad header name: {}",
                wasgi::pyrepr::str(name)
            )
        );
    }
    for name in ["X-A-", "X_A_"] {
        assert_eq!(
            message(check_headers(&headers(&[(name, "v")]))),
            format!("AssertionError: Names may not end in '-' or '_': '{name}'")
        );
    }
    for ok in [
        ("X_A", "v"),
        ("X-A", "a\u{e9}b"),
        ("X-A", ""),
        ("X-A", "a b"),
    ] {
        assert_eq!(check_headers(&headers(&[ok])), Ok(()), "{ok:?}");
    }
    assert_eq!(
        message(check_headers(&headers(&[("X-A", "a\r\nb")]))),
        "AssertionError: Bad header value: 'a\\r\\nb' (bad char: '\\r')"
    );
    assert_eq!(
        message(check_headers(&headers(&[("X-A", "a\0")]))),
        "AssertionError: Bad header value: 'a\\x00' (bad char: '\\x00')"
    );
    assert_eq!(
        message(check_headers(&headers(&[("X:Y", "z")]))),
        "AssertionError: Header names may not contain ':' or '\\n': 'X:Y'"
    );
    assert_eq!(
        message(check_headers(&headers(&[("Status", "200")]))),
        "AssertionError: The Status header cannot be used; it conflicts with CGI script, and HTTP status is not given through headers (value: '200')."
    );
}

#[test]
fn wasgi_header_rules() {
    assert!(
        message(check_wire_headers(&headers(&[("Connection", "close")]))).contains("Hop-by-hop")
    );
    assert!(message(check_wire_headers(&headers(&[("X", "\u{20ac}")]))).contains("latin-1"));
    assert!(message(check_wire_headers(&headers(&[("X", "a\x7f")]))).contains("DEL"));
    assert!(
        message(check_wire_headers(&headers(&[("Content-Length", "-1")])))
            .contains("Content-Length")
    );
    assert!(
        message(check_wire_headers(&headers(&[
            ("Content-Length", "1"),
            ("content-length", "1")
        ])))
        .contains("only once")
    );
    assert_eq!(
        check_wire_headers(&headers(&[("Content-Length", "12")])),
        Ok(())
    );
    // wsgiref's rules come first: a hop-by-hop header is not theirs.
    assert_eq!(check_headers(&headers(&[("Connection", "close")])), Ok(()));
}

#[test]
fn case_147_check_content_type_table() {
    assert_eq!(
        check_content_type(200, &headers(&[("content-type", "t")])),
        Ok(())
    );
    assert_eq!(check_content_type(204, &[]), Ok(()));
    assert_eq!(check_content_type(304, &[]), Ok(()));
    assert_eq!(
        message(check_content_type(304, &headers(&[("CONTENT-TYPE", "x")]))),
        "AssertionError: Content-Type header found in a 304 response, which must not return content."
    );
    for code in [100, 205] {
        assert_eq!(
            message(check_content_type(code, &[])),
            "AssertionError: No Content-Type header found in headers ([])"
        );
    }
    assert_eq!(
        message(check_content_type(301, &headers(&[("Location", "/")]))),
        "AssertionError: No Content-Type header found in headers ([('Location', '/')])"
    );
}

fn environ() -> Vars {
    let mut vars = Vars::new();
    wasgi::util::setup_testing_defaults(&mut vars);
    vars.insert("QUERY_STRING".into(), String::new());
    vars
}

fn environ_check(vars: &Vars) -> (Result<(), Violation>, Vec<String>) {
    let mut warnings = Vec::new();
    (check_environ(vars, &mut warnings), warnings)
}

#[test]
fn case_148_check_environ_table() {
    assert_eq!(environ_check(&environ()), (Ok(()), vec![]));
    for key in ["REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT"] {
        let mut vars = environ();
        vars.remove(key);
        assert_eq!(
            message(environ_check(&vars).0),
            format!("AssertionError: Environment missing required key: '{key}'")
        );
    }
    for key in ["wsgi.url_scheme", "PATH_INFO", "SCRIPT_NAME"] {
        let mut vars = environ();
        vars.remove(key);
        let v = environ_check(&vars).0.unwrap_err();
        assert_eq!(
            (v.kind, v.message.as_str()),
            ("KeyError", format!("'{key}'").as_str())
        );
    }
    let mut vars = environ();
    vars.remove("QUERY_STRING");
    let (r, w) = environ_check(&vars);
    assert!(r.is_ok());
    assert_eq!(w.len(), 1);
    assert!(w[0].starts_with("QUERY_STRING is not in the WSGI environment"));

    let with = |k: &str, v: &str| {
        let mut vars = environ();
        vars.insert(k.into(), v.into());
        environ_check(&vars)
    };
    assert_eq!(
        message(with("HTTP_CONTENT_TYPE", "x").0),
        "AssertionError: Environment should not have the key: HTTP_CONTENT_TYPE (use CONTENT_TYPE instead)"
    );
    assert_eq!(with("foo.bar", "\u{20ac}").0, Ok(()));
    assert_eq!(
        message(with("wsgi.url_scheme", "HTTP").0),
        "AssertionError: wsgi.url_scheme unknown: 'HTTP'"
    );
    assert_eq!(
        with("REQUEST_METHOD", "get").1,
        ["Unknown REQUEST_METHOD: 'get'"]
    );
    assert_eq!(
        with("REQUEST_METHOD", "CONNECT").1,
        ["Unknown REQUEST_METHOD: 'CONNECT'"]
    );
    assert!(with("REQUEST_METHOD", "PATCH").1.is_empty());
    assert_eq!(
        message(with("SCRIPT_NAME", "app").0),
        "AssertionError: SCRIPT_NAME doesn't start with /: 'app'"
    );
    assert_eq!(
        message(with("SCRIPT_NAME", "/").0),
        "AssertionError: SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'"
    );
    assert_eq!(
        message(with("PATH_INFO", "http://x/").0),
        "AssertionError: PATH_INFO doesn't start with /: 'http://x/'"
    );
    assert_eq!(
        message(with("CONTENT_LENGTH", "-1").0),
        "AssertionError: Invalid CONTENT_LENGTH: '-1'"
    );
    assert_eq!(
        message(with("CONTENT_LENGTH", "abc").0),
        "ValueError: invalid literal for int() with base 10: 'abc'"
    );
    for ok in [
        " 5 ",
        "+5",
        "",
        "1_000",
        "123456789012345678901234567890123456789012345",
    ] {
        assert_eq!(with("CONTENT_LENGTH", ok).0, Ok(()), "{ok:?}");
    }
    assert!(message(with("PATH_INFO", "/\u{20ac}").0).contains("not a native string"));
}

#[test]
fn case_150_iterator_protocol() {
    let text = headers(&[("Content-Type", "t")]);
    let mut w = Vec::new();
    // Iterating before start_response.
    let mut state = ResponseState::new("GET");
    assert_eq!(
        message(state.next_item(Some(1))),
        "AssertionError: The application returns and we started iterating over its body, but start_response has not yet been called"
    );
    // A generator that calls start_response before its first item passes.
    let mut state = ResponseState::new("GET");
    state
        .start_response("200 OK", &text, false, &mut w)
        .unwrap();
    state.next_item(Some(1)).unwrap();
    state.next_item(None).unwrap();
    state.close().unwrap();
    assert_eq!(
        message(state.next_item(Some(1))),
        "AssertionError: Iterator read after closed"
    );
    assert!(message(state.close()).contains("close() called twice"));
}

#[test]
fn wasgi_response_rules() {
    let mut w = Vec::new();
    let text = headers(&[("Content-Type", "t")]);
    let mut state = ResponseState::new("GET");
    assert!(message(state.write(1)).contains("write() called before start_response()"));
    state
        .start_response("200 OK", &text, false, &mut w)
        .unwrap();
    assert!(
        message(state.start_response("200 OK", &text, false, &mut w)).contains("a second time")
    );
    // With exc_info a second call is fine.
    state
        .start_response("500 Oops", &text, true, &mut w)
        .unwrap();

    let mut state = ResponseState::new("GET");
    state
        .start_response("204 No Content", &[], false, &mut w)
        .unwrap();
    assert!(message(state.next_item(Some(5))).contains("A 204 response must not have a body"));

    let sized = headers(&[("Content-Type", "t"), ("Content-Length", "3")]);
    let mut state = ResponseState::new("GET");
    state
        .start_response("200 OK", &sized, false, &mut w)
        .unwrap();
    assert!(message(state.next_item(Some(5))).contains("longer than its Content-Length"));
    let mut state = ResponseState::new("GET");
    state
        .start_response("200 OK", &sized, false, &mut w)
        .unwrap();
    state.next_item(Some(1)).unwrap();
    // At the end of the body, before close() and the access line.
    assert!(message(state.next_item(None)).contains("shorter than its Content-Length"));
    assert_eq!(state.close(), Ok(()));
    // HEAD announces the length of the body it does not send.
    let mut state = ResponseState::new("HEAD");
    state
        .start_response("200 OK", &sized, false, &mut w)
        .unwrap();
    state.next_item(None).unwrap();
    assert_eq!(state.close(), Ok(()));
}
