//! Hostile clients, over raw sockets: request smuggling, oversized and
//! malformed heads, slow clients, clients that leave, odd targets. Each
//! gets a defined answer (or a closed connection) and the server goes on
//! serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{Conn, Host, example, installed};

fn conformance(extra: &[&str]) -> Host {
    let app = example("conformance");
    let mut args = vec![app.to_str().unwrap()];
    args.extend_from_slice(extra);
    Host::serve(&args)
}

/// The status of the one response to `raw`, and whether the server then
/// closed the connection.
fn answer(host: &Host, raw: &[u8]) -> (u16, bool) {
    let mut conn = Conn::open(host.addr);
    conn.send(raw);
    let r = conn.response(raw.starts_with(b"HEAD "));
    (r.status, conn.is_closed(Duration::from_secs(5)))
}

#[test]
fn malformed_and_smuggling_requests_get_their_status() {
    let host = conformance(&[]);
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let long_header = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    let many_headers = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        // Smuggling: conflicting or ambiguous body framing.
        ("two different Content-Lengths", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(), 400),
        ("Transfer-Encoding: chunked, identity", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec(), 400),
        ("Transfer-Encoding: identity", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello".to_vec(), 400),
        ("obs-fold", b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".to_vec(), 400),
        ("a space in a header name", b"GET /hello HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n".to_vec(), 400),
        // Oversized heads.
        ("a 70 kB request target", long_target.into_bytes(), 414),
        ("a 500 kB header", long_header.into_bytes(), 431),
        ("200 headers", many_headers.into_bytes(), 431),
        // Targets and hosts (RFC 9112 §3.2).
        ("no Host on HTTP/1.1", b"GET /hello HTTP/1.1\r\n\r\n".to_vec(), 400),
        ("two Host headers", b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(), 400),
        ("the asterisk form on GET", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("the authority form on GET", b"GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("CONNECT", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec(), 405),
        ("NUL in the target", b"GET /he\x00llo HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("raw bytes that are not UTF-8 in the target", b"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("HTTP/0.9", b"GET /hello\r\n".to_vec(), 400),
    ];
    for (what, raw, status) in &cases {
        let (got, closed) = answer(&host, raw);
        assert_eq!(got, *status, "{what}");
        assert!(closed, "{what}: the connection must close after a refusal");
    }
    // Each refusal is logged, with an access line.
    let log = host.wait_log("code 405, message CONNECT is not supported");
    assert!(
        log.contains("code 400, message Bad request: more than one Host header"),
        "{log}"
    );
    assert!(log.contains("code 414, message"), "{log}");
    assert!(log.contains("\"-\" 431 0"), "{log}");
    // Allowed forms still reach the app.
    let (status, _) = answer(
        &host,
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        status, 404,
        "OPTIONS * reaches the app (which has no route for it)"
    );
    let r = host.request(
        "GET http://other.test/hello?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "hello"),
        "absolute form"
    );
    // Content-Length with Transfer-Encoding: the chunked body wins and the
    // connection closes after the answer (RFC 9112 §6.3).
    let (status, closed) = answer(
        &host,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(closed);
    // Pipelined requests are answered in order.
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.response(false).text(), "hello");
    assert_eq!(conn.response(false).text(), "abc");
    assert_eq!(conn.response(false).text(), "hello");
}

#[test]
fn an_http_10_keep_alive_client_of_a_streamed_body_is_told_the_truth() {
    let host = conformance(&[]);
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /stream HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    let raw = String::from_utf8_lossy(&conn.read_to_end()).to_string();
    assert!(raw.starts_with("HTTP/1.0 200 OK\r\n"), "{raw}");
    assert!(raw.contains("\r\nConnection: close\r\n"), "{raw}");
    assert!(!raw.to_ascii_lowercase().contains("keep-alive"), "{raw}");
    assert!(raw.ends_with("9:xxxxxxxxxxxxxx"), "{raw}");
    // With a length, the connection can stay open.
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /hello HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.header("Connection"), Some("keep-alive"));
    assert!(!conn.is_closed(Duration::from_millis(300)));
    // ApacheBench speaks HTTP/1.0 with keep-alive: every request of a
    // streamed route completes, as do those of a route with a length.
    let ab = installed("apache2-utils", "ab");
    for route in ["/stream", "/hello"] {
        let out = std::process::Command::new(&ab)
            .args(["-k", "-n", "300", "-c", "10", "-s", "10"])
            .arg(format!("http://{}{route}", host.addr))
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{route}: {report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            report.contains("Complete requests:      300"),
            "{route}: {report}"
        );
        assert!(
            report.contains("Failed requests:        0"),
            "{route}: {report}"
        );
    }
}

#[test]
fn slow_clients_are_cut_off_and_do_not_hold_the_server() {
    let host = conformance(&["--header-timeout", "1", "--timeout", "2"]);
    // Slowloris: more half-sent heads than there are cores.
    let mut lorises: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(host.addr).unwrap();
            s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // Meanwhile everyone else is served.
    assert_eq!(host.get("/hello").text(), "hello");
    let started = Instant::now();
    for s in &mut lorises {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "slow heads were not cut off"
    );
    host.wait_log("code 408, message");
    // A body slower than --timeout: the app waiting for it is stopped.
    let mut conn = Conn::open(host.addr);
    conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    let r = conn.response(false);
    assert_eq!(r.status, 504, "{}", r.head);
    host.wait_log("TimeoutError: the request took longer than its 2s (--timeout)");
    host.wait_log("\"POST /echo HTTP/1.1\" 504 ");
    assert_eq!(host.get("/hello").text(), "hello");
}

/// Closes `s` with a reset, as a client that aborts does: a plain close
/// (FIN) cannot be told from a half-close, which gets its answer.
fn reset(s: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized linger option.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER");
    drop(s);
}

#[test]
fn a_half_closed_client_gets_its_answer() {
    let host = conformance(&[]);
    // More at once than there are cores, each shutting down its sending
    // side right after its request: every one is answered.
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let mut s = TcpStream::connect(host.addr).unwrap();
            let body = format!("body {i}");
            write!(
                s,
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            (s, body)
        })
        .collect();
    for (mut s, body) in clients {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with(&format!("\r\n\r\n{body}")), "{answer}");
    }
    // A guest still computing when the client stops sending answers too.
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.write_all(b"GET /spin?ms=300&id=half HTTP/1.0\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.0 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // A body the client stopped sending half-way: the app sees its input
    // end early, and the client still gets the app's answer.
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    host.wait_log("the client stopped sending before the request body was complete");
    assert_eq!(host.get("/hello").text(), "hello");
}

#[test]
fn a_client_that_leaves_stops_its_guest() {
    let host = conformance(&["--cpu-limit", "0"]);
    // Before the head: the guest computing for it is stopped.
    for id in 0..4 {
        let mut s = TcpStream::connect(host.addr).unwrap();
        write!(
            s,
            "GET /spin?ms=60000&id=gone{id} HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        .unwrap();
        host.wait_log(&format!("spin gone{id} start"));
        reset(s);
    }
    host.wait_log_count(
        "ConnectionAbortedError: the client closed the connection before the response was complete; the app was stopped",
        4,
    );
    host.wait_log_count("\"GET /spin?ms=60000&id=gone", 4);
    assert!(!host.log().contains(" end\n"), "a spinning guest ran on");
    // During the body: close() is still called.
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.write_all(b"GET /close?n=100000&size=1000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 65536];
    let mut got = 0;
    while got < 200_000 {
        got += s.read(&mut buf).unwrap();
    }
    drop(s);
    host.wait_log("close() called\n");
    assert_eq!(host.get("/hello").text(), "hello");
}
