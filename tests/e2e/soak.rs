//! The soak: many connections at once for a while, good requests mixed
//! with faulty ones (`examples/hostile`). Not one good request may fail;
//! memory and descriptors stay flat. 5 s here (CI); `just soak` runs 60 s
//! against a release build and writes `target/bench/soak.md`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Conn, Host, example};

/// Faulty routes, sent in turn by one connection in eight: each has a
/// defined outcome (the slow ones are covered by `hostile.rs`).
const FAULTS: [&str; 8] = [
    "/panic-before",
    "/panic-after",
    "/crlf",
    "/bad-status",
    "/recurse",
    "/bomb",
    "/loop",
    "/headers?n=20000",
];

#[test]
fn soak_with_good_and_faulty_requests() {
    let seconds: u64 = std::env::var("WASGI_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let connections: usize = std::env::var("WASGI_SOAK_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let app = example("hostile");
    let host = Arc::new(Host::serve(&[
        app.to_str().unwrap(),
        "--cpu-limit",
        "0.2",
        "--max-memory",
        "32MiB",
    ]));
    for _ in 0..20 {
        assert_eq!(host.get("/ok").text(), "ok");
    }
    std::thread::sleep(Duration::from_millis(300));
    let (idle_rss, idle_fds) = host.rss_and_fds();

    let stop = Arc::new(AtomicBool::new(false));
    let good = Arc::new(AtomicU64::new(0));
    let faulty = Arc::new(AtomicU64::new(0));
    // One connection in eight sends only faulty requests, the others only
    // good ones: the good clients never wait for a fault.
    let clients: Vec<_> = (0..connections)
        .map(|client| {
            let (host, stop, good, faulty) =
                (host.clone(), stop.clone(), good.clone(), faulty.clone());
            std::thread::spawn(move || {
                if client % 8 == 7 {
                    let mut n = client;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let path = FAULTS[n % FAULTS.len()];
                        let mut fault = Conn::open(host.addr);
                        let _ = fault.stream().write_all(
                            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                                .as_bytes(),
                        );
                        let _ = fault.read_to_end();
                        faulty.fetch_add(1, Ordering::Relaxed);
                    }
                    return;
                }
                let mut conn = Conn::open(host.addr);
                while !stop.load(Ordering::Relaxed) {
                    conn.send(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
                    let r = conn.response(false);
                    if (r.status, r.text().as_str()) != (200, "ok") {
                        let log = host.log();
                        let tail = &log[log.len().saturating_sub(3000)..];
                        panic!(
                            "a good request failed: {:?}\nthe server's log ends with:\n{tail}",
                            r.head
                        );
                    }
                    good.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut last = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(1));
        let (rss, fds) = host.rss_and_fds();
        let done = good.load(Ordering::Relaxed);
        samples.push((started.elapsed().as_secs(), done - last, rss, fds));
        last = done;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("every good request was answered");
    }
    // Back to idle.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (rss, fds) = loop {
        let (rss, fds) = host.rss_and_fds();
        if (rss <= idle_rss + 64 * 1024 && fds <= idle_fds) || Instant::now() > deadline {
            break (rss, fds);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut report = format!(
        "Soak: {seconds} s, {connections} connections, {} good requests (all 200), {} faulty ones\n\n\
         | second | good requests | RSS (KiB) | open fds |\n|---|---|---|---|\n| idle | | {idle_rss} | {idle_fds} |\n",
        good.load(Ordering::Relaxed),
        faulty.load(Ordering::Relaxed)
    );
    for (second, requests, rss, fds) in &samples {
        report.push_str(&format!("| {second} | {requests} | {rss} | {fds} |\n"));
    }
    report.push_str(&format!("| after | | {rss} | {fds} |\n"));
    println!("{report}");
    if let Ok(path) = std::env::var("WASGI_SOAK_REPORT") {
        std::fs::write(&path, &report).expect("write the soak report");
    }
    assert!(good.load(Ordering::Relaxed) > 0);
    assert!(
        rss <= idle_rss + 64 * 1024,
        "RSS {rss} KiB did not come back to {idle_rss} KiB"
    );
    assert!(
        fds <= idle_fds,
        "{fds} descriptors open, {idle_fds} when idle"
    );
}
