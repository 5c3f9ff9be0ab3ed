//! The benchmark harness at tiny scale (`benches/bench.py --smoke`), so it
//! cannot rot: every row it can run here (hellos, key-value state, a SQL
//! read from PostgreSQL, static files beside nginx, a body the guest
//! streams) serves without errors, and the report and chart are written.
//! The real figures come from `just bench`.

use std::path::PathBuf;
use std::process::Command;

use crate::common::host_bin;

#[test]
fn the_benchmark_harness_runs_every_row() {
    let host = PathBuf::from(host_bin());
    let native = host.parent().unwrap().join("examples/native_hello");
    let out = std::env::temp_dir().join(format!("wasgi-bench-smoke-{}", std::process::id()));
    let run = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/bench.py"))
        .args(["--smoke", "--connections", "8", "--host"])
        .arg(&host)
        .arg("--native")
        .arg(&native)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run benches/bench.py");
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    let report = std::fs::read_to_string(out.join("BENCHMARKS.md")).unwrap();
    for row in [
        "| host: wasgi hello, fresh instance |",
        "| host: wasi:http hello, fresh instance |",
        "| host: Spin SDK 7 hello (WASIp3), defaults (128 per instance, 16 at once) |",
        "| host: Spin SDK 7 hello (WASIp3), fresh instance |",
        "| host: kv get per request (SQLite), fresh instance |",
        "| host: kv increment per request (Redis), fresh instance |",
        "| host: SQL read per request (PostgreSQL, pg-client over outbound TCP), fresh instance |",
        "| host: static-files, 1 KiB file |",
        "| host: static-files, 100 MiB file (sent by the host) |",
        "| host: static-files, 100 MiB file in 8 KiB host reads (--no-sendfile) |",
        "| host: static-files, 100 MiB file read and streamed by the guest (--no-file-wrapper) |",
        "| nginx: 1 KiB file |",
        "| nginx: 100 MiB file |",
        "| host: wasi:http body of 100 MiB made by the guest, fresh instance |",
        "| native hyper hello (the ceiling) |",
        "| CPython wsgiref.simple_server: hello |",
        "| gunicorn (1 sync worker): hello |",
    ] {
        let line = report
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row} in {report}"));
        // The harness checked the row answers before measuring it; how
        // many requests one loaded second holds is not for a test to say.
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        cells[2].parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(cells[6], "0", "errors in {line}");
    }
    let chart = std::fs::read_to_string(out.join("benchmarks.svg")).unwrap();
    assert!(
        chart.starts_with("<svg") && chart.contains("host: wasgi hello"),
        "{chart}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
