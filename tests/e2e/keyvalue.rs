//! Key-value stores for guests (`wasi:keyvalue`), against real stores: an
//! SQLite file in a throw-away state directory, and a real `redis-server`
//! (Debian's, installed by scripts/install-deb.sh) started on 127.0.0.1
//! for the test and stopped after. The guest is `examples/kv-counter`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Conn, Host, RedisServer, example, free_port};

/// `METHOD path` with `body` on `conn`: the status and the body.
fn call(conn: &mut Conn, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    conn.send(&raw);
    let r = conn.response(false);
    (r.status, r.text())
}

fn once(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    call(&mut Conn::open(addr), method, path, body)
}

/// `clients` threads each sending `each` `POST path` on a keep-alive
/// connection to one of `addrs` in turn; every answer must be a 200.
fn increment_from(addrs: &[SocketAddr], path: &str, clients: usize, each: usize) {
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, path) = (addrs[c % addrs.len()], path.to_string());
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                for _ in 0..each {
                    let (status, text) = call(&mut conn, "POST", &path, b"");
                    assert_eq!(status, 200, "{text}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn serve_counter(state: &std::path::Path) -> Host {
    let app = example("kv-counter");
    Host::serve(&[
        app.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ])
}

#[test]
fn a_counter_counts_every_increment_of_many_concurrent_clients_and_keeps_it_across_restarts() {
    let state = crate::common::fresh_dir("kv-counter");
    let mut host = serve_counter(&state);
    assert_eq!(
        once(host.addr, "GET", "/", b""),
        (200, "visits: 1\n".into())
    );
    // Many more clients than cores, each request in a fresh instance.
    increment_from(&[host.addr], "/incr/hits", 16, 200);
    assert_eq!(once(host.addr, "GET", "/get/hits", b"").1, "3200");
    host.stop();
    // The store is a file of the state directory: a new process reads it,
    // and so does an operator.
    assert!(state.join("apps/app.sqlite").is_file());
    let dir = ["--state-dir", state.to_str().unwrap()];
    assert_eq!(
        kv(&[&["get"][..], &dir, &["default", "hits"]].concat()),
        (0, "3200".into())
    );
    assert_eq!(
        kv(&[&["set"][..], &dir, &["default", "note", "by hand"]].concat()).0,
        0
    );
    let (code, _) = kv(&[&["get"][..], &dir, &["default", "nothing"]].concat());
    assert_eq!(code, 1);
    let host = serve_counter(&state);
    assert_eq!(
        once(host.addr, "GET", "/", b""),
        (200, "visits: 2\n".into())
    );
    assert_eq!(once(host.addr, "GET", "/get/hits", b"").1, "3200");
    // Compare-and-swap swaps only on a match.
    let set = once(host.addr, "PUT", "/set/k", b"old");
    assert_eq!(set.0, 200);
    assert_eq!(once(host.addr, "POST", "/cas/k?from=new&to=x", b"").0, 409);
    assert_eq!(once(host.addr, "GET", "/get/k", b"").1, "old");
    assert_eq!(
        once(host.addr, "POST", "/cas/k?from=old&to=new", b"").0,
        200
    );
    assert_eq!(once(host.addr, "GET", "/get/k", b"").1, "new");
    // No `from`: only a key with no value.
    assert_eq!(once(host.addr, "POST", "/cas/k?to=y", b"").0, 409);
    assert_eq!(once(host.addr, "POST", "/cas/fresh?to=y", b"").0, 200);
    assert_eq!(
        once(host.addr, "GET", "/keys", b"").1,
        "fresh\nhits\nk\nnote\nvisits\n"
    );
    assert_eq!(once(host.addr, "GET", "/get/note", b"").1, "by hand");
    assert_eq!(
        kv(&[&["list"][..], &dir, &["default"]].concat()).1,
        "fresh\nhits\nk\nnote\nvisits\n"
    );
}

/// `host kv ARGS`: its exit status and stdout.
fn kv(args: &[&str]) -> (i32, String) {
    let out = Command::new(crate::common::host_bin())
        .arg("kv")
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_acknowledged_write_survives_kill_9_of_the_host() {
    let state = crate::common::fresh_dir("kv-kill9");
    let mut host = serve_counter(&state);
    let addr = host.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Writers record each key once the host answered 200 for it.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("w{w}-{i}");
                    match put_once(addr, &key) {
                        Some(true) => acknowledged.push(key),
                        Some(false) => panic!("PUT {key} refused"),
                        None => break, // the host is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    host.signal("KILL");
    host.wait_exit(Duration::from_secs(5));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(acknowledged.len() > 100, "{}", acknowledged.len());
    let host = serve_counter(&state);
    let mut conn = Conn::open(host.addr);
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|key| call(&mut conn, "GET", &format!("/get/{key}"), b"") != (200, key.to_string()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
}

/// `PUT /set/KEY` with the key as its value, on a connection of its own:
/// whether it was answered 200, or `None` when the host is gone.
fn put_once(addr: SocketAddr, key: &str) -> Option<bool> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    let raw = format!(
        "PUT /set/{key} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{key}",
        key.len()
    );
    stream.write_all(raw.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    match answer.split(' ').nth(1) {
        Some("200") => Some(true),
        Some(_) => Some(false),
        None => None,
    }
}

/// `host check --config manifest`.
fn check(manifest: &std::path::Path) -> std::process::Output {
    Command::new(crate::common::host_bin())
        .args(["check", "--config", manifest.to_str().unwrap()])
        .env("WASGI_CACHE_DIR", crate::common::test_cache_dir())
        .output()
        .unwrap()
}

fn manifest(dir: &std::path::Path, text: &str) -> PathBuf {
    let path = dir.join("wasgi.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_tenant_reads_only_its_own_default_and_the_stores_it_was_granted() {
    let dir = crate::common::fresh_dir("kv-isolation");
    let app = example("kv-counter");
    let path = manifest(
        &dir,
        &format!(
            "state_dir = \"state\"\n\n\
             [[store]]\nname = \"shared\"\n\n\
             [[app]]\nname = \"a\"\ncomponent = {app:?}\nroute = \"/a\"\nkey_value = [\"default\", \"shared\"]\n\n\
             [[app]]\nname = \"b\"\ncomponent = {app:?}\nroute = \"/b\"\n\n\
             [[app]]\nname = \"c\"\ncomponent = {app:?}\nroute = \"/c\"\nkey_value = [\"shared\"]\n"
        ),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap()]);
    let addr = host.addr;
    assert_eq!(once(addr, "PUT", "/a/set/secret", b"a's").0, 200);
    // b's default is another store.
    assert_eq!(once(addr, "GET", "/b/get/secret", b"").0, 404);
    assert_eq!(once(addr, "PUT", "/b/set/secret", b"b's").0, 200);
    assert_eq!(once(addr, "GET", "/a/get/secret", b"").1, "a's");
    // A store granted to a and c is one store.
    assert_eq!(once(addr, "PUT", "/a/set/s?store=shared", b"both").0, 200);
    assert_eq!(once(addr, "GET", "/c/get/s?store=shared", b"").1, "both");
    // b was not granted it: access-denied in the guest, one line in the log.
    let (status, text) = once(addr, "GET", "/b/get/s?store=shared", b"");
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("may not open"), "{text}");
    host.wait_log("app \"b\": key-value store \"shared\" refused: the app was not granted it");
    // c listed only "shared": no default for it.
    assert_eq!(once(addr, "GET", "/c/get/secret", b"").0, 403);
    host.wait_log("app \"c\": key-value store \"default\" refused");
    // A label no manifest declares.
    let (status, text) = once(addr, "GET", "/a/?store=nothing", b"");
    assert_eq!(
        (status, text.contains("no key-value store")),
        (403, true),
        "{text}"
    );
    // Each store is a file of the manifest's state directory.
    for file in [
        "state/apps/a.sqlite",
        "state/apps/b.sqlite",
        "state/stores/shared.sqlite",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    assert!(!dir.join("state/apps/c.sqlite").exists());
    // `host check` says what each app may open, and where it lives.
    let out = check(&path);
    let said = String::from_utf8_lossy(&out.stdout);
    let state = dir.join("state");
    for line in [
        format!(
            "  a: default (sqlite {}), shared (sqlite {})",
            state.join("apps/a.sqlite").display(),
            state.join("stores/shared.sqlite").display()
        ),
        format!(
            "  c: shared (sqlite {})",
            state.join("stores/shared.sqlite").display()
        ),
    ] {
        assert!(said.lines().any(|l| l == line), "no {line:?} in:\n{said}");
    }
    // Granting a store the manifest does not declare is a load error.
    let bad = manifest(
        &crate::common::fresh_dir("kv-isolation-bad"),
        &format!("[[app]]\nname = \"a\"\ncomponent = {app:?}\nkey_value = [\"sessions\"]\n"),
    );
    let out = check(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no [[store]] named \"sessions\""), "{err}");
}

#[test]
fn each_quota_refuses_the_write_that_would_exceed_it_and_leaves_the_store_as_it_was() {
    let dir = crate::common::fresh_dir("kv-quota");
    let app = example("kv-counter");
    let path = manifest(
        &dir,
        &format!(
            "state_dir = \"state\"\n\n\
             [[store]]\nname = \"small\"\nmax_key_size = 8\nmax_value_size = \"16B\"\nmax_total_size = 200\n\n\
             [[app]]\nname = \"q\"\ncomponent = {app:?}\nkey_value = [\"default\", \"small\"]\n"
        ),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap(), "--admin", "127.0.0.1:0"]);
    let addr = host.addr;
    assert_eq!(once(addr, "PUT", "/set/k?store=small", b"first").0, 200);
    // A key over max_key_size.
    assert_eq!(once(addr, "PUT", "/set/ninechars?store=small", b"v").0, 500);
    host.wait_log("app \"q\": key-value store \"small\": set: a key of 9 bytes is over the store's max_key_size of 8 bytes");
    // A value over max_value_size: the old value stays.
    assert_eq!(once(addr, "PUT", "/set/k?store=small", &[b'x'; 17]).0, 500);
    host.wait_log("a value of 17 bytes is over the store's max_value_size of 16 bytes");
    assert_eq!(once(addr, "GET", "/get/k?store=small", b"").1, "first");
    // Writers at once fill it to max_total_size and no further.
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                let mut refused = 0;
                for i in 0..10 {
                    let (status, _) = call(
                        &mut conn,
                        "PUT",
                        &format!("/set/t{t}i{i}?store=small"),
                        b"0123456789",
                    );
                    refused += usize::from(status == 500);
                }
                refused
            })
        })
        .collect();
    let refused: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(refused > 0);
    host.wait_log("over its max_total_size of 200 bytes");
    let keys = once(addr, "GET", "/keys?store=small", b"").1;
    let mut conn = Conn::open(addr);
    let held: usize = keys
        .lines()
        .map(|k| {
            k.len()
                + call(&mut conn, "GET", &format!("/get/{k}?store=small"), b"")
                    .1
                    .len()
        })
        .sum();
    assert!(held <= 200, "the store holds {held} bytes: {keys}");
    assert!(held > 200 - 16, "the store holds only {held} bytes");
    // The app's other store is not affected.
    assert_eq!(once(addr, "PUT", "/set/big", &[b'y'; 4096]).0, 200);
    // /metrics counts the calls by app, store, operation and result.
    let metrics = crate::manifest::admin_get(&host, "/metrics").text();
    let count = |labels: &str| {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("wasgi_kv_operations_total{{{labels}}} ")));
        line.and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
    };
    let refused = count("app=\"q\",store=\"small\",op=\"set\",result=\"error\"");
    assert!(refused.is_some_and(|n| n >= 3), "{metrics}");
    let stored = count("app=\"q\",store=\"default\",op=\"set\",result=\"ok\"");
    assert_eq!(stored, Some(1), "{metrics}");
    // And what each store holds, against its quota.
    let gauge = |name: &str| {
        let prefix = format!("{name}{{app=\"q\",store=\"small\"}} ");
        let line = metrics.lines().find(|l| l.starts_with(&prefix));
        line.and_then(|l| l.rsplit(' ').next()?.parse::<usize>().ok())
    };
    assert_eq!(gauge("wasgi_kv_store_bytes"), Some(held), "{metrics}");
    assert_eq!(gauge("wasgi_kv_store_quota_bytes"), Some(200), "{metrics}");
    // A quota that is no size is a manifest error naming the line.
    let bad = manifest(
        &crate::common::fresh_dir("kv-quota-bad"),
        &format!(
            "[[store]]\nname = \"s\"\nmax_total_size = \"lots\"\n\n[[app]]\nname = \"a\"\ncomponent = {app:?}\n"
        ),
    );
    let out = check(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("max_total_size"),
        "{err}"
    );
}

#[test]
fn two_hosts_on_one_port_share_one_redis_counter_exactly() {
    let redis = RedisServer::start("shared");
    let dir = crate::common::fresh_dir("kv-redis-two");
    let app = example("kv-counter");
    let path = manifest(
        &dir,
        &format!(
            "[[store]]\nname = \"default\"\ntype = \"redis\"\nurl = \"{}\"\n\n\
             [[app]]\nname = \"count\"\ncomponent = {app:?}\n",
            redis.url()
        ),
    );
    let port = free_port().to_string();
    let args = [
        "--config",
        path.to_str().unwrap(),
        "--reuse-port",
        "--port",
        port.as_str(),
    ];
    let (a, b) = (Host::serve(&args), Host::serve(&args));
    // Both behind one port: the kernel spreads the connections.
    increment_from(&[a.addr, b.addr], "/incr/hits", 16, 200);
    assert_eq!(once(a.addr, "GET", "/get/hits", b"").1, "3200");
    assert!(a.log().contains("POST /incr/hits") && b.log().contains("POST /incr/hits"));
    // A different process, the same store.
    drop((a, b));
    let c = Host::serve(&["--config", path.to_str().unwrap()]);
    assert_eq!(once(c.addr, "GET", "/get/hits", b"").1, "3200");
    // An operator reads the same Redis store.
    let config = ["--config", path.to_str().unwrap()];
    assert_eq!(
        kv(&[&["get"][..], &config, &["default", "hits"]].concat()),
        (0, "3200".into())
    );
}

#[test]
fn with_redis_down_calls_fail_fast_and_others_are_served_then_it_recovers_without_a_restart() {
    let mut redis = RedisServer::start("down");
    let dir = crate::common::fresh_dir("kv-redis-down");
    let app = example("kv-counter");
    let path = manifest(
        &dir,
        &format!(
            "state_dir = \"state\"\n\n\
             [[store]]\nname = \"cache\"\ntype = \"redis\"\nurl = \"{}\"\n\n\
             [[app]]\nname = \"r\"\ncomponent = {app:?}\nroute = \"/r\"\nkey_value = [\"cache\"]\n\n\
             [[app]]\nname = \"s\"\ncomponent = {app:?}\nroute = \"/s\"\n",
            redis.url()
        ),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap()]);
    let addr = host.addr;
    assert_eq!(once(addr, "POST", "/r/incr/n?store=cache", b"").1, "1\n");
    redis.down();
    // Many requests at once while it is down: each fails within a second
    // or so with a 500, and the SQLite tenant is served all the while.
    let threads: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let started = Instant::now();
                let (status, _) = once(addr, "POST", "/r/incr/n?store=cache", b"");
                (status, started.elapsed())
            })
        })
        .collect();
    assert_eq!(once(addr, "POST", "/s/incr/n", b"").0, 200);
    for t in threads {
        let (status, took) = t.join().unwrap();
        assert_eq!(status, 500);
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
    host.wait_log("app \"r\": key-value store \"cache\": increment: redis");
    assert_eq!(once(addr, "POST", "/s/incr/n", b"").1, "2\n");
    // Back: the same host reconnects.
    redis.up();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, text) = once(addr, "POST", "/r/incr/n?store=cache", b"");
        if status == 200 {
            // A fresh server (nothing saved): the counter starts again.
            assert_eq!(text, "1\n");
            break;
        }
        assert!(Instant::now() < deadline, "the store did not come back");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_spin_sdk_app_with_key_value_and_variables_is_served_unchanged() {
    let dir = crate::common::fresh_dir("kv-spin");
    let (spin, counter) = (example("spin-kv"), example("kv-counter"));
    let path = manifest(
        &dir,
        &format!(
            "state_dir = \"state\"\n\n\
             [[store]]\nname = \"shared\"\n\n\
             [[app]]\nname = \"spin\"\ncomponent = {spin:?}\nkey_value = [\"default\", \"shared\"]\n\
             config = {{ greeting = \"hello from the manifest\" }}\n\n\
             [[app]]\nname = \"wasgi\"\ncomponent = {counter:?}\nroute = \"/wasgi\"\nkey_value = [\"shared\"]\n"
        ),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap()]);
    let addr = host.addr;
    assert_eq!(once(addr, "PUT", "/set/a", b"one").0, 200);
    assert_eq!(once(addr, "PUT", "/set/b", b"two").0, 200);
    assert_eq!(once(addr, "GET", "/get/a", b"").1, "one");
    assert_eq!(once(addr, "GET", "/get/missing", b"").0, 404);
    assert_eq!(once(addr, "DELETE", "/get/b", b"").0, 200);
    // get-keys answers a stream.
    assert_eq!(once(addr, "GET", "/keys", b"").1, "a\n");
    // spin:variables reads the app's config.
    assert_eq!(
        once(addr, "GET", "/var/greeting", b"").1,
        "hello from the manifest"
    );
    let (status, text) = once(addr, "GET", "/var/missing", b"");
    assert_eq!(status, 404, "{text}");
    // (A wasi:http app sees the whole path: it is at the root.)
    // One store, whichever interface: a Spin app writes what a wasgi app reads.
    assert_eq!(
        once(addr, "PUT", "/set/both?store=shared", b"shared value").0,
        200
    );
    assert_eq!(
        once(addr, "GET", "/wasgi/get/both?store=shared", b"").1,
        "shared value"
    );
    // A label it was not granted: access-denied, logged.
    assert_eq!(once(addr, "GET", "/keys?store=other", b"").0, 403);
    host.wait_log("app \"spin\": key-value store \"other\" refused");
}

#[test]
fn a_component_built_for_wasi_keyvalue_0_2_0_draft_shares_the_store_with_draft2() {
    let dir = crate::common::fresh_dir("kv-draft");
    let (draft, draft2) = (example("kv-draft"), example("kv-counter"));
    let path = manifest(
        &dir,
        &format!(
            "state_dir = \"state\"\n\n\
             [[store]]\nname = \"default\"\n\n\
             [[app]]\nname = \"same\"\ncomponent = {draft:?}\nroute = \"/draft\"\n"
        ),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap()]);
    let addr = host.addr;
    increment_from(&[addr], "/draft/incr/n", 8, 50);
    assert_eq!(once(addr, "GET", "/draft/get/n", b"").1, "400");
    assert_eq!(
        once(addr, "GET", "/draft/many?k=n&k=nothing", b"").1,
        "n=400\n-\n"
    );
    // More keys than a page holds: the numeric cursor goes through them.
    let mut conn = Conn::open(addr);
    for i in 0..1005 {
        assert_eq!(
            call(&mut conn, "POST", &format!("/draft/incr/k{i:04}"), b"").0,
            200
        );
    }
    let keys = once(addr, "GET", "/draft/keys", b"").1;
    assert_eq!(keys.lines().count(), 1006, "{keys}");
    drop(host);
    // The same app's store, read through 0.2.0-draft2 by another component.
    let path = manifest(
        &dir,
        &format!("state_dir = \"state\"\n\n[[app]]\nname = \"same\"\ncomponent = {draft2:?}\n"),
    );
    let host = Host::serve(&["--config", path.to_str().unwrap()]);
    assert_eq!(once(host.addr, "GET", "/get/n", b"").1, "400");
}

#[test]
fn a_guest_opening_stores_in_a_loop_is_stopped_at_the_hosts_bound() {
    let state = crate::common::fresh_dir("kv-open-many");
    let app = example("hostile");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    let addr = host.addr;
    // More hostile clients than cores at once; a neighbour still answers.
    let threads: Vec<_> = (0..6)
        .map(|_| std::thread::spawn(move || once(addr, "GET", "/kv-open?n=100000", b"")))
        .collect();
    assert_eq!(once(addr, "GET", "/ok", b"").1, "ok");
    for t in threads {
        assert_eq!(t.join().unwrap().0, 500);
    }
    host.wait_log(
        "OSError: key-value store: the instance holds 1024 open stores and reads, the most it may",
    );
    assert_eq!(once(addr, "GET", "/kv-open?n=1024", b"").1, "1024 open");
}

#[test]
fn a_refused_store_call_is_logged_with_its_app_and_request() {
    let state = crate::common::fresh_dir("kv-json");
    let app = example("kv-counter");
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    let key = "k".repeat(300);
    assert_eq!(once(host.addr, "PUT", &format!("/set/{key}"), b"v").0, 500);
    let log = host.wait_log("\"event\":\"store_denied\"");
    let line = log.lines().find(|l| l.contains("store_denied")).unwrap();
    let object: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(object["app"], "app", "{line}");
    assert_eq!(object["level"], "warning", "{line}");
    assert_eq!(
        object["request"],
        format!("PUT /set/{key} HTTP/1.1"),
        "{line}"
    );
    assert!(
        object["message"].as_str().is_some_and(
            |m| m.contains("a key of 300 bytes is over the store's max_key_size of 256 bytes")
        ),
        "{line}"
    );
}
