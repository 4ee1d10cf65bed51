//! Logging set-up.

use tracing_subscriber::Layer;

use crate::config::Config;
use crate::tls::Tls;

/// Targets whose debug output contains secrets (statement parameters, raw protocol
/// traffic). They are capped at `info` whatever `AUTH_DEBUG` or `RUST_LOG` say.
const CHATTY_TARGETS: &[&str] = &["tokio_postgres", "mail_send", "hyper", "reqwest", "rustls"];

/// `AUTH_DEBUG` turns on debug logs of this service only; `RUST_LOG` overrides both.
pub fn filter(config: &Config) -> tracing_subscriber::EnvFilter {
    let default = if config.logging.debug {
        "info,hasura_auth=debug"
    } else {
        "info"
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    for target in CHATTY_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Flushes exported traces and buffered log lines when shut down (or dropped).
pub struct TelemetryGuard {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    _log_writer: Option<crate::log_writer::LogWriterGuard>,
}

impl TelemetryGuard {
    pub fn shutdown(mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("hasura-auth: flushing traces: {e}");
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (upstream's default, for log collectors).
    Json,
    /// Human-readable lines; `dev` shortens them (time of day, no target), as a
    /// development server prints.
    Text { dev: bool },
}

impl LogFormat {
    /// `AUTH_LOG_FORMAT_TEXT` when given; unset, JSON, except text in development mode.
    pub fn choose(config: &Config, development_mode: bool) -> LogFormat {
        match config.logging.log_format_text {
            Some(true) => LogFormat::Text {
                dev: development_mode,
            },
            Some(false) => LogFormat::Json,
            None if development_mode => LogFormat::Text { dev: true },
            None => LogFormat::Json,
        }
    }
}

/// Colour codes only for a terminal: in a file or a pipe they are noise. `NO_COLOR`
/// (any non-empty value, <https://no-color.org>) turns them off there too.
fn ansi_colours() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Development log lines: `12:34:56.789  INFO message key=value`, without the span
/// context and trace ids that JSON lines carry for log collectors.
struct DevLine;

/// Fields left out of development lines (they matter to a trace collector, not a reader).
const DEV_HIDDEN_FIELDS: [&str; 3] = ["trace_id", "span_id", "parent_span_id"];

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for DevLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let colour = match level {
            tracing::Level::ERROR => "31",
            tracing::Level::WARN => "33",
            tracing::Level::INFO => "32",
            _ => "2",
        };
        let time = chrono::Local::now().format("%H:%M:%S%.3f");
        if writer.has_ansi_escapes() {
            write!(
                writer,
                "\x1b[2m{time}\x1b[0m \x1b[{colour}m{level:>5}\x1b[0m "
            )?;
        } else {
            write!(writer, "{time} {level:>5} ")?;
        }
        let mut fields = DevFields::default();
        event.record(&mut fields);
        writeln!(writer, "{}{}", fields.message, fields.rest)
    }
}

#[derive(Default)]
struct DevFields {
    message: String,
    rest: String,
}

impl tracing::field::Visit for DevFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            name if DEV_HIDDEN_FIELDS.contains(&name) => {}
            name => {
                use std::fmt::Write;
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            name if DEV_HIDDEN_FIELDS.contains(&name) => {}
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

/// Logs on stdout in `format`, plus OpenTelemetry traces over OTLP when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Must run inside the tokio runtime.
pub fn init(config: &Config, tls: &Tls, format: LogFormat) -> TelemetryGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    // A closed stdout (`hasura-auth | head`) must not turn every log line into a
    // complaint on stderr.
    let mut log_writer = None;
    let fmt_layer = match format {
        LogFormat::Json => {
            // JSON is the production format: lines go through a background thread, and
            // the request line is written by `request_log` without the formatter.
            match crate::log_writer::LogWriter::spawn(
                crate::request_log::QuietStdout::new(),
                LOG_BUFFER_BYTES,
                "hasura-auth-log",
            ) {
                Ok((writer, guard)) => {
                    log_writer = Some(guard);
                    crate::request_log::write_json_to(writer.clone());
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_span_list(false)
                        .with_writer(writer)
                        .log_internal_errors(false)
                        .boxed()
                }
                // No thread for the writer: lines are written by the thread that logs.
                Err(e) => {
                    eprintln!("hasura-auth: log writer thread: {e}; writing logs directly");
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_span_list(false)
                        .log_internal_errors(false)
                        .boxed()
                }
            }
        }
        LogFormat::Text { dev: false } => tracing_subscriber::fmt::layer()
            .with_ansi(ansi_colours())
            .log_internal_errors(false)
            .boxed(),
        LogFormat::Text { dev: true } => tracing_subscriber::fmt::layer()
            .with_ansi(ansi_colours())
            .event_format(DevLine)
            .log_internal_errors(false)
            .boxed(),
    };
    let provider = match crate::otel::tracer_provider(tls) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hasura-auth: OpenTelemetry disabled: {e}");
            None
        }
    };
    let otel_layer = provider.as_ref().map(crate::otel::layer);
    crate::request_log::set_spans(provider.is_some());
    let _ = tracing_subscriber::registry()
        .with(filter(config))
        .with(fmt_layer)
        .with(otel_layer)
        .try_init();
    TelemetryGuard {
        provider,
        _log_writer: log_writer,
    }
}

/// Bytes of lines the log writer holds while stdout is slow (some 16,000 request
/// lines); beyond, lines are dropped (and counted in `/metrics`) rather than making
/// requests wait.
const LOG_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Logs every setting in one info line (`starting program`, field `flags` = JSON object keyed
/// by flag name). Secrets are masked as `********` by upstream's rule (see
/// [`crate::config::is_sensitive`]); this is the only place settings are logged.
///
/// In development mode the line is logged at debug level (`AUTH_DEBUG=true` shows it):
/// there it would be the first thing a newcomer reads, and it is one huge line.
pub fn log_settings(config: &Config, development_mode: bool) {
    let flags = serde_json::Value::Object(config.flag_values().masked());
    if development_mode {
        tracing::debug!(flags = %flags, "starting program");
    } else {
        tracing::info!(flags = %flags, "starting program");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn development_mode_logs_text_unless_told_otherwise() {
        let unset = Config::from_args(["hasura-auth"]).expect("defaults");
        let text = Config::from_args(["hasura-auth", "--log-format-text"]).expect("text");
        let json = Config::from_args(["hasura-auth", "--log-format-text=false"]).expect("json");
        assert_eq!(LogFormat::choose(&unset, false), LogFormat::Json);
        assert_eq!(
            LogFormat::choose(&unset, true),
            LogFormat::Text { dev: true }
        );
        assert_eq!(
            LogFormat::choose(&text, false),
            LogFormat::Text { dev: false }
        );
        assert_eq!(
            LogFormat::choose(&text, true),
            LogFormat::Text { dev: true }
        );
        assert_eq!(LogFormat::choose(&json, true), LogFormat::Json);
    }

    #[test]
    fn log_settings_masks_config_secrets() {
        let config = Config::from_args([
            "hasura-auth",
            "--smtp-password=hunter2-smtp",
            "--hasura-admin-secret=hunter2-admin",
            "--hasura-graphql-jwt-secret={\"type\":\"HS256\",\"key\":\"hunter2-jwt-key-0123456789abcdef\"}",
            "--postgres=postgres://user:hunter2-db@db/auth",
            "--github-client-id=hunter2-client-id",
            "--github-client-secret=hunter2-github",
            "--apple-private-key=hunter2-pem",
            "--twitter-consumer-key=hunter2-twitter",
            "--sms-twilio-auth-token=hunter2-twilio",
            "--turnstile-secret=hunter2-turnstile",
            "--smtp-user=visible-user",
            "--port=4001",
        ])
        .expect("valid arguments");

        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || log_settings(&config, false));

        let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(output.lines().count(), 1, "exactly one log line: {output}");
        assert!(!output.contains("hunter2"), "a secret leaked: {output}");
        let line: serde_json::Value = serde_json::from_str(output.trim()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "starting program");
        let flags: serde_json::Value =
            serde_json::from_str(line["flags"].as_str().unwrap()).unwrap();
        assert_eq!(
            flags.as_object().unwrap().len(),
            150 + crate::config::ADDED_FLAGS.len()
                + crate::config::oauth::OAuthExtras::flags().count()
        );
        assert_eq!(flags["smtp-password"], "********");
        assert_eq!(flags["github-client-secret"], "********");
        assert_eq!(flags["smtp-user"], "visible-user");
        assert_eq!(flags["port"], "4001");
    }
}
