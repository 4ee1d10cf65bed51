//! A minimal HTTP/1.1 client over one keep-alive TCP connection.
//!
//! Deliberately tiny, so the load generator costs the machine as little CPU as
//! possible: requests are pre-built byte strings, a response is read into one reused
//! buffer and only the status line and the framing headers (`Content-Length`,
//! `Transfer-Encoding: chunked`, `Connection: close`) are parsed.

use std::io;
use std::net::SocketAddr;

use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the server under test answers: `http://host:port[/prefix]`.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: String,
    /// API prefix without a trailing slash (`""` or e.g. `"/v1"`).
    pub prefix: String,
}

impl Target {
    pub async fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("--url must start with http:// (got {url:?})"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(&with_port)
            .await
            .map_err(|e| format!("cannot resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {authority}"))?;
        Ok(Target {
            addr,
            host: authority.to_owned(),
            prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// A complete request: method, path (below the prefix), extra header lines
    /// (each ending in `\r\n`) and an optional JSON body.
    pub fn request(&self, method: &str, path: &str, headers: &str, json: Option<&str>) -> Vec<u8> {
        let mut r = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hasura-auth-bench\r\n{headers}",
            self.prefix, self.host
        );
        match json {
            Some(body) => {
                r.push_str(&format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ));
            }
            None => r.push_str("\r\n"),
        }
        r.into_bytes()
    }
}

/// One keep-alive connection.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Body bytes of the last response (decoded when chunked).
    body: Vec<u8>,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let mut c = Conn {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            body: Vec::with_capacity(4 * 1024),
        };
        c.reconnect().await?;
        Ok(c)
    }

    pub async fn reconnect(&mut self) -> io::Result<()> {
        self.stream = None;
        let s = TcpStream::connect(self.addr).await?;
        s.set_nodelay(true)?;
        self.stream = Some(s);
        Ok(())
    }

    /// Sends one request and reads the whole response; returns the status and the body.
    /// On any error the connection is dropped (the next call reconnects).
    pub async fn send(&mut self, req: &[u8]) -> io::Result<(u16, &[u8])> {
        if self.stream.is_none() {
            self.reconnect().await?;
        }
        match self.exchange(req).await {
            Ok((status, keep_alive)) => {
                if !keep_alive {
                    self.stream = None;
                }
                Ok((status, &self.body))
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or_else(|| bad("not connected"))?;
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        let n = stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        Ok(())
    }

    async fn exchange(&mut self, req: &[u8]) -> io::Result<(u16, bool)> {
        let stream = self.stream.as_mut().ok_or_else(|| bad("not connected"))?;
        stream.write_all(req).await?;
        self.buf.clear();
        self.body.clear();
        let head_end = loop {
            if let Some(i) = memmem::find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = &self.buf[..head_end];
        if head.len() < 12 || !head.starts_with(b"HTTP/1.") {
            return Err(bad("not an HTTP/1.x response"));
        }
        let status = std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let mut content_length: Option<usize> = None;
        let mut chunked = false;
        let mut keep_alive = true;
        for line in head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"content-length") {
                content_length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value.eq_ignore_ascii_case(b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                keep_alive = !value.eq_ignore_ascii_case(b"close");
            }
        }
        if chunked {
            self.read_chunked(head_end).await?;
        } else if let Some(len) = content_length {
            while self.buf.len() < head_end + len {
                self.fill().await?;
            }
            self.body
                .extend_from_slice(&self.buf[head_end..head_end + len]);
        } else if status == 204 || status == 304 || (100..200).contains(&status) {
            // No body.
        } else {
            // Body until EOF.
            loop {
                match self.fill().await {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            }
            self.body.extend_from_slice(&self.buf[head_end..]);
            keep_alive = false;
        }
        Ok((status, keep_alive))
    }

    async fn read_chunked(&mut self, mut pos: usize) -> io::Result<()> {
        loop {
            let line_end = loop {
                if let Some(i) = memmem::find(&self.buf[pos..], b"\r\n") {
                    break pos + i;
                }
                self.fill().await?;
            };
            let size_str =
                std::str::from_utf8(&self.buf[pos..line_end]).map_err(|_| bad("bad chunk size"))?;
            let size_str = size_str.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_str, 16).map_err(|_| bad("bad chunk size"))?;
            let data_start = line_end + 2;
            // Data, then CRLF (for the last chunk: optional trailers, then CRLF).
            if size == 0 {
                loop {
                    let rest = &self.buf[data_start..];
                    if rest.starts_with(b"\r\n") || memmem::find(rest, b"\r\n\r\n").is_some() {
                        return Ok(());
                    }
                    self.fill().await?;
                }
            }
            while self.buf.len() < data_start + size + 2 {
                self.fill().await?;
            }
            let (start, end) = (data_start, data_start + size);
            self.body.extend_from_slice(&self.buf[start..end]);
            pos = end + 2;
        }
    }
}

/// The string value of `"key":"…"` in a flat JSON text (no escapes expected: tokens
/// and UUIDs), found without parsing the document.
pub fn json_str<'a>(body: &'a [u8], key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\":\"");
    let start = memmem::find(body, needle.as_bytes())? + needle.len();
    let len = memchr::memchr(b'"', &body[start..])?;
    std::str::from_utf8(&body[start..start + len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_string_values() {
        let body = br#"{"accessToken":"a.b.c","refreshToken":"1234-5678","user":{}}"#;
        assert_eq!(json_str(body, "refreshToken"), Some("1234-5678"));
        assert_eq!(json_str(body, "accessToken"), Some("a.b.c"));
        assert_eq!(json_str(body, "missing"), None);
    }

    #[tokio::test]
    async fn parses_targets() {
        let t = Target::parse("http://127.0.0.1:4000/v1/").await.unwrap();
        assert_eq!(t.addr.port(), 4000);
        assert_eq!(t.prefix, "/v1");
        assert_eq!(t.host, "127.0.0.1:4000");
        let req = t.request("GET", "/healthz", "", None);
        assert!(req.starts_with(b"GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n"));
        assert!(Target::parse("https://x").await.is_err());
    }

    /// Serves canned responses on a local socket and checks the framing.
    #[tokio::test]
    async fn reads_length_and_chunked_bodies() {
        use tokio::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let replies: [&[u8]; 2] = [
                b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n\"OK\"",
                b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            ];
            for reply in replies {
                let _ = s.read(&mut buf).await.unwrap();
                // Split the reply across two writes to exercise partial reads.
                let (a, b) = reply.split_at(reply.len() / 2);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                s.write_all(b).await.unwrap();
            }
        });
        let mut c = Conn::connect(addr).await.unwrap();
        let (status, body) = c.send(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!((status, body), (200, &b"\"OK\""[..]));
        let (status, body) = c.send(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!((status, body), (401, &b"abcde"[..]));
    }
}
