//! Host directories the guest can open files in (`--dir`, `--dir-rw`, a
//! manifest app's `dirs`), read-only unless made writable. Nothing else
//! of the host filesystem exists for the guest, and WASI refuses paths
//! (`..`, symlinks) that would leave a directory.

use std::path::PathBuf;

use super::{Capability, InstanceBuilder};
use crate::component::AppOptions;
use wasgi::ExcInfo;

/// The app's directories.
pub(crate) struct Preopens;

impl Capability for Preopens {
    fn name(&self) -> &'static str {
        "preopened directories"
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        for dir in &app.dirs {
            let perms = if dir.writable {
                wasmtime_wasi::FsPerms::ReadWrite
            } else {
                wasmtime_wasi::FsPerms::ReadOnly
            };
            (instance.wasi)
                .preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|e| {
                    let host = dir.host.display();
                    ExcInfo::new(
                        "OSError",
                        format!("cannot open the directory {host} for the guest: {e}"),
                    )
                })?;
        }
        Ok(())
    }
}

/// A host directory made visible to the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preopen {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

impl Preopen {
    /// Parses `HOST_PATH[::GUEST_PATH]` (the guest path defaults to the host
    /// path as given); an empty host or guest path is an error.
    pub fn parse(spec: &str, writable: bool) -> Result<Preopen, String> {
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        if host.is_empty() || guest.is_empty() {
            return Err(format!(
                "{spec:?}: expected HOST_PATH or HOST_PATH::GUEST_PATH, with neither path empty"
            ));
        }
        Ok(Preopen {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            writable,
        })
    }
}
