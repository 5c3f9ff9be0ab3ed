//! The environ the host builds for real HTTP requests (spec §4.4), seen
//! by the `environ-echo` guest.

use serde_json::{Map, Value};

use crate::common::{Host, example, latin1};

fn echo_host() -> Host {
    Host::serve_env(
        &[example("environ-echo").to_str().unwrap()],
        &[("WASGI_TEST_SECRET", "do-not-leak"), ("HTTPS", "on")],
    )
}

/// Sends raw request bytes and returns the environ the guest saw.
fn environ_of(host: &Host, raw: &[u8]) -> Map<String, Value> {
    let response = host.request_bytes(raw);
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    match serde_json::from_slice(&response.body) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}"),
    }
}

fn get_environ(host: &Host, target: &[u8], headers: &[u8]) -> Map<String, Value> {
    let mut raw = b"GET ".to_vec();
    raw.extend_from_slice(target);
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n");
    raw.extend_from_slice(headers);
    raw.extend_from_slice(b"\r\n");
    environ_of(host, &raw)
}

fn s<'a>(env: &'a Map<String, Value>, key: &str) -> &'a str {
    env.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} missing or not a string in {env:?}"))
}

#[test]
fn base_environ_matches_wsgiref() {
    let host = echo_host();
    let env = get_environ(&host, b"/p?q=1", b"");
    assert_eq!(s(&env, "SERVER_NAME"), "localhost");
    assert_eq!(s(&env, "SERVER_PORT"), host.addr.port().to_string());
    assert_eq!(s(&env, "GATEWAY_INTERFACE"), "CGI/1.1");
    assert_eq!(s(&env, "REMOTE_HOST"), "");
    assert_eq!(s(&env, "REMOTE_ADDR"), "127.0.0.1");
    assert_eq!(s(&env, "CONTENT_LENGTH"), "");
    assert_eq!(s(&env, "CONTENT_TYPE"), "text/plain");
    assert_eq!(s(&env, "SCRIPT_NAME"), "");
    assert_eq!(s(&env, "PATH_INFO"), "/p");
    assert_eq!(s(&env, "QUERY_STRING"), "q=1");
    assert_eq!(s(&env, "REQUEST_METHOD"), "GET");
    assert_eq!(s(&env, "SERVER_PROTOCOL"), "HTTP/1.1");
    assert_eq!(
        s(&env, "SERVER_SOFTWARE"),
        host::simple_server::SERVER_VERSION
    );
    assert_eq!(s(&env, "HTTP_HOST"), "example.test");
    assert_eq!(s(&env, "wsgi.url_scheme"), "http");
    assert_eq!(s(&env, "wsgi.version"), "(1, 0)");
    assert_eq!(env["wsgi.multithread"], Value::Bool(false));
    assert_eq!(env["wsgi.multiprocess"], Value::Bool(false));
    assert_eq!(env["wsgi.run_once"], Value::Bool(false));
    assert_eq!(env["wsgi.input_terminated"], Value::Bool(true));
    assert!(!env.contains_key("REMOTE_PORT"));
    assert!(!env.contains_key("HTTP_CONTENT_TYPE"));
    assert!(!env.contains_key("HTTP_CONTENT_LENGTH"));
}

#[test]
fn process_environment_never_leaks_into_the_environ() {
    let host = echo_host();
    let env = get_environ(&host, b"/", b"");
    assert!(!env.contains_key("WASGI_TEST_SECRET"), "{env:?}");
    assert!(!env.contains_key("PATH"), "{env:?}");
    assert!(!env.contains_key("HOME"), "{env:?}");
    // wsgiref would take HTTPS=on from the process and claim https.
    assert!(!env.contains_key("HTTPS"));
    assert_eq!(s(&env, "wsgi.url_scheme"), "http");
}

#[test]
fn path_info_is_percent_decoded_bytes_shown_as_latin1() {
    let host = echo_host();
    let cases: [(&[u8], &str, &str); 9] = [
        (b"/a%20b", "/a b", ""),
        (b"/caf%C3%A9?x=1", "/caf\u{c3}\u{a9}", "x=1"),
        // Raw UTF-8 bytes in the target: each byte is one char.
        ("/caf\u{e9}".as_bytes(), "/caf\u{c3}\u{a9}", ""),
        (
            b"/a%20b/caf\xc3\xa9/%C3%A9?x=1&y=%20",
            "/a b/caf\u{c3}\u{a9}/\u{c3}\u{a9}",
            "x=1&y=%20",
        ),
        (b"/%E9%ff%2f%25", "/\u{e9}\u{ff}/%", ""),
        (b"/a+b%2Fc%zz%00", "/a+b/c%zz\u{0}", ""),
        (b"/p?a=1?b=2", "/p", "a=1?b=2"),
        (b"/?", "/", ""),
        (b"//evil.com//x", "/evil.com//x", ""),
    ];
    for (target, path_info, query) in cases {
        let env = get_environ(&host, target, b"");
        assert_eq!(s(&env, "PATH_INFO"), path_info, "target {}", latin1(target));
        assert_eq!(s(&env, "QUERY_STRING"), query, "target {}", latin1(target));
    }
}

#[test]
fn invalid_raw_bytes_in_the_target_are_a_bad_request() {
    let host = echo_host();
    let response =
        host.request_bytes(b"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 400, "{}", response.head);
    // ...and the server goes on serving.
    let env = get_environ(&host, b"/after", b"");
    assert_eq!(s(&env, "PATH_INFO"), "/after");
}

#[test]
fn headers_fold_into_http_keys() {
    let host = echo_host();
    let env = get_environ(
        &host,
        b"/",
        b"X-Foo: a\r\nx-foo:  c  \r\nCookie: a=1\r\nCookie: b=2\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-A: \xa0v\xa0\r\nX.Y: dot\r\nHttps: on\r\nProxy: p\r\n",
    );
    assert_eq!(s(&env, "HTTP_X_FOO"), "a,c");
    assert_eq!(s(&env, "HTTP_COOKIE"), "a=1,b=2");
    assert_eq!(s(&env, "HTTP_X_EMPTY"), "");
    assert_eq!(s(&env, "HTTP_X_TAB"), "v");
    assert_eq!(s(&env, "HTTP_X_A"), "v");
    assert_eq!(s(&env, "HTTP_X.Y"), "dot");
    assert_eq!(s(&env, "HTTP_HTTPS"), "on");
    assert_eq!(s(&env, "HTTP_PROXY"), "p");
    // A header named Https does not make the request https.
    assert_eq!(s(&env, "wsgi.url_scheme"), "http");
}

#[test]
fn underscore_headers_are_dropped() {
    let host = echo_host();
    let env = get_environ(&host, b"/", b"X-Foo: a\r\nX_Foo: spoofed\r\nX_Only: b\r\n");
    assert_eq!(s(&env, "HTTP_X_FOO"), "a");
    assert!(!env.contains_key("HTTP_X_ONLY"), "{env:?}");
}

#[test]
fn headers_cannot_overwrite_cgi_variables() {
    let host = echo_host();
    let env = get_environ(
        &host,
        b"/real",
        b"Script-Name: evil\r\nPath-Info: /evil\r\nRemote-Addr: 1.2.3.4\r\nQuery-String: q\r\nRequest-Method: POST\r\nServer-Name: s\r\nGateway-Interface: g\r\nRemote-Host: rh\r\nHttp-Host: y\r\n",
    );
    assert_eq!(s(&env, "SCRIPT_NAME"), "");
    assert_eq!(s(&env, "PATH_INFO"), "/real");
    assert_eq!(s(&env, "REMOTE_ADDR"), "127.0.0.1");
    assert_eq!(s(&env, "QUERY_STRING"), "");
    assert_eq!(s(&env, "REQUEST_METHOD"), "GET");
    assert_eq!(s(&env, "SERVER_NAME"), "localhost");
    assert_eq!(s(&env, "GATEWAY_INTERFACE"), "CGI/1.1");
    assert_eq!(s(&env, "REMOTE_HOST"), "");
    assert_eq!(s(&env, "HTTP_HOST"), "example.test");
    assert!(!env.contains_key("HTTP_HTTP_HOST"));
}

#[test]
fn content_type_and_length() {
    let host = echo_host();
    let env = environ_of(
        &host,
        b"POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert_eq!(s(&env, "REQUEST_METHOD"), "POST");
    assert_eq!(s(&env, "CONTENT_TYPE"), "application/json");
    assert_eq!(s(&env, "CONTENT_LENGTH"), "3");
    assert_eq!(s(&env, "wsgi.input"), "abc");
    assert!(!env.contains_key("HTTP_CONTENT_TYPE"));
    assert!(!env.contains_key("HTTP_CONTENT_LENGTH"));

    let env = get_environ(&host, b"/", b"Content-Type:\r\n");
    assert_eq!(s(&env, "CONTENT_TYPE"), "");
}

#[test]
fn wsgi_input_is_bounded_by_content_length() {
    let host = echo_host();
    // Two pipelined requests: the first body must not swallow the second.
    let mut conn = crate::common::Conn::open(host.addr);
    conn.send(b"POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let first = conn.response(false);
    let second = conn.response(false);
    let env1: Map<String, Value> = serde_json::from_slice(&first.body).unwrap();
    let env2: Map<String, Value> = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(s(&env1, "wsgi.input"), "hello");
    assert_eq!(s(&env2, "PATH_INFO"), "/two");
    assert_eq!(s(&env2, "wsgi.input"), "");
}

#[test]
fn chunked_request_bodies_are_decoded() {
    let host = echo_host();
    let env = environ_of(
        &host,
        b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
    );
    assert_eq!(s(&env, "wsgi.input"), "hello, world");
    assert_eq!(s(&env, "CONTENT_LENGTH"), "");
}

#[test]
fn binary_bodies_arrive_byte_for_byte() {
    let host = echo_host();
    let mut raw =
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 256\r\n\r\n".to_vec();
    let body: Vec<u8> = (0..=255u8).collect();
    raw.extend_from_slice(&body);
    let env = environ_of(&host, &raw);
    let input: Vec<u8> = s(&env, "wsgi.input")
        .chars()
        .map(|c| c as u32 as u8)
        .collect();
    assert_eq!(input, body);
}

#[test]
fn http_10_and_methods() {
    let host = echo_host();
    let env = environ_of(&host, b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(s(&env, "SERVER_PROTOCOL"), "HTTP/1.0");
    assert!(!env.contains_key("HTTP_HOST"));
    for method in ["FOO", "PATCH", "DELETE", "OPTIONS"] {
        let env = environ_of(
            &host,
            format!("{method} /m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(s(&env, "REQUEST_METHOD"), method);
    }
}
