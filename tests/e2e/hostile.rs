//! Hostile guests, many at once: every fault of `examples/hostile` six
//! times concurrently (more hostile requests than cores), while a healthy
//! neighbour keeps asking. Each fault has a defined outcome and one log
//! line naming its cause; the neighbour keeps getting answers; memory and
//! descriptors come back to their idle level.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Conn, Host, example};

/// What a fault's request must get.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// This status, complete.
    Status(u16),
    /// The head, then a cut connection.
    Cut,
    /// The client reads some of an endless body and leaves.
    Leave,
}

const FAULTS: [(&str, Outcome, &str); 14] = [
    (
        "/loop",
        Outcome::Status(500),
        "TimeoutError: the app used more than its 1s of CPU time",
    ),
    (
        "/bomb",
        Outcome::Status(500),
        "MemoryError: the app tried to use",
    ),
    (
        "/huge-chunk?mb=300",
        Outcome::Status(500),
        "MemoryError: the app tried to use",
    ),
    (
        "/recurse",
        Outcome::Status(500),
        "WasmTrap: stack overflow: ",
    ),
    (
        "/panic-before",
        Outcome::Status(500),
        "hostile: panic before start_response",
    ),
    (
        "/panic-after",
        Outcome::Cut,
        "hostile: panic after the first chunk",
    ),
    (
        "/headers?n=100000",
        Outcome::Status(500),
        "headers; at most 10000 are sent",
    ),
    ("/crlf", Outcome::Status(500), "X-Evil"),
    ("/nul", Outcome::Status(500), "X-Evil"),
    (
        "/bad-status",
        Outcome::Status(500),
        "Status must be at least 4 characters",
    ),
    (
        "/endless",
        Outcome::Leave,
        "ConnectionAbortedError: the client closed the connection",
    ),
    (
        "/slow?n=5&ms=100",
        Outcome::Status(200),
        "\"GET /slow?n=5&ms=100 HTTP/1.1\" 200 40",
    ),
    (
        "/read-past",
        Outcome::Status(200),
        "\"POST /read-past HTTP/1.1\" 200 ",
    ),
    (
        "/errors-flood?n=20000",
        Outcome::Status(200),
        "hostile: flood line 19999",
    ),
];

fn run_fault(host: &Host, path: &str, outcome: Outcome) {
    match outcome {
        Outcome::Leave => {
            let mut stream = TcpStream::connect(host.addr).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            let mut got = 0;
            let mut buf = [0u8; 65536];
            while got < 1 << 20 {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "{path}: the endless body ended");
                got += n;
            }
        }
        _ => {
            let raw = if path == "/read-past" {
                "POST /read-past HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello".to_string()
            } else {
                format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            };
            let mut conn = Conn::open(host.addr);
            conn.send(raw.as_bytes());
            let r = conn.response(false);
            match outcome {
                Outcome::Status(code) => {
                    assert_eq!(r.status, code, "{path}: {}", r.head);
                    assert!(r.complete, "{path}");
                    if path == "/read-past" {
                        assert_eq!(r.text(), "read 5 bytes");
                    }
                }
                Outcome::Cut => {
                    assert_eq!(r.status, 200, "{path}");
                    assert!(!r.complete, "{path}: a cut response must not look complete");
                }
                Outcome::Leave => unreachable!(),
            }
        }
    }
}

#[test]
fn every_fault_six_times_at_once_is_contained_while_a_neighbour_is_served() {
    let app = example("hostile");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--cpu-limit",
        "1",
        "--max-memory",
        "64MiB",
        "--timeout",
        "20",
    ]);
    let host = Arc::new(host);
    // Warm up, then the idle level.
    for _ in 0..20 {
        assert_eq!(host.get("/ok").text(), "ok");
    }
    std::thread::sleep(Duration::from_millis(300));
    let (idle_rss, idle_fds) = host.rss_and_fds();

    let stop = Arc::new(AtomicBool::new(false));
    let neighbour = {
        let (host, stop) = (host.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let r = host.get("/ok");
                latencies.push(start.elapsed());
                assert_eq!((r.status, r.text().as_str()), (200, "ok"));
            }
            latencies
        })
    };
    let mut peak_rss = 0;
    let mut storm = Vec::new();
    for (path, outcome, _) in FAULTS {
        for _ in 0..6 {
            let host = host.clone();
            storm.push(std::thread::spawn(move || run_fault(&host, path, outcome)));
        }
    }
    while storm.iter().any(|t| !t.is_finished()) {
        peak_rss = peak_rss.max(host.rss_and_fds().0);
        std::thread::sleep(Duration::from_millis(20));
    }
    for thread in storm {
        thread.join().expect("a fault's outcome");
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = neighbour.join().expect("the neighbour was always answered");
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];

    // One log line naming each cause, for each request.
    for (_, _, cause) in FAULTS {
        host.wait_log_count(cause, 6);
    }
    // Memory and descriptors go back to their idle level.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (rss, fds) = loop {
        let (rss, fds) = host.rss_and_fds();
        if (rss <= idle_rss + 32 * 1024 && fds <= idle_fds) || Instant::now() > deadline {
            break (rss, fds);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!(
        "hostile storm: {} faults x 6 at once; neighbour: {} requests, p50 {:?}, p99 {:?}, max {:?}",
        FAULTS.len(),
        latencies.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
    println!(
        "server: RSS idle {idle_rss} KiB, peak {peak_rss} KiB, after {rss} KiB; fds idle {idle_fds}, after {fds}"
    );
    assert!(latencies.len() >= 10, "the neighbour got few answers");
    assert!(
        p(0.99) < Duration::from_secs(1),
        "the neighbour starved: p99 {:?}",
        p(0.99)
    );
    assert!(
        rss <= idle_rss + 32 * 1024,
        "RSS {rss} KiB stayed above idle {idle_rss} KiB"
    );
    assert!(
        fds <= idle_fds,
        "{fds} descriptors open, {idle_fds} when idle"
    );
    assert_eq!(host.get("/ok").text(), "ok");
}

#[test]
fn sigterm_under_never_ending_requests_exits_within_the_drain_timeout() {
    let app = example("hostile");
    let mut host = Host::serve(&[
        app.to_str().unwrap(),
        "--cpu-limit",
        "0",
        "--drain-timeout",
        "1",
        "--admin",
        "127.0.0.1:0",
    ]);
    let spinners: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut s = TcpStream::connect(host.addr).unwrap();
            s.write_all(b"GET /loop HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    // All six in their guests before the signal (on a loaded machine a
    // fixed pause left one still unread).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !crate::manifest::admin_get(&host, "/metrics")
        .text()
        .contains("wasgi_requests_in_flight{app=\"app\"} 6\n")
    {
        assert!(Instant::now() < deadline, "the six requests did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    host.signal("TERM");
    assert_eq!(host.wait_exit(Duration::from_secs(15)), Some(0));
    let took = started.elapsed();
    let log = host.wait_log_count("its --drain-timeout ran out; the request was cut", 6);
    assert_eq!(
        log.matches("its --drain-timeout ran out; the request was cut")
            .count(),
        6,
        "{log}"
    );
    assert_eq!(
        log.matches("\"GET /loop HTTP/1.1\" 503 ").count(),
        6,
        "{log}"
    );
    println!("SIGTERM with 6 never-ending requests: exit 0 after {took:?} (--drain-timeout 1)");
    drop(spinners);
}

#[test]
fn the_memory_budget_of_all_guests_holds() {
    let app = example("hostile");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--max-memory",
        "32MiB",
        "--memory-budget",
        "40MiB",
    ]);
    let bombs: Vec<_> = (0..6)
        .map(|_| {
            let addr = host.addr;
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                conn.send(b"GET /bomb HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
                conn.response(false).status
            })
        })
        .collect();
    for bomb in bombs {
        assert_eq!(bomb.join().unwrap(), 500);
    }
    // Every bomb was stopped by one limit or the other; with six at once
    // the shared budget ran out before some reached their own.
    let log = host.wait_log_count("MemoryError: ", 6);
    assert!(
        log.contains("MemoryError: the server's memory budget for all apps (40.0 MiB, --memory-budget) is used up"),
        "{log}"
    );
    assert_eq!(host.get("/ok").text(), "ok");
}

#[test]
fn requests_wait_for_the_memory_budget_then_get_503() {
    let app = example("hostile");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--max-memory",
        "40MiB",
        "--memory-budget",
        "48MiB",
    ]);
    let holder = {
        let addr = host.addr;
        std::thread::spawn(move || {
            let mut conn = Conn::open(addr);
            conn.send(b"GET /hold?mb=36&ms=12000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            conn.response(false)
        })
    };
    // Once the memory is held, the next request waits for room.
    host.wait_log("hostile: holding 36 MiB");
    let started = Instant::now();
    let r = host.get("/ok");
    assert_eq!(r.status, 503, "{}\n{}", r.head, host.log());
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "it should have waited for room"
    );
    host.wait_log("code 503, message Service unavailable: the guests' memory budget (48 MiB, --memory-budget) is used up");
    assert_eq!(holder.join().unwrap().text(), "held 36 MiB");
    // Once the memory is back, requests are admitted again.
    assert_eq!(host.get("/ok").text(), "ok");
}

#[test]
fn a_guest_chosen_blksize_does_not_become_a_host_allocation() {
    let dir = std::env::temp_dir().join(format!("wasgi-blksize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let app = example("hostile");
    // Without sendfile the host reads the file in the wrapper's block
    // size, one block a chunk on the wire: the guest asks for 4 GiB
    // blocks (a Python app can ask for more), six requests at once.
    let host = Arc::new(Host::serve(&[
        app.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        "--no-sendfile",
    ]));
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let addr = host.addr;
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                conn.send(b"GET /huge-blksize HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
                conn.read_to_end()
            })
        })
        .collect();
    for client in clients {
        let raw = client.join().expect("the host answered");
        let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
        // The body, chunk by chunk: every block within the host's bound.
        let (mut rest, mut body, mut largest) = (&raw[head_end..], Vec::new(), 0);
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[..size]);
            largest = largest.max(size);
            rest = &rest[size + 2..];
        }
        assert!(body == data, "the file came back changed");
        assert!(largest <= 1 << 20, "a block of {largest} bytes");
    }
    host.wait_log_count("\"GET /huge-blksize HTTP/1.1\" 200 3145728", 6);
    assert_eq!(host.get("/ok").text(), "ok");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_read_of_all_of_wsgi_input_is_held_to_the_guests_memory_limit() {
    let app = example("hostile");
    let host = Arc::new(Host::serve(&[
        app.to_str().unwrap(),
        "--max-memory",
        "16MiB",
    ]));
    // A body within the limit reads whole.
    let body = vec![b'x'; 1 << 20];
    let mut conn = Conn::open(host.addr);
    conn.send(
        format!(
            "POST /read-all HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    conn.send(&body);
    assert_eq!(conn.response(false).text(), "read 1048576 bytes");
    let (idle_rss, _) = host.rss_and_fds();
    // Six 200 MiB bodies at once, each read with read(): the host never
    // holds them, each read fails with a MemoryError naming the limit.
    let chunk = vec![b'y'; 1 << 20];
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (addr, chunk) = (host.addr, chunk.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                conn.send(b"POST /read-all HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
                // The answer comes while the body is still being sent.
                let mut sending = conn.stream().try_clone().unwrap();
                let sender = std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
                        piece.extend_from_slice(&chunk);
                        piece.extend_from_slice(b"\r\n");
                        // The server answers and closes before the end.
                        if sending.write_all(&piece).is_err() {
                            return;
                        }
                    }
                    let _ = sending.write_all(b"0\r\n\r\n");
                });
                let status = conn.response(false).status;
                let _ = conn.stream().shutdown(std::net::Shutdown::Both);
                let _ = sender.join();
                status
            })
        })
        .collect();
    let mut peak_rss = 0;
    while clients.iter().any(|t| !t.is_finished()) {
        peak_rss = peak_rss.max(host.rss_and_fds().0);
        std::thread::sleep(Duration::from_millis(20));
    }
    for client in clients {
        assert_eq!(client.join().unwrap(), 500);
    }
    let log = host.wait_log_count("MemoryError: reading wsgi.input would hold", 6);
    assert!(
        log.contains("more than its limit of 16.0 MiB (--max-memory)"),
        "{log}"
    );
    // Six reads of 16 MiB at most, each copied once into its guest.
    assert!(
        peak_rss < idle_rss + 300 * 1024,
        "RSS went from {idle_rss} KiB to {peak_rss} KiB"
    );
    assert_eq!(host.get("/ok").text(), "ok");
}

#[test]
fn the_queue_bound_holds_when_a_burst_arrives_at_once() {
    let app = example("hostile");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--max-concurrency",
        "2",
        "--max-queue",
        "2",
    ]);
    // Sixteen requests arrive together: two run, two wait, the rest get
    // 503 at once (admission takes the slot it checked, so a burst cannot
    // slip past the check before any of it holds a slot).
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (addr, barrier) = (host.addr, barrier.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                barrier.wait();
                conn.send(
                    b"GET /hold?mb=1&ms=1500 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                );
                conn.response(false).status
            })
        })
        .collect();
    let mut statuses: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, [[200; 4].as_slice(), &[503; 12]].concat());
    host.wait_log_count("waiting (max_queue)", 12);
    assert_eq!(host.get("/ok").text(), "ok");
}

#[test]
fn a_client_that_leaves_while_queued_frees_its_place_in_the_queue() {
    let app = example("hostile");
    let host = Arc::new(Host::serve(&[
        app.to_str().unwrap(),
        "--max-concurrency",
        "1",
        "--max-queue",
        "1",
    ]));
    // One request holds the only slot...
    let holder = {
        let host = host.clone();
        std::thread::spawn(move || host.get("/hold?mb=1&ms=2000").status)
    };
    host.wait_log("hostile: holding 1 MiB");
    // ...one waits for it, then its client resets the connection...
    let mut queued = Conn::open(host.addr);
    queued.send(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    std::thread::sleep(Duration::from_millis(300));
    socket2::SockRef::from(&*queued.stream())
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(queued);
    std::thread::sleep(Duration::from_millis(300));
    // ...and its place is free again: the next one waits, not 503.
    let r = host.get("/ok");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"), "{}", host.log());
    assert_eq!(holder.join().unwrap(), 200);
}

#[test]
fn tracebacks_show_the_apps_frames_and_read_libc_paths_once() {
    let app = example("hostile");
    let host = Host::serve(&[app.to_str().unwrap(), "--max-memory", "32MiB"]);
    assert_eq!(host.get("/panic-before").status, 500);
    let log = host.wait_log("\"GET /panic-before HTTP/1.1\" 500");
    let traceback: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with("Traceback"))
        .take_while(|l| !l.starts_with("WasmTrap"))
        .collect();
    assert!(
        traceback
            .iter()
            .any(|l| l.contains("hostile/src/lib.rs") && l.ends_with(", in hostile")),
        "{log}"
    );
    // The SDK's own frames (its sources, the export glue) are not the app's.
    assert!(
        !traceback
            .iter()
            .any(|l| l.contains("guest-sdk/src") || l.contains("export_call")),
        "{log}"
    );
    assert_eq!(host.get("/bomb").status, 500);
    let log = host.wait_log("\"GET /bomb HTTP/1.1\" 500");
    assert!(
        log.contains("File \"wasisdk://v30.0/src/wasi-libc/dlmalloc/src/malloc.c\", line"),
        "{log}"
    );
    assert_eq!(
        log.matches("wasisdk://").count(),
        log.matches("File \"wasisdk://").count(),
        "{log}"
    );
}

#[test]
fn the_access_line_says_when_a_response_was_cut_and_how_long_it_took() {
    let app = example("hostile");
    let host = Host::serve(&[app.to_str().unwrap()]);
    let mut conn = Conn::open(host.addr);
    conn.send(b"GET /panic-after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert!(!conn.response(false).complete);
    host.wait_log("\"GET /panic-after HTTP/1.1\" 200 12 (cut short)\n");
    assert_eq!(host.get("/ok").text(), "ok");
    let log = host.wait_log("\"GET /ok HTTP/1.1\" 200 2\n");
    assert!(!log.contains("/ok HTTP/1.1\" 200 2 (cut"), "{log}");

    let json = Host::serve(&[app.to_str().unwrap(), "--log-format", "json"]);
    let mut conn = Conn::open(json.addr);
    conn.send(b"GET /panic-after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let _ = conn.response(false);
    assert_eq!(json.get("/ok").text(), "ok");
    let log = json.wait_log("\"request\":\"GET /ok HTTP/1.1\"");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |path: &str| {
        lines
            .iter()
            .find(|v| v["event"] == "access" && v["request"] == format!("GET {path} HTTP/1.1"))
            .unwrap_or_else(|| panic!("no access line for {path}: {log}"))
    };
    assert_eq!(
        (
            of("/panic-after")["status"].as_u64(),
            of("/panic-after")["cut"].as_bool()
        ),
        (Some(200), Some(true))
    );
    assert_eq!(of("/ok")["cut"].as_bool(), Some(false));
    assert!(
        of("/ok")["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{log}"
    );
}
