//! The embedded backend: one SQLite file per store, in WAL mode.
//!
//! A write is acknowledged once SQLite committed it to the write-ahead
//! log (`synchronous = NORMAL`): the data is in the file, so it survives
//! the host being killed (`kill -9`); a power cut may lose the last
//! commits, as with Spin's SQLite store. The process's calls share one
//! connection behind a lock, so they never see `database is locked`;
//! other processes on the same file (`--reuse-port`) wait for SQLite's
//! lock for up to [`BUSY_TIMEOUT`]. What a store holds is counted in the
//! same transaction as each write, so the total quota holds across
//! processes too. The file is made on the first call, so an app that
//! never uses its store leaves nothing behind.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::store::{Backend, Result, StoreError, add, counter, over_total};
use crate::app::BoxFuture;

/// How long a write waits for another process's lock on the file.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Keys a `list-keys` page holds at most.
const PAGE: u64 = 1000;

/// A store in an SQLite file.
pub struct Sqlite {
    /// The connection, once a call made it.
    db: Mutex<Option<Connection>>,
    path: PathBuf,
}

fn failed(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("sqlite {}: {e}", path.display()))
}

impl Sqlite {
    /// The store at `path`, opened (and the file made) on its first call.
    pub fn new(path: &Path) -> Sqlite {
        Sqlite {
            db: Mutex::new(None),
            path: path.to_path_buf(),
        }
    }

    /// Opens (creating it and its directory if need be) the store at `path`.
    fn connect(path: &Path) -> std::result::Result<Connection, String> {
        let what = |e: &dyn std::fmt::Display| format!("sqlite {}: {e}", path.display());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| what(&e))?;
        }
        let db = Connection::open(path).map_err(|e| what(&e))?;
        db.busy_timeout(BUSY_TIMEOUT).map_err(|e| what(&e))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| what(&e))?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| what(&e))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS used (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);
             INSERT OR IGNORE INTO used VALUES (0, 0);",
        )
        .map_err(|e| what(&e))?;
        Ok(db)
    }

    /// The connection in `db`, made now if there is none yet.
    fn connected<'a>(&self, db: &'a mut Option<Connection>) -> Result<&'a mut Connection> {
        match db {
            Some(db) => Ok(db),
            None => Ok(db.insert(Sqlite::connect(&self.path).map_err(StoreError::Backend)?)),
        }
    }

    /// Runs `f` on the connection, made now if there is none yet.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let db = self.connected(&mut db)?;
        f(db).map_err(failed(&self.path))
    }

    /// Runs `f` in a write transaction, committed if it returns `Ok(Ok)`.
    fn write<T>(&self, f: impl FnOnce(&Writer<'_>) -> rusqlite::Result<Result<T>>) -> Result<T> {
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let db = self.connected(&mut db)?;
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed(&self.path))?;
        let out = f(&Writer(&tx)).map_err(failed(&self.path))?;
        if out.is_ok() {
            tx.commit().map_err(failed(&self.path))?;
        }
        out
    }
}

/// A write transaction's statements.
struct Writer<'a>(&'a rusqlite::Transaction<'a>);

impl Writer<'_> {
    fn value(&self, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
        self.0
            .prepare_cached("SELECT value FROM kv WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()
    }

    /// Sets `key` to `value` (none: deletes it), within `max_total`.
    fn put(&self, key: &str, value: Option<&[u8]>, max_total: u64) -> rusqlite::Result<Result<()>> {
        let old = self.value(key)?;
        let size = |v: Option<&[u8]>| v.map_or(0, |v| (key.len() + v.len()) as i64);
        let more = size(value) - size(old.as_deref());
        let used: i64 = (self
            .0
            .prepare_cached("SELECT bytes FROM used WHERE id = 0")?)
        .query_row([], |r| r.get(0))?;
        if more > 0 && (used + more) as u64 > max_total {
            return Ok(Err(over_total(used as u64, more, max_total)));
        }
        match value {
            Some(value) => self
                .0
                .prepare_cached(
                    "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![key, value])?,
            None => (self.0.prepare_cached("DELETE FROM kv WHERE key = ?1")?).execute([key])?,
        };
        if more != 0 {
            (self
                .0
                .prepare_cached("UPDATE used SET bytes = bytes + ?1 WHERE id = 0")?)
            .execute([more])?;
        }
        Ok(Ok(()))
    }
}

impl Backend for Sqlite {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        let value = self.with(|db| {
            db.prepare_cached("SELECT value FROM kv WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()
        });
        Box::pin(std::future::ready(value))
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        max_total: u64,
    ) -> BoxFuture<'a, Result<()>> {
        let done = self.write(|w| w.put(key, Some(value), max_total));
        Box::pin(std::future::ready(done))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        let done = self.write(|w| w.put(key, None, u64::MAX));
        Box::pin(std::future::ready(done))
    }

    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool>> {
        let found = self.with(|db| {
            db.prepare_cached("SELECT 1 FROM kv WHERE key = ?1")?
                .exists([key])
        });
        Box::pin(std::future::ready(found))
    }

    fn list_keys(&self, cursor: Option<u64>) -> BoxFuture<'_, Result<(Vec<String>, Option<u64>)>> {
        let start = cursor.unwrap_or(0);
        let page = self.with(|db| {
            let mut keys =
                db.prepare_cached("SELECT key FROM kv ORDER BY key LIMIT ?1 OFFSET ?2")?;
            let keys = keys.query_map([PAGE as i64 + 1, start as i64], |r| r.get(0))?;
            keys.collect::<rusqlite::Result<Vec<String>>>()
        });
        Box::pin(std::future::ready(page.map(|mut keys| {
            let next = (keys.len() as u64 > PAGE).then(|| {
                keys.truncate(PAGE as usize);
                start + PAGE
            });
            (keys, next)
        })))
    }

    fn increment<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        max_total: u64,
    ) -> BoxFuture<'a, Result<i64>> {
        let done = self.write(|w| {
            let value = match counter(w.value(key)?.as_deref()).and_then(|v| add(v, delta)) {
                Ok(value) => value,
                Err(e) => return Ok(Err(e)),
            };
            Ok(w.put(key, Some(value.to_string().as_bytes()), max_total)?
                .map(|()| value))
        });
        Box::pin(std::future::ready(done))
    }

    fn swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: &'a [u8],
        max_total: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        let done = self.write(|w| {
            if w.value(key)?.as_deref() != expected {
                return Ok(Ok(false));
            }
            Ok(w.put(key, Some(value), max_total)?.map(|()| true))
        });
        Box::pin(std::future::ready(done))
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>>> {
        let values = self.with(|db| {
            let tx = db.transaction()?;
            let values = keys
                .iter()
                .map(|k| Writer(&tx).value(k))
                .collect::<rusqlite::Result<Vec<_>>>();
            tx.finish()?;
            values
        });
        Box::pin(std::future::ready(values))
    }

    fn set_many<'a>(
        &'a self,
        pairs: &'a [(String, Vec<u8>)],
        max_total: u64,
    ) -> BoxFuture<'a, Result<()>> {
        let done = self.write(|w| {
            for (key, value) in pairs {
                if let Err(e) = w.put(key, Some(value), max_total)? {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(()))
        });
        Box::pin(std::future::ready(done))
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<()>> {
        let done = self.write(|w| {
            for key in keys {
                // (A delete is never over a quota.)
                let _ = w.put(key, None, u64::MAX)?;
            }
            Ok(Ok(()))
        });
        Box::pin(std::future::ready(done))
    }

    fn used(&self) -> BoxFuture<'_, Result<u64>> {
        // A store no guest used yet holds nothing, and stays without a file.
        let unused = self.db.lock().map(|db| db.is_none()).unwrap_or(false);
        if unused && !self.path.exists() {
            return Box::pin(std::future::ready(Ok(0)));
        }
        let used = self.with(|db| {
            db.prepare_cached("SELECT bytes FROM used WHERE id = 0")?
                .query_row([], |r| r.get::<_, i64>(0))
        });
        Box::pin(std::future::ready(used.map(|n| n.max(0) as u64)))
    }
}
