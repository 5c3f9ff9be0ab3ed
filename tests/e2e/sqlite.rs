//! What SQLite in a guest guarantees, for any app answering the routes of
//! `python/sqlite_app.py` (`/insert?VALUE`, `/nested?VALUE`, `/fill?NAME,KIB`,
//! `/die-mid-transaction`, the row count): the Python bridge's `sqlite3`
//! and the Rust SDK's `wasgi::sqlite` are held to the same tests.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{Host, Response};
use crate::python::repo;

/// A component answering those routes, and where it expects its
/// database's directory (`--dir-rw HOST::GUEST`).
pub(crate) struct SqliteApp {
    pub component: PathBuf,
    pub guest_dir: &'static str,
}

impl SqliteApp {
    /// The app served with its database in `data`, and `flags`.
    fn serve(&self, data: &Path, flags: &[&str]) -> Host {
        let dirs = format!("{}::{}", data.display(), self.guest_dir);
        let mut args = vec![self.component.to_str().unwrap(), "--dir-rw", &dirs];
        args.extend(flags);
        Host::serve(&args)
    }
}

pub(crate) use crate::common::fresh_dir;

fn get(addr: SocketAddr, target: &str) -> Response {
    crate::python_apps::page(addr, target, "")
}

/// The first column of `query`'s rows in the database `db`, read on the
/// host, after checking the file's integrity.
pub(crate) fn column_of<C: FromIterator<String>>(db: &Path, query: &str) -> C {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn.prepare(query).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The values of the rows of the apps' table, whole.
fn rows_in(db: &Path) -> HashSet<String> {
    column_of(db, "SELECT trim(v) FROM t")
}

fn assert_kept(stored: &HashSet<String>, acked: &[String]) {
    for value in acked {
        assert!(
            stored.contains(value),
            "{value} was acknowledged and is lost"
        );
    }
}

/// A request that runs out of CPU mid-transaction leaves no partial write:
/// the next connection rolls the journal back.
pub(crate) fn a_death_mid_transaction_leaves_no_partial_write(app: &SqliteApp, name: &str) {
    let data = fresh_dir(name);
    let host = app.serve(&data, &["--cpu-limit", "2"]);
    assert_eq!(host.get("/insert?before").text(), "committed");
    let died = host.get("/die-mid-transaction");
    assert_eq!(died.status, 500, "{}", died.text());
    host.wait_log("--cpu-limit");
    assert_eq!(host.get("/count").text(), "1");
    assert_eq!(host.get("/insert?after").text(), "committed");
    assert_eq!(host.get("/count").text(), "2");
    let stored = rows_in(&data.join("app.db"));
    assert_eq!(stored, HashSet::from(["before".into(), "after".into()]));
}

/// Every commit acknowledged to one of 8 writers survives `kill -9` of
/// the host.
pub(crate) fn every_commit_survives_kill_9(app: &SqliteApp, name: &str) {
    let data = fresh_dir(name);
    let host = app.serve(&data, &[]);
    let addr = host.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|c| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let value = format!("w{c}-{i}");
                    let r = get(addr, &format!("/insert?{value}"));
                    if r.status != 200 || r.text() != "committed" {
                        break; // cut by the kill
                    }
                    acked.push(value);
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_secs(3));
    host.signal("KILL");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        acked.len() > 20,
        "only {} writes before the kill",
        acked.len()
    );
    drop(host);
    // A new host rolls back what the killed one left uncommitted.
    let again = app.serve(&data, &[]);
    let count: usize = again.get("/count").text().parse().unwrap();
    assert!(count >= acked.len());
    assert_kept(&rows_in(&data.join("app.db")), &acked);
}

/// `clients` threads each requesting `ROUTE?VALUE` `each` times against
/// `addrs` in turn (VALUE: `wCLIENT-I`): the values acknowledged
/// with `committed`, and what the others got.
fn commit_at_once(
    addrs: &[SocketAddr],
    route: &str,
    clients: usize,
    each: usize,
) -> (Vec<String>, Vec<String>) {
    let writers: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addrs[c % addrs.len()];
            let route = route.to_string();
            std::thread::spawn(move || {
                (0..each)
                    .map(|i| {
                        let value = format!("w{c}-{i}");
                        let r = get(addr, &format!("{route}?{value}"));
                        match r.text() == "committed" {
                            true => Ok(value),
                            false => Err(format!("{value}: {} {}", r.status, r.text())),
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    writers.into_iter().flat_map(|w| w.join().unwrap()).fold(
        (Vec::new(), Vec::new()),
        |(mut acked, mut failed), r| {
            match r {
                Ok(value) => acked.push(value),
                Err(e) => failed.push(e),
            }
            (acked, failed)
        },
    )
}

/// 32 clients over two host processes on one database: no error, no lost
/// row.
pub(crate) fn two_processes_write_without_an_error_or_a_lost_row(app: &SqliteApp, name: &str) {
    let data = fresh_dir(name);
    let (a, b) = (app.serve(&data, &[]), app.serve(&data, &[]));
    let (acked, failed) = commit_at_once(&[a.addr, b.addr], "/insert", 32, 8);
    assert!(failed.is_empty(), "{failed:?}\n{}\n{}", a.log(), b.log());
    let stored = rows_in(&data.join("app.db"));
    assert_eq!(stored.len(), 256);
    assert_kept(&stored, &acked);
}

/// A request that opens a second connection while its own is open (a
/// helper per query, one never closed) shares its instance's lock instead
/// of waiting for itself: 8 writers doing so at once, with a dot-file lock
/// left by a dead instance beside the database to start with, all get
/// 200, and both rows of every request are there, the file whole.
pub(crate) fn a_second_connection_in_a_request_shares_its_lock(app: &SqliteApp, name: &str) {
    let data = fresh_dir(name);
    std::fs::write(data.join("app.db"), b"").unwrap();
    std::fs::create_dir(data.join("app.db.lock")).unwrap();
    let host = app.serve(&data, &[]);
    let (acked, failed) = commit_at_once(&[host.addr], "/nested", 8, 10);
    assert!(failed.is_empty(), "{failed:?}\n{}", host.log());
    let stored = rows_in(&data.join("app.db"));
    assert_eq!(stored.len(), 160);
    for value in acked {
        assert!(stored.contains(&value), "{value} is lost");
        assert!(
            stored.contains(&format!("{value}-outer")),
            "{value}-outer is lost"
        );
    }
    assert!(!data.join("app.db.lock").exists());
}

/// More writers than cores fill a database bounded by `--max-file-size`:
/// each stops at `database or disk is full`, the file stays within the
/// bound and whole with every acknowledged row, reads go on, and the log
/// names the file and the bound. The host is left serving, for more.
pub(crate) fn a_database_stops_whole_at_max_file_size(
    app: &SqliteApp,
    name: &str,
    flags: &[&str],
) -> Host {
    let data = fresh_dir(name);
    let mut all = vec!["--max-file-size", "256KiB"];
    all.extend(flags);
    let host = app.serve(&data, &all);
    let addr = host.addr;
    let writers: Vec<_> = (0..8)
        .map(|c| {
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..200 {
                    let name = format!("w{c}-{i}");
                    let r = get(addr, &format!("/fill?{name},8"));
                    match r.status {
                        200 => acked.push(name),
                        507 => {
                            assert_eq!(r.text(), "database or disk is full");
                            return Ok(acked);
                        }
                        _ => return Err(format!("{name}: {} {}", r.status, r.text())),
                    }
                }
                Err(format!(
                    "{c}: 200 rows of 8KiB and the database is not full"
                ))
            })
        })
        .collect();
    // A writer's failure is told with the host's log, which names its cause.
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|w| match w.join().unwrap() {
            Ok(acked) => acked,
            Err(failure) => panic!("{failure}\nhost log:\n{}", host.log()),
        })
        .collect();
    assert!(acked.len() >= 10, "only {} rows fitted", acked.len());
    let log = host.wait_log("refused: it would pass max_file_size");
    let line = log.lines().find(|l| l.contains("max_file_size")).unwrap();
    assert!(
        line.contains("/data/app.db refused") && line.contains("max_file_size (256KiB)"),
        "{line}"
    );
    assert_eq!(host.get("/count").text(), acked.len().to_string());
    let size = std::fs::metadata(data.join("app.db")).unwrap().len();
    assert!(size <= 256 << 10, "the database grew to {size} bytes");
    let stored = rows_in(&data.join("app.db"));
    assert_eq!(stored.len(), acked.len());
    assert_kept(&stored, &acked);
    host
}

/// `examples/rust-sqlite`, built for wasm32-wasip2 with Debian's clang and
/// wasi-libc (installed when missing), as its README says.
fn rust_app() -> SqliteApp {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let component = BUILT.get_or_init(|| {
        for (package, command) in [
            ("clang", "clang"),
            ("wasi-libc", "/usr/include/wasm32-wasi/stdio.h"),
        ] {
            let status = Command::new("bash")
                .arg(repo().join("scripts/install-deb.sh"))
                .args([package, command])
                .status()
                .unwrap();
            assert!(status.success(), "installing {package}");
        }
        let example = repo().join("examples/rust-sqlite");
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../wasm-guests-sqlite");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // From the example's directory: its `.cargo/config.toml` names the
        // C compiler.
        build
            .current_dir(&example)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "wasm32-wasip2",
            ])
            .arg("--target-dir")
            .arg(&target);
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
        ] {
            build.env_remove(var);
        }
        let output = build.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        target.join("wasm32-wasip2/release/rust_sqlite.wasm")
    });
    SqliteApp {
        component: component.clone(),
        guest_dir: "/data",
    }
}

#[test]
fn rust_sqlite_two_processes_write_without_an_error_or_a_lost_row() {
    two_processes_write_without_an_error_or_a_lost_row(&rust_app(), "rust-two-hosts");
}

#[test]
fn rust_sqlite_a_second_connection_in_a_request_shares_its_lock() {
    a_second_connection_in_a_request_shares_its_lock(&rust_app(), "rust-nested");
}

#[test]
fn rust_sqlite_a_death_mid_transaction_leaves_no_partial_write() {
    a_death_mid_transaction_leaves_no_partial_write(&rust_app(), "rust-die");
}

#[test]
fn rust_sqlite_every_commit_survives_kill_9() {
    every_commit_survives_kill_9(&rust_app(), "rust-kill9");
}

#[test]
fn rust_sqlite_a_database_stops_whole_at_max_file_size() {
    a_database_stops_whole_at_max_file_size(&rust_app(), "rust-full", &[]);
}
