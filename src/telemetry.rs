//! Logging set-up.

use crate::config::Config;

pub fn init(config: &Config) {
    let level = if config.debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if config.log_format_text {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// Logs every setting in one info line (`starting program`, field `flags` = JSON object keyed
/// by flag name). Secrets are masked as `********` by upstream's rule (see
/// [`crate::config::is_sensitive`]); this is the only place settings are logged.
pub fn log_settings(config: &Config) {
    let flags = serde_json::Value::Object(config.settings().masked());
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
        // Upstream's 150 flags plus ours (AUTH_SMTP_POSTMARK_API_URL).
        assert_eq!(flags.as_object().unwrap().len(), 151);
        assert_eq!(flags["smtp-password"], "********");
        assert_eq!(flags["github-client-secret"], "********");
        assert_eq!(flags["smtp-user"], "visible-user");
        assert_eq!(flags["port"], "4001");
    }
}
