//! Outbound TCP (`wasi:sockets`) behind the allowlist: a guest
//! (`examples/tcp-client`, Rust's `std::net` and the `redis` crate) talks
//! to a real `redis-server` on an allowed `tcp://HOST:PORT`, and everything
//! else it tries (other addresses, names, binds, listens, UDP, too many
//! connections) fails at once with a log line, also many at a time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::{Host, RedisServer, example};

fn manifest(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sockets-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wasgi.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_guest_reaches_an_allowed_redis_and_nothing_else() {
    let redis = RedisServer::start("sockets");
    let app = example("tcp-client");
    let port = redis.port;
    let path = manifest(
        "allowed",
        &format!(
            "[[app]]\nname = \"allowed\"\ncomponent = {app:?}\nroute = \"/a\"\n\
             allow_outbound = [\"tcp://localhost:{port}\"]\n\n\
             [[app]]\nname = \"other\"\ncomponent = {app:?}\nroute = \"/b\"\n"
        ),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap()]);
    // By name and by the address it resolves to.
    let url = format!("redis://localhost:{port}");
    assert_eq!(host.get(&format!("/a/redis?url={url}&key=n")).text(), "1");
    let by_ip = host.get(&format!("/a/redis?url=redis://127.0.0.1:{port}&key=n"));
    assert_eq!(by_ip.text(), "2");
    assert_eq!(host.get("/a/lookup?name=localhost").text(), "127.0.0.1\n");
    // The other app was allowed nothing.
    let denied = host.get(&format!("/b/redis?url=redis://127.0.0.1:{port}&key=n"));
    assert_eq!(denied.status, 502, "{}", denied.text());
    host.wait_log(&format!(
        "outbound connection denied: tcp 127.0.0.1:{port} is not allowed; see --allow-outbound tcp://HOST:PORT"
    ));
    // Another port of the allowed host is another destination.
    let other_port = host.get("/a/connect?addr=127.0.0.1:1");
    assert_eq!(other_port.status, 502);
    host.wait_log("outbound connection denied: tcp 127.0.0.1:1 is not allowed");
    // Names other than the allowed ones are not looked up at all.
    let lookup = host.get("/a/lookup?name=example.com");
    assert_eq!(lookup.status, 502);
    host.wait_log("outbound connection denied: looking up \"example.com\"");
}

#[test]
fn binds_listens_udp_and_connection_floods_are_refused_at_once_for_many_at_a_time() {
    let redis = RedisServer::start("sockets-hostile");
    let app = example("tcp-client");
    let allowed = format!("tcp://127.0.0.1:{}", redis.port);
    let host = Host::serve(&[app.to_str().unwrap(), "--allow-outbound", &allowed]);
    let addr = host.addr;
    let hostile = [
        "/bind?addr=127.0.0.1:0".to_string(),
        "/bind?addr=0.0.0.0:0".to_string(),
        "/udp".to_string(),
        "/connect?addr=10.255.255.1:80".to_string(),
        format!("/connect?addr=127.0.0.1:{}&n=70", redis.port),
    ];
    // More hostile clients than cores, each trying everything.
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let hostile = hostile.clone();
            std::thread::spawn(move || {
                for path in &hostile {
                    let started = Instant::now();
                    let mut conn = crate::common::Conn::open(addr);
                    conn.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                    let r = conn.response(false);
                    assert_eq!(r.status, 502, "{path}: {}", r.text());
                    // A denial is immediate (10.255.255.1 would otherwise hang).
                    assert!(started.elapsed() < Duration::from_secs(2), "{path}");
                }
            })
        })
        .collect();
    // Everyone else is still served.
    assert_eq!(
        host.get(&format!("/connect?addr=127.0.0.1:{}", redis.port))
            .text(),
        "connected 1"
    );
    for t in threads {
        t.join().unwrap();
    }
    host.wait_log("outbound connection denied: binding or listening on 127.0.0.1:");
    host.wait_log("outbound connection denied: tcp 10.255.255.1:80 is not allowed");
    let log = host.wait_log("the instance made 64 connections, the most it may");
    let flood = host.get(&format!("/connect?addr=127.0.0.1:{}&n=70", redis.port));
    assert!(
        flood.text().starts_with("connection 65:"),
        "{}",
        flood.text()
    );
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(
        host.get(&format!("/connect?addr=127.0.0.1:{}&n=64", redis.port))
            .text(),
        "connected 64"
    );
}

#[test]
fn a_rust_guest_reads_and_writes_postgresql_over_allowed_tcp() {
    let pg = crate::common::PgServer::start("sockets");
    let app = example("pg-client");
    let db = format!("127.0.0.1:{}", pg.port);
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--allow-outbound",
        &format!("tcp://{db}"),
    ]);
    let addr = host.addr;
    // The first request makes the table (concurrent CREATE TABLE IF NOT
    // EXISTS can fail in PostgreSQL itself).
    let first = host.request(&format!(
        "POST /notes?db={db} HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst"
    ));
    assert_eq!(first.text(), "1\n", "{}", host.log());
    // Many clients at once, each request its own instance and connection.
    let threads: Vec<_> = (0..8)
        .map(|c| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut conn = crate::common::Conn::open(addr);
                for i in 0..10 {
                    let note = format!("client {c} note {i}");
                    conn.send(
                        format!(
                            "POST /notes?db={db} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{note}",
                            note.len()
                        )
                        .as_bytes(),
                    );
                    let r = conn.response(false);
                    if r.status != 200 {
                        return Err(r.text());
                    }
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        let done = t.join().unwrap();
        assert!(done.is_ok(), "{done:?}: {}", host.log());
    }
    let notes = host.get(&format!("/notes?db={db}")).text();
    assert_eq!(notes.lines().count(), 81, "{notes}");
    assert!(notes.contains("client 7 note 9\n"), "{notes}");
    // Another port of the same host is not allowed.
    let denied = host.get("/notes?db=127.0.0.1:1");
    assert_eq!(denied.status, 500);
    host.wait_log("outbound connection denied: tcp 127.0.0.1:1 is not allowed");
}

/// A WASIp3 guest's name lookup (`wasi:sockets/ip-name-lookup@0.3.0`)
/// goes through the same policy: allowed names and address literals only.
#[test]
fn a_wasip3_guest_looks_up_only_the_allowed_names() {
    let app = example("wasi-http-p3-hello");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--allow-outbound",
        "tcp://localhost:6379",
    ]);
    assert_eq!(host.get("/lookup?localhost").text(), "127.0.0.1\n");
    assert_eq!(host.get("/lookup?127.0.0.1").text(), "127.0.0.1\n");
    let denied = host.get("/lookup?example.com");
    assert_eq!(
        denied.text(),
        "error: ErrorCode::PermanentResolverFailure\n"
    );
    host.wait_log("outbound connection denied: looking up \"example.com\"");
    // With no tcp:// entry, nothing is looked up.
    let closed = Host::serve(&[app.to_str().unwrap()]);
    assert_eq!(
        closed.get("/lookup?localhost").text(),
        "error: ErrorCode::PermanentResolverFailure\n"
    );
    closed.wait_log("outbound connection denied: looking up \"localhost\"");
}

/// A WASIp3 guest's TCP connects (`wasi:sockets/types@0.3.0`) are checked
/// as WASIp2's are: the allowed address connects, another is refused at
/// once with a log line.
#[test]
fn a_wasip3_guest_connects_only_where_allowed() {
    let redis = RedisServer::start("sockets-p3");
    let port = redis.port;
    let app = example("wasi-http-p3-hello");
    let allow = format!("tcp://127.0.0.1:{port}");
    let host = Host::serve(&[app.to_str().unwrap(), "--allow-outbound", &allow]);
    assert_eq!(
        host.get(&format!("/connect?127.0.0.1:{port}")).text(),
        "connected\n"
    );
    let refused = host.get("/connect?127.0.0.1:1").text();
    assert_eq!(refused, "error: ErrorCode::AccessDenied\n");
    host.wait_log("outbound connection denied: tcp 127.0.0.1:1 is not allowed");
}
