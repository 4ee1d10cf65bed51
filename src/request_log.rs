//! The one log line per request, made cheap.
//!
//! Through `tracing` the line cost as much as the rest of a cheap request: a span per
//! request, its fields visited and written twice (`span` and `spans`), a JSON formatter
//! that allocates per field, and a blocking write to stdout. In JSON mode the line is
//! built here instead, once, into a buffer the thread reuses, and appended to the
//! batching writer every log line goes through ([`crate::log_writer`]: a background
//! thread writes to stdout; when it falls behind, lines are dropped and counted rather
//! than making a request wait).
//! A span per request is made only when OpenTelemetry export is on, since only the
//! exporter reads it. In text mode (development) the line stays an ordinary event.
//!
//! The trace id of the request being served is kept in a task-local, so that the error
//! lines a request logs carry it too ([`current_trace_id`]).

use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::log_writer::LogWriter;

/// The `target` of request lines (`RUST_LOG=hasura_auth::request=warn` silences them).
pub const TARGET: &str = "hasura_auth::request";

static JSON_SINK: OnceLock<LogWriter> = OnceLock::new();
static SPANS: AtomicBool = AtomicBool::new(false);

/// JSON mode: request lines are written to `writer` directly.
pub fn write_json_to(writer: LogWriter) {
    let _ = JSON_SINK.set(writer);
}

/// Whether a span is opened per request (OpenTelemetry export is configured).
pub fn set_spans(on: bool) {
    SPANS.store(on, Ordering::Relaxed);
}

pub fn spans() -> bool {
    SPANS.load(Ordering::Relaxed)
}

/// Lines the log writer dropped because stdout did not keep up.
pub fn dropped_lines() -> u64 {
    JSON_SINK.get().map_or(0, LogWriter::dropped_lines)
}

/// A B3 trace id (or span id) as received or generated: at most 64 bytes, kept inline so
/// that carrying it through the request costs no allocation.
#[derive(Clone, Copy)]
pub struct TraceId {
    bytes: [u8; 64],
    len: u8,
}

impl TraceId {
    /// A header value usable as an id: 1 to 64 visible ASCII characters.
    pub fn parse(value: &[u8]) -> Option<TraceId> {
        if value.is_empty() || value.len() > 64 || !value.iter().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..value.len()].copy_from_slice(value);
        Some(TraceId {
            bytes,
            len: value.len() as u8,
        })
    }

    /// A new 128-bit id in B3's 32 hex digits.
    pub fn generate() -> TraceId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut value: u128 = rand::random();
        let mut bytes = [0u8; 64];
        for slot in bytes[..32].iter_mut().rev() {
            *slot = HEX[(value & 0xf) as usize];
            value >>= 4;
        }
        TraceId { bytes, len: 32 }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Only visible ASCII is ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl std::fmt::Debug for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

tokio::task_local! {
    static CURRENT: TraceId;
}

/// Runs `fut` with `trace_id` as the current request's trace id.
pub async fn with_trace_id<F: std::future::Future>(trace_id: TraceId, fut: F) -> F::Output {
    CURRENT.scope(trace_id, fut).await
}

/// The trace id of the request being served, or "" outside a request.
pub fn current_trace_id() -> TraceId {
    CURRENT.try_with(|id| *id).unwrap_or(TraceId {
        bytes: [0; 64],
        len: 0,
    })
}

/// What the request line says.
pub struct RequestLine<'a> {
    pub trace_id: &'a TraceId,
    pub span_id: Option<&'a TraceId>,
    pub parent_span_id: Option<&'a TraceId>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub latency_us: u64,
}

thread_local! {
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// Logs the request line at info level, if `RUST_LOG` lets it through.
pub fn log(line: &RequestLine<'_>) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let Some(sink) = JSON_SINK.get() else {
        tracing::info!(
            target: TARGET,
            trace_id = line.trace_id.as_str(),
            span_id = line.span_id.map_or("", TraceId::as_str),
            parent_span_id = line.parent_span_id.map_or("", TraceId::as_str),
            method = line.method,
            path = line.path,
            status = line.status,
            latency_us = line.latency_us,
            "request"
        );
        return;
    };
    LINE.with_borrow_mut(|buf| {
        buf.clear();
        if encode(buf, line, chrono::Utc::now()).is_ok() {
            // One append is one line for the writer: lines never interleave.
            sink.append(buf);
        }
    });
}

/// The JSON line, with the field names and order of the `tracing` JSON lines
/// (`timestamp`, `level`, the fields, `target`).
fn encode(
    buf: &mut Vec<u8>,
    line: &RequestLine<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<()> {
    buf.extend_from_slice(br#"{"timestamp":""#);
    timestamp(buf, now);
    buf.extend_from_slice(br#"","level":"INFO","message":"request","trace_id":"#);
    string(buf, line.trace_id.as_str())?;
    buf.extend_from_slice(br#","span_id":"#);
    string(buf, line.span_id.map_or("", TraceId::as_str))?;
    buf.extend_from_slice(br#","parent_span_id":"#);
    string(buf, line.parent_span_id.map_or("", TraceId::as_str))?;
    buf.extend_from_slice(br#","method":"#);
    string(buf, line.method)?;
    buf.extend_from_slice(br#","path":"#);
    string(buf, line.path)?;
    write!(
        buf,
        r#","status":{},"latency_us":{},"target":"{TARGET}"}}"#,
        line.status, line.latency_us
    )?;
    buf.push(b'\n');
    Ok(())
}

/// `now` as `%Y-%m-%dT%H:%M:%S%.6fZ`, written digit by digit: chrono's `format` parses
/// the pattern on every call, which cost as much as the rest of the line.
fn timestamp(buf: &mut Vec<u8>, now: chrono::DateTime<chrono::Utc>) {
    use chrono::{Datelike, Timelike};
    let Ok(year) = u32::try_from(now.year()) else {
        let _ = write!(buf, "{}", now.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        return;
    };
    if year > 9999 {
        let _ = write!(buf, "{}", now.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        return;
    }
    // chrono keeps a leap second as nanoseconds past 10^9 of second 59.
    let nanos = now.nanosecond();
    let second = now.second() + u32::from(nanos >= 1_000_000_000);
    let fields: [(u32, usize, u8); 7] = [
        (year, 4, b'-'),
        (now.month(), 2, b'-'),
        (now.day(), 2, b'T'),
        (now.hour(), 2, b':'),
        (now.minute(), 2, b':'),
        (second, 2, b'.'),
        ((nanos % 1_000_000_000) / 1000, 6, b'Z'),
    ];
    for (value, width, after) in fields {
        let mut digits = [b'0'; 6];
        let mut rest = value;
        for d in digits[..width].iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        buf.extend_from_slice(&digits[..width]);
        buf.push(after);
    }
}

fn string(buf: &mut Vec<u8>, value: &str) -> std::io::Result<()> {
    serde_json::to_writer(&mut *buf, value).map_err(std::io::Error::other)
}

/// Stdout for the background writer: buffered (the writer flushes after each batch of
/// lines), and quiet once the reader has gone (`hasura-auth | head`).
pub struct QuietStdout(std::io::BufWriter<std::io::Stdout>);

impl QuietStdout {
    pub fn new() -> QuietStdout {
        QuietStdout(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ))
    }
}

impl Default for QuietStdout {
    fn default() -> Self {
        Self::new()
    }
}

fn quiet(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

impl Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        quiet(self.0.write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        quiet(self.0.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_one_json_object_with_the_request_fields() {
        let trace = TraceId::parse(b"80f198ee56343ba864fe8b2a57d3eff7").unwrap();
        let span = TraceId::parse(b"e457b5a2e4d86bd1").unwrap();
        let line = RequestLine {
            trace_id: &trace,
            span_id: Some(&span),
            parent_span_id: None,
            method: "POST",
            path: "/signin/\"quoted\"\\path",
            status: 401,
            latency_us: 1234,
        };
        let mut buf = Vec::new();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T19:30:01.5Z")
            .unwrap()
            .to_utc();
        encode(&mut buf, &line, now).unwrap();
        assert_eq!(buf.last(), Some(&b'\n'));
        assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 1);
        let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "timestamp": "2026-12-05T19:30:01.500000Z",
                "level": "INFO",
                "message": "request",
                "trace_id": "80f198ee56343ba864fe8b2a57d3eff7",
                "span_id": "e457b5a2e4d86bd1",
                "parent_span_id": "",
                "method": "POST",
                "path": "/signin/\"quoted\"\\path",
                "status": 401,
                "latency_us": 1234,
                "target": "hasura_auth::request",
            })
        );
    }

    #[test]
    fn timestamps_are_written_as_chrono_formats_them() {
        let instants = [
            "2026-12-05T19:30:01.5Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59.999999999Z",
            "0099-07-04T03:04:05.000007Z",
            "9999-12-31T23:59:59.123456Z",
        ];
        for text in instants {
            let now = chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
            let mut buf = Vec::new();
            timestamp(&mut buf, now);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                "{text}"
            );
        }
        // Now, and a leap second (chrono: nanoseconds past 10^9).
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_250_000_000))
            .unwrap()
            .and_utc();
        for now in [chrono::Utc::now(), leap] {
            let mut buf = Vec::new();
            timestamp(&mut buf, now);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
    }

    #[test]
    fn trace_ids_are_32_hex_digits_and_differ() {
        let a = TraceId::generate();
        let b = TraceId::generate();
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn received_ids_are_bounded_and_visible() {
        assert!(TraceId::parse(b"").is_none());
        assert!(TraceId::parse(&[b'a'; 65]).is_none());
        assert!(TraceId::parse(b"has space").is_none());
        assert!(TraceId::parse("é".as_bytes()).is_none());
        assert_eq!(TraceId::parse(&[b'f'; 64]).unwrap().as_str().len(), 64);
    }

    #[tokio::test]
    async fn the_trace_id_is_visible_inside_the_request_only() {
        assert_eq!(current_trace_id().as_str(), "");
        let id = TraceId::parse(b"abc123").unwrap();
        let seen = with_trace_id(id, async { current_trace_id().as_str().to_owned() }).await;
        assert_eq!(seen, "abc123");
    }
}
