//! Configuration values the host gives the app (`wasi:config/store`): a
//! manifest's `config = { ... }`, or `host serve --config-var KEY=VALUE`.

use super::state::bindings::wasi::config::store;
use crate::Error;

#[track_caller]
fn failed(e: store::Error) -> Error {
    Error::new("OSError", format!("wasi:config: {e:?}"))
}

/// The value of `key`, if the app has one.
#[track_caller]
pub fn get(key: &str) -> crate::Result<Option<String>> {
    match store::get(key) {
        Ok(value) => Ok(value),
        Err(e) => Err(failed(e)),
    }
}

/// Every value the app has, as `(key, value)` pairs.
#[track_caller]
pub fn get_all() -> crate::Result<Vec<(String, String)>> {
    match store::get_all() {
        Ok(values) => Ok(values),
        Err(e) => Err(failed(e)),
    }
}
