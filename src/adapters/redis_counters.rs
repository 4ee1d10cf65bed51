//! Rate-limit counters in Redis (`AUTH_RATE_LIMIT_REDIS_URL`), beside memcached: the same
//! keys and semantics, for teams that run Redis and not memcached.
//!
//! The increment is one Lua script (`INCR`, then `PEXPIRE` when the counter was just
//! created), so it is atomic on the server: two instances never both start a counter at 1
//! and a counter never lives without its time to live. Reads are one `MGET`. Every command
//! is bounded by [`COMMAND_TIMEOUT`], connection included; the caller fails open on error,
//! exactly as with memcached. The URL may hold a password: it is never logged or put in an
//! error (see [`RedisCounters::display_addr`]).

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script};

/// Time limit of one command, connection included (the memcached store's limit).
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// Creates the counter with its time to live in the same step as the first increment.
const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL could not be parsed; the URL itself is not repeated (it may hold a password).
    #[error("AUTH_RATE_LIMIT_REDIS_URL is not a valid redis:// URL ({0})")]
    Url(String),
    #[error("redis {addr}: {cause}")]
    Command { addr: String, cause: String },
    #[error("redis {addr}: timed out")]
    Timeout { addr: String },
}

pub struct RedisCounters {
    manager: ConnectionManager,
    increment: Script,
    addr: String,
}

impl RedisCounters {
    /// A client that connects lazily (on the first command) and reconnects after a failure.
    /// Must be called inside a tokio runtime.
    pub fn new(url: &str) -> Result<RedisCounters, RedisError> {
        let addr = display_addr(url).ok_or_else(|| RedisError::Url("no host".into()))?;
        let client = Client::open(url).map_err(|e| RedisError::Url(format!("{:?}", e.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            // A request never waits for reconnection attempts: the command fails (and the
            // limit fails open) while the manager reconnects on the next command.
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| RedisError::Url(format!("{:?}", e.kind())))?;
        Ok(RedisCounters {
            manager,
            increment: Script::new(INCREMENT),
            addr,
        })
    }

    /// `host:port` of the server, without user or password: what logs and errors show.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The counts of `keys` (0 for a missing key).
    pub async fn get_many(&self, keys: &[&str]) -> Result<Vec<u64>, RedisError> {
        let mut conn = self.manager.clone();
        let mut cmd = ::redis::cmd("MGET");
        for k in keys {
            cmd.arg(*k);
        }
        let values: Vec<Option<u64>> = self.bounded(cmd.query_async(&mut conn)).await?;
        Ok(values.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Increments `key`, created with a time to live of `ttl_ms`; the new count.
    pub async fn increment(&self, key: &str, ttl_ms: u64) -> Result<u64, RedisError> {
        let mut conn = self.manager.clone();
        let mut invocation = self.increment.key(key);
        invocation.arg(ttl_ms.max(1));
        self.bounded(invocation.invoke_async(&mut conn)).await
    }

    async fn bounded<T>(
        &self,
        f: impl Future<Output = ::redis::RedisResult<T>>,
    ) -> Result<T, RedisError> {
        match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RedisError::Command {
                addr: self.addr.clone(),
                // The kind and the server's message; the client's Display of an I/O error
                // never holds the URL, but keep to fields that cannot.
                cause: match e.detail() {
                    Some(detail) => format!("{:?}: {detail}", e.kind()),
                    None => format!("{:?}", e.kind()),
                },
            }),
            Err(_) => Err(RedisError::Timeout {
                addr: self.addr.clone(),
            }),
        }
    }
}

/// `host:port` (or the socket path) of a Redis URL, without credentials.
pub fn display_addr(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.scheme() == "redis+unix" || parsed.scheme() == "unix" {
        return Some(parsed.path().to_owned());
    }
    let host = parsed.host_str()?;
    Some(format!("{host}:{}", parsed.port().unwrap_or(6379)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_display_addr_drops_credentials() {
        assert_eq!(
            display_addr("redis://:s3cret@cache.internal:6380/2").as_deref(),
            Some("cache.internal:6380")
        );
        assert_eq!(
            display_addr("redis://user:pw@127.0.0.1").as_deref(),
            Some("127.0.0.1:6379")
        );
        assert_eq!(display_addr("not a url"), None);
    }

    #[tokio::test]
    async fn redis_invalid_url_error_does_not_repeat_it() {
        let Err(err) = RedisCounters::new("http://:hunter2@host:1/") else {
            panic!("an http URL is not a Redis URL")
        };
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
