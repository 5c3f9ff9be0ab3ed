//! `wasgi:wsgi/file-lock`: exclusive locks on files in the app's writable
//! directories, between instances and between host processes.
//!
//! SQLite in a guest has no locks at all: under WASI its file locks are
//! no-ops, so two instances writing one database can corrupt it. The
//! Python bridge takes one of these around each connection to a database
//! file instead: `flock(2)` on the host's file, which two instances or two
//! `--reuse-port` processes of one host see alike. A lock lives in the
//! instance's resource table, so a trap or a timeout that ends the
//! instance releases it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker, Resource};

use super::Capability;
use super::kdf::lock_bindings as bindings;
use super::preopens::Dirs;
use crate::component::RequestCtx;

/// Most locks one instance holds at once.
pub const MAX_HELD: usize = 64;

/// The longest a guest may wait for one.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A held lock: the locked file, unlocked when closed.
pub struct HeldLock(#[allow(dead_code)] File);

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
        let deadline = Instant::now() + Duration::from_millis(timeout_ms.into()).min(MAX_WAIT);
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
        Ok(Ok(self.table.push(HeldLock(file))?))
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
    let host = dir.host.join(rest);
    let root = dir.host.canonicalize().ok()?;
    let parent = host.parent()?.canonicalize().ok()?;
    (parent.starts_with(&root) && rest.file_name().is_some()).then_some(host)
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
            Some(base.join("rw/sub/app.db"))
        );
        assert_eq!(
            writable_file(&dirs, "/data/x/../app.db"),
            Some(base.join("rw/app.db"))
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
