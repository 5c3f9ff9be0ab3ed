//! SQLite in a Rust guest ([`rusqlite`], its bundled SQLite built for
//! wasm32-wasip2), made safe between instances as the Python bridge makes
//! `sqlite3`: the SDK's `sqlite` feature.
//!
//! ```ignore
//! let db = wasgi::sqlite::Connection::open("/data/app.db")?;
//! db.execute("INSERT INTO post (title) VALUES (?1)", ["hello"])?;
//! ```
//!
//! Under WASI, SQLite locks a database with a directory beside it
//! (`app.db.lock`, its dot-file locking): writers that find it fail at
//! once with `database is locked`, and an instance that dies holding it
//! locks the database for good. [`Connection::open`] takes the host's
//! exclusive lock on the database file ([`crate::fs::lock`]) for as long
//! as the connection is open, waiting up to 30 s before it fails with
//! SQLite's own `database is locked`, and clears a lock directory a dead
//! instance left. SQLite's rollback journal does the rest: a request that
//! traps mid-transaction leaves no partial write, and a commit survives
//! `kill -9` of the host. Open a connection per request: one kept across
//! requests (`--reuse`) holds the database for its instance's life.
//!
//! Building needs a C compiler for wasm32 and a WASI C library
//! (Debian's `clang` and `wasi-libc`), named in the app's
//! `.cargo/config.toml` (`examples/rust-sqlite` has one).

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::Duration;

pub use rusqlite;
use rusqlite::{OpenFlags, ffi};

use crate::fs::FileLock;

/// How long [`Connection::open`] waits for the database by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// A [`rusqlite::Connection`] holding the host's lock on its database
/// file; it derefs to the connection.
pub struct Connection {
    // Closed before the lock is released: fields drop in order.
    connection: rusqlite::Connection,
    _lock: Option<FileLock>,
}

impl Connection {
    /// Opens (or creates) the database file `path`, waiting up to
    /// [`DEFAULT_WAIT`] for other instances to close it.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Connection> {
        Connection::open_with(path, OpenFlags::default(), DEFAULT_WAIT)
    }

    /// Opens the database file `path` with `flags`, waiting up to `wait`.
    pub fn open_with(
        path: impl AsRef<Path>,
        flags: OpenFlags,
        wait: Duration,
    ) -> rusqlite::Result<Connection> {
        let path = path.as_ref();
        let lock = lock(path, flags, wait)?;
        let connection = rusqlite::Connection::open_with_flags(path, flags)?;
        Ok(Connection {
            connection,
            _lock: lock,
        })
    }

    /// Closes the connection, then releases the lock (as dropping it
    /// does), saying why SQLite could not close it.
    pub fn close(self) -> rusqlite::Result<()> {
        let Connection { connection, _lock } = self;
        connection.close().map_err(|(_, e)| e)
    }
}

/// The host's lock on the database file `path`, when it is a file others
/// can write (one in a read-only directory, or in memory, needs none).
fn lock(path: &Path, flags: OpenFlags, wait: Duration) -> rusqlite::Result<Option<FileLock>> {
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
        return Ok(None);
    }
    // The host locks files that exist; SQLite would make it anyway.
    if flags.contains(OpenFlags::SQLITE_OPEN_CREATE) {
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path);
    }
    match crate::fs::lock(path, wait) {
        // The host clears a dot-file lock left by an instance that died.
        Ok(lock) => Ok(Some(lock)),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        )),
        // Not in a writable directory: nobody else can write it.
        Err(_) => Ok(None),
    }
}

impl Deref for Connection {
    type Target = rusqlite::Connection;

    fn deref(&self) -> &rusqlite::Connection {
        &self.connection
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut rusqlite::Connection {
        &mut self.connection
    }
}
