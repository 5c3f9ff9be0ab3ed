//! `wasi:http` under `host serve`: standard `wasi:http/proxy` components
//! (WASIp2), wasgi apps built as wasi:http components, and outbound HTTP
//! through `wasi:http/outgoing-handler` for both worlds.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::common::{Conn, Host, example};

fn served(name: &str, extra: &[&str]) -> Host {
    let app = example(name);
    let mut args = vec![app.to_str().unwrap()];
    args.extend_from_slice(extra);
    Host::serve(&args)
}

#[test]
fn a_plain_wasi_http_component_is_served_unchanged() {
    let host = served("wasi-http-hello", &["--env", "GREETING=Hi there"]);
    let r = host.get("/a/b?x=1");
    assert_eq!(r.status, 200, "{}", r.head);
    let text = "Hi there\nmethod: GET\ntarget: /a/b?x=1\nbody bytes: 0\n";
    assert_eq!(r.text(), text);
    let length = text.len().to_string();
    assert_eq!(r.header("Content-Length"), Some(length.as_str()));
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    // A chunked request body reaches the guest de-chunked.
    let r = host.request(
        "POST /up HTTP/1.1\r\nHost: test\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert!(r.text().ends_with("body bytes: 5\n"), "{}", r.text());
    // Keep-alive: two requests on one connection.
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /1 HTTP/1.1\r\nHost: test\r\n\r\nGET /2 HTTP/1.1\r\nHost: test\r\n\r\n");
    assert!(conn.response(false).text().contains("target: /1"));
    assert!(conn.response(false).text().contains("target: /2"));
    // The guest's stderr and one access line per request, in wsgiref's format.
    host.wait_log("wasi-http-hello: GET /a/b?x=1\n");
    host.wait_log(&format!("\"GET /a/b?x=1 HTTP/1.1\" 200 {length}\n"));
    let log = host.wait_log("\"GET /2 HTTP/1.1\" 200 ");
    assert!(log.contains("\"POST /up HTTP/1.1\" 200 "), "{log}");
}

/// A guest's `eprintln!` reaches the host in pieces; lines of requests
/// running at the same time are still whole in the log, one per request.
#[test]
fn guest_output_lines_of_concurrent_requests_do_not_interleave() {
    let host = served("wasi-http-hello", &[]);
    let (clients, each) = (8, 25);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let addr = host.addr;
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                for i in 0..each {
                    conn.send(format!("GET /c{c}-{i} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
                    assert_eq!(conn.response(false).status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let log = host.wait_log_count("\" 200 ", clients * each);
    let printed: Vec<&str> = log
        .lines()
        // All but the access lines and the start-up lines about the file.
        .filter(|l| !l.contains(" HTTP/1.1\" 200 ") && !l.contains(".wasm"))
        .collect();
    let expected: BTreeSet<String> = (0..clients)
        .flat_map(|c| (0..each).map(move |i| format!("wasi-http-hello: GET /c{c}-{i}")))
        .collect();
    let garbled: Vec<&&str> = printed.iter().filter(|l| !expected.contains(**l)).collect();
    assert!(garbled.is_empty(), "garbled lines: {garbled:#?}");
    let seen: BTreeSet<String> = printed.iter().map(|l| l.to_string()).collect();
    assert_eq!((printed.len(), seen), (clients * each, expected));
}

/// hyper is done with a body once its Content-Length is sent; a guest
/// flushing or finishing it after that still succeeds.
#[test]
fn a_guest_may_flush_its_body_after_the_response_went_out() {
    // One instance at a time: a body the host went on reading would hold it.
    let host = served("wasi-http-hello", &["--max-concurrency", "1"]);
    let r = host.get("/late-flush");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.text().contains("target: /late-flush"), "{}", r.text());
    let log = host.wait_log("wasi-http-hello: finished /late-flush\n");
    assert!(!log.contains("panicked"), "{log}");
    // HEAD: hyper sends no body, and the guest's writes and flush still
    // succeed (the host reads the short body to its end and drops it).
    let r = host.request("HEAD /late-flush HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body.is_empty());
    assert!(r.header("Content-Length").is_some(), "{}", r.head);
    host.wait_log("\"HEAD /late-flush HTTP/1.1\" 200 0\n");
    let log = host.wait_log_count("wasi-http-hello: finished /late-flush\n", 2);
    assert!(!log.contains("panicked"), "{log}");
    // A HEAD to a body too long to read for nothing (100 GB): it is dropped
    // at once, the guest sees the client gone, and its instance is free for
    // the next request.
    let huge = "/bytes?n=100000000000";
    let r = host.request(&format!(
        "HEAD {huge} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("Content-Length"), Some("100000000000"));
    assert!(r.body.is_empty());
    host.wait_log(&format!("\"HEAD {huge} HTTP/1.1\" 200 0\n"));
    assert!(host.get("/after").text().contains("target: /after"));
    let log = host.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_wasip3_component_is_served() {
    let host = served("wasi-http-p3-hello", &[]);
    let r = host.request(
        "POST /x?y=1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 6\r\n\r\nabcdef",
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        r.text(),
        "Hello from wasi:http 0.3!\nmethod: POST\ntarget: /x?y=1\nbody bytes: 6\n"
    );
    // The body is written by the guest after its head went out.
    let r = host.get("/stream?n=2000");
    assert!(r.complete, "{}", r.head);
    assert_eq!(r.text().lines().count(), 2000);
    assert!(r.text().ends_with("line 1999\n"));
    // A trap before the head: the error page; after it: a cut response.
    let r = host.get("/panic");
    assert_eq!(r.status, 500);
    host.wait_log("the p3 guest panicked before answering");
    host.wait_log("\"GET /panic HTTP/1.1\" 500 59\n");
    let r = host.get("/panic-mid-body?n=3");
    assert_eq!(r.status, 200);
    assert!(!r.complete, "a cut response must not look complete");
    host.wait_log("the response was cut short after 7 bytes");
    host.wait_log("\"GET /panic-mid-body?n=3 HTTP/1.1\" 200 7 (cut short)\n");
    assert!(host.get("/again").text().contains("target: /again"));
}

#[test]
fn the_wasgi_hello_built_as_wasi_http_is_served() {
    let host = served("hello.wasi-http", &[]);
    let r = host.get("/");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.text(), "Hello World");
    assert_eq!(r.header("Content-Length"), Some("11"));
    assert_eq!(r.header("Content-type"), Some("text/plain; charset=utf-8"));
    let r = host.request("HEAD / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("11"));
    assert!(r.body.is_empty());
    let log = host.wait_log("\"HEAD / HTTP/1.1\" 200 ");
    assert!(!log.contains("Traceback"), "{log}");
}

/// The environ `environ-echo` reports for `raw` (with `{host}` replaced by
/// the server's own address).
fn environ_of(host: &Host, raw: &str) -> Map<String, Value> {
    let raw = raw.replace("{host}", &host.addr.to_string());
    let r = host.request(&raw);
    assert_eq!(r.status, 200, "{}\n{}", r.head, host.log());
    match serde_json::from_slice(&r.body) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}"),
    }
}

/// Keys whose values differ between the two environs, as `KEY: a | b`.
fn differences(a: &Map<String, Value>, b: &Map<String, Value>) -> BTreeSet<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} | {:?}", a.get(k), b.get(k)))
        .collect()
}

#[test]
fn the_environ_is_the_same_in_the_wasgi_and_the_wasi_http_world() {
    let wasgi = served("environ-echo", &[]);
    let wasi_http = served("environ-echo.wasi-http", &[]);
    let requests = [
        "GET /caf%C3%A9/x%2Fy?q=1&r=%20 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-A: 1\r\nAccept: */*\r\nX-A: 2\r\nX_Under: spoof\r\nCookie: a=b; c=d\r\n\r\n",
        "POST /form HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
        "PUT /chunked HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwasi\r\n0\r\n\r\n",
        "DELETE //double//slash HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: t\r\n\r\n",
    ];
    for raw in requests {
        let a = environ_of(&wasgi, raw);
        let b = environ_of(&wasi_http, raw);
        // The ports differ (two servers); everything else that differs is
        // what wasi:http does not carry.
        let port_a = wasgi.addr.port().to_string();
        let port_b = wasi_http.addr.port().to_string();
        assert_eq!(a["SERVER_PORT"], port_a.as_str());
        assert_eq!(b["SERVER_PORT"], port_b.as_str());
        let mut a = a;
        let mut b = b;
        for env in [&mut a, &mut b] {
            env.remove("SERVER_PORT");
            env.remove("HTTP_HOST");
        }
        let found = differences(&a, &b);
        // What wasi:http does not carry: the client's address, hop-by-hop
        // headers, the server's own name (SERVER_NAME is the authority's
        // host), and host-sent files.
        let hop_by_hop = ["HTTP_CONNECTION", "HTTP_TRANSFER_ENCODING"];
        let mut expected: BTreeSet<String> = hop_by_hop
            .iter()
            .filter_map(|k| a.get(*k).map(|v| format!("{k}: Some({v:?}) | None")))
            .collect();
        expected.extend(
            [
                "REMOTE_ADDR: Some(String(\"127.0.0.1\")) | None",
                "SERVER_NAME: Some(String(\"localhost\")) | Some(String(\"127.0.0.1\"))",
                "wsgi.file_wrapper: Some(Bool(true)) | Some(Bool(false))",
            ]
            .map(String::from),
        );
        assert_eq!(found, expected, "{raw}\nwasgi: {a:?}\nwasi:http: {b:?}");
    }
    // Under wasi:http the server's name and port come from the authority.
    let b = environ_of(
        &wasi_http,
        "GET / HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(b["SERVER_NAME"], "example.test");
    assert_eq!(b["SERVER_PORT"], "8080");
    assert_eq!(b["HTTP_HOST"], "example.test:8080");
}

#[test]
fn a_wasi_http_guest_failing_gets_the_error_page_or_a_cut_response() {
    let host = served("conformance.wasi-http", &["--cpu-limit", "0.5"]);
    // A trap before the head: the host's error page, the trap in the log.
    let r = host.get("/trap-before");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        "A server error occurred.  Please contact the administrator."
    );
    host.wait_log("guest panicked before start_response");
    host.wait_log("WasmTrap: ");
    host.wait_log("\"GET /trap-before HTTP/1.1\" 500 59\n");
    // An exception before the head: the SDK's own error page, in the guest.
    let r = host.get("/error-before");
    assert_eq!(r.status, 500);
    assert_eq!(r.header("Content-Length"), Some("59"));
    host.wait_log("ValueError: failed before start_response\n");
    // Failures after the head cut the response.
    for path in ["/trap-after", "/error-after", "/error-mid"] {
        let r = host.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(!r.complete, "{path}: a cut response must not look complete");
    }
    host.wait_log("guest panicked in the middle of the body");
    host.wait_log("ValueError: failed mid-body");
    // close() is called, also when the body failed.
    let r = host.get("/close");
    assert_eq!(r.text(), "ab");
    host.wait_log("close() called\n");
    // A streamed body is streamed (chunked, no Content-Length).
    let r = host.get("/stream?n=200&size=100");
    assert!(r.complete);
    assert_eq!(r.body.len(), 20_000);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    // A runaway guest is stopped by --cpu-limit.
    let r = host.get("/spin?ms=60000");
    assert_eq!(r.status, 500);
    host.wait_log("TimeoutError: the app used more than its 500ms of CPU time");
    // And the server keeps serving.
    assert_eq!(host.get("/hello").text(), "hello");
}

#[test]
fn wasi_http_requests_share_the_server_limits() {
    let host = served("wasi-http-hello", &["--max-body-size", "10"]);
    let r = host.request(
        "POST / HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 11\r\n\r\n01234567890",
    );
    assert_eq!(r.status, 413);
    host.wait_log("\"POST / HTTP/1.1\" 413 ");
}

#[test]
fn sigterm_lets_a_wasi_http_request_in_flight_finish() {
    let mut host = served("conformance.wasi-http", &[]);
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /spin?ms=1500&id=drain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    host.wait_log("spin drain start");
    host.signal("TERM");
    let r = conn.response(false);
    assert_eq!(r.status, 200);
    assert!(r.complete);
    assert_eq!(host.wait_exit(Duration::from_secs(30)), Some(0));
}

#[test]
fn outbound_http_is_denied_unless_allowed_in_both_worlds() {
    // The upstream: a real server on 127.0.0.1.
    let upstream = served("hello", &[]);
    let port = upstream.addr.port();
    let target = format!("127.0.0.1:{port}");
    let env = format!("UPSTREAM=http://{target}");

    // A wasi:http proxy component, denied by default.
    let denied = served("wasi-http-proxy", &["--env", &env]);
    let r = denied.get("/via/proxy");
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.text().contains("HttpRequestDenied"), "{}", r.text());
    denied.wait_log(&format!(
        "outbound request denied: GET http://{target}/via/proxy ({target} is not allowed; see --allow-outbound)\n"
    ));
    // Allowed: the upstream answers through it.
    let allowed = served(
        "wasi-http-proxy",
        &["--env", &env, "--allow-outbound", &target],
    );
    let r = allowed.get("/via/proxy");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "Hello World");
    upstream.wait_log("\"GET /via/proxy HTTP/1.1\" 200 11\n");
    // Another port of the same host stays closed.
    let other = served(
        "wasi-http-proxy",
        &["--env", &env, "--allow-outbound", "127.0.0.1:1"],
    );
    assert_eq!(other.get("/").status, 502);

    // A wasgi app calling out with wasgi::client.
    let url = format!("/outbound?url=http://{target}/from-wasgi");
    let denied = served("conformance", &[]);
    let r = denied.get(&url);
    assert_eq!(r.status, 502);
    assert!(r.text().starts_with("URLError: "), "{}", r.text());
    assert!(r.text().contains("HttpRequestDenied"), "{}", r.text());
    denied.wait_log(&format!(
        "outbound request denied: GET http://{target}/from-wasgi"
    ));
    let allowed = served("conformance", &["--allow-outbound", "*"]);
    let r = allowed.get(&url);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "upstream 200\nHello World");

    // In the JSON log the refusal names the request it happened during.
    let json = served("wasi-http-proxy", &["--env", &env, "--log-format", "json"]);
    assert_eq!(json.get("/via/json").status, 502);
    let log = json.wait_log("\"event\":\"outbound_denied\"");
    let line = log.lines().find(|l| l.contains("outbound_denied")).unwrap();
    let object: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(object["request"], "GET /via/json HTTP/1.1", "{line}");
}

/// `wasmtime serve -Scli` on 127.0.0.1, killed on drop.
struct WasmtimeServe {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl WasmtimeServe {
    fn start(wasmtime: &str, app: &str, extra: &[&str]) -> WasmtimeServe {
        use std::io::BufRead;
        let mut child = std::process::Command::new(wasmtime)
            .args(["serve", "-Scli", "--addr", "127.0.0.1:0"])
            .args(extra)
            .arg(example(app))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run wasmtime serve");
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = lines
            .find_map(|line| {
                let line = line.ok()?;
                line.strip_prefix("Serving HTTP on http://")?
                    .trim_end_matches('/')
                    .parse()
                    .ok()
            })
            .expect("wasmtime serve reports its address");
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        WasmtimeServe { child, addr }
    }

    fn request(&self, raw: &str) -> crate::common::Response {
        let raw = raw.replace("{host}", &self.addr.to_string());
        let mut conn = Conn::open(self.addr);
        conn.send(raw.as_bytes());
        conn.response(raw.starts_with("HEAD "))
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The wasi:http components built here under the real `wasmtime serve`
/// 48.0.8, and the environ of `environ-echo` built for wasi:http compared
/// with the wasgi world's under `host`. Run by `just wasmtime-check`, which
/// installs wasmtime-cli into a cache and sets `WASGI_WASMTIME`.
#[test]
#[ignore = "needs wasmtime-cli 48.0.8: run `just wasmtime-check`"]
fn under_wasmtime_serve() {
    let wasmtime = std::env::var("WASGI_WASMTIME").expect("WASGI_WASMTIME: the wasmtime binary");
    let get = "GET /a/b?x=1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n";

    let hello = WasmtimeServe::start(&wasmtime, "wasi-http-hello", &["--env", "GREETING=Hi"]);
    let r = hello.request(get);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        r.text(),
        "Hi\nmethod: GET\ntarget: /a/b?x=1\nbody bytes: 0\n"
    );
    println!(
        "wasmtime serve, wasi-http-hello: {}",
        r.text().replace('\n', " | ")
    );

    let p3 = WasmtimeServe::start(&wasmtime, "wasi-http-p3-hello", &[]);
    let r = p3.request(get);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.text().starts_with("Hello from wasi:http 0.3!"),
        "{}",
        r.text()
    );
    println!("wasmtime serve, wasi-http-p3-hello: 200");

    let hello = WasmtimeServe::start(&wasmtime, "hello.wasi-http", &[]);
    let r = hello.request(get);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.text(), "Hello World");
    assert_eq!(r.header("Content-Length"), Some("11"));
    let r = hello.request("HEAD / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    println!("wasmtime serve, wasgi hello as wasi:http: 200 Hello World");

    let conformance = WasmtimeServe::start(&wasmtime, "conformance.wasi-http", &[]);
    let r = conformance.request(
        "GET /stream?n=100&size=100 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    );
    assert!(r.complete && r.body.len() == 10_000, "{}", r.head);
    let r = conformance
        .request("GET /error-before HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 500);

    let echo = WasmtimeServe::start(&wasmtime, "environ-echo.wasi-http", &[]);
    let wasgi = served("environ-echo", &[]);
    for raw in [
        "GET /caf%C3%A9/x?q=1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
        "POST /form HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: text/csv\r\nContent-Length: 3\r\n\r\na,b",
    ] {
        let r = echo.request(raw);
        assert_eq!(r.status, 200, "{}", r.head);
        let Ok(Value::Object(mut b)) = serde_json::from_slice(&r.body) else {
            panic!("not JSON: {}", r.text())
        };
        let mut a = environ_of(&wasgi, raw);
        for env in [&mut a, &mut b] {
            env.remove("SERVER_PORT");
            env.remove("HTTP_HOST");
        }
        let found = differences(&a, &b);
        println!(
            "wasmtime serve vs host (wasgi world), {}:",
            raw.lines().next().unwrap_or_default()
        );
        for difference in &found {
            println!("  {difference}");
        }
        let inherent = [
            "HTTP_CONNECTION",
            "REMOTE_ADDR",
            "SERVER_NAME",
            "wsgi.file_wrapper",
        ];
        assert!(
            found
                .iter()
                .all(|d| inherent.iter().any(|k| d.starts_with(&format!("{k}: ")))),
            "{found:?}"
        );
    }
}
