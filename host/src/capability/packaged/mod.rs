//! The files a component carries (`host build-python` packs the app's
//! packages, their templates and static files, its dependencies and the
//! Python standard library): unpacked once per host into a cache
//! directory when the component is loaded, and mounted read-only at the
//! guest paths they had when the component was built, so that code finds
//! them where it computed them (`Path(__file__).parent / "templates"`).
//!
//! A `--dir` or `--dir-rw` given without a guest path whose host directory
//! lies inside a packed project directory is seen at its place in the
//! packed tree, and a relative guest path starts from the app's directory
//! (the guest's working directory): `--dir-rw instance` run in a Flask
//! project, or `--dir-rw /srv/data::instance` anywhere, is the instance
//! folder the app's code computed.

pub mod archive;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::preopens::Dirs;
use super::{Capability, InstanceBuilder};
use crate::component::AppOptions;
use archive::{Mount, Unpacked};
use wasgi::ExcInfo;

/// The component's own files.
pub(crate) struct Packaged;

/// An app's unpacked files (set when its component carries some).
#[derive(Clone, Debug)]
pub struct PackagedFiles(pub Arc<Unpacked>);

impl Capability for Packaged {
    fn name(&self) -> &'static str {
        "packaged files"
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        let Some(PackagedFiles(files)) = app.capabilities.get() else {
            return Ok(());
        };
        for (mount, dir) in &files.mounts {
            (instance.wasi)
                .preopened_dir(dir, &mount.guest, wasmtime_wasi::FsPerms::ReadOnly)
                .map_err(|e| {
                    ExcInfo::new(
                        "OSError",
                        format!("cannot open the packaged directory {}: {e}", dir.display()),
                    )
                })?;
        }
        Ok(())
    }
}

/// Where packaged files are unpacked: `$WASGI_FILES_DIR`, else
/// `wasgi/files` in the user's cache directory.
pub fn default_files_dir() -> PathBuf {
    crate::component::engine::wasgi_cache("WASGI_FILES_DIR", "files", "wasgi-files")
}

/// Unpacks the files `component` carries, if any, and sets them in
/// `options` (with the app's `--dir`s placed as the module docs say).
pub fn unpack_into(component: &[u8], options: &mut AppOptions) -> Result<(), String> {
    let Some(payload) = archive::find_section(component) else {
        return Ok(());
    };
    let files = archive::unpack(payload, &default_files_dir())
        .map_err(|e| format!("its packaged files cannot be unpacked: {e}"))?;
    if let Some(Dirs(dirs)) = options.capabilities.get() {
        let mut placed = dirs.clone();
        for dir in &mut placed {
            let inside = (!dir.guest_given)
                .then(|| placed_in(&files.mounts, &dir.host))
                .flatten();
            if let Some(guest) = inside {
                dir.guest = guest;
            } else if !dir.guest.starts_with('/') {
                let workdir = files.workdir.as_deref().unwrap_or("");
                // `.` is the app's directory itself: the guest matches
                // preopens by plain prefix, so `/2/.` would match nothing.
                let rest: Vec<&str> = (dir.guest.split('/'))
                    .filter(|part| !part.is_empty() && *part != ".")
                    .collect();
                dir.guest = if rest.is_empty() && !workdir.is_empty() {
                    workdir.to_string()
                } else {
                    format!("{workdir}/{}", rest.join("/"))
                };
            } else if let Some((mount, _)) = files
                .mounts
                .iter()
                .find(|(m, _)| covers(&m.guest, &dir.guest))
            {
                return Err(format!(
                    "the guest path {} of a --dir is inside its packaged directory {} \
                     (give a relative guest path, which starts from the app's directory)",
                    dir.guest, mount.guest
                ));
            }
        }
        options.capabilities.set(Dirs(placed));
    }
    options.capabilities.set(PackagedFiles(Arc::new(files)));
    Ok(())
}

/// Whether the guest directory `outer` is `inner` or holds it.
fn covers(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|r| r.starts_with('/'))
}

/// The guest path of the host directory `host` if it lies in a packed
/// project directory (the deepest).
fn placed_in(mounts: &[(Mount, PathBuf)], host: &Path) -> Option<String> {
    let host = host.canonicalize().ok()?;
    mounts
        .iter()
        .filter_map(|(m, _)| {
            let rest = host.strip_prefix(m.source.as_ref()?).ok()?;
            let rest = rest.to_str()?;
            Some(if rest.is_empty() {
                m.guest.clone()
            } else {
                format!("{}/{rest}", m.guest)
            })
        })
        .max_by_key(String::len)
}
