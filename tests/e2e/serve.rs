//! `host serve` with the `conformance` guest: the run algorithm over real
//! HTTP (spec §3.3, §4).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::{Conn, Host, example, is_http_date, source_line};

fn conformance() -> Host {
    Host::serve(&[example("conformance").to_str().unwrap()])
}

const SOFTWARE: &str = host::simple_server::SOFTWARE_VERSION;

#[test]
fn one_chunk_gets_content_length_and_wsgiref_header_order() {
    let host = conformance();
    let r = host.get("/hello");
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
    assert_eq!(
        r.header_names_except_connection(),
        ["Date", "Server", "Content-Type", "Content-Length"]
    );
    assert!(is_http_date(r.header("Date").unwrap()), "{}", r.head);
    assert_eq!(r.header("Server"), Some(SOFTWARE));
    assert_eq!(r.header("Content-Length"), Some("5"));
    assert_eq!(r.body, b"hello");
    host.wait_log("\"GET /hello HTTP/1.1\" 200 5\n");
}

#[test]
fn access_log_line_has_wsgiref_format() {
    let host = conformance();
    host.get("/hello");
    let log = host.wait_log("\"GET /hello HTTP/1.1\" 200 5");
    let line = log.lines().find(|l| l.contains("/hello")).unwrap();
    // 127.0.0.1 - - [24/Nov/2026 17:00:00] "GET /hello HTTP/1.1" 200 5
    let (prefix, rest) = line.split_at(line.find('[').unwrap());
    assert_eq!(prefix, "127.0.0.1 - - ");
    let stamp = &rest[1..rest.find(']').unwrap()];
    assert_eq!(stamp.len(), 20, "{stamp}");
    assert_eq!(&stamp[2..3], "/");
    assert_eq!(&stamp[6..7], "/");
    assert_eq!(&stamp[11..12], " ");
}

#[test]
fn lists_of_several_chunks_stream_without_content_length() {
    let host = conformance();
    let r = host.get("/list?n=3");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert!(r.complete);
    assert_eq!(r.text(), "0;1;2;");
}

#[test]
fn empty_list_gets_content_length_zero() {
    let host = conformance();
    let r = host.get("/empty");
    assert_eq!(r.header("Content-Length"), Some("0"));
    assert!(r.body.is_empty());
}

#[test]
fn many_chunks_stream_in_order() {
    let host = conformance();
    let r = host.get("/stream?n=2000&size=100");
    assert!(r.complete);
    assert_eq!(r.body.len(), 2000 * 100);
    for (i, chunk) in r.body.chunks(100).enumerate() {
        assert!(chunk.starts_with(format!("{i}:").as_bytes()), "chunk {i}");
    }
    host.wait_log("\"GET /stream?n=2000&size=100 HTTP/1.1\" 200 200000");
}

#[test]
fn write_callable_then_returned_chunks() {
    let host = conformance();
    let r = host.get("/write");
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.text(), "122333");
}

#[test]
fn close_is_called_after_success() {
    let host = conformance();
    let r = host.get("/close");
    assert_eq!(r.text(), "ab");
    let log = host.wait_log("close() called");
    // wsgiref logs the access line before calling close().
    let access = log
        .find("\"GET /close HTTP/1.1\" 200 2")
        .expect("access line");
    assert!(access < log.find("close() called").unwrap(), "{log}");
}

#[test]
fn close_is_called_when_the_body_raises() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /error-mid HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "first");
    assert!(
        !r.complete,
        "an error after the headers must not look like a complete response"
    );
    host.wait_log("ValueError: failed mid-body");
    // One access line all the same, with the bytes that went out.
    let log = host.wait_log("\"GET /error-mid HTTP/1.1\" 200 5 (cut short)\n");
    assert!(log.contains("close() called"), "{log}");
    assert_eq!(log.matches("\"GET /error-mid").count(), 1, "{log}");
}

#[test]
fn error_before_headers_gives_the_error_page() {
    let host = conformance();
    let r = host.get("/error-before");
    assert_eq!(
        (r.status, r.reason.as_str()),
        (500, "Internal Server Error")
    );
    assert_eq!(
        r.header_names_except_connection(),
        ["Date", "Server", "Content-Type", "Content-Length"]
    );
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(r.header("Content-Length"), Some("59"));
    assert_eq!(
        r.text(),
        "A server error occurred.  Please contact the administrator."
    );
    let log = host.wait_log("\"GET /error-before HTTP/1.1\" 500 59");
    let tb = log
        .find("Traceback (most recent call last):")
        .expect("traceback");
    let last = log
        .find("ValueError: failed before start_response")
        .expect("exception line");
    assert!(tb < last && last < log.find("500 59").unwrap(), "{log}");
}

#[test]
fn error_after_headers_cuts_the_connection() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /error-after HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "partial");
    assert!(!r.complete);
    assert!(conn.is_closed(Duration::from_secs(5)));
    host.wait_log("ValueError: failed after the headers were sent");
}

#[test]
fn trap_before_headers_is_a_500_and_the_server_keeps_serving() {
    let host = conformance();
    let r = host.get("/trap-before");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        "A server error occurred.  Please contact the administrator."
    );
    let log = host.wait_log("\"GET /trap-before HTTP/1.1\" 500 59");
    assert!(
        log.contains("guest panicked before start_response"),
        "{log}"
    );
    assert!(
        log.contains("WasmTrap: wasm trap: wasm `unreachable` instruction executed"),
        "{log}"
    );
    // The app's own frame, with its file and line (the example keeps its
    // line tables), and no hint about RUST_BACKTRACE.
    let line = source_line("conformance", "guest panicked before start_response");
    assert!(
        log.contains(&format!("panicked at conformance/src/lib.rs:{line}:")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "examples/conformance/src/lib.rs\", line {line}, in "
        )),
        "{log}"
    );
    assert!(!log.contains("RUST_BACKTRACE"), "{log}");
    assert!(!log.contains("core::panicking"), "{log}");
    assert_eq!(host.get("/hello").body, b"hello");
}

#[test]
fn trap_after_headers_cuts_the_connection_and_the_server_keeps_serving() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /trap-after HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "first");
    assert!(!r.complete);
    assert!(conn.is_closed(Duration::from_secs(5)));
    let log = host.wait_log("WasmTrap");
    assert!(
        log.contains("guest panicked in the middle of the body"),
        "{log}"
    );
    let line = source_line("conformance", "guest panicked in the middle of the body");
    assert!(
        log.contains(&format!(
            "examples/conformance/src/lib.rs\", line {line}, in "
        )),
        "{log}"
    );
    assert_eq!(host.get("/hello").body, b"hello");
}

#[test]
fn exc_info_before_headers_replaces_the_response() {
    let host = conformance();
    let r = host.get("/exc-info");
    assert_eq!((r.status, r.reason.as_str()), (503, "Service Unavailable"));
    assert_eq!(r.header("Content-Type"), Some("text/html"));
    assert_eq!(r.header("X-A"), None);
    assert_eq!(r.header("Content-Length"), Some("8"));
    assert_eq!(r.text(), "replaced");
}

#[test]
fn exc_info_after_headers_reraises_and_cuts() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /exc-info-after HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "first");
    assert!(!r.complete);
    host.wait_log("KeyError: 'k2'");
}

#[test]
fn start_response_rules_are_enforced() {
    let host = conformance();
    for (path, message) in [
        ("/twice", "AssertionError: Headers already set!"),
        (
            "/no-start",
            "AssertionError: write() before start_response()",
        ),
        (
            "/write-before-start",
            "AssertionError: write() before start_response()",
        ),
        (
            "/no-start-empty",
            "AttributeError: 'NoneType' object has no attribute 'setdefault' (the application returned without calling start_response())",
        ),
        (
            "/status?status=200",
            "AssertionError: Status must be at least 4 characters",
        ),
        (
            "/status?status=200OK",
            "AssertionError: Status message must have a space after code",
        ),
        (
            "/status?status=2000+OK",
            "AssertionError: Status message must have a space after code",
        ),
        (
            "/status?status=abc+OK",
            "AssertionError: Status message must begin w/3-digit code",
        ),
        (
            "/header?name=Connection&value=close",
            "AssertionError: Hop-by-hop header, 'Connection: close', not allowed",
        ),
        (
            "/status?status=100+Continue",
            "AssertionError: HTTP status 100 is not a final status",
        ),
    ] {
        let r = host.get(path);
        assert_eq!(r.status, 500, "{path}: {}", r.head);
        assert_eq!(r.header("Content-Length"), Some("59"), "{path}");
        host.wait_log(message);
        host.wait_log(&format!("\"GET {path} HTTP/1.1\" 500 59"));
    }
}

#[test]
fn crlf_and_bad_names_never_reach_the_wire() {
    let host = conformance();
    for path in [
        "/header?name=X-A&value=a%0d%0aX-Injected:+1",
        "/header?name=X-A&value=a%0ab",
        "/header?name=X-A&value=a%00b",
        "/header?name=X:Y&value=z",
        "/header?name=X+Y&value=z",
        "/header?name=&value=z",
    ] {
        let r = host.get(path);
        assert_eq!(r.status, 500, "{path}");
        assert!(!r.head.contains("X-Injected"), "{path}");
        assert!(!r.head.contains("X:Y"), "{path}");
    }
    host.wait_log("('X-A' has '\\r' in 'a\\r\\nX-Injected: 1')");
    host.wait_log("header names must be non-empty HTTP tokens (got 'X:Y')");
    host.wait_log("header names must be non-empty HTTP tokens (got '')");
}

#[test]
fn status_and_reason_pass_through() {
    let host = conformance();
    for (query, line) in [
        ("299+Whatever+you+like", "HTTP/1.1 299 Whatever you like"),
        ("404+not+found", "HTTP/1.1 404 not found"),
        ("200++OK", "HTTP/1.1 200  OK"),
        ("200+", "HTTP/1.1 200 "),
        ("200+%C9t%E9", "HTTP/1.1 200 \u{c9}t\u{e9}"),
        ("599+Custom", "HTTP/1.1 599 Custom"),
    ] {
        let r = host.get(&format!("/status?status={query}"));
        assert_eq!(r.head.lines().next(), Some(line), "{query}");
    }
    host.wait_log("\" 299 6\n");
}

#[test]
fn head_sends_headers_without_a_body() {
    let host = conformance();
    let r = host.request("HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("5"));
    let mut conn = Conn::open(host.addr);
    conn.send(b"HEAD /head-length HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let head = conn.response(true);
    assert_eq!(head.header("Content-Length"), Some("42"));
    // No body bytes came between the two responses.
    let next = conn.response(false);
    assert_eq!(next.head.lines().next(), Some("HTTP/1.1 200 OK"));
    assert_eq!(next.body, b"hello");
    // The access line counts what went out: no body bytes.
    host.wait_log("\"HEAD /hello HTTP/1.1\" 200 0\n");
}

#[test]
fn a_body_longer_than_its_content_length_is_cut_at_it_and_logged() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /header?name=Content-Length&value=3 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.body, b"hea");
    // The rest was not taken for the next response.
    let next = conn.response(false);
    assert_eq!(next.body, b"hello");
    let log = host.wait_log("\"GET /header?name=Content-Length&value=3 HTTP/1.1\" 200 3\n");
    assert!(
        log.contains("the app's body is longer than its Content-Length; 3 bytes were not sent\n"),
        "{log}"
    );
}

#[test]
fn no_body_for_204_and_304() {
    let host = conformance();
    for (status, code) in [("204+No+Content", 204), ("304+Not+Modified", 304)] {
        let mut conn = Conn::open(host.addr);
        conn.send(format!("GET /status?status={status} HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
        let r = conn.response(false);
        assert_eq!(r.status, code);
        assert_eq!(r.header("Transfer-Encoding"), None);
        let next = conn.response(false);
        assert_eq!(next.body, b"hello", "the body of {status} must not be sent");
    }
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    for i in 0..5 {
        conn.send(format!("GET /list?n={i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = conn.response(false);
        assert_eq!(r.status, 200);
        assert!(r.complete);
        let expected: String = (0..i).map(|k| format!("{k};")).collect();
        assert_eq!(r.text(), expected);
    }
    // Pipelined requests are answered in order.
    conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /write HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.response(false).text(), "hello");
    assert_eq!(conn.response(false).text(), "122333");
    assert!(!conn.is_closed(Duration::from_millis(200)));
}

#[test]
fn http_10_clients_get_http_10_responses() {
    let host = conformance();
    let r = host.request("GET /hello HTTP/1.0\r\n\r\n");
    assert_eq!(r.head.lines().next(), Some("HTTP/1.0 200 OK"));
    assert_eq!(r.body, b"hello");
    // Without a length, an HTTP/1.0 body ends when the connection closes.
    let r = host.request("GET /list?n=2 HTTP/1.0\r\n\r\n");
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.text(), "0;1;");
}

#[test]
fn request_bodies_reach_wsgi_input() {
    let host = conformance();
    let body = "x".repeat(300_000);
    let r = host.request(&format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(r.body.len(), body.len());
    let r = host.request("POST /lines HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 14\r\n\r\nline1\nline2\nab");
    assert_eq!(r.text(), "3 lines: 6,6,2");
    let r = host.request("POST /read?size=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nabcdef");
    assert_eq!(r.text(), "abc");
    let r = host.request("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(r.text(), "hi");
    assert_eq!(r.interim.len(), 1, "a 100 Continue before the response");
    assert!(r.interim[0].starts_with("HTTP/1.1 100 Continue\r\n"));
}

#[test]
fn guest_stdout_and_stderr_go_to_the_log() {
    let host = conformance();
    assert_eq!(host.get("/print").text(), "printed");
    host.wait_log("guest stdout line");
    host.wait_log("guest stderr line");
}

#[test]
fn a_busy_guest_does_not_block_other_requests() {
    let host = Host::serve(&[example("conformance").to_str().unwrap(), "--workers", "1"]);
    let addr = host.addr;
    let spinner = std::thread::spawn(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET /spin?ms=5000&id=busy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        conn.response(false)
    });
    host.wait_log("spin busy start");
    assert_eq!(host.get("/hello").body, b"hello");
    // /hello was answered while the guest was still spinning.
    let log = host.log();
    assert!(
        !log.contains("spin busy end"),
        "a spinning guest starved the only worker:\n{log}"
    );
    assert_eq!(spinner.join().unwrap().text(), "spun 1");
}

#[test]
fn a_guest_over_its_cpu_limit_is_stopped_but_waiting_is_free() {
    let host = Host::serve(&[
        example("conformance").to_str().unwrap(),
        "--cpu-limit",
        "0.5",
    ]);
    let started = Instant::now();
    let r = host.get("/spin?ms=20000");
    assert_eq!(r.status, 500);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    host.wait_log(
        "TimeoutError: the app used more than its 500ms of CPU time for this request (--cpu-limit)",
    );
    host.wait_log("\"GET /spin?ms=20000 HTTP/1.1\" 500 59");
    // Waiting for a slow client is not CPU time.
    let mut conn = Conn::open(host.addr);
    conn.send(b"POST /read?size=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nab");
    std::thread::sleep(Duration::from_millis(1500));
    conn.send(b"cde");
    let r = conn.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "abcde");
    // Work below the limit passes.
    assert_eq!(host.get("/spin?ms=100").text(), "spun 1");
}

#[test]
fn bodies_over_the_size_limit_are_refused() {
    let host = Host::serve(&[
        example("conformance").to_str().unwrap(),
        "--max-body-size",
        "10",
    ]);
    let r = host.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
    assert_eq!((r.status, r.reason.as_str()), (413, "Payload Too Large"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(
        r.text(),
        "Request body too large: 11 bytes; this server accepts at most 10.\n"
    );
    host.wait_log("\"POST /echo HTTP/1.1\" 413 66\n");
    // Exactly the limit is fine.
    let r = host.request("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(r.text(), "0123456789");
    // A chunked body that grows past it fails the app's read.
    let r = host.request("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
    assert_eq!(r.status, 500);
    host.wait_log("ValueError: the request body is larger than this server accepts (10 bytes, --max-body-size)");
}

#[test]
fn close_is_called_when_the_client_goes_away() {
    let host = conformance();
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /close?n=100000&size=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = [0u8; 1000];
    use std::io::Read;
    let read = conn_stream(&mut conn).read(&mut buf).unwrap();
    assert!(read > 0);
    drop(conn);
    host.wait_log("close() called");
}

fn conn_stream(conn: &mut Conn) -> &mut std::net::TcpStream {
    conn.stream()
}

#[test]
fn requests_share_no_guest_state() {
    let host = conformance();
    for _ in 0..3 {
        assert_eq!(host.get("/counter").text(), "calls in this instance: 1");
    }
}

#[test]
fn guest_streams_over_the_wit_boundary() {
    let host = conformance();
    let post = |path: &str, body: &str| {
        host.request(&format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .text()
    };
    assert_eq!(
        post("/input-io", "line one\nthe rest\n"),
        "first=\"line one\\n\" rest=9"
    );
    assert_eq!(
        post("/readline?size=3&hint=1", "abcdef\nghi\njkl\nmno\n"),
        "\"abc\" \"def\\n\" [\"ghi\\n\"] [\"jkl\\n\", \"mno\\n\"]"
    );
    assert_eq!(host.get("/errors").text(), "logged");
    let log = host.wait_log("errors: fmt::Write 42\n");
    let lines = [
        "errors: write\n",
        "errors: line 1\n",
        "errors: line 2\n",
        "errors: io::Write\n",
    ];
    let mut at = 0;
    for line in lines {
        at += log[at..]
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing or out of order:\n{log}"));
    }
}

#[test]
fn header_names_are_title_case_and_tracebacks_name_guest_sources() {
    let host = Host::serve(&[example("hello").to_str().unwrap()]);
    let r = host.get("/");
    // hello_world_app sends "Content-type".
    assert!(
        r.head
            .contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"),
        "{}",
        r.head
    );
    let host = conformance();
    host.get("/error-before");
    let log = host.wait_log("ValueError: failed before start_response");
    assert!(
        log.contains("  File \"conformance/src/lib.rs\", line "),
        "{log}"
    );
}

#[test]
fn sigterm_drains_requests_in_flight_and_a_second_signal_quits() {
    let mut host = conformance();
    let addr = host.addr;
    let slow = std::thread::spawn(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET /spin?ms=1000&id=drain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        conn.response(false)
    });
    host.wait_log("spin drain start");
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("Shutting down"), "{log}");
    let r = slow.join().unwrap();
    assert_eq!(r.status, 200, "the request in flight finished");
    assert!(
        log.contains("\"GET /spin?ms=1000&id=drain HTTP/1.1\" 200 "),
        "{log}"
    );

    let mut host = conformance();
    let addr = host.addr;
    std::thread::spawn(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET /spin?ms=20000&id=stuck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let _ = conn.read_to_end();
    });
    host.wait_log("spin stuck start");
    host.signal("TERM");
    host.wait_log("Shutting down");
    host.signal("TERM");
    assert_eq!(host.wait_exit(Duration::from_secs(10)), Some(130));
}

#[test]
fn compiled_components_are_cached() {
    let cache = std::env::temp_dir().join(format!("wasgi-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let file = example("hello");
    let host = Host::serve_env(
        &[file.to_str().unwrap()],
        &[("WASGI_CACHE_DIR", cache.to_str().unwrap())],
    );
    assert_eq!(host.get("/").text(), "Hello World");
    host.wait_log("hello.wasm: compiled in ");
    let cached = walk(&cache);
    assert!(!cached.is_empty(), "nothing cached in {}", cache.display());
    drop(host);
    // The second start does not compile: the log says where it came from.
    let host = Host::serve_env(
        &[file.to_str().unwrap()],
        &[("WASGI_CACHE_DIR", cache.to_str().unwrap())],
    );
    assert_eq!(host.get("/").text(), "Hello World");
    host.wait_log("hello.wasm: loaded from the compile cache in ");
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn a_component_with_code_compiled_before_reuses_its_functions_and_never_a_damaged_one() {
    let cache = crate::common::fresh_dir("function-cache");
    let modules = cache.join("compiled");
    let env = [("WASGI_CACHE_DIR", modules.to_str().unwrap())];
    let hello = example("hello");
    let host = Host::serve_env(&[hello.to_str().unwrap()], &env);
    assert_eq!(host.get("/").text(), "Hello World");
    host.wait_log("hello.wasm: compiled in ");
    drop(host);
    // The same code in other bytes, as a rebuilt app is: not in the
    // compile cache, its functions in the function cache (all but the few
    // Cranelift does not cache; a cold compile finds about half, the
    // component's own duplicates).
    let rebuilt = |name: &str, note: &[u8]| {
        let mut bytes = std::fs::read(&hello).unwrap();
        let section = [&[4u8][..], b"note", note].concat();
        bytes.push(0);
        bytes.push(u8::try_from(section.len()).unwrap());
        bytes.extend_from_slice(&section);
        let path = cache.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let again = rebuilt("again.wasm", b"1");
    let host = Host::serve_env(&[again.to_str().unwrap()], &env);
    assert_eq!(host.get("/").text(), "Hello World");
    let line = wait_line(&host, "again.wasm: compiled in ");
    let (all, reused) = functions(&line);
    assert!(all > 100 && reused * 10 >= all * 9, "{line}");
    drop(host);
    // A damaged entry is compiled again, not run.
    let entries = walk(&cache.join("compiled-functions"));
    assert!(entries.len() > 100, "{} entries", entries.len());
    for entry in &entries {
        let mut bytes = std::fs::read(entry).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(entry, bytes).unwrap();
    }
    let damaged = rebuilt("damaged.wasm", b"2");
    let host = Host::serve_env(&[damaged.to_str().unwrap()], &env);
    assert_eq!(host.get("/").text(), "Hello World");
    let line = wait_line(&host, "damaged.wasm: compiled in ");
    let (all_again, reused) = functions(&line);
    assert!(all_again == all && reused * 10 < all * 8, "{line}");
}

/// The first line of the host's log with `needle`, once there is one.
fn wait_line(host: &Host, needle: &str) -> String {
    let log = host.wait_log(needle);
    let line = log.lines().find(|l| l.contains(needle));
    line.unwrap_or_default().to_string()
}

/// (all, reused) from a log line's "N of M functions from the function cache".
fn functions(line: &str) -> (usize, usize) {
    let (head, _) = line
        .split_once(" functions from the function cache")
        .unwrap_or_else(|| panic!("no function counts in {line}"));
    let words: Vec<&str> = head.rsplit(' ').take(3).collect();
    let [all, "of", reused] = words[..] else {
        panic!("no function counts in {line}");
    };
    (all.parse().unwrap(), reused.parse().unwrap())
}

#[test]
fn the_default_compile_cache_is_a_directory_of_its_own() {
    // wasmtime's cache worker deletes files it does not know in the cache
    // directory: the project's tools beside it must not be in it.
    let home = std::env::temp_dir().join(format!("wasgi-xdg-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let keep = home.join("wasgi/tools/keep.txt");
    std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
    std::fs::write(&keep, "a tool").unwrap();
    let host = Host::serve_env(
        &[example("hello").to_str().unwrap()],
        &[
            ("WASGI_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", home.to_str().unwrap()),
        ],
    );
    assert_eq!(host.get("/").text(), "Hello World");
    host.wait_log("hello.wasm: compiled in ");
    assert!(!walk(&home.join("wasgi/compiled")).is_empty());
    drop(host);
    let mut top: Vec<String> = std::fs::read_dir(home.join("wasgi"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["compiled", "compiled-functions", "tools"]);
    assert!(keep.exists());
    let _ = std::fs::remove_dir_all(&home);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn requests_beyond_max_concurrency_wait_their_turn() {
    let host = Host::serve(&[
        example("conformance").to_str().unwrap(),
        "--max-concurrency",
        "1",
    ]);
    let addr = host.addr;
    let clients: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            let id = id.to_string();
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                conn.send(
                    format!(
                        "GET /spin?ms=300&id={id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                );
                conn.response(false).status
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), 200);
    }
    // One instance at a time: every start is followed by its own end.
    let log = host.wait_log_count(" end\n", 3);
    let spins: Vec<&str> = log.lines().filter(|l| l.starts_with("spin ")).collect();
    assert_eq!(spins.len(), 6, "{log}");
    for pair in spins.chunks(2) {
        let id = pair[0].split(' ').nth(1).unwrap();
        assert_eq!(
            pair,
            [format!("spin {id} start"), format!("spin {id} end")],
            "{log}"
        );
    }
}

#[test]
fn reuse_lets_an_instance_serve_n_requests_and_never_after_a_trap() {
    for app in ["conformance.wasm", "conformance.wasi-http.wasm"] {
        let path = PathBuf::from(env!("WASGI_EXAMPLES_DIR")).join(app);
        let host = Host::serve(&[path.to_str().unwrap(), "--reuse", "3"]);
        let calls = |host: &Host| host.get("/counter").text();
        // One request at a time: the same instance, three times, then a
        // fresh one.
        let seen: Vec<String> = (0..4).map(|_| calls(&host)).collect();
        let want: Vec<String> = [1, 2, 3, 1]
            .iter()
            .map(|n| format!("calls in this instance: {n}"))
            .collect();
        assert_eq!(seen, want, "{app}");
        // An instance that trapped is not kept.
        assert_eq!(host.get("/trap-before").status, 500, "{app}");
        assert_eq!(calls(&host), "calls in this instance: 1", "{app}");
        // More requests at once than instances: each gets an instance of
        // its own, and none sees another's request half-way.
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let addr = host.addr;
                std::thread::spawn(move || {
                    let mut conn = Conn::open(addr);
                    let body = format!("body of request {i}");
                    conn.send(
                        format!(
                            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                    (conn.response(false).text(), body)
                })
            })
            .collect();
        for h in handles {
            let (got, want) = h.join().unwrap();
            assert_eq!(got, want, "{app}");
        }
    }
    // wsgi.multiprocess tells the truth: several instances, each serving
    // many requests.
    let host = Host::serve(&[example("environ-echo").to_str().unwrap(), "--reuse", "10"]);
    let environ: serde_json::Value = serde_json::from_str(&host.get("/").text()).unwrap();
    assert_eq!(environ["wsgi.multiprocess"], serde_json::Value::Bool(true));
    assert_eq!(environ["wsgi.run_once"], serde_json::Value::Bool(false));
    let refused = std::process::Command::new(crate::common::host_bin())
        .args(["serve", "--reuse", "0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn reuse_port_lets_processes_share_a_port_and_one_stop_while_the_other_serves() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let hello = example("hello");
    let args = [
        hello.to_str().unwrap(),
        "--reuse-port",
        "--port",
        port.as_str(),
    ];
    let mut first = Host::serve(&args);
    let second = Host::serve(&args);
    assert_eq!(first.addr, second.addr);
    // Connections are spread over both processes.
    for _ in 0..40 {
        assert_eq!(second.get("/").text(), "Hello World");
    }
    let served = |host: &Host| host.log().matches("\"GET / HTTP/1.1\" 200").count();
    // Access lines are written as responses complete: wait for all 40.
    let deadline = Instant::now() + Duration::from_secs(10);
    while served(&first) + served(&second) < 40 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        served(&first) > 0 && served(&second) > 0,
        "one process served all 40"
    );
    // One stops; the other serves every new connection.
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0));
    for _ in 0..20 {
        assert_eq!(second.get("/").text(), "Hello World");
    }
    // Without the flag the port is taken.
    let out = std::process::Command::new(crate::common::host_bin())
        .args(["serve", hello.to_str().unwrap(), "--port", port.as_str()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("in use"), "{err}");
}

#[test]
fn a_draining_server_refuses_new_connections_and_ends_keep_alive_ones() {
    let mut host = conformance();
    let addr = host.addr;
    // A keep-alive connection with a request in flight when the drain
    // starts, and an idle one.
    let mut busy = Conn::open(addr);
    busy.send(b"GET /spin?ms=1500&id=busy HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut idle = Conn::open(addr);
    idle.send(b"GET /spin?ms=1&id=idle HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.response(false).status, 200);
    host.wait_log("spin busy start");
    host.signal("TERM");
    host.wait_log("Shutting down on SIGTERM");
    // New connections are refused at once, not accepted and then reset.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::net::TcpStream::connect(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            Err(e) => panic!("connect: {e}"),
            Ok(_) => assert!(Instant::now() < deadline, "still accepting while draining"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The request in flight is answered, and told the connection ends.
    let r = busy.response(false);
    assert_eq!(
        (r.status, r.header("Connection")),
        (200, Some("close")),
        "{}",
        r.head
    );
    assert!(busy.is_closed(Duration::from_secs(5)));
    // The idle one is closed once its grace is over.
    assert!(idle.is_closed(Duration::from_secs(5)));
    assert_eq!(host.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sighup_reloads_a_single_app_as_gunicorn_does_and_so_does_a_changed_file() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("single-reload");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("app.wasm");
    // A deploy writes the new file beside the old and renames it.
    let deploy = |from: &std::path::Path| {
        std::fs::copy(from, dir.join("app.wasm.new")).unwrap();
        std::fs::rename(dir.join("app.wasm.new"), &app).unwrap();
    };
    deploy(&example("hello"));
    let host = Host::serve(&[app.to_str().unwrap()]);
    assert_eq!(host.get("/").text(), "Hello World");
    host.signal("HUP");
    host.wait_log("reloaded: 1 app now serving");
    assert_eq!(host.get("/").text(), "Hello World");
    // A new component in its place is served once it is seen.
    deploy(&example("environ-echo"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !host.get("/x").text().contains("\"PATH_INFO\": \"/x\"") {
        assert!(Instant::now() < deadline, "not reloaded: {}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // A broken one keeps the one serving.
    std::fs::write(dir.join("app.wasm.new"), b"not wasm").unwrap();
    std::fs::rename(dir.join("app.wasm.new"), &app).unwrap();
    host.wait_log("reload failed; the apps loaded before keep serving: ");
    assert!(host.get("/x").text().contains("\"PATH_INFO\": \"/x\""));
}
