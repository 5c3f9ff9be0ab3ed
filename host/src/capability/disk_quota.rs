//! Bounds on what a guest writes to disk: each file in its writable
//! directories at most `max_file_size` (a SQLite database, its journal, a
//! log file), and its `/tmp` at most `tmp_size` in all.
//!
//! WASI has no quotas of its own, so the host's `wasi:filesystem` calls
//! that make a file longer (`write`, `set-size`, the streams of
//! `write-via-stream` and `append-via-stream`) are shadowed here by ones
//! that first check the file's new end against the bounds. A write that
//! would pass one fails as a full disk does, with `insufficient-space`
//! (`ENOSPC`), and the file keeps what it had. (wasi-libc's `write()`
//! turns any failed write on a stream into `EIO`, so a C or Python guest
//! writing a file sees `EIO` there; `pwrite()` and a stream opened at the
//! bound, which is where SQLite extends a database to a page-aligned bound,
//! keep `ENOSPC`, and SQLite says `database or disk is full`.) The first
//! refusal in an instance is logged, naming the file and the bound. Writes
//! within a file's length are never refused, so a file already past a
//! bound that was lowered stays usable.
//!
//! A file's size is its length. A positional write is checked by its end,
//! which holds under any concurrency; appends to one file are checked and
//! made under a lock per file within a process (processes sharing a
//! directory can each pass the bound by one write). `/tmp` is counted as
//! the instance writes and measured again (its files, and files it still
//! holds open after deleting them) when the count reaches the bound.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use clap::{Arg, ArgMatches};
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{self, ErrorCode, HostDescriptor};
use wasmtime_wasi::p2::{DynOutputStream, FsResult, OutputStream, StreamError, StreamResult};

use super::preopens::Dirs;
use super::tmp::TmpDir;
use super::{Capability, CapabilitySettings, InstanceBuilder, KeyError, ManifestKey};
use crate::component::{AppOptions, CurrentRequest, RequestCtx};
use crate::streams::{ErrorStream, Event};
use crate::units::{Size, parse_size};
use wasgi::ExcInfo;

/// `max_file_size` when none is given.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;

/// `tmp_size` when none is given.
pub const DEFAULT_TMP_SIZE: u64 = 64 << 20;

/// The interface whose functions are shadowed (the version wasmtime-wasi
/// links; guests importing an older 0.2 get it too).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// The most one stream write may carry (as wasmtime's file streams).
const STREAM_CAPACITY: usize = 2 << 20;

/// The disk quotas.
pub(crate) struct DiskQuota;

/// The app's `max_file_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxFileSize(pub u64);

/// The app's `tmp_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmpSize(pub u64);

impl Capability for DiskQuota {
    fn name(&self) -> &'static str {
        "disk quotas"
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        linker.allow_shadowing(true);
        let linked = shadow(linker);
        linker.allow_shadowing(false);
        linked
    }

    fn keys(&self) -> &'static [&'static str] {
        &["max_file_size", "tmp_size"]
    }

    fn read_key(
        &self,
        key: &ManifestKey<'_>,
        settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        let bytes = key
            .parse::<Size>()?
            .bytes()
            .map_err(|e| key.error(None, e))?;
        match key.name() {
            "max_file_size" => settings.set(MaxFileSize(bytes)),
            _ => settings.set(TmpSize(bytes)),
        }
        Ok(())
    }

    fn flags(&self) -> Vec<Arg> {
        vec![
            Arg::new("max-file-size")
                .long("max-file-size")
                .value_name("SIZE")
                .value_parser(parse_size)
                .help(
                    "The longest a file in the app's writable directories may grow \
                     (a SQLite database, its journal): a write past it fails as on a full \
                     disk (SQLite: \"database or disk is full\") and is logged [default: 1GiB]",
                ),
            Arg::new("tmp-size")
                .long("tmp-size")
                .value_name("SIZE")
                .value_parser(parse_size)
                .help(
                    "The most an instance's own /tmp may hold in all (components built by \
                     build-python), files deleted while open included: a write past it \
                     fails and is logged [default: 64MiB]",
                ),
        ]
    }

    fn read_flags(
        &self,
        flags: &ArgMatches,
        settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        if let Some(&n) = flags.get_one::<usize>("max-file-size") {
            settings.set(MaxFileSize(n as u64));
        }
        if let Some(&n) = flags.get_one::<usize>("tmp-size") {
            settings.set(TmpSize(n as u64));
        }
        Ok(())
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        let settings = &app.capabilities;
        let writable = (settings.get::<Dirs>()).is_some_and(|d| d.0.iter().any(|p| p.writable));
        let tmp_dir = instance
            .state
            .get::<TmpDir>()
            .map(|d| d.path().to_path_buf());
        if !writable && tmp_dir.is_none() {
            return Ok(()); // the guest can write no file
        }
        let max_file = settings
            .get::<MaxFileSize>()
            .map_or(DEFAULT_MAX_FILE_SIZE, |m| m.0);
        let tmp = tmp_dir.map(|dir| TmpBudget {
            dir,
            limit: settings.get::<TmpSize>().map_or(DEFAULT_TMP_SIZE, |t| t.0),
            used: AtomicU64::new(0),
            open: Mutex::default(),
        });
        instance.state.insert(Arc::new(Quota {
            max_file,
            tmp,
            settings: settings.clone(),
            log: app.log.clone(),
            request: instance.request.clone(),
            logged: AtomicBool::new(false),
        }));
        Ok(())
    }
}

/// One instance's bounds, shared with the file streams it opens.
pub struct Quota {
    max_file: u64,
    tmp: Option<TmpBudget>,
    /// The app's settings: its directories name a file as the guest sees it.
    settings: CapabilitySettings,
    log: ErrorStream,
    request: CurrentRequest,
    /// Whether a refusal has been logged (one line per instance).
    logged: AtomicBool,
}

/// The instance's `/tmp` and what it holds.
struct TmpBudget {
    /// Its host directory.
    dir: PathBuf,
    limit: u64,
    /// Bytes held, as counted since it was last measured.
    used: AtomicU64,
    /// The files of it the instance has written, by inode: one deleted
    /// while open (Python's `TemporaryFile`) still takes space.
    open: Mutex<HashMap<(u64, u64), Weak<File>>>,
}

/// A bound a write would pass.
enum Refusal {
    MaxFile(u64),
    Tmp(u64),
}

impl Quota {
    /// Whether `file`, `size` bytes long, may be made `end` bytes long;
    /// refused with ENOSPC (and logged, once per instance) if not.
    fn admit(&self, file: &Arc<File>, size: u64, end: u64) -> std::io::Result<()> {
        if end <= size {
            return Ok(());
        }
        let refusal = if end > self.max_file {
            Some(Refusal::MaxFile(self.max_file))
        } else {
            self.tmp
                .as_ref()
                .filter(|tmp| tmp.holds(file))
                .and_then(|tmp| tmp.charge(end - size).err())
        };
        match refusal {
            None => Ok(()),
            Some(refusal) => {
                self.refused(file, refusal);
                Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
            }
        }
    }

    fn refused(&self, file: &File, refusal: Refusal) {
        if self.logged.swap(true, Ordering::Relaxed) {
            return;
        }
        let path = self.guest_path(file);
        let why = match refusal {
            Refusal::MaxFile(max) => format!("would pass max_file_size ({})", size_text(max)),
            Refusal::Tmp(limit) => format!(
                "would take the instance's /tmp past tmp_size ({})",
                size_text(limit)
            ),
        };
        self.log.with_request(self.request.get()).event(
            Event::DiskQuota,
            &format!("write to {path} refused: it {why}\n"),
        );
    }

    /// `file`'s path as the guest knows it, as well as it can be told.
    fn guest_path(&self, file: &File) -> String {
        let Some(host) = host_path(file) else {
            return "a file".into();
        };
        let dirs = self.settings.get::<Dirs>().map_or(&[][..], |d| &d.0[..]);
        let mut places: Vec<(PathBuf, &str)> = (dirs.iter())
            .filter_map(|d| Some((d.host.canonicalize().ok()?, d.guest.as_str())))
            .collect();
        if let Some(tmp) = &self.tmp {
            places.push((tmp.dir.clone(), super::tmp::GUEST_PATH));
        }
        places
            .iter()
            .filter_map(|(dir, guest)| Some((host.strip_prefix(dir).ok()?, *guest)))
            .min_by_key(|(rest, _)| rest.as_os_str().len())
            .map_or_else(
                || {
                    host.file_name()
                        .map_or("a file".into(), |n| n.to_string_lossy().into())
                },
                |(rest, guest)| Path::new(guest).join(rest).display().to_string(),
            )
    }

    /// Writes all of `data` at `at` in `file`.
    fn write_at(&self, file: &Arc<File>, data: &[u8], at: u64) -> std::io::Result<()> {
        let size = file.metadata()?.len();
        self.admit(file, size, at.saturating_add(data.len() as u64))?;
        file.write_all_at(data, at)
    }

    /// Appends all of `data` to `file`, checked and written under the
    /// file's lock so that concurrent appends cannot pass a bound.
    fn append(&self, file: &Arc<File>, data: &[u8]) -> std::io::Result<()> {
        let meta = file.metadata()?;
        let _turn = append_lock(meta.dev(), meta.ino());
        let size = file.metadata()?.len();
        self.admit(file, size, size.saturating_add(data.len() as u64))?;
        let mut rest = data;
        while !rest.is_empty() {
            let n = append_once(file, rest)?;
            rest = &rest[n..];
        }
        Ok(())
    }
}

impl TmpBudget {
    /// Whether `file` is in this directory (and so counts against it).
    fn holds(&self, file: &Arc<File>) -> bool {
        let inside = host_path(file).is_some_and(|p| p.starts_with(&self.dir));
        if inside && let Ok(meta) = file.metadata() {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let held = open.entry((meta.dev(), meta.ino())).or_default();
            if held.strong_count() == 0 {
                *held = Arc::downgrade(file);
            }
        }
        inside
    }

    /// Counts `growth` more bytes, measuring the directory again when the
    /// count would pass the limit.
    fn charge(&self, growth: u64) -> Result<(), Refusal> {
        let used = self.used.load(Ordering::Relaxed);
        let used = if used.saturating_add(growth) > self.limit {
            let measured = self.measure();
            self.used.store(measured, Ordering::Relaxed);
            measured
        } else {
            used
        };
        if used.saturating_add(growth) > self.limit {
            return Err(Refusal::Tmp(self.limit));
        }
        self.used.fetch_add(growth, Ordering::Relaxed);
        Ok(())
    }

    /// The bytes the directory's files hold now, and those of its files
    /// still open but no longer in it.
    fn measure(&self) -> u64 {
        let mut seen = HashSet::new();
        let mut total = 0u64;
        let mut pending = vec![self.dir.clone()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                if meta.is_dir() {
                    pending.push(entry.path());
                } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                    total = total.saturating_add(meta.len());
                }
            }
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, f| f.strong_count() > 0);
        for file in open.values().filter_map(Weak::upgrade) {
            if let Ok(meta) = file.metadata()
                && seen.insert((meta.dev(), meta.ino()))
            {
                total = total.saturating_add(meta.len());
            }
        }
        total
    }
}

/// The host path of an open file (`/proc/self/fd`).
fn host_path(file: &File) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

/// This process's lock for appending to the file `(dev, ino)`: one of a
/// fixed set, so unrelated files rarely share one and nothing grows.
fn append_lock(dev: u64, ino: u64) -> std::sync::MutexGuard<'static, ()> {
    static LOCKS: [Mutex<()>; 64] = [const { Mutex::new(()) }; 64];
    let slot = (dev.wrapping_mul(31).wrapping_add(ino) % 64) as usize;
    LOCKS[slot].lock().unwrap_or_else(|p| p.into_inner())
}

/// One append to `file` at its end, whatever its open mode
/// (`pwritev2(RWF_APPEND)`; Linux before 4.16 sets `O_APPEND` around a
/// `write`).
fn append_once(file: &File, data: &[u8]) -> std::io::Result<usize> {
    let fd = file.as_raw_fd();
    let iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: `iov` points into `data`, which outlives the call, and `fd`
    // is open for as long as `file` is borrowed.
    let n = unsafe { libc::pwritev2(fd, &iov, 1, -1, libc::RWF_APPEND) };
    if n >= 0 {
        return Ok(n as usize);
    }
    let e = std::io::Error::last_os_error();
    if !matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EOPNOTSUPP)) {
        return Err(e);
    }
    // SAFETY: plain fcntl and write calls on an open descriptor, with a
    // buffer that outlives them.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_APPEND) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = std::io::Error::last_os_error();
        libc::fcntl(fd, libc::F_SETFL, flags);
        if n < 0 { Err(e) } else { Ok(n as usize) }
    }
}

/// `n` bytes as the flags spell sizes (`64MiB`).
fn size_text(n: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

/// The instance's quota, and the host file behind `fd` if the guest may
/// write it.
fn writable(ctx: &RequestCtx, fd: &Resource<Descriptor>) -> Option<(Arc<Quota>, Arc<File>)> {
    let quota = ctx.state.get::<Arc<Quota>>()?.clone();
    match ctx.table.get(fd).ok()? {
        Descriptor::File(f) if !f.perms.write_not_permitted() => Some((quota, f.file.clone())),
        _ => None,
    }
}

/// The error a write that takes the file behind `fd` to `end` bytes gets,
/// if it would pass a bound.
fn refusal(ctx: &RequestCtx, fd: &Resource<Descriptor>, end: u64) -> Option<ErrorCode> {
    let (quota, file) = writable(ctx, fd)?;
    let admitted = file
        .metadata()
        .and_then(|m| quota.admit(&file, m.len(), end));
    admitted.err().map(|e| ErrorCode::from(&e))
}

/// A filesystem result as the guest receives it (a trap stays a trap).
fn lowered<T>(ctx: &mut RequestCtx, result: FsResult<T>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) => Ok(Err(types::Host::convert_error_code(
            &mut ctx.filesystem(),
            e,
        )?)),
    }
}

/// The quota's checks in front of the functions that lengthen files.
fn shadow(linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
    let mut types = linker.instance(FILESYSTEM_TYPES)?;
    types.func_wrap_async(
        "[method]descriptor.write",
        |mut store, (fd, data, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                let ctx = store.data_mut();
                let end = offset.saturating_add(data.len() as u64);
                if let Some(refused) = refusal(ctx, &fd, end) {
                    return Ok((Err(refused),));
                }
                let written = ctx.filesystem().write(fd, data, offset).await;
                Ok((lowered(ctx, written)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.set-size",
        |mut store, (fd, size): (Resource<Descriptor>, u64)| {
            Box::new(async move {
                let ctx = store.data_mut();
                if let Some(refused) = refusal(ctx, &fd, size) {
                    return Ok((Err(refused),));
                }
                let set = ctx.filesystem().set_size(fd, size).await;
                Ok((lowered(ctx, set)?,))
            })
        },
    )?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store, (fd, offset): (Resource<Descriptor>, u64)| {
            let ctx = store.data_mut();
            let opened = open_stream(ctx, fd, Some(offset));
            Ok((lowered(ctx, opened)?,))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store, (fd,): (Resource<Descriptor>,)| {
            let ctx = store.data_mut();
            let opened = open_stream(ctx, fd, None);
            Ok((lowered(ctx, opened)?,))
        },
    )?;
    Ok(())
}

/// A stream writing `fd` at `at` (`None`: at its end), under the quota;
/// wasmtime's own where there is no quota or the file is not writable (it
/// then gives the error).
fn open_stream(
    ctx: &mut RequestCtx,
    fd: Resource<Descriptor>,
    at: Option<u64>,
) -> FsResult<Resource<DynOutputStream>> {
    let Some((quota, file)) = writable(ctx, &fd) else {
        let mut fs = ctx.filesystem();
        return match at {
            Some(offset) => fs.write_via_stream(fd, offset),
            None => fs.append_via_stream(fd),
        };
    };
    // wasi-libc's write() reports any failure of a stream write as EIO,
    // but a failure to open the stream (done by its lseek()) as what it
    // is: a stream that could only write past the bound is refused here,
    // so SQLite extending a database to a page-aligned bound hears ENOSPC.
    if let Some(offset) = at {
        let size = file.metadata().map_err(ErrorCode::from)?.len();
        if offset >= quota.max_file && offset >= size {
            quota.refused(&file, Refusal::MaxFile(quota.max_file));
            return Err(ErrorCode::InsufficientSpace.into());
        }
    }
    let stream: DynOutputStream = Box::new(QuotaStream {
        file,
        at,
        quota,
        closed: false,
    });
    Ok(ctx.table.push(stream)?)
}

/// A file's output stream whose writes are checked against the quota
/// before they are made (in place: the request's thread may block on file
/// operations, see [`InstanceBuilder::new`]).
struct QuotaStream {
    file: Arc<File>,
    /// Where the next write goes; `None`: the file's end.
    at: Option<u64>,
    quota: Arc<Quota>,
    /// A write failed: the stream is done, as wasmtime's file streams are.
    closed: bool,
}

impl OutputStream for QuotaStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        let written = match self.at {
            Some(at) => self.quota.write_at(&self.file, &bytes, at),
            None => self.quota.append(&self.file, &bytes),
        };
        match written {
            Ok(()) => {
                if let Some(at) = &mut self.at {
                    *at += bytes.len() as u64;
                }
                Ok(())
            }
            Err(e) => {
                self.closed = true;
                Err(StreamError::LastOperationFailed(e.into()))
            }
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(STREAM_CAPACITY)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for QuotaStream {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(max_file: u64, tmp: Option<(&Path, u64)>) -> Quota {
        Quota {
            max_file,
            tmp: tmp.map(|(dir, limit)| TmpBudget {
                dir: dir.canonicalize().unwrap(),
                limit,
                used: AtomicU64::new(0),
                open: Mutex::default(),
            }),
            settings: CapabilitySettings::default(),
            log: ErrorStream::memory().0,
            request: CurrentRequest::default(),
            logged: AtomicBool::new(false),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wasgi-quota-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn open(path: &Path) -> Arc<File> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap();
        Arc::new(file)
    }

    fn enospc(r: std::io::Result<()>) -> bool {
        r.err().and_then(|e| e.raw_os_error()) == Some(libc::ENOSPC)
    }

    #[test]
    fn a_file_grows_to_the_bound_and_no_further() {
        let dir = scratch("file");
        let q = quota(100, None);
        let f = open(&dir.join("a"));
        q.write_at(&f, &[1; 60], 0).unwrap();
        q.append(&f, &[2; 40]).unwrap();
        assert!(enospc(q.append(&f, &[3])));
        assert!(enospc(q.write_at(&f, &[3], 100)));
        // Rewriting what is there is never refused.
        q.write_at(&f, &[4; 100], 0).unwrap();
        assert_eq!(std::fs::read(dir.join("a")).unwrap(), vec![4; 100]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tmp_counts_every_file_and_those_deleted_while_open() {
        let dir = scratch("tmp");
        let q = quota(1000, Some((&dir, 100)));
        let a = open(&dir.join("a"));
        let b = open(&dir.join("b"));
        q.write_at(&a, &[0; 50], 0).unwrap();
        std::fs::remove_file(dir.join("a")).unwrap();
        q.append(&b, &[0; 50]).unwrap();
        assert!(enospc(q.append(&b, &[0])), "a, deleted, still holds 50");
        drop(a);
        q.append(&b, &[0; 50]).unwrap();
        assert!(enospc(q.write_at(&b, &[0], 100)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_are_named_as_the_flags_take_them() {
        assert_eq!(size_text(64 << 20), "64MiB");
        assert_eq!(size_text(1 << 30), "1GiB");
        assert_eq!(size_text(1500), "1500 bytes");
    }
}
