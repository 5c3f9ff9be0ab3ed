//! One open store: its backend behind one trait, the quotas checked in
//! front of it, and what a refused or failed call logs.

use std::sync::Arc;

use super::catalog::Quotas;
use crate::app::BoxFuture;
use crate::streams::{ErrorStream, Event};

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A quota would be exceeded; the store is unchanged.
    #[error("{0}")]
    Quota(String),
    /// The call makes no sense for the data (a counter that is not a
    /// number, an overflow); the store is unchanged.
    #[error("{0}")]
    Invalid(String),
    /// The backend failed (a database down, a full disk).
    #[error("{0}")]
    Backend(String),
}

/// What a call returns.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Where a store's keys live. Every call is atomic on its own; the batch
/// calls are atomic as a whole. Counters are decimal text (as Redis keeps
/// them), so `get` reads what `increment` wrote.
pub trait Backend: Send + Sync {
    /// The value of `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>>;
    /// Sets `key` to `value` if the store then holds at most `max_total`
    /// bytes (keys and values).
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        max_total: u64,
    ) -> BoxFuture<'a, Result<()>>;
    /// Deletes `key`.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Whether `key` has a value.
    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool>>;
    /// A page of keys from `cursor` (none: the start), and the cursor of
    /// the next page (none: that was the last). A cursor is decimal text.
    fn list_keys(&self, cursor: Option<u64>) -> BoxFuture<'_, Result<(Vec<String>, Option<u64>)>>;
    /// Adds `delta` to the counter `key` (none: 0); the sum.
    fn increment<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        max_total: u64,
    ) -> BoxFuture<'a, Result<i64>>;
    /// Sets `key` to `value` if it holds `expected` (none: no value);
    /// whether it did.
    fn swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: &'a [u8],
        max_total: u64,
    ) -> BoxFuture<'a, Result<bool>>;
    /// The values of `keys`, in their order.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>>>;
    /// Sets every pair, all or none.
    fn set_many<'a>(
        &'a self,
        pairs: &'a [(String, Vec<u8>)],
        max_total: u64,
    ) -> BoxFuture<'a, Result<()>>;
    /// Deletes every key.
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<()>>;
    /// The bytes its keys and values take.
    fn used(&self) -> BoxFuture<'_, Result<u64>>;
}

/// A store an app may open: its name as logs and metrics say it, its
/// backend and its quotas.
pub struct OpenStore {
    /// `sessions`, or `default` (each app's own).
    pub label: String,
    /// Where it lives, for `host check`: `sqlite .wasgi/apps/shop.sqlite`.
    pub location: String,
    pub(crate) backend: Arc<dyn Backend>,
    /// Its quotas.
    pub quotas: Quotas,
}

impl OpenStore {
    /// The bytes its keys and values take.
    pub async fn used(&self) -> Result<u64> {
        self.backend.used().await
    }
}

/// A store as one app's guests use it: calls checked against the quotas,
/// refusals and failures logged naming the app and the store.
pub struct AppStore {
    /// The app's name.
    pub app: String,
    /// The store.
    pub store: Arc<OpenStore>,
    /// The app's log.
    pub log: ErrorStream,
    /// Counts the app's calls (`/metrics`).
    pub(crate) count: Option<Arc<dyn crate::component::Usage>>,
}

/// One request's use of an app's store: its calls, whose refusals and
/// failures the log says happened during that request.
pub struct Call {
    app_store: Arc<AppStore>,
    /// Read only when a line is logged: most calls log nothing.
    request: crate::component::CurrentRequest,
}

impl Call {
    /// `app_store`'s calls during whatever request `request` says (a
    /// default one: none, as for `host kv`).
    pub fn new(app_store: Arc<AppStore>, request: crate::component::CurrentRequest) -> Self {
        Call { app_store, request }
    }

    /// The store, to keep beyond this call (a compare-and-swap's read).
    pub fn shared(&self) -> Arc<AppStore> {
        self.app_store.clone()
    }
}

impl std::ops::Deref for Call {
    type Target = AppStore;

    fn deref(&self) -> &AppStore {
        &self.app_store
    }
}

impl Call {
    /// Refuses a key or value over the quotas, before the backend sees it.
    fn check(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        let quotas = &self.store.quotas;
        if key.len() as u64 > quotas.max_key_size {
            return Err(StoreError::Quota(format!(
                "a key of {} bytes is over the store's max_key_size of {} bytes",
                key.len(),
                quotas.max_key_size
            )));
        }
        match value {
            Some(v) if v.len() as u64 > quotas.max_value_size => Err(StoreError::Quota(format!(
                "a value of {} bytes is over the store's max_value_size of {} bytes",
                v.len(),
                quotas.max_value_size
            ))),
            _ => Ok(()),
        }
    }

    /// `result` of `op`, logged and counted.
    fn done<T>(&self, op: &'static str, result: Result<T>) -> Result<T> {
        let label = &self.store.label;
        if let Some(count) = &self.count {
            count.store_call(label, op, result.is_err());
        }
        if let Err(e) = &result {
            let event = match e {
                StoreError::Backend(_) => Event::StoreError,
                StoreError::Quota(_) | StoreError::Invalid(_) => Event::StoreDenied,
            };
            (self.log.with_request(self.request.get())).event(
                event,
                &format!("app {:?}: key-value store {label:?}: {op}: {e}\n", self.app),
            );
        }
        result
    }

    fn total(&self) -> u64 {
        self.store.quotas.max_total_size
    }

    /// `get`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let result = self.store.backend.get(key).await;
        self.done("get", result)
    }

    /// `set`.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        let result = match self.check(key, Some(value)) {
            Ok(()) => self.store.backend.set(key, value, self.total()).await,
            Err(e) => Err(e),
        };
        self.done("set", result)
    }

    /// `delete`.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let result = self.store.backend.delete(key).await;
        self.done("delete", result)
    }

    /// `exists`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let result = self.store.backend.exists(key).await;
        self.done("exists", result)
    }

    /// `list-keys`.
    pub async fn list_keys(&self, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>)> {
        let result = self.store.backend.list_keys(cursor).await;
        self.done("list_keys", result)
    }

    /// `increment`.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let result = match self.check(key, None) {
            Ok(()) => self.store.backend.increment(key, delta, self.total()).await,
            Err(e) => Err(e),
        };
        self.done("increment", result)
    }

    /// A compare-and-swap.
    pub async fn swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool> {
        let result = match self.check(key, Some(value)) {
            Ok(()) => {
                let backend = &self.store.backend;
                backend.swap(key, expected, value, self.total()).await
            }
            Err(e) => Err(e),
        };
        self.done("swap", result)
    }

    /// `get-many`.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let result = self.store.backend.get_many(keys).await;
        self.done("get_many", result)
    }

    /// `set-many`.
    pub async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<()> {
        let checked: Result<()> = pairs.iter().try_for_each(|(k, v)| self.check(k, Some(v)));
        let result = match checked {
            Ok(()) => self.store.backend.set_many(pairs, self.total()).await,
            Err(e) => Err(e),
        };
        self.done("set_many", result)
    }

    /// `delete-many`.
    pub async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let result = self.store.backend.delete_many(keys).await;
        self.done("delete_many", result)
    }
}

/// The error a call over `max_total` bytes gets.
pub(crate) fn over_total(used: u64, more: i64, max_total: u64) -> StoreError {
    StoreError::Quota(format!(
        "the store would hold {} bytes, over its max_total_size of {max_total} bytes",
        used as i64 + more
    ))
}

/// A counter's value read as a number.
pub(crate) fn counter(value: Option<&[u8]>) -> Result<i64> {
    let Some(value) = value else {
        return Ok(0);
    };
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| StoreError::Invalid("the key's value is not a number".into()))
}

/// `value + delta`, or the error of an overflow.
pub(crate) fn add(value: i64, delta: i64) -> Result<i64> {
    value
        .checked_add(delta)
        .ok_or_else(|| StoreError::Invalid(format!("{value} + {delta} overflows")))
}
