//! The shared backend: a store in a Redis server, for tenants that span
//! processes or machines. A store's keys live under its own prefix, with
//! the bytes it holds in one more key beside them; the calls that write
//! are Lua scripts, so each is atomic (and the total quota exact) however
//! many hosts share the server.
//!
//! Every call gives up after [`TIMEOUT`]: with the server down, a guest's
//! call fails within a second, and the connection is made again on a
//! later call once the server is back.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::OnceCell;

use super::store::{Backend, Result, StoreError, over_total};
use crate::app::BoxFuture;

/// The longest a call (or connecting) takes before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// A store in a Redis server.
pub struct Redis {
    client: redis::Client,
    url: String,
    connection: OnceCell<ConnectionManager>,
    /// What every key of the store starts with.
    prefix: String,
}

/// Sets keys (KEYS[2..]) to values, counting the bytes (KEYS[1]) against
/// ARGV[1]; ARGV[2] is the number of pairs, then the values, then each
/// key's length. Returns {0, used} or, over the quota, {-1, would-be}.
const PUT: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[2])
local more, pending = 0, {}
for i = 1, n do
  local k, klen = KEYS[i + 1], tonumber(ARGV[2 + n + i])
  local old = pending[k]
  if old == nil then
    old = 0
    if redis.call('EXISTS', k) == 1 then old = klen + redis.call('STRLEN', k) end
  end
  local new = klen + #ARGV[2 + i]
  more = more + new - old
  pending[k] = new
end
if more > 0 and used + more > tonumber(ARGV[1]) then return {-1, used + more} end
for i = 1, n do redis.call('SET', KEYS[i + 1], ARGV[2 + i]) end
if more ~= 0 then redis.call('INCRBY', KEYS[1], more) end
return {0, used + more}
";

/// Deletes keys (KEYS[2..], their lengths in ARGV), uncounting their bytes.
const DELETE: &str = r"
local less = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    less = less + tonumber(ARGV[i - 1]) + redis.call('STRLEN', KEYS[i])
    redis.call('DEL', KEYS[i])
  end
end
if less ~= 0 then redis.call('DECRBY', KEYS[1], less) end
return 0
";

/// Adds ARGV[1] to the counter KEYS[2] (its length ARGV[2]) within the
/// quota ARGV[3]: {0, sum}, or {-1, would-be} with the counter unchanged.
const INCREMENT: &str = r"
local old = redis.call('GET', KEYS[2])
local klen = tonumber(ARGV[2])
local before = 0
if old then before = klen + #old end
local sum = redis.call('INCRBY', KEYS[2], ARGV[1])
local more = klen + redis.call('STRLEN', KEYS[2]) - before
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if more > 0 and used + more > tonumber(ARGV[3]) then
  if old then redis.call('SET', KEYS[2], old) else redis.call('DEL', KEYS[2]) end
  return {-1, used + more}
end
if more ~= 0 then redis.call('INCRBY', KEYS[1], more) end
return {0, sum}
";

/// Sets KEYS[2] to ARGV[3] if it holds ARGV[2] (ARGV[1] = '1'; '0': no
/// value), within the quota ARGV[5] (its length ARGV[4]): {1, used} when
/// swapped, {0, 0} when not, {-1, would-be} over the quota.
const SWAP: &str = r"
local cur = redis.call('GET', KEYS[2])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return {0, 0} end
elseif cur then
  return {0, 0}
end
local klen = tonumber(ARGV[4])
local old = 0
if cur then old = klen + #cur end
local more = klen + #ARGV[3] - old
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if more > 0 and used + more > tonumber(ARGV[5]) then return {-1, used + more} end
redis.call('SET', KEYS[2], ARGV[3])
if more ~= 0 then redis.call('INCRBY', KEYS[1], more) end
return {1, used + more}
";

fn failed(url: &str) -> impl Fn(redis::RedisError) -> StoreError + '_ {
    move |e| {
        let down = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal();
        match down {
            true => StoreError::Backend(format!("redis {url}: {e}")),
            false => StoreError::Invalid(format!("redis: {e}")),
        }
    }
}

impl Redis {
    /// A store at `url` under `prefix`; it connects on its first call.
    pub fn new(url: &str, prefix: String) -> std::result::Result<Redis, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis {url}: {e}"))?;
        Ok(Redis {
            client,
            url: url.to_string(),
            connection: OnceCell::new(),
            prefix,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}k:{key}", self.prefix)
    }

    fn used_key(&self) -> String {
        format!("{}used", self.prefix)
    }

    /// The connection, made now if there is none yet.
    async fn connection(&self) -> Result<ConnectionManager> {
        let connect = || async {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(100));
            let made = tokio::time::timeout(
                TIMEOUT,
                ConnectionManager::new_with_config(self.client.clone(), config),
            );
            match made.await {
                Ok(made) => made.map_err(failed(&self.url)),
                Err(_) => Err(StoreError::Backend(format!(
                    "redis {}: no connection within {} s",
                    self.url,
                    TIMEOUT.as_secs()
                ))),
            }
        };
        self.connection.get_or_try_init(connect).await.cloned()
    }

    /// Runs `call` on the connection within [`TIMEOUT`].
    async fn run<T, F>(&self, call: impl FnOnce(ConnectionManager) -> F) -> Result<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        match tokio::time::timeout(TIMEOUT, call(connection)).await {
            Ok(done) => done.map_err(failed(&self.url)),
            Err(_) => Err(StoreError::Backend(format!(
                "redis {}: no answer within {} s",
                self.url,
                TIMEOUT.as_secs()
            ))),
        }
    }

    /// Runs `PUT` for `pairs`.
    async fn put(&self, pairs: &[(&str, &[u8])], max_total: u64) -> Result<()> {
        let script = Script::new(PUT);
        let mut call = script.key(self.used_key());
        for (key, _) in pairs {
            call.key(self.key(key));
        }
        call.arg(max_total).arg(pairs.len());
        for (_, value) in pairs {
            call.arg(*value);
        }
        for (key, _) in pairs {
            call.arg(key.len());
        }
        let (status, bytes): (i64, i64) = self
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await?;
        quota(status, bytes, max_total).map(|_| ())
    }
}

/// A script's {status, bytes}: over the quota when status is -1.
fn quota(status: i64, bytes: i64, max_total: u64) -> Result<i64> {
    match status {
        -1 => Err(over_total(0, bytes, max_total)),
        _ => Ok(bytes),
    }
}

impl Backend for Redis {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        let key = self.key(key);
        Box::pin(self.run(|mut c| async move { c.get(key).await }))
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        max_total: u64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.put(&[(key, value)], max_total).await })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.delete_many_keys(&[key]).await })
    }

    fn exists<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool>> {
        let key = self.key(key);
        Box::pin(self.run(|mut c| async move { c.exists(key).await }))
    }

    fn list_keys(&self, cursor: Option<u64>) -> BoxFuture<'_, Result<(Vec<String>, Option<u64>)>> {
        let pattern = format!("{}*", glob_escape(&self.key("")));
        let skip = self.key("").len();
        Box::pin(async move {
            let (next, keys): (u64, Vec<String>) = self
                .run(|mut c| async move {
                    redis::cmd("SCAN")
                        .arg(cursor.unwrap_or(0))
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            let keys = keys.into_iter().map(|k| k[skip..].to_string()).collect();
            Ok((keys, (next != 0).then_some(next)))
        })
    }

    fn increment<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        max_total: u64,
    ) -> BoxFuture<'a, Result<i64>> {
        Box::pin(async move {
            let script = Script::new(INCREMENT);
            let mut call = script.key(self.used_key());
            call.key(self.key(key))
                .arg(delta)
                .arg(key.len())
                .arg(max_total);
            let (status, value): (i64, i64) = self
                .run(|mut c| async move { call.invoke_async(&mut c).await })
                .await?;
            quota(status, value, max_total)
        })
    }

    fn swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: &'a [u8],
        max_total: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let script = Script::new(SWAP);
            let mut call = script.key(self.used_key());
            call.key(self.key(key))
                .arg(if expected.is_some() { "1" } else { "0" })
                .arg(expected.unwrap_or_default())
                .arg(value)
                .arg(key.len())
                .arg(max_total);
            let (status, bytes): (i64, i64) = self
                .run(|mut c| async move { call.invoke_async(&mut c).await })
                .await?;
            quota(status, bytes, max_total).map(|_| status == 1)
        })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
            self.run(|mut c| async move { c.mget(keys).await }).await
        })
    }

    fn set_many<'a>(
        &'a self,
        pairs: &'a [(String, Vec<u8>)],
        max_total: u64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if pairs.is_empty() {
                return Ok(());
            }
            let pairs: Vec<(&str, &[u8])> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect();
            self.put(&pairs, max_total).await
        })
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            self.delete_many_keys(&keys).await
        })
    }

    fn used(&self) -> BoxFuture<'_, Result<u64>> {
        let key = self.used_key();
        Box::pin(async move {
            let used: Option<i64> = self.run(|mut c| async move { c.get(key).await }).await?;
            Ok(used.unwrap_or(0).max(0) as u64)
        })
    }
}

impl Redis {
    async fn delete_many_keys(&self, keys: &[&str]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let script = Script::new(DELETE);
        let mut call = script.key(self.used_key());
        for key in keys {
            call.key(self.key(key));
        }
        for key in keys {
            call.arg(key.len());
        }
        let _: i64 = self
            .run(|mut c| async move { call.invoke_async(&mut c).await })
            .await?;
        Ok(())
    }
}

/// `text` matched literally by a Redis glob.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
