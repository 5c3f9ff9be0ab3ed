//! Host directories the guest can open files in (`--dir`, `--dir-rw`, a
//! manifest app's `dirs`), read-only unless made writable. Nothing else
//! of the host filesystem exists for the guest, and WASI refuses paths
//! (`..`, symlinks) that would leave a directory.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches};
use serde::Deserialize;
use toml::Spanned;

use super::{Capability, CapabilitySettings, InstanceBuilder, KeyError, ManifestKey};
use crate::component::AppOptions;
use wasgi::ExcInfo;

/// The app's directories.
pub(crate) struct Preopens;

/// An app's directories, each checked to exist when it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dirs(pub Vec<Preopen>);

/// A `dirs` entry of a manifest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirTable {
    host: Spanned<String>,
    guest: Option<String>,
    rw: Option<bool>,
}

impl Capability for Preopens {
    fn name(&self) -> &'static str {
        "preopened directories"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["dirs"]
    }

    fn read_key(
        &self,
        key: &ManifestKey<'_>,
        settings: &mut CapabilitySettings,
    ) -> Result<(), KeyError> {
        let entries: Vec<Spanned<toml::Value>> = key.parse()?;
        if let Some(other) = entries.iter().find(|e| !e.get_ref().is_table()) {
            return Err(key.error(
                Some(other.span().start),
                format!(
                    "each entry is a table, such as {{ host = \"static\", guest = \"/static\", rw = false }}, not {}",
                    other.get_ref()
                ),
            ));
        }
        let tables: Vec<Spanned<DirTable>> = key.parse()?;
        let mut dirs = Vec::new();
        for table in &tables {
            let d = table.get_ref();
            let host = key.path(d.host.get_ref());
            if !host.is_dir() {
                let at = Some(d.host.span().start);
                return Err(key.error(at, format!("{}: no such directory", host.display())));
            }
            // As `--dir` takes them: without a guest path, the directory is
            // seen at its place in a packed project (`host = "instance"`
            // beside a Flask app), else at its path as written; a relative
            // guest path starts from a packed app's directory.
            let guest = d.guest.clone().unwrap_or_else(|| d.host.get_ref().clone());
            dirs.push(Preopen {
                host,
                guest_given: d.guest.is_some(),
                guest,
                writable: d.rw.unwrap_or(false),
            });
        }
        settings.set(Dirs(dirs));
        Ok(())
    }

    fn flags(&self) -> Vec<Arg> {
        let flag = |id: &'static str, long: &'static str, help: &'static str| {
            Arg::new(id)
                .long(long)
                .value_name("HOST_PATH[::GUEST_PATH]")
                .action(ArgAction::Append)
                .help(help)
        };
        vec![
            flag(
                "dirs",
                "dir",
                "Let the app read files under HOST_PATH, seen by the guest at GUEST_PATH \
                 (default: the same path, or, inside a directory packed into the component \
                 by build-python, its place there; a relative GUEST_PATH starts from a packed \
                 app's directory). Read-only; repeatable. Nothing else of the host filesystem \
                 is visible",
            ),
            flag(
                "dirs_rw",
                "dir-rw",
                "Like --dir, but the app may also create, change and delete files there",
            ),
        ]
    }

    fn read_flags(
        &self,
        flags: &ArgMatches,
        settings: &mut CapabilitySettings,
    ) -> Result<(), String> {
        let given = |id: &str| flags.get_many::<String>(id).into_iter().flatten();
        let ro = given("dirs").map(|d| ("--dir", d, false));
        let rw = given("dirs_rw").map(|d| ("--dir-rw", d, true));
        let dirs = ro
            .chain(rw)
            .map(|(flag, spec, writable)| {
                let p = Preopen::parse(spec, writable).map_err(|e| format!("{flag} {e}"))?;
                if p.host.is_dir() {
                    Ok(p)
                } else if p.host.exists() {
                    Err(format!("{flag} {}: not a directory", p.host.display()))
                } else {
                    Err(format!("{flag} {}: no such directory", p.host.display()))
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        if !dirs.is_empty() {
            settings.set(Dirs(dirs));
        }
        Ok(())
    }

    fn configure(&self, app: &AppOptions, instance: &mut InstanceBuilder) -> Result<(), ExcInfo> {
        let Some(Dirs(dirs)) = app.capabilities.get() else {
            return Ok(());
        };
        for dir in dirs {
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
    /// Whether the guest path was given (else it is the host path as
    /// given, or its place in the component's packaged files).
    pub guest_given: bool,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

impl Preopen {
    /// Parses `HOST_PATH[::GUEST_PATH]` (the guest path defaults to the host
    /// path as given); an empty host or guest path is an error.
    pub fn parse(spec: &str, writable: bool) -> Result<Preopen, String> {
        let guest_given = spec.contains("::");
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        if host.is_empty() || guest.is_empty() {
            return Err(format!(
                "{spec:?}: expected HOST_PATH or HOST_PATH::GUEST_PATH, with neither path empty"
            ));
        }
        Ok(Preopen {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            guest_given,
            writable,
        })
    }
}
