//! The machine's Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`), shared by the tests:
//! each test uses its own key prefix. `.ci/run` makes sure it answers; without it the
//! Redis tests fail under CI (`CI=true`) and are skipped with a visible note elsewhere
//! (`support::tools`).

use redis::AsyncCommands;

pub struct RedisServer {
    pub url: String,
    conn: redis::aio::MultiplexedConnection,
    /// Unique per test run, ends with `:`.
    pub prefix: String,
}

impl RedisServer {
    /// `None` (with a note) when no Redis answers, outside CI.
    pub async fn connect() -> Option<RedisServer> {
        let url = std::env::var("REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
        let conn = match redis::Client::open(url.as_str()) {
            Ok(client) => tokio::time::timeout(
                std::time::Duration::from_secs(2),
                client.get_multiplexed_async_connection(),
            )
            .await
            .ok()
            .and_then(Result::ok),
            Err(_) => None,
        };
        let conn = crate::support::tools::require(
            conn,
            &format!("no Redis answers at {url} (start redis-server or set REDIS_URL)"),
        )?;
        let prefix = format!("hasura-auth-test:{}:", uuid::Uuid::new_v4().simple());
        Some(RedisServer { url, conn, prefix })
    }

    /// The raw value of a key.
    pub async fn get(&self, key: &str) -> Option<String> {
        let mut conn = self.conn.clone();
        conn.get(key).await.unwrap()
    }

    /// Milliseconds the key has left (negative: no key / no expiry).
    pub async fn pttl(&self, key: &str) -> i64 {
        let mut conn = self.conn.clone();
        conn.pttl(key).await.unwrap()
    }
}
