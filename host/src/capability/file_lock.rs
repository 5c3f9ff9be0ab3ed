//! `wasgi:wsgi/file-lock`: exclusive locks on files in the app's writable
//! directories, between instances and between host processes.
//!
//! SQLite under WASI has no `fcntl` locks, only its dot-file lock: a
//! directory made beside the database, which fails at once when taken
//! (writers get `database is locked` instead of waiting) and which an
//! instance that dies holding it leaves behind, locking the database for
//! good. The guest SDKs take one of these around each connection to a
//! database file instead: `flock(2)` on the host's file, which two
//! instances or two `--reuse-port` processes of one host see alike. Within
//! a process the waiters queue first on a fair mutex per file, so they are
//! served in turn and only processes contend for the `flock`. A lock lives
//! in the instance's resource table, so a trap or a timeout that ends the
//! instance releases it.
//!
//! Within one instance the lock is re-entrant: a second connection to a
//! database the instance already holds (a helper opening its own, one
//! never closed) shares the held lock at once instead of waiting for
//! itself, and the file is unlocked when the last of them is closed.
//! SQLite's own dot-file lock still orders that instance's connections
//! among themselves, which is why a stale one is cleared here, only when
//! the lock is newly taken: then no connection anywhere is inside SQLite.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::OwnedMutexGuard;

use wasmtime::component::{HasSelf, Linker, Resource};

use super::Capability;
use super::preopens::Dirs;
use super::python_runtime::file_lock as bindings;
use crate::component::RequestCtx;

/// Most lock handles one instance holds at once.
pub const MAX_HELD: usize = 64;

/// The longest a guest may wait for one.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A file, as locks tell files apart: its device and inode, so two names
/// of one file (a hard link, a second directory mounted over the same
/// host directory) are one lock.
type FileId = (u64, u64);

/// A file locked by one instance: this process's turn at the file, and the
/// locked file, unlocked when the last handle to it is dropped.
struct Locked {
    _file: File,
    _turn: OwnedMutexGuard<()>,
}

/// A lock handle the guest holds: one of the instance's handles to its
/// lock on one file.
pub struct HeldLock {
    _locked: Arc<Locked>,
}

/// The locks one instance holds: this capability's part of the instance.
#[derive(Default)]
pub(crate) struct Held {
    handles: usize,
    files: HashMap<FileId, Weak<Locked>>,
}

impl Held {
    /// The instance's lock on `file`, if a handle to it is still open.
    fn get(&self, file: FileId) -> Option<Arc<Locked>> {
        self.files.get(&file).and_then(Weak::upgrade)
    }

    fn insert(&mut self, file: FileId, locked: &Arc<Locked>) {
        self.files.retain(|_, l| l.strong_count() > 0);
        self.files.insert(file, Arc::downgrade(locked));
    }
}

/// Each file's queue in this process (entries go when no one holds or
/// waits for them).
static QUEUES: LazyLock<Mutex<HashMap<FileId, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

/// The queue for the file `file`.
fn queue(file: FileId) -> Arc<tokio::sync::Mutex<()>> {
    let mut queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(queue) = queues.get(&file).and_then(Weak::upgrade) {
        return queue;
    }
    if queues.len() >= 256 {
        queues.retain(|_, q| q.strong_count() > 0);
    }
    let queue = Arc::new(tokio::sync::Mutex::new(()));
    queues.insert(file, Arc::downgrade(&queue));
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
        if self.state.get_or_default::<Held>().handles >= MAX_HELD {
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
        let id = match file.metadata() {
            Ok(meta) => (meta.dev(), meta.ino()),
            Err(e) => return Ok(Err(format!("{path}: {e}"))),
        };
        let held = self.state.get_or_default::<Held>().get(id);
        let locked = if let Some(locked) = held {
            locked
        } else {
            self.give_back_lane();
            let locked = match lock(file, id, timeout_ms).await {
                Ok(locked) => Arc::new(locked),
                Err(e) => return Ok(Err(e.unwrap_or_else(|e| format!("{path}: {e}")))),
            };
            clear_dot_lock(&host);
            self.state.get_or_default::<Held>().insert(id, &locked);
            locked
        };
        self.state.get_or_default::<Held>().handles += 1;
        Ok(Ok(self.table.push(HeldLock { _locked: locked })?))
    }
}

impl bindings::HostLock for RequestCtx {
    async fn drop(&mut self, lock: Resource<HeldLock>) -> wasmtime::Result<()> {
        self.table.delete(lock)?;
        let held = self.state.get_or_default::<Held>();
        held.handles = held.handles.saturating_sub(1);
        Ok(())
    }
}

/// Takes this process's turn at `file`, then its `flock`, waiting at most
/// `timeout_ms`; `Err(Ok("timed out"))`, or the error `flock` gave.
async fn lock(
    file: File,
    id: FileId,
    timeout_ms: u32,
) -> Result<Locked, Result<String, std::io::Error>> {
    let wait = Duration::from_millis(timeout_ms.into()).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let turn = match tokio::time::timeout(wait, queue(id).lock_owned()).await {
        Ok(turn) => turn,
        Err(_) => return Err(Ok("timed out".into())),
    };
    let mut pause = Duration::from_micros(200);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(Ok("timed out".into())),
            Err(std::fs::TryLockError::Error(e)) => return Err(Err(e)),
        }
    }
    Ok(Locked {
        _file: file,
        _turn: turn,
    })
}

/// Removes SQLite's dot-file lock beside `file` (`app.db.lock`, an empty
/// directory), left by an instance that died inside SQLite: called with
/// the file newly locked, when no connection of any instance is inside.
fn clear_dot_lock(file: &Path) {
    let mut dot = file.as_os_str().to_owned();
    dot.push(".lock");
    let _ = std::fs::remove_dir(dot);
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
