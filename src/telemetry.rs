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

/// Flushes exported traces when dropped or shut down.
pub struct TelemetryGuard(Option<opentelemetry_sdk::trace::SdkTracerProvider>);

impl TelemetryGuard {
    pub fn shutdown(mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("hasura-auth: flushing traces: {e}");
        }
    }
}

/// JSON logs on stdout (text with `AUTH_LOG_FORMAT_TEXT`), plus OpenTelemetry traces over
/// OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Must run inside the tokio runtime.
pub fn init(config: &Config, tls: &Tls) -> TelemetryGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let fmt_layer = if config.logging.log_format_text {
        tracing_subscriber::fmt::layer().boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed()
    };
    let provider = match crate::otel::tracer_provider(tls) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hasura-auth: OpenTelemetry disabled: {e}");
            None
        }
    };
    let otel_layer = provider.as_ref().map(crate::otel::layer);
    let _ = tracing_subscriber::registry()
        .with(filter(config))
        .with(fmt_layer)
        .with(otel_layer)
        .try_init();
    TelemetryGuard(provider)
}

/// Logs every setting in one info line (`starting program`, field `flags` = JSON object keyed
/// by flag name). Secrets are masked as `********` by upstream's rule (see
/// [`crate::config::is_sensitive`]); this is the only place settings are logged.
pub fn log_settings(config: &Config) {
    let flags = serde_json::Value::Object(config.flag_values().masked());
    tracing::info!(flags = %flags, "starting program");
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
        tracing::subscriber::with_default(subscriber, || log_settings(&config));

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
