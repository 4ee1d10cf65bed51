//! A small real SMTP server for tests, listening on 127.0.0.1 (random port).
//!
//! It speaks enough ESMTP for our client: EHLO/HELO, AUTH PLAIN/LOGIN/CRAM-MD5 (the
//! credentials are checked), STARTTLS (optional, self-signed certificate), MAIL FROM,
//! RCPT TO, DATA (dot-unstuffing), RSET, NOOP and QUIT. Every accepted message is
//! recorded with its envelope, and can be read back with decoded headers and parts.
//!
//! ```ignore
//! let server = SmtpServer::start(SmtpOptions::default()).await;
//! // … point the mailer at 127.0.0.1:server.port() …
//! let msg = server.wait_for_message("user@example.test", Duration::from_secs(5)).await;
//! assert!(msg.header("X-Link").is_some());
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use mail_parser::MimeHeaders as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the test server behaves.
#[derive(Clone, Default)]
pub struct SmtpOptions {
    /// Required `(user, password)`; `None` = no authentication needed (AUTH still
    /// accepted and then always fails).
    pub credentials: Option<(String, String)>,
    /// Mechanisms advertised in EHLO (default: PLAIN LOGIN CRAM-MD5).
    pub mechanisms: Option<Vec<String>>,
    /// Accept connections but never answer (to test client time-outs).
    pub silent: bool,
    /// Offer STARTTLS with this certificate.
    pub starttls: Option<TestCert>,
    /// Speak TLS from the first byte (port 465 style) with this certificate.
    pub implicit_tls: Option<TestCert>,
    /// Loopback address to listen on (default 127.0.0.1).
    pub bind_ip: Option<std::net::IpAddr>,
}

impl SmtpOptions {
    pub fn with_credentials(user: &str, password: &str) -> Self {
        SmtpOptions {
            credentials: Some((user.to_owned(), password.to_owned())),
            ..Default::default()
        }
    }
}

/// A self-signed certificate for `localhost` / `127.0.0.1`, with a client connector
/// that trusts it.
#[derive(Clone)]
pub struct TestCert {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub connector: tokio_rustls::TlsConnector,
}

impl TestCert {
    pub fn generate() -> TestCert {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("self-signed certificate");
        let cert_der: CertificateDer<'static> = key.cert.der().clone();
        let key_der =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key_der)
            .expect("server TLS config");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TestCert {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            connector: tokio_rustls::TlsConnector::from(Arc::new(client)),
        }
    }
}

/// One message accepted by the server.
#[derive(Debug, Clone)]
pub struct CapturedMessage {
    /// Envelope sender (`MAIL FROM`, without brackets).
    pub mail_from: String,
    /// Envelope recipients (`RCPT TO`, without brackets).
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
    /// User that authenticated on the connection, if any.
    pub authenticated_as: Option<String>,
    /// Mechanism used to authenticate (`PLAIN`, `LOGIN`, `CRAM-MD5`).
    pub auth_mechanism: Option<String>,
    /// Whether the connection was encrypted when the message was sent.
    pub tls: bool,
}

impl CapturedMessage {
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("parsable message")
    }

    /// A header's decoded value (RFC 2047 decoded, unfolded), first occurrence.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = self.parsed();
        let value = parsed.header(name)?;
        if let Some(text) = value.as_text() {
            return Some(text.trim().to_owned());
        }
        parsed
            .header_raw(name)
            .map(|raw| raw.replace("\r\n", "").replace('\n', "").trim().to_owned())
    }

    /// A header's raw text exactly as received (still folded/encoded).
    pub fn header_raw(&self, name: &str) -> Option<String> {
        self.parsed().header_raw(name).map(|s| s.trim().to_owned())
    }

    /// The decoded Subject.
    pub fn subject(&self) -> Option<String> {
        self.parsed().subject().map(str::to_owned)
    }

    /// The top-level Content-Type (`type/subtype`).
    pub fn content_type(&self) -> Option<String> {
        let parsed = self.parsed();
        let ct = parsed.content_type()?;
        Some(match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        })
    }

    /// The decoded text/plain part.
    pub fn text(&self) -> Option<String> {
        self.parsed().body_text(0).map(|s| s.into_owned())
    }

    /// The decoded text/html part (only a real HTML part, not one converted from text).
    pub fn html(&self) -> Option<String> {
        let parsed = self.parsed();
        let id = *parsed.html_body.first()?;
        let part = parsed.part(id)?;
        let ct = part.content_type()?;
        if ct.subtype() != Some("html") {
            return None;
        }
        part.text_contents().map(str::to_owned)
    }

    /// `From:` as `(name, address)`.
    pub fn from(&self) -> Option<(Option<String>, String)> {
        let parsed = self.parsed();
        let addr = parsed.from()?.first()?;
        Some((addr.name().map(str::to_owned), addr.address()?.to_owned()))
    }
}

struct Shared {
    messages: Mutex<Vec<CapturedMessage>>,
    count: watch::Sender<usize>,
    auth_failures: Mutex<Vec<String>>,
}

/// A running server; stops when dropped.
pub struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start(opts: SmtpOptions) -> SmtpServer {
        let ip = opts.bind_ip.unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
        let listener = TcpListener::bind((ip, 0)).await.expect("bind smtp");
        let port = listener.local_addr().unwrap().port();
        let (count, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            count,
            auth_failures: Mutex::new(Vec::new()),
        });
        let opts = Arc::new(opts);
        let task = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut connections = Vec::new();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        break;
                    };
                    let shared = shared.clone();
                    let opts = opts.clone();
                    connections.push(tokio::spawn(async move {
                        let _ = serve_connection(stream, &opts, &shared).await;
                    }));
                    connections.retain(|c: &JoinHandle<()>| !c.is_finished());
                }
                for c in connections {
                    c.abort();
                }
            })
        };
        SmtpServer { port, shared, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<CapturedMessage> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Usernames of failed AUTH attempts (wrong credentials), in order.
    pub fn auth_failures(&self) -> Vec<String> {
        self.shared.auth_failures.lock().unwrap().clone()
    }

    /// The first message with `to` among its envelope recipients (case-insensitive);
    /// panics after `timeout`.
    pub async fn wait_for_message(&self, to: &str, timeout: Duration) -> CapturedMessage {
        let mut rx = self.shared.count.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .shared
                .messages
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
                .cloned();
            if let Some(m) = found {
                return m;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!("no email to {to} within {timeout:?}");
            }
        }
    }
}

enum Outcome<S> {
    Closed,
    StartTls(BufReader<S>),
}

async fn serve_connection(
    stream: TcpStream,
    opts: &SmtpOptions,
    shared: &Shared,
) -> std::io::Result<()> {
    if opts.silent {
        // Hold the connection open without a word.
        let _keep = stream;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Ok(());
    }
    if let Some(cert) = &opts.implicit_tls {
        let tls = cert.acceptor.accept(stream).await?;
        session(BufReader::new(tls), opts, shared, true, true).await?;
        return Ok(());
    }
    match session(BufReader::new(stream), opts, shared, false, true).await? {
        Outcome::Closed => Ok(()),
        Outcome::StartTls(reader) => {
            let cert = opts.starttls.as_ref().expect("STARTTLS offered");
            let tls = cert.acceptor.accept(reader.into_inner()).await?;
            session(BufReader::new(tls), opts, shared, true, false).await?;
            Ok(())
        }
    }
}

async fn reply<S: AsyncRead + AsyncWrite + Unpin>(
    w: &mut BufReader<S>,
    text: &str,
) -> std::io::Result<()> {
    let s = w.get_mut();
    s.write_all(text.as_bytes()).await?;
    s.write_all(b"\r\n").await?;
    s.flush().await
}

/// Reads one line without its CRLF; `None` at end of stream.
async fn read_line<S: AsyncRead + Unpin>(r: &mut BufReader<S>) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(30), r.read_until(b'\n', &mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    if n == 0 {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(buf))
}

/// The address inside `<…>` after `prefix` (e.g. `FROM:`), parameters ignored.
fn path_arg(args: &str, prefix: &str) -> Option<String> {
    let rest = args.get(..prefix.len())?;
    if !rest.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = args[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_owned())
}

fn hmac_md5_hex(key: &[u8], msg: &[u8]) -> String {
    use md5::{Digest, Md5};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Md5::new().chain_update(&ipad).chain_update(msg).finalize();
    let outer = Md5::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

struct Txn {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: BufReader<S>,
    opts: &SmtpOptions,
    shared: &Shared,
    tls: bool,
    greet: bool,
) -> std::io::Result<Outcome<S>> {
    if greet {
        reply(&mut io, "220 localhost ESMTP hasura-auth test server").await?;
    }
    let mechanisms = opts
        .mechanisms
        .clone()
        .unwrap_or_else(|| vec!["PLAIN".into(), "LOGIN".into(), "CRAM-MD5".into()]);
    let mut user: Option<(String, String)> = None;
    let mut txn = Txn {
        mail_from: None,
        rcpt_to: Vec::new(),
    };
    while let Some(line) = read_line(&mut io).await? {
        let line = String::from_utf8_lossy(&line).into_owned();
        let (verb, args) = match line.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_owned()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        match verb.as_str() {
            "EHLO" => {
                txn = Txn {
                    mail_from: None,
                    rcpt_to: Vec::new(),
                };
                let mut lines = vec!["localhost greets you".to_owned()];
                if !mechanisms.is_empty() {
                    lines.push(format!("AUTH {}", mechanisms.join(" ")));
                }
                if opts.starttls.is_some() && !tls {
                    lines.push("STARTTLS".into());
                }
                lines.push("8BITMIME".into());
                lines.push("SIZE 10485760".into());
                let n = lines.len();
                let text = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i + 1 == n { ' ' } else { '-' }))
                    .collect::<Vec<_>>()
                    .join("\r\n");
                reply(&mut io, &text).await?;
            }
            "HELO" => {
                txn = Txn {
                    mail_from: None,
                    rcpt_to: Vec::new(),
                };
                reply(&mut io, "250 localhost").await?;
            }
            "STARTTLS" if opts.starttls.is_some() && !tls => {
                reply(&mut io, "220 2.0.0 Ready to start TLS").await?;
                return Ok(Outcome::StartTls(io));
            }
            "AUTH" => {
                if user.is_some() {
                    reply(&mut io, "503 5.5.1 Already authenticated").await?;
                    continue;
                }
                let (mech, initial) = match args.split_once(' ') {
                    Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
                    None => (args.to_ascii_uppercase(), None),
                };
                let attempt = match mech.as_str() {
                    "PLAIN" => auth_plain(&mut io, initial).await?,
                    "LOGIN" => auth_login(&mut io, initial).await?,
                    "CRAM-MD5" => auth_cram_md5(&mut io, opts).await?,
                    _ => {
                        reply(&mut io, "504 5.5.4 Unrecognized authentication type").await?;
                        continue;
                    }
                };
                let Some(attempt) = attempt else {
                    reply(&mut io, "501 5.5.2 Cannot decode response").await?;
                    continue;
                };
                let ok = match (&opts.credentials, &attempt) {
                    (Some((u, p)), Attempt::Password(au, ap)) => u == au && p == ap,
                    (Some((u, p)), Attempt::Cram(au, challenge, digest)) => {
                        u == au && hmac_md5_hex(p.as_bytes(), challenge.as_bytes()) == *digest
                    }
                    (None, _) => false,
                };
                if ok {
                    user = Some((attempt.user().to_owned(), mech));
                    reply(&mut io, "235 2.7.0 Authentication successful").await?;
                } else {
                    shared
                        .auth_failures
                        .lock()
                        .unwrap()
                        .push(attempt.user().to_owned());
                    reply(&mut io, "535 5.7.8 Authentication credentials invalid").await?;
                }
            }
            "MAIL" => {
                if opts.credentials.is_some() && user.is_none() {
                    reply(&mut io, "530 5.7.0 Authentication required").await?;
                    continue;
                }
                match path_arg(&args, "FROM:") {
                    Some(from) => {
                        txn = Txn {
                            mail_from: Some(from),
                            rcpt_to: Vec::new(),
                        };
                        reply(&mut io, "250 2.1.0 OK").await?;
                    }
                    None => reply(&mut io, "501 5.5.4 Syntax: MAIL FROM:<address>").await?,
                }
            }
            "RCPT" => {
                if txn.mail_from.is_none() {
                    reply(&mut io, "503 5.5.1 Need MAIL first").await?;
                    continue;
                }
                match path_arg(&args, "TO:") {
                    Some(to) if !to.is_empty() => {
                        txn.rcpt_to.push(to);
                        reply(&mut io, "250 2.1.5 OK").await?;
                    }
                    _ => reply(&mut io, "501 5.5.4 Syntax: RCPT TO:<address>").await?,
                }
            }
            "DATA" => {
                if txn.rcpt_to.is_empty() {
                    reply(&mut io, "503 5.5.1 Need RCPT first").await?;
                    continue;
                }
                reply(&mut io, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let Some(line) = read_line(&mut io).await? else {
                        return Ok(Outcome::Closed);
                    };
                    if line == b"." {
                        break;
                    }
                    let line = line.strip_prefix(b".").unwrap_or(&line);
                    data.extend_from_slice(line);
                    data.extend_from_slice(b"\r\n");
                }
                let msg = CapturedMessage {
                    mail_from: txn.mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut txn.rcpt_to),
                    data,
                    authenticated_as: user.as_ref().map(|(u, _)| u.clone()),
                    auth_mechanism: user.as_ref().map(|(_, m)| m.clone()),
                    tls,
                };
                let n = {
                    let mut messages = shared.messages.lock().unwrap();
                    messages.push(msg);
                    messages.len()
                };
                shared.count.send_replace(n);
                reply(&mut io, "250 2.0.0 OK queued").await?;
            }
            "RSET" => {
                txn = Txn {
                    mail_from: None,
                    rcpt_to: Vec::new(),
                };
                reply(&mut io, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut io, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut io, "221 2.0.0 Bye").await?;
                return Ok(Outcome::Closed);
            }
            _ => reply(&mut io, "502 5.5.2 Command not recognized").await?,
        }
    }
    Ok(Outcome::Closed)
}

enum Attempt {
    Password(String, String),
    /// user, challenge, hex digest
    Cram(String, String, String),
}

impl Attempt {
    fn user(&self) -> &str {
        match self {
            Attempt::Password(u, _) | Attempt::Cram(u, _, _) => u,
        }
    }
}

fn b64_text(s: &str) -> Option<String> {
    String::from_utf8(B64.decode(s.trim()).ok()?).ok()
}

async fn client_response<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    prompt: &str,
) -> std::io::Result<Option<String>> {
    reply(io, &format!("334 {prompt}")).await?;
    let Some(line) = read_line(io).await? else {
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&line).into_owned();
    if line.trim() == "*" {
        return Ok(None);
    }
    Ok(b64_text(&line))
}

async fn auth_plain<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    initial: Option<String>,
) -> std::io::Result<Option<Attempt>> {
    let decoded = match initial {
        Some(i) if i != "=" => b64_text(&i),
        _ => client_response(io, "").await?,
    };
    Ok(decoded.and_then(|d| {
        let mut parts = d.split('\0');
        let _authzid = parts.next()?;
        let user = parts.next()?.to_owned();
        let pass = parts.next()?.to_owned();
        Some(Attempt::Password(user, pass))
    }))
}

async fn auth_login<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    initial: Option<String>,
) -> std::io::Result<Option<Attempt>> {
    let user = match initial {
        Some(i) => b64_text(&i),
        None => client_response(io, &B64.encode("Username:")).await?,
    };
    let Some(user) = user else { return Ok(None) };
    let Some(pass) = client_response(io, &B64.encode("Password:")).await? else {
        return Ok(None);
    };
    Ok(Some(Attempt::Password(user, pass)))
}

async fn auth_cram_md5<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    _opts: &SmtpOptions,
) -> std::io::Result<Option<Attempt>> {
    let challenge = format!(
        "<{}.{}@localhost>",
        rand::random::<u32>(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let Some(resp) = client_response(io, &B64.encode(&challenge)).await? else {
        return Ok(None);
    };
    Ok(resp.rsplit_once(' ').map(|(user, digest)| {
        Attempt::Cram(user.to_owned(), challenge, digest.to_ascii_lowercase())
    }))
}
