//! Cranelift's incremental cache on disk: one file per compiled function,
//! named by the hash of what Cranelift compiled it from. Components that
//! share code share its compiled functions: every `host build-python` app
//! carries the same CPython, so a new or rebuilt app compiles only what
//! differs from one compiled before (its snapshot is data, not code).
//!
//! Beside wasmtime's compile cache, not inside it: that directory is its
//! cache worker's alone, which removes files it does not know.

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

/// The most the directory may hold: past it, the cache starts again
/// empty (checked once per process, in the background).
const BUDGET: u64 = 1 << 30;

/// A directory of compiled functions.
#[derive(Debug)]
pub(super) struct FunctionCache {
    dir: PathBuf,
    /// Lookups so far, and how many found their function.
    lookups: AtomicUsize,
    hits: AtomicUsize,
}

/// The function cache that goes with the compile cache `modules`.
pub(super) fn beside(modules: &Path) -> PathBuf {
    let mut name = modules.file_name().unwrap_or_default().to_os_string();
    name.push("-functions");
    modules.with_file_name(name)
}

impl FunctionCache {
    /// The cache in `dir`, touched only when something is compiled (a
    /// start that loads from the compile cache, a CGI request, never reads
    /// it); a directory that cannot be written only costs compile time.
    pub(super) fn open(dir: PathBuf) -> FunctionCache {
        FunctionCache {
            dir,
            lookups: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
        }
    }

    /// (lookups, hits) so far.
    pub(super) fn counts(&self) -> (usize, usize) {
        (
            self.lookups.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
        )
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        let hash = Sha256::digest(key);
        let name: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&name[..2]).join(&name[2..])
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        if self.lookups.fetch_add(1, Ordering::Relaxed) == 0 {
            prune_once(&self.dir);
        }
        let path = self.path(key);
        let mut entry = fs::read(&path).ok()?;
        // An entry is its checksum, then the function: a damaged file
        // (a bad disk, a torn copy) is compiled again, never run.
        if entry.len() < CHECKSUM || Sha256::digest(&entry[CHECKSUM..])[..] != entry[..CHECKSUM] {
            let _ = fs::remove_file(&path);
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        entry.drain(..CHECKSUM);
        Some(Cow::Owned(entry))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let mut entry = Sha256::digest(&value).to_vec();
        entry.extend_from_slice(&value);
        write_atomically(&self.path(key), &entry).is_ok()
    }
}

/// The length of an entry's checksum (SHA-256).
const CHECKSUM: usize = 32;

/// Empties `dir` if it holds more than [`BUDGET`], on a thread of its own,
/// the first time this process opens it.
fn prune_once(dir: &Path) {
    static CHECKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut checked = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    if checked.iter().any(|d| d == dir) {
        return;
    }
    checked.push(dir.to_path_buf());
    let dir = dir.to_path_buf();
    let _ = std::thread::Builder::new()
        .name("wasgi-function-cache".into())
        .spawn(move || {
            if size_of(&dir) > BUDGET {
                // Entries being written meanwhile fail or land in the new
                // tree; either only costs a compile.
                let _ = fs::remove_dir_all(&dir);
                let _ = fs::create_dir_all(&dir);
            }
        });
}

/// Writes `bytes` at `path` so that a reader sees all of them or no file
/// (a host killed mid-write leaves a stray temporary, never half an entry).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(parent)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The bytes the files under `dir` hold (0 if it cannot be read).
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
