//! The stores a deployment declares, and where their data lives: a
//! manifest's `state_dir` and `[[store]]` tables, `--state-dir`, and each
//! app's `key_value` list.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::super::{KeyError, ManifestKey};
use crate::units::Size;

/// Where stores keep their files when nothing says otherwise: `.wasgi/`
/// in the working directory (as Spin keeps `.spin/`).
pub const DEFAULT_STATE_DIR: &str = ".wasgi";

/// What a store may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quotas {
    /// `max_key_size`: the longest key, in bytes (Spin's 256 by default).
    pub max_key_size: u64,
    /// `max_value_size`: the largest value, in bytes.
    pub max_value_size: u64,
    /// `max_total_size`: keys and values together, in bytes.
    pub max_total_size: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            max_key_size: 256,
            max_value_size: 1 << 20,
            max_total_size: 64 << 20,
        }
    }
}

/// Which backend keeps a store's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An SQLite file; `None`: one the host names under the state
    /// directory.
    Sqlite(Option<PathBuf>),
    /// A Redis server, by URL (`redis://127.0.0.1:6379/0`).
    Redis(String),
}

/// One `[[store]]` (or the built-in `default`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreSpec {
    /// `type` and `url` or `path`.
    pub backend: Backend,
    /// Its quotas.
    pub quotas: Quotas,
}

impl Default for StoreSpec {
    fn default() -> Self {
        StoreSpec {
            backend: Backend::Sqlite(None),
            quotas: Quotas::default(),
        }
    }
}

/// The stores of a deployment, and its state directory.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// `state_dir`, relative to the manifest's directory.
    pub state_dir: Option<PathBuf>,
    /// The `[[store]]` tables by name. `default`, when declared, is how
    /// every app's own `default` store is kept (each app's data apart).
    pub stores: BTreeMap<String, StoreSpec>,
}

/// `--state-dir`: overrides the manifest's `state_dir`.
#[derive(Debug, Clone)]
pub struct StateDir(pub PathBuf);

/// An app's `key_value`: the labels it may open. Without the key: its own
/// `default` store.
#[derive(Debug, Clone)]
pub struct Granted(pub Vec<String>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreTable {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    path: Option<String>,
    max_key_size: Option<Spanned<Size>>,
    max_value_size: Option<Spanned<Size>>,
    max_total_size: Option<Spanned<Size>>,
}

/// Whether `name` can name a store (and a file): letters, digits, `-`,
/// `_`, `.`, not only dots.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.chars().all(|c| c == '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl Catalog {
    /// Reads a manifest's `state_dir` and `[[store]]` tables.
    pub(crate) fn read(
        state_dir: Option<&ManifestKey<'_>>,
        stores: Option<&ManifestKey<'_>>,
    ) -> Result<Catalog, KeyError> {
        let mut catalog = Catalog::default();
        if let Some(key) = state_dir {
            let dir: String = key.parse()?;
            catalog.state_dir = Some(key.path(&dir));
        }
        let Some(key) = stores else {
            return Ok(catalog);
        };
        let tables: Vec<StoreTable> = key.parse()?;
        for table in tables {
            let name = table.name.get_ref().clone();
            let at = |span: std::ops::Range<usize>, message: String| {
                key.error(Some(span.start), format!("{name:?}: {message}"))
            };
            if !valid_name(&name) {
                return Err(at(
                    table.name.span(),
                    "a store's name must be letters, digits, '-', '_' or '.'".into(),
                ));
            }
            if catalog.stores.contains_key(&name) {
                return Err(at(table.name.span(), "declared twice".into()));
            }
            let kind = table.kind.as_ref().map(|k| k.get_ref().as_str());
            let backend = match (kind.unwrap_or("sqlite"), &table.url) {
                ("sqlite", None) => Backend::Sqlite(table.path.as_deref().map(|p| key.path(p))),
                ("sqlite", Some(url)) => {
                    return Err(at(url.span(), "url is for type = \"redis\"".into()));
                }
                ("redis", Some(url)) => {
                    let url = url.get_ref().clone();
                    redis::Client::open(url.as_str())
                        .map_err(|e| at(table.name.span(), format!("url {url:?}: {e}")))?;
                    if table.path.is_some() {
                        return Err(at(
                            table.name.span(),
                            "path is for type = \"sqlite\"".into(),
                        ));
                    }
                    Backend::Redis(url)
                }
                ("redis", None) => {
                    return Err(at(
                        table.name.span(),
                        "type = \"redis\" needs url = \"redis://HOST:PORT\"".into(),
                    ));
                }
                (other, _) => {
                    let span = table.kind.as_ref().map_or(table.name.span(), |k| k.span());
                    return Err(at(
                        span,
                        format!("type {other:?}: expected \"sqlite\" or \"redis\""),
                    ));
                }
            };
            let mut quotas = Quotas::default();
            for (size, slot, what) in [
                (
                    &table.max_key_size,
                    &mut quotas.max_key_size,
                    "max_key_size",
                ),
                (
                    &table.max_value_size,
                    &mut quotas.max_value_size,
                    "max_value_size",
                ),
                (
                    &table.max_total_size,
                    &mut quotas.max_total_size,
                    "max_total_size",
                ),
            ] {
                if let Some(size) = size {
                    let bytes = (size.get_ref().bytes())
                        .map_err(|e| at(size.span(), format!("{what}: {e}")))?;
                    if bytes == 0 {
                        return Err(at(size.span(), format!("{what}: must be more than 0")));
                    }
                    *slot = bytes;
                }
            }
            catalog.stores.insert(name, StoreSpec { backend, quotas });
        }
        Ok(catalog)
    }
}
