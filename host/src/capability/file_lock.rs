//! `wasgi:wsgi/file-lock`: exclusive locks on files in the app's writable
//! directories, between instances and between host processes.
//!
//! SQLite under WASI has no `fcntl` locks, only its dot-file lock: a
//! directory made beside the database, which fails at once when taken
//! (writers get `database is locked` instead of waiting) and which an
//! instance that dies holding it leaves behind, locking the database for
//! good. The Python bridge takes one of these around each connection to a
//! database file instead (and clears a dot-file lock left behind):
//! `flock(2)` on the host's file, which two instances or two
//! `--reuse-port` processes of one host see alike. Within a process the
//! waiters queue first on a fair mutex per file, so they are served in
//! turn and only processes contend for the `flock`. A lock lives in the
//! instance's resource table, so a trap or a timeout that ends the
//! instance releases it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::OwnedMutexGuard;

use wasmtime::component::{HasSelf, Linker, Resource};

use super::Capability;
use super::preopens::Dirs;
use super::python_runtime::file_lock as bindings;
use crate::component::RequestCtx;

/// Most locks one instance holds at once.
pub const MAX_HELD: usize = 64;

/// The longest a guest may wait for one.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A held lock: this process's turn at the file, and the locked file,
/// unlocked when closed.
pub struct HeldLock {
    _file: File,
    _turn: OwnedMutexGuard<()>,
}

/// Each file's queue in this process (entries go when no one holds or
/// waits for them).
static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

/// The queue for the file `path`.
fn queue(path: &Path) -> Arc<tokio::sync::Mutex<()>> {
    let mut queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(queue) = queues.get(path).and_then(Weak::upgrade) {
        return queue;
    }
    if queues.len() >= 256 {
        queues.retain(|_, q| q.strong_count() > 0);
    }
    let queue = Arc::new(tokio::sync::Mutex::new(()));
    queues.insert(path.to_path_buf(), Arc::downgrade(&queue));
    queue
}

/// The host's file locks.
pub(crate) struct FileLock;

impl Capability for FileLock {
    fn name(&self) -> &'static str {
        "file locks"
    }

    fn provides(&self) -> &'static [&'static str] {
        &["wasgi:wsgi/file-lock"]
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        bindings::add_to_linker::<_, HasSelf<_>>(linker, |ctx| ctx)
    }
}

impl bindings::Host for RequestCtx {
    async fn acquire(
        &mut self,
        path: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<HeldLock>, String>> {
        if self.locks_held >= MAX_HELD {
            return Ok(Err(format!(
                "too many locks held (an instance holds at most {MAX_HELD})"
            )));
        }
        let Some(host) = self
            .capabilities
            .get()
            .and_then(|d| writable_file(d, &path))
        else {
            return Ok(Err(format!("{path}: not a file in a writable directory")));
        };
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&host)
        {
            Ok(file) => file,
            Err(e) => return Ok(Err(format!("{path}: {e}"))),
        };
        self.give_back_lane();
        let wait = Duration::from_millis(timeout_ms.into()).min(MAX_WAIT);
        let deadline = Instant::now() + wait;
        let turn = match tokio::time::timeout(wait, queue(&host).lock_owned()).await {
            Ok(turn) => turn,
            Err(_) => return Ok(Err("timed out".into())),
        };
        let mut pause = Duration::from_micros(200);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Ok(Err("timed out".into()));
                }
                Err(std::fs::TryLockError::Error(e)) => return Ok(Err(format!("{path}: {e}"))),
            }
        }
        self.locks_held += 1;
        let held = HeldLock {
            _file: file,
            _turn: turn,
        };
        Ok(Ok(self.table.push(held)?))
    }
}

impl bindings::HostLock for RequestCtx {
    async fn drop(&mut self, lock: Resource<HeldLock>) -> wasmtime::Result<()> {
        self.table.delete(lock)?;
        self.locks_held = self.locks_held.saturating_sub(1);
        Ok(())
    }
}

/// The host file at the guest path `guest`, if it lies in one of `dirs`'s
/// writable directories (the deepest that holds it) and its directory
/// does not lead out of it.
fn writable_file(Dirs(dirs): &Dirs, guest: &str) -> Option<PathBuf> {
    let guest = normal(guest)?;
    let (dir, rest) = dirs
        .iter()
        .filter(|d| d.writable)
        .filter_map(|d| Some((d, guest.strip_prefix(normal(&d.guest)?).ok()?)))
        .max_by_key(|(d, _)| d.guest.len())?;
    let root = dir.host.canonicalize().ok()?;
    let parent = root.join(rest).parent()?.canonicalize().ok()?;
    let name = rest.file_name()?;
    parent.starts_with(&root).then(|| parent.join(name))
}

/// `path` absolute, with `.` and `..` resolved (None if `..` leaves `/`).
fn normal(path: &str) -> Option<PathBuf> {
    let path = Path::new(path);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::ParentDir if !out.pop() => return None,
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::preopens::Preopen;

    #[test]
    fn only_files_in_writable_directories_can_be_locked() {
        let base = std::env::temp_dir().join(format!("wasgi-lock-test-{}", std::process::id()));
        std::fs::create_dir_all(base.join("rw/sub")).unwrap();
        std::fs::create_dir_all(base.join("ro")).unwrap();
        let dir = |host: &str, guest: &str, writable| Preopen {
            host: base.join(host),
            guest: guest.into(),
            guest_given: true,
            writable,
        };
        let dirs = Dirs(vec![dir("rw", "/data", true), dir("ro", "/static", false)]);
        assert_eq!(
            writable_file(&dirs, "/data/sub/app.db"),
            Some(base.canonicalize().unwrap().join("rw/sub/app.db"))
        );
        assert_eq!(
            writable_file(&dirs, "/data/x/../app.db"),
            Some(base.canonicalize().unwrap().join("rw/app.db"))
        );
        for refused in [
            "/static/app.db",
            "/data/../etc/passwd",
            "data/app.db",
            "/data",
            "/elsewhere/a.db",
            "/data/missing/a.db",
        ] {
            assert_eq!(writable_file(&dirs, refused), None, "{refused}");
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
