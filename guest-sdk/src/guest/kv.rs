//! Key-value stores: state that outlives the request's instance
//! (`wasi:keyvalue@0.2.0-draft2`).
//!
//! ```ignore
//! let store = wasgi::kv::open("default")?;
//! let visits = store.increment("visits", 1)?;
//! store.set("last", b"/about")?;
//! ```
//!
//! Every app has its own `default` store; others are the manifest's
//! `[[store]]` tables the app lists in `key_value`. Calls fail with a
//! [`wasgi::Error`](crate::Error): `PermissionError` for a store the app
//! may not open, `OSError` for the rest (a quota exceeded, the backend
//! down), so `?` in an app turns them into its 500.

use super::state::bindings::wasi::keyvalue0_2_0_draft2::{atomics, batch, store};
use crate::Error;

/// An open store.
pub struct Store(store::Bucket);

/// Opens the store `label` (`default`: the app's own).
#[track_caller]
pub fn open(label: &str) -> crate::Result<Store> {
    match store::open(label) {
        Ok(bucket) => Ok(Store(bucket)),
        Err(e) => Err(error(label, e)),
    }
}

#[track_caller]
fn error(label: &str, e: store::Error) -> Error {
    match e {
        store::Error::AccessDenied => Error::new(
            "PermissionError",
            format!("the app may not open the key-value store {label:?}"),
        ),
        store::Error::NoSuchStore => Error::new(
            "PermissionError",
            format!("there is no key-value store {label:?}"),
        ),
        store::Error::Other(message) => {
            Error::new("OSError", format!("key-value store: {message}"))
        }
    }
}

/// A call's error as the app's exception, raised where the app called.
trait Raise<T> {
    fn raised(self) -> crate::Result<T>;
}

impl<T> Raise<T> for Result<T, store::Error> {
    #[track_caller]
    fn raised(self) -> crate::Result<T> {
        match self {
            Ok(value) => Ok(value),
            Err(e) => Err(error("", e)),
        }
    }
}

impl Store {
    /// The value of `key`, if it has one.
    #[track_caller]
    pub fn get(&self, key: &str) -> crate::Result<Option<Vec<u8>>> {
        self.0.get(key).raised()
    }

    /// Sets `key` to `value`.
    #[track_caller]
    pub fn set(&self, key: &str, value: impl AsRef<[u8]>) -> crate::Result<()> {
        self.0.set(key, value.as_ref()).raised()
    }

    /// Deletes `key` (no error if it has no value).
    #[track_caller]
    pub fn delete(&self, key: &str) -> crate::Result<()> {
        self.0.delete(key).raised()
    }

    /// Whether `key` has a value.
    #[track_caller]
    pub fn exists(&self, key: &str) -> crate::Result<bool> {
        self.0.exists(key).raised()
    }

    /// Every key, page by page.
    #[track_caller]
    pub fn keys(&self) -> crate::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.0.list_keys(cursor.as_deref()).raised()?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Adds `delta` to the counter `key` (0 when it has no value), as one
    /// atomic step, and returns the sum. A counter is decimal text.
    #[track_caller]
    pub fn increment(&self, key: &str, delta: i64) -> crate::Result<i64> {
        atomics::increment(&self.0, key, delta).raised()
    }

    /// Sets `key` to `value` only if it holds `expected` (`None`: no
    /// value); whether it did.
    #[track_caller]
    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: impl AsRef<[u8]>,
    ) -> crate::Result<bool> {
        let cas = atomics::Cas::new(&self.0, key).raised()?;
        if cas.current().raised()?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, value.as_ref()) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(e).raised(),
        }
    }

    /// Replaces the value of `key` by `update(current)` (`None`: deletes
    /// it), retrying while other requests change it in between; the value
    /// it set.
    #[track_caller]
    pub fn update(
        &self,
        key: &str,
        mut update: impl FnMut(Option<&[u8]>) -> Vec<u8>,
    ) -> crate::Result<Vec<u8>> {
        let mut cas = atomics::Cas::new(&self.0, key).raised()?;
        loop {
            let new = update(cas.current().raised()?.as_deref());
            match atomics::swap(cas, &new) {
                Ok(()) => return Ok(new),
                Err(atomics::CasError::CasFailed(again)) => cas = again,
                Err(atomics::CasError::StoreError(e)) => return Err(e).raised(),
            }
        }
    }

    /// The values of `keys`, in their order.
    #[track_caller]
    pub fn get_many(&self, keys: &[&str]) -> crate::Result<Vec<Option<Vec<u8>>>> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let pairs = batch::get_many(&self.0, &keys).raised()?;
        Ok(pairs.into_iter().map(|(_, v)| v).collect())
    }

    /// Sets every key to its value, all or none.
    #[track_caller]
    pub fn set_many(&self, pairs: &[(&str, &[u8])]) -> crate::Result<()> {
        let pairs: Vec<(String, Vec<u8>)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        batch::set_many(&self.0, &pairs).raised()
    }

    /// Deletes every key.
    #[track_caller]
    pub fn delete_many(&self, keys: &[&str]) -> crate::Result<()> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        batch::delete_many(&self.0, &keys).raised()
    }
}
