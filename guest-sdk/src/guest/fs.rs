//! Files in the directories the host preopened (`host serve --dir`).
//!
//! Paths are resolved by WASI inside a preopened directory: `..` or a
//! symlink that would leave it fails, and nothing outside the preopens
//! exists for the guest at all. A [`File`] given to
//! [`Environ::wrap_file`](super::Environ::wrap_file) is sent by the host
//! itself, without passing through the guest.

use std::io::{self, Read, Seek, SeekFrom};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::state::bindings::wasgi::wsgi::file_lock;
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};

/// A directory the host made visible to the guest.
pub struct Dir {
    descriptor: Descriptor,
    path: String,
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// Anything else (a device, a socket, ...).
    Other,
}

impl Dir {
    /// Every preopened directory, in the order the host gave them.
    pub fn preopened() -> Vec<Dir> {
        get_directories()
            .into_iter()
            .map(|(descriptor, path)| Dir { descriptor, path })
            .collect()
    }

    /// Where the guest sees this directory.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What `relative` names inside this directory (symlinks followed).
    pub fn kind(&self, relative: &str) -> io::Result<Kind> {
        let stat = self
            .descriptor
            .stat_at(PathFlags::SYMLINK_FOLLOW, relative)
            .map_err(to_io)?;
        Ok(kind(stat.type_))
    }

    /// Opens the regular file `relative` for reading.
    pub fn open(&self, relative: &str) -> io::Result<File> {
        let descriptor = self
            .descriptor
            .open_at(
                PathFlags::SYMLINK_FOLLOW,
                relative,
                OpenFlags::empty(),
                DescriptorFlags::READ,
            )
            .map_err(to_io)?;
        let stat = descriptor.stat().map_err(to_io)?;
        match kind(stat.type_) {
            Kind::File => Ok(File {
                descriptor,
                pos: 0,
                len: stat.size,
                modified: stat
                    .data_modification_timestamp
                    .map(|t| UNIX_EPOCH + Duration::new(t.seconds, t.nanoseconds)),
            }),
            Kind::Directory => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{relative} is a directory"),
            )),
            Kind::Other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{relative} is not a regular file"),
            )),
        }
    }

    /// The entries of the directory `relative` (`.` for this one), in the
    /// order the file system gives them; `.` and `..` are not listed.
    pub fn entries(&self, relative: &str) -> io::Result<Vec<Entry>> {
        let dir = self
            .descriptor
            .open_at(
                PathFlags::SYMLINK_FOLLOW,
                relative,
                OpenFlags::DIRECTORY,
                DescriptorFlags::READ,
            )
            .map_err(to_io)?;
        let stream = dir.read_directory().map_err(to_io)?;
        let mut entries = Vec::new();
        while let Some(entry) = stream.read_directory_entry().map_err(to_io)? {
            if entry.name != "." && entry.name != ".." {
                entries.push(Entry {
                    name: entry.name,
                    kind: kind(entry.type_),
                });
            }
        }
        Ok(entries)
    }
}

/// An exclusive lock on a file, held across instances and host processes
/// (`flock(2)` on the host's file), released when dropped or when the
/// instance ends however it ends (a trap, a CPU limit).
pub struct FileLock(#[allow(dead_code)] file_lock::Lock);

/// Locks the existing file `path` in one of the app's writable
/// directories (`--dir-rw`; a relative path starts from the working
/// directory), waiting at most `wait` (60 s at most) for whoever holds it:
/// `TimedOut` then; `InvalidInput` for a file not in a writable
/// directory; `Other` when the instance holds too many (64).
pub fn lock(path: impl AsRef<std::path::Path>, wait: Duration) -> io::Result<FileLock> {
    let path = std::path::absolute(path)?;
    let Some(path) = path.to_str() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not UTF-8"));
    };
    let millis = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
    match file_lock::acquire(path, millis) {
        Ok(lock) => Ok(FileLock(lock)),
        Err(why) if why == "timed out" => Err(io::Error::new(io::ErrorKind::TimedOut, why)),
        Err(why) if why.ends_with("not a file in a writable directory") => {
            Err(io::Error::new(io::ErrorKind::InvalidInput, why))
        }
        Err(why) => Err(io::Error::other(why)),
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's file name.
    pub name: String,
    /// What it is (a symlink's own kind is [`Kind::Other`]).
    pub kind: Kind,
}

/// A regular file opened for reading.
pub struct File {
    descriptor: Descriptor,
    pos: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl File {
    /// Opens `path` (absolute, or relative to a preopen named `.`) in the
    /// preopened directory that contains it.
    pub fn open(path: &str) -> io::Result<File> {
        let (dir, relative) = resolve(path)?;
        dir.open(&relative)
    }

    /// The file's size when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// When the file's data was last modified (as of opening it), if the
    /// file system says.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    /// Whether the file was empty when it was opened.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn into_parts(self) -> (Descriptor, u64) {
        (self.descriptor, self.pos)
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (data, _eof) = self
            .descriptor
            .read(buf.len() as u64, self.pos)
            .map_err(to_io)?;
        buf[..data.len()].copy_from_slice(&data);
        self.pos += data.len() as u64;
        Ok(data.len())
    }
}

impl Seek for File {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}

/// The preopen containing `path`, and the path relative to it.
fn resolve(path: &str) -> io::Result<(Dir, String)> {
    let wanted = components(path);
    let absolute = path.starts_with('/');
    let mut best: Option<(usize, Dir)> = None;
    for dir in Dir::preopened() {
        let base = components(&dir.path);
        let same_root = dir.path.starts_with('/') == absolute;
        let contains = same_root && wanted.len() >= base.len() && wanted[..base.len()] == base[..];
        if contains && best.as_ref().is_none_or(|(len, _)| base.len() > *len) {
            best = Some((base.len(), dir));
        }
    }
    match best {
        Some((len, dir)) => {
            let rest = wanted[len..].join("/");
            Ok((dir, if rest.is_empty() { ".".into() } else { rest }))
        }
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{path} is not inside a preopened directory"),
        )),
    }
}

/// The non-empty, non-`.` components of a path.
fn components(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}

fn kind(t: DescriptorType) -> Kind {
    match t {
        DescriptorType::RegularFile => Kind::File,
        DescriptorType::Directory => Kind::Directory,
        _ => Kind::Other,
    }
}

fn to_io(code: ErrorCode) -> io::Error {
    let kind = match code {
        ErrorCode::NoEntry => io::ErrorKind::NotFound,
        ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => {
            io::ErrorKind::PermissionDenied
        }
        ErrorCode::IsDirectory => io::ErrorKind::IsADirectory,
        ErrorCode::NotDirectory => io::ErrorKind::NotADirectory,
        ErrorCode::Exist => io::ErrorKind::AlreadyExists,
        ErrorCode::Invalid | ErrorCode::NameTooLong | ErrorCode::IllegalByteSequence => {
            io::ErrorKind::InvalidInput
        }
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{code:?}"))
}
