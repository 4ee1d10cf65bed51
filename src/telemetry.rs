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
