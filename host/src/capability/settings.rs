//! What the capabilities read from the command line and the manifest, and
//! keep for each app: one typed value per capability.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

/// The settings of one app's capabilities, each under its own type (a
/// capability's settings type is its own). Cheap to clone: every store of
/// the app holds them, for the host functions.
#[derive(Clone, Default)]
pub struct CapabilitySettings(Arc<BTreeMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl CapabilitySettings {
    /// The settings of type `T`, if any were given.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Sets the settings of type `T`.
    pub fn set<T: Any + Send + Sync>(&mut self, value: T) {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// These settings over `below`'s: a capability set here replaces what
    /// `below` gave it (an app's `env` replaces the command line's).
    pub fn over(&self, below: &CapabilitySettings) -> CapabilitySettings {
        let mut merged = (*below.0).clone();
        merged.extend(self.0.iter().map(|(k, v)| (*k, v.clone())));
        CapabilitySettings(Arc::new(merged))
    }
}

impl std::fmt::Debug for CapabilitySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CapabilitySettings({} set)", self.0.len())
    }
}

/// One key of a manifest table, for the capability that reads it: its
/// value, where it stands, and the directory relative paths start from.
pub struct ManifestKey<'a> {
    name: &'a str,
    value: &'a Spanned<DeValue<'a>>,
    base: &'a Path,
}

/// A manifest key whose value is wrong: where (a byte offset into the
/// manifest), and what is wrong, naming the key.
#[derive(Debug)]
pub struct KeyError {
    /// The byte offset of the fault.
    pub offset: usize,
    /// The message, starting with the key's name.
    pub message: String,
    /// A value of the wrong type: the message is the TOML parser's own
    /// words (`invalid type: string "soon", expected f64`), shown as they
    /// are; the others get the app's name in front.
    pub wrong_type: bool,
}

impl<'a> ManifestKey<'a> {
    /// The key `name` with `value`, in a manifest in `base`.
    pub(crate) fn new(name: &'a str, value: &'a Spanned<DeValue<'a>>, base: &'a Path) -> Self {
        ManifestKey { name, value, base }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The value as a `T`; fields of type [`Spanned`] keep their place in
    /// the manifest, for later errors.
    pub fn parse<T: serde::Deserialize<'a>>(&self) -> Result<T, KeyError> {
        T::deserialize(ValueDeserializer::from(self.value.clone())).map_err(|e| KeyError {
            offset: e.span().map_or(self.value.span().start, |s| s.start),
            message: e.message().to_string(),
            wrong_type: true,
        })
    }

    /// A path in the manifest, relative to the manifest's directory.
    pub fn path(&self, path: &str) -> PathBuf {
        let path = PathBuf::from(path);
        if path.is_absolute() {
            path
        } else {
            self.base.join(path)
        }
    }

    /// An error at `offset` (`None`: the value's start), the key's name
    /// in front of `message`.
    pub fn error(&self, offset: Option<usize>, message: impl std::fmt::Display) -> KeyError {
        KeyError {
            offset: offset.unwrap_or(self.value.span().start),
            message: format!("{}: {message}", self.name),
            wrong_type: false,
        }
    }
}
