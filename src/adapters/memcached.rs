//! A minimal memcached client (text protocol: `get`, `incr`, `add`) over tokio, for the
//! shared rate-limit counters.
//!
//! Why our own: the maintained Rust clients are either blocking (`memcache`) or pull in
//! far more than three commands need; the text protocol is stable and a few dozen lines.
//! Connections are pooled; a connection that fails or times out is dropped, never reused
//! half-read.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Time limit of one command, connection included.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
const MAX_IDLE: usize = 16;
/// memcached's key length limit.
pub const MAX_KEY_LEN: usize = 250;

#[derive(Debug, thiserror::Error)]
pub enum MemcachedError {
    #[error("memcached {addr}: {cause}")]
    Io { addr: String, cause: String },
    #[error("memcached {addr}: timed out")]
    Timeout { addr: String },
    #[error("memcached {addr}: unexpected reply {reply:?}")]
    Protocol { addr: String, reply: String },
    #[error("invalid memcached key {0:?}")]
    Key(String),
}

type Conn = BufStream<TcpStream>;

pub struct Memcached {
    addr: String,
    idle: Mutex<Vec<Conn>>,
}

/// Keys must be 1..=250 bytes without spaces or control characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b > b' ' && b != 0x7f)
}

impl Memcached {
    pub fn new(addr: impl Into<String>) -> Memcached {
        Memcached {
            addr: addr.into(),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Values of the keys that exist.
    pub async fn get_many(
        &self,
        keys: &[&str],
    ) -> Result<HashMap<String, Vec<u8>>, MemcachedError> {
        for k in keys {
            self.check_key(k)?;
        }
        let command = format!("get {}\r\n", keys.join(" "));
        match self.run(command.into_bytes(), Expect::Values).await? {
            Reply::Values(found) => Ok(found),
            _ => Err(protocol(&self.addr, "get")),
        }
    }

    /// `incr`: the new value, or `None` when the key does not exist.
    pub async fn incr(&self, key: &str, by: u64) -> Result<Option<u64>, MemcachedError> {
        self.check_key(key)?;
        let command = format!("incr {key} {by}\r\n").into_bytes();
        match self.run(command, Expect::Number).await? {
            Reply::Number(n) => Ok(n),
            _ => Err(protocol(&self.addr, "incr")),
        }
    }

    /// `add`: true when stored, false when the key already existed.
    pub async fn add(
        &self,
        key: &str,
        value: &[u8],
        ttl_secs: u32,
    ) -> Result<bool, MemcachedError> {
        self.check_key(key)?;
        let mut command = format!("add {key} 0 {ttl_secs} {}\r\n", value.len()).into_bytes();
        command.extend_from_slice(value);
        command.extend_from_slice(b"\r\n");
        match self.run(command, Expect::Stored).await? {
            Reply::Stored(stored) => Ok(stored),
            _ => Err(protocol(&self.addr, "add")),
        }
    }

    fn check_key(&self, key: &str) -> Result<(), MemcachedError> {
        if valid_key(key) {
            Ok(())
        } else {
            Err(MemcachedError::Key(key.to_owned()))
        }
    }

    /// Sends `command` on a pooled connection and reads one reply.
    async fn run(&self, command: Vec<u8>, expect: Expect) -> Result<Reply, MemcachedError> {
        let pooled = self.idle.lock().await.pop();
        let addr = self.addr.as_str();
        let work = async {
            let mut conn = match pooled {
                Some(c) => c,
                None => BufStream::new(TcpStream::connect(addr).await.map_err(|e| io(addr, e))?),
            };
            conn.write_all(&command).await.map_err(|e| io(addr, e))?;
            conn.flush().await.map_err(|e| io(addr, e))?;
            let reply = read_reply(&mut conn, addr, expect).await?;
            Ok::<_, MemcachedError>((reply, conn))
        };
        let (reply, conn) = tokio::time::timeout(COMMAND_TIMEOUT, work)
            .await
            .map_err(|_| MemcachedError::Timeout {
                addr: addr.to_owned(),
            })??;
        let mut idle = self.idle.lock().await;
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        Ok(reply)
    }
}

#[derive(Clone, Copy)]
enum Expect {
    Values,
    Number,
    Stored,
}

enum Reply {
    Values(HashMap<String, Vec<u8>>),
    Number(Option<u64>),
    Stored(bool),
}

async fn read_reply(conn: &mut Conn, addr: &str, expect: Expect) -> Result<Reply, MemcachedError> {
    match expect {
        Expect::Values => {
            let mut found = HashMap::new();
            loop {
                let line = read_line(conn, addr).await?;
                if line == "END" {
                    return Ok(Reply::Values(found));
                }
                // VALUE <key> <flags> <bytes>
                let parts: Vec<&str> = line.split(' ').collect();
                let (Some(&"VALUE"), Some(key), Some(len)) =
                    (parts.first(), parts.get(1), parts.get(3))
                else {
                    return Err(protocol(addr, &line));
                };
                let len: usize = len.parse().map_err(|_| protocol(addr, &line))?;
                let mut data = vec![0u8; len + 2];
                conn.read_exact(&mut data).await.map_err(|e| io(addr, e))?;
                data.truncate(len);
                found.insert((*key).to_owned(), data);
            }
        }
        Expect::Number => {
            let line = read_line(conn, addr).await?;
            if line == "NOT_FOUND" {
                return Ok(Reply::Number(None));
            }
            line.parse::<u64>()
                .map(|n| Reply::Number(Some(n)))
                .map_err(|_| protocol(addr, &line))
        }
        Expect::Stored => {
            let line = read_line(conn, addr).await?;
            match line.as_str() {
                "STORED" => Ok(Reply::Stored(true)),
                "NOT_STORED" => Ok(Reply::Stored(false)),
                _ => Err(protocol(addr, &line)),
            }
        }
    }
}

async fn read_line(conn: &mut Conn, addr: &str) -> Result<String, MemcachedError> {
    let mut line = String::new();
    let n = conn.read_line(&mut line).await.map_err(|e| io(addr, e))?;
    if n == 0 {
        return Err(MemcachedError::Io {
            addr: addr.to_owned(),
            cause: "connection closed".into(),
        });
    }
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line == "ERROR" || line.starts_with("CLIENT_ERROR") || line.starts_with("SERVER_ERROR") {
        return Err(protocol(addr, &line));
    }
    Ok(line)
}

fn io(addr: &str, e: std::io::Error) -> MemcachedError {
    MemcachedError::Io {
        addr: addr.to_owned(),
        cause: e.to_string(),
    }
}

fn protocol(addr: &str, reply: &str) -> MemcachedError {
    MemcachedError::Protocol {
        addr: addr.to_owned(),
        reply: reply.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcached_keys_follow_the_protocol_rules() {
        assert!(valid_key("user-global29123:127.0.0.1"));
        assert!(valid_key("p:user-global1:2001:db8::/64"));
        assert!(!valid_key(""));
        assert!(!valid_key("a b"));
        assert!(!valid_key("a\nb"));
        assert!(!valid_key(&"k".repeat(251)));
    }
}
