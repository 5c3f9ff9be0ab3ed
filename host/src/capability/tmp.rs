//! A temporary directory of the instance's own at `/tmp` (Python's
//! `tempfile`, and the guest's `HOME`), for components that carry packaged
//! files (those `host build-python` makes): made empty for each instance
//! under the host's temporary directory and removed with it, so nothing
//! one request writes there is seen by another, and nothing is left behind.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use super::env::EnvVars;
use super::packaged::PackagedFiles;
use super::{Capability, InstanceBuilder};
use crate::component::AppOptions;
use wasgi::ExcInfo;

/// The guest path of the directory.
pub const GUEST_PATH: &str = "/tmp";

/// The instances' temporary directories.
pub(crate) struct Tmp;

/// One instance's directory, removed when dropped.
pub struct TmpDir(tempfile::TempDir);

impl TmpDir {
    fn new() -> std::io::Result<TmpDir> {
        // Beside each other, not in a directory of the process's: nothing
        // is left once the last instance ends. A random name: one left by
        // a host killed with SIGKILL is never taken for a new one, whatever
        // process id that host had.
        // Its real path, once: the disk quota knows a file in it by the
        // path the kernel gives an open file.
        static BASE: LazyLock<PathBuf> = LazyLock::new(|| {
            let base = std::env::temp_dir();
            base.canonicalize().unwrap_or(base)
        });
        let dir = tempfile::Builder::new()
            .prefix("wasgi-tmp-")
            .tempdir_in(&*BASE)?;
        Ok(TmpDir(dir))
    }

    /// Where it is on the host.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Capability for Tmp {
    fn name(&self) -> &'static str {
        "temporary directory"
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        if app.capabilities.get::<PackagedFiles>().is_none() {
            return Ok(());
        }
        let failed = |e: std::io::Error| {
            ExcInfo::new(
                "OSError",
                format!("cannot make the instance's {GUEST_PATH}: {e}"),
            )
        };
        let dir = TmpDir::new().map_err(failed)?;
        (instance.wasi)
            .preopened_dir(dir.path(), GUEST_PATH, wasmtime_wasi::FsPerms::ReadWrite)
            .map_err(|e| failed(std::io::Error::other(e.to_string())))?;
        // Python's tempfile finds it by TMPDIR; its home too, as HOME
        // (CPython on WASI has no pwd module, so without HOME
        // `Path.home()` raises): unless the app's own --env names them.
        let given = app.capabilities.get::<EnvVars>();
        for name in ["TMPDIR", "HOME"] {
            if !given.is_some_and(|vars| vars.0.iter().any(|(n, _)| n == name)) {
                instance.wasi.env(name, GUEST_PATH);
            }
        }
        instance.state.insert(dir);
        Ok(())
    }
}
