//! A wasgi app writing SQLite from Rust (`wasgi::sqlite`), in the
//! directory the host gives it at `/data` (`--dir-rw HOST::/data`): each
//! request opens the database, holding the host's lock on it until the
//! end, as Flask's tutorial does in Python.
//!
//! * `GET /insert?VALUE`: commits a row holding VALUE;
//! * `GET /nested?VALUE`: opens a second connection while the request's
//!   own is open and commits VALUE there, then `VALUE-outer` on the first;
//! * `GET /fill?NAME,KIB`: commits a row NAME, KIB KiB long; 507 with
//!   SQLite's message once the database is full (`--max-file-size`);
//! * `GET /die-mid-transaction`: writes many rows, uncommitted, and then
//!   computes until the host stops it (`--cpu-limit`);
//! * anything else: how many rows there are.

use wasgi::sqlite::Connection;
use wasgi::sqlite::rusqlite::{self, ErrorCode};
use wasgi::{Body, Environ, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain")];
const DATABASE: &str = "/data/app.db";

fn rust_sqlite(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let path = environ.get("PATH_INFO").unwrap_or("/").to_string();
    let query = environ.get("QUERY_STRING").unwrap_or("").to_string();
    let db = Connection::open(DATABASE)?;
    db.execute(
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)",
        [],
    )?;
    let (status, body) = match path.as_str() {
        "/insert" => {
            db.execute("INSERT INTO t (v) VALUES (?1)", [&query])?;
            ("200 OK", "committed".to_string())
        }
        "/nested" => {
            let helper = Connection::open(DATABASE)?;
            helper.execute("INSERT INTO t (v) VALUES (?1)", [&query])?;
            drop(helper);
            db.execute("INSERT INTO t (v) VALUES (?1)", [format!("{query}-outer")])?;
            ("200 OK", "committed".to_string())
        }
        "/fill" => {
            let (name, kib) = query.split_once(',').unwrap_or((&query, "1"));
            let kib: usize = kib.parse().map_err(|_| "KIB is a number")?;
            let row = format!("{name:<width$}", width = kib * 1024);
            match db.execute("INSERT INTO t (v) VALUES (?1)", [&row]) {
                Ok(_) => ("200 OK", "committed".to_string()),
                Err(rusqlite::Error::SqliteFailure(e, message))
                    if e.code == ErrorCode::DiskFull =>
                {
                    let message = message.unwrap_or_else(|| e.to_string());
                    ("507 Insufficient Storage", message)
                }
                Err(e) => return Err(e.into()),
            }
        }
        "/die-mid-transaction" => {
            // A one-page cache: the uncommitted pages go to the file at
            // once (the rollback journal holds the originals).
            db.execute_batch("PRAGMA cache_size = 1; BEGIN")?;
            let partial = "partial ".repeat(20);
            for _ in 0..2000 {
                db.execute("INSERT INTO t (v) VALUES (?1)", [&partial])?;
            }
            loop {
                std::hint::spin_loop();
            }
        }
        _ => {
            let count: i64 = db.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
            ("200 OK", count.to_string())
        }
    };
    db.close()?;
    start_response.call(status, TEXT, None)?;
    Ok(Body::from(body))
}

wasgi::export!(rust_sqlite);
