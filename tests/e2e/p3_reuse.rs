//! WASIp3 instances reused as `wasmtime serve` and Spin reuse them: many
//! requests in turn, several at once within `--reuse-concurrency`, dropped
//! when idle, retired when a request is stopped, and a trap (or a CPU
//! limit) failing only the requests of its own instance.

use std::time::Duration;

use crate::common::{Host, Response, example};
use crate::manifest::host_cmd;

fn served(extra: &[&str]) -> Host {
    let app = example("wasi-http-p3-hello");
    let mut args = vec![app.to_str().unwrap()];
    args.extend_from_slice(extra);
    Host::serve(&args)
}

/// Which request of its instance `/count` was.
fn count(host: &Host) -> u32 {
    let r = host.get("/count");
    assert_eq!(r.status, 200, "{}", r.head);
    let text = r.text();
    let n = text
        .strip_prefix("request ")
        .and_then(|t| t.split(' ').next());
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

/// `path` asked by `n` clients at once.
fn at_once(host: &Host, n: usize, path: &str) -> Vec<Response> {
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..n).map(|_| s.spawn(|| host.get(path))).collect();
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

/// `sleepers` clients asking `/sleep?ms=MS` at once, then, `wait` later
/// (they are in their instances by then), one asking `path`: the sleepers'
/// answers and that one's.
fn while_asleep(
    host: &Host,
    sleepers: usize,
    ms: u64,
    wait: Duration,
    path: &str,
) -> (Vec<Response>, Response) {
    let sleep = format!("/sleep?ms={ms}");
    std::thread::scope(|s| {
        let sleepers: Vec<_> = (0..sleepers)
            .map(|_| s.spawn(|| host.get(&sleep)))
            .collect();
        std::thread::sleep(wait);
        let last = host.get(path);
        (
            sleepers.into_iter().map(|c| c.join().unwrap()).collect(),
            last,
        )
    })
}

/// The most requests open at once that a `/sleep` answer reports.
fn peak(r: &Response) -> u32 {
    let text = r.text();
    let peak = text
        .split("at most ")
        .nth(1)
        .and_then(|t| t.split(' ').next());
    peak.and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{}\n{text}", r.head))
}

#[test]
fn a_wasip3_instance_serves_many_requests_in_turn_until_its_share() {
    // The default: one instance for 128 requests.
    let host = served(&["--idle-instance-timeout", "60"]);
    let counts: Vec<u32> = (0..5).map(|_| count(&host)).collect();
    assert_eq!(counts, [1, 2, 3, 4, 5]);
    // --reuse 3: a fresh instance after every third.
    let host = served(&["--reuse", "3", "--idle-instance-timeout", "60"]);
    let counts: Vec<u32> = (0..7).map(|_| count(&host)).collect();
    assert_eq!(counts, [1, 2, 3, 1, 2, 3, 1]);
    // --reuse 1: a fresh instance for each.
    let host = served(&["--reuse", "1"]);
    let counts: Vec<u32> = (0..3).map(|_| count(&host)).collect();
    assert_eq!(counts, [1, 1, 1]);
}

#[test]
fn an_idle_wasip3_instance_is_dropped_after_its_timeout() {
    let host = served(&["--idle-instance-timeout", "0.2"]);
    assert_eq!(count(&host), 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        count(&host),
        1,
        "the idle instance should have been dropped"
    );
}

#[test]
fn a_wasip3_instance_serves_up_to_its_concurrency_at_once() {
    // More clients than cores, and than the bound.
    let host = served(&["--reuse-concurrency", "4", "--idle-instance-timeout", "60"]);
    let answers = at_once(&host, 24, "/sleep?ms=400");
    let peaks: Vec<u32> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.head);
            peak(r)
        })
        .collect();
    assert!(peaks.iter().all(|&p| p <= 4), "{peaks:?}");
    assert!(
        peaks.iter().any(|&p| p > 1),
        "no instance served two at once: {peaks:?}"
    );
    // The default bound is 16.
    let host = served(&["--idle-instance-timeout", "60"]);
    let answers = at_once(&host, 40, "/sleep?ms=400");
    let peaks: Vec<u32> = answers.iter().map(peak).collect();
    assert!(peaks.iter().all(|&p| p <= 16), "{peaks:?}");
    assert!(peaks.iter().any(|&p| p > 1), "{peaks:?}");
}

#[test]
fn a_trap_fails_the_requests_of_its_instance_and_no_others() {
    let host = served(&["--idle-instance-timeout", "60"]);
    // The sleepers are in their instance (or instances) when it panics.
    let (sleepers, panicked) = while_asleep(&host, 8, 3000, Duration::from_millis(800), "/panic");
    assert_eq!(panicked.status, 500, "{}", panicked.head);
    let failed = sleepers.iter().filter(|r| r.status == 500).count();
    for r in &sleepers {
        assert!(r.status == 500 || r.status == 200, "{}", r.head);
    }
    assert!(
        failed >= 1,
        "the panic's instance served none of the sleepers"
    );
    // Each failed request has its line naming the trap; those of a shared
    // instance say they shared it.
    host.wait_log_count(
        "WasmTrap: wasm trap: wasm `unreachable` instruction executed",
        failed + 1,
    );
    host.wait_log("more at once, which all failed with it");
    host.wait_log_count("\"GET /sleep?ms=3000 HTTP/1.1\" 500", failed);
    // A new instance serves what comes next.
    assert_eq!(host.get("/after").status, 200);
    assert_eq!(
        at_once(&host, 4, "/count")
            .iter()
            .filter(|r| r.status == 200)
            .count(),
        4
    );
}

#[test]
fn a_request_past_its_cpu_limit_in_a_shared_instance_fails_with_a_timeout_error() {
    let host = served(&["--cpu-limit", "0.3", "--idle-instance-timeout", "60"]);
    let (sleepers, spun) = while_asleep(&host, 3, 2000, Duration::from_millis(500), "/spin");
    assert_eq!(spun.status, 500, "{}", spun.head);
    let log = host.wait_log("TimeoutError: the app used more than its 300ms of CPU time");
    assert!(log.contains("(--cpu-limit)"), "{log}");
    for r in &sleepers {
        assert!(r.status == 500 || r.status == 200, "{}", r.head);
    }
    // The sleepers' own CPU time is far below the limit: one alone is
    // served.
    let r = host.get("/sleep?ms=10");
    assert_eq!(r.status, 200, "{}", r.head);
}

#[test]
fn a_request_stopped_before_its_head_retires_its_instance() {
    let host = served(&["--timeout", "0.5", "--idle-instance-timeout", "60"]);
    assert_eq!(count(&host), 1);
    let r = host.get("/sleep?ms=5000");
    assert_eq!(r.status, 504, "{}", r.head);
    host.wait_log("TimeoutError: the request took longer than its 500ms");
    // The instance it was in takes no more: the next request gets a new one.
    assert_eq!(count(&host), 1);
    assert_eq!(count(&host), 2);
}

#[test]
fn a_manifest_sets_the_reuse_of_a_wasip3_app() {
    let dir = std::env::temp_dir().join(format!("wasgi-p3-reuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"p3\"\ncomponent = {:?}\nreuse = 2\nreuse_concurrency = 3\nidle_instance_timeout = 0.5\n\n[[app]]\nname = \"p3-defaults\"\ncomponent = {:?}\nroute = \"/d\"\n",
            example("wasi-http-p3-hello"),
            example("wasi-http-p3-hello"),
        ),
    )
    .unwrap();
    let (code, out, err) = host_cmd(&["check", "--config", manifest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("max_body_size the server's, reuse 2 (3 at once, idle after 0.5 s)\n"),
        "{out}"
    );
    assert!(
        out.contains("reuse 128 (16 at once, idle after 1 s)\n"),
        "{out}"
    );
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    let counts: Vec<u32> = (0..4).map(|_| count(&host)).collect();
    assert_eq!(counts, [1, 2, 1, 2]);
    let _ = std::fs::remove_dir_all(&dir);
}
