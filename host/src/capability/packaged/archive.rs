//! The format of the files a component carries: a custom section named
//! [`SECTION`] holding a zstd-compressed tar. Each mount is a directory of
//! the tar named by its guest path (`python/os.py` is `/python/os.py` in
//! the guest); [`INDEX`], last, lists the mounts.
//!
//! A custom section changes nothing for a runtime that does not know it,
//! and keeps the component one file to deploy. The host unpacks it once
//! per content into a cache directory, refusing anything but plain files
//! and directories inside the tree: the bytes come from the tenant.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The custom section's name.
pub const SECTION: &str = "wasgi-files";

/// The index entry's name in the tar.
pub const INDEX: &str = "wasgi-files.json";

/// Most bytes and entries unpacked from one component: a bound on what a
/// hostile component can make the host write.
const MAX_BYTES: u64 = 1 << 30;
const MAX_ENTRIES: u64 = 500_000;

/// The index: the mounts, in order.
#[derive(Serialize, Deserialize, Debug, Default)]
pub struct Index {
    /// Each mounted directory.
    pub mounts: Vec<Mount>,
    /// The guest's working directory (the app's directory), which
    /// relative guest paths of `--dir`s start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
}

/// One directory of the component's files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where the guest sees it (`/2`).
    pub guest: String,
    /// The directory it was packed from on the build machine, if the
    /// user named it (a `--path`): a `--dir` inside it is seen where the
    /// code expects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Mount {
    /// The mount's directory in the tar, relative (`python`), if its guest
    /// path is absolute and plain (no `.`, `..` or empty parts).
    fn relative(&self) -> Option<PathBuf> {
        let rest = self.guest.strip_prefix('/')?;
        let path = Path::new(rest);
        let plain = !rest.is_empty()
            && !rest.ends_with('/')
            && path.components().all(|c| matches!(c, Component::Normal(_)));
        plain.then(|| path.to_path_buf())
    }
}

/// What to pack from one directory.
pub enum Walk {
    /// Everything under it but the top-level entries named in `skip`.
    All {
        /// Names left out at the top.
        skip: &'static [&'static str],
    },
    /// What a project keeps: hidden files, `.gitignore`d and
    /// `.wasgiignore`d paths, `__pycache__` and virtual environments are
    /// left out, and so is `except` (the component being written).
    Project {
        /// A file not to pack.
        except: PathBuf,
    },
}

/// Writes the section's payload.
pub struct Packer {
    tar: tar::Builder<zstd::Encoder<'static, Vec<u8>>>,
    index: Index,
    /// Files packed so far.
    pub files: u64,
    /// Their bytes, uncompressed.
    pub bytes: u64,
}

impl Packer {
    /// An empty archive.
    pub fn new() -> io::Result<Packer> {
        let mut tar = tar::Builder::new(zstd::Encoder::new(Vec::new(), 9)?);
        tar.mode(tar::HeaderMode::Complete);
        Ok(Packer {
            tar,
            index: Index::default(),
            files: 0,
            bytes: 0,
        })
    }

    /// Packs `dir` as the mount `mount`.
    pub fn add(&mut self, mount: Mount, dir: &Path, walk: Walk) -> io::Result<()> {
        let rel = mount
            .relative()
            .ok_or_else(|| io::Error::other(format!("bad guest path {:?}", mount.guest)))?;
        let mut builder = ignore::WalkBuilder::new(dir);
        builder
            .sort_by_file_name(|a, b| a.cmp(b))
            .follow_links(true);
        let except = match walk {
            Walk::All { skip } => {
                let top = dir.to_path_buf();
                builder.standard_filters(false).filter_entry(move |e| {
                    !(e.depth() == 1
                        && e.path().parent() == Some(top.as_path())
                        && skip.iter().any(|s| e.file_name() == *s))
                });
                None
            }
            Walk::Project { except } => {
                builder
                    .add_custom_ignore_filename(".wasgiignore")
                    .filter_entry(|e| {
                        let dir = e.file_type().is_some_and(|t| t.is_dir());
                        !(dir
                            && (e.file_name() == "__pycache__"
                                || e.path().join("pyvenv.cfg").exists()))
                    });
                Some(except)
            }
        };
        for entry in builder.build() {
            let entry = entry.map_err(io::Error::other)?;
            let path = entry.path();
            let Ok(inside) = path.strip_prefix(dir) else {
                continue;
            };
            let name = rel.join(inside);
            let kind = entry.file_type();
            if kind.is_some_and(|t| t.is_dir()) {
                self.tar.append_dir(&name, path)?;
            } else if kind.is_some_and(|t| t.is_file())
                && except.as_ref().is_none_or(|e| !same_file(e, path))
            {
                self.bytes += entry.metadata().map_err(io::Error::other)?.len();
                self.files += 1;
                self.tar.append_path_with_name(path, &name)?;
            }
        }
        self.index.mounts.push(mount);
        Ok(())
    }

    /// Records the guest's working directory.
    pub fn set_workdir(&mut self, guest: &str) {
        self.index.workdir = Some(guest.to_string());
    }

    /// The payload of the custom section.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        let index = serde_json::to_vec_pretty(&self.index).map_err(io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(index.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut header, INDEX, index.as_slice())?;
        self.tar.into_inner()?.finish()
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `component` with the section holding `payload` appended.
pub fn append_section(component: &mut Vec<u8>, payload: &[u8]) {
    use wasm_encoder::ComponentSection;
    let section = wasm_encoder::CustomSection {
        name: SECTION.into(),
        data: payload.into(),
    };
    section.append_to_component(component);
}

/// The payload of the component's files section, if it has one (at the
/// component's top level, not inside a module).
pub fn find_section(component: &[u8]) -> Option<&[u8]> {
    use wasmparser::{Parser, Payload};
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload.ok()? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::CustomSection(c) if depth == 0 && c.name() == SECTION => {
                return Some(c.data());
            }
            _ => {}
        }
    }
    None
}

/// A component's files, unpacked.
#[derive(Debug)]
pub struct Unpacked {
    /// The directory holding the mounts.
    pub root: PathBuf,
    /// The mounts, each checked to be a directory under `root`.
    pub mounts: Vec<(Mount, PathBuf)>,
    /// The guest's working directory, if recorded.
    pub workdir: Option<String>,
    /// The section's size in bytes.
    pub packed: usize,
    /// The shared lock that keeps the tree from being pruned.
    _in_use: fs::File,
}

/// Unpacks `payload` under `cache` (once: a later call with the same
/// bytes finds it there), checking every entry.
pub fn unpack(payload: &[u8], cache: &Path) -> Result<Unpacked, String> {
    let digest = Sha256::digest(payload);
    let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let root = cache.join(&name);
    if !root.join(INDEX).is_file() {
        // Left half-made by hand: made again.
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
        // Unpacked aside, under a name no other process holds, and removed
        // unless it is renamed into place.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .tempdir_in(cache)
            .map_err(|e| format!("{}: {e}", cache.display()))?;
        extract(payload, temp.path())?;
        // Another process may have won the race: its copy is as good, and
        // this one goes with `temp`.
        if fs::rename(temp.path(), &root).is_ok() {
            let _ = temp.keep();
        }
    }
    // Held (shared) while the app is loaded, so that no process prunes a
    // tree in use; marked used; and what no load has used for a week goes
    // (every rebuild of an app is new content).
    let in_use =
        fs::File::open(root.join(INDEX)).map_err(|e| format!("{}: {e}", root.display()))?;
    in_use
        .lock_shared()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let now = std::time::SystemTime::now();
    let _ = fs::File::open(&root).and_then(|d| d.set_modified(now));
    prune(cache, &root, now);
    let text = fs::read(root.join(INDEX)).map_err(|e| format!("{}: {e}", root.display()))?;
    let index: Index = serde_json::from_slice(&text).map_err(|e| format!("its {INDEX}: {e}"))?;
    let mut mounts = Vec::new();
    for mount in index.mounts {
        let dir = mount
            .relative()
            .map(|rel| root.join(rel))
            .filter(|d| d.is_dir())
            .ok_or_else(|| format!("its mount {:?} is not a directory it carries", mount.guest))?;
        mounts.push((mount, dir));
    }
    Ok(Unpacked {
        root,
        mounts,
        workdir: index.workdir,
        packed: payload.len(),
        _in_use: in_use,
    })
}

/// How long an unpacked tree stays in the cache unused.
const UNUSED_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Removes the trees under `cache` (and half-made ones) that no load has
/// used for [`UNUSED_FOR`], except `keep`.
fn prune(cache: &Path, keep: &Path, now: std::time::SystemTime) {
    for entry in fs::read_dir(cache).into_iter().flatten().flatten() {
        let path = entry.path();
        let old = (entry.metadata().and_then(|m| m.modified()))
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > UNUSED_FOR));
        if !old || path == keep || !path.is_dir() {
            continue;
        }
        // Not while a process has it loaded (a half-made tree has no index).
        let unused = match fs::File::open(path.join(INDEX)) {
            Ok(index) => index.try_lock().is_ok(),
            Err(_) => true,
        };
        if unused {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn extract(payload: &[u8], into: &Path) -> Result<(), String> {
    fs::create_dir_all(into).map_err(|e| format!("{}: {e}", into.display()))?;
    let decoder = zstd::Decoder::new(payload).map_err(|e| format!("not zstd: {e}"))?;
    let mut archive = tar::Archive::new(decoder.take(MAX_BYTES * 2));
    archive.set_preserve_permissions(false);
    archive.set_preserve_mtime(true);
    let (mut bytes, mut entries) = (0u64, 0u64);
    for entry in archive.entries().map_err(|e| format!("not a tar: {e}"))? {
        let mut entry = entry.map_err(|e| format!("a bad entry: {e}"))?;
        entries += 1;
        bytes += entry.size();
        if entries > MAX_ENTRIES || bytes > MAX_BYTES {
            return Err(format!(
                "more than {MAX_ENTRIES} files or {} MiB",
                MAX_BYTES >> 20
            ));
        }
        let path = entry.path().map_err(|e| format!("a bad name: {e}"))?;
        let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
        let kind = entry.header().entry_type();
        if !plain || !(kind.is_file() || kind.is_dir()) {
            return Err(format!(
                "{:?}: only plain files and directories inside the tree may be packed",
                path.display()
            ));
        }
        let shown = path.display().to_string();
        entry.unpack_in(into).map_err(|e| format!("{shown}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_must_be_plain_and_absolute() {
        let m = |g: &str| Mount {
            guest: g.into(),
            source: None,
        };
        assert_eq!(m("/python").relative(), Some(PathBuf::from("python")));
        assert_eq!(
            m("/usr/share/zoneinfo").relative(),
            Some(PathBuf::from("usr/share/zoneinfo"))
        );
        for bad in ["", "/", "python", "/a/../b", "/./a", "/a/"] {
            assert_eq!(m(bad).relative(), None, "{bad:?}");
        }
    }

    #[test]
    fn a_packed_tree_unpacks_once_and_a_hostile_one_is_refused() {
        let base = std::env::temp_dir().join(format!("wasgi-archive-test-{}", std::process::id()));
        let src = base.join("src");
        fs::create_dir_all(src.join("pkg/templates")).unwrap();
        fs::write(src.join("pkg/templates/a.html"), "<p>").unwrap();
        let mut packer = Packer::new().unwrap();
        let mount = Mount {
            guest: "/2".into(),
            source: Some(src.display().to_string()),
        };
        packer
            .add(mount.clone(), &src, Walk::All { skip: &[] })
            .unwrap();
        let payload = packer.finish().unwrap();
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        append_section(&mut component, &payload);
        assert_eq!(find_section(&component), Some(payload.as_slice()));
        let cache = base.join("cache");
        let unpacked = unpack(&payload, &cache).unwrap();
        assert_eq!(unpacked.mounts[0].0, mount);
        let file = unpacked.mounts[0].1.join("pkg/templates/a.html");
        assert_eq!(fs::read_to_string(&file).unwrap(), "<p>");
        assert_eq!(unpack(&payload, &cache).unwrap().root, unpacked.root);
        // A tree no load used for over a week goes at the next load.
        let stale = cache.join("0123456789abcdef0123456789abcdef");
        fs::create_dir_all(&stale).unwrap();
        let long_ago = std::time::SystemTime::now() - UNUSED_FOR * 2;
        fs::File::open(&stale)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let in_use = cache.join("fedcba9876543210fedcba9876543210");
        fs::create_dir_all(&in_use).unwrap();
        fs::write(in_use.join(INDEX), "{}").unwrap();
        let held = fs::File::open(in_use.join(INDEX)).unwrap();
        held.lock_shared().unwrap();
        for dir in [&stale, &in_use] {
            fs::File::open(dir).unwrap().set_modified(long_ago).unwrap();
        }
        unpack(&payload, &cache).unwrap();
        assert!(!stale.exists());
        assert!(in_use.exists(), "a tree another process holds stays");
        assert!(unpacked.root.exists());

        // A symlink entry pointing out of the tree.
        let mut tar = tar::Builder::new(zstd::Encoder::new(Vec::new(), 1).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        tar.append_link(&mut header, "2/evil", "/etc/passwd")
            .unwrap();
        let hostile = tar.into_inner().unwrap().finish().unwrap();
        let err = unpack(&hostile, &cache).unwrap_err();
        assert!(err.contains("only plain files"), "{err}");
        fs::remove_dir_all(&base).unwrap();
    }
}
