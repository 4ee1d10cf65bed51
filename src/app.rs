//! Start-up: configuration → database → migrations → state → HTTP server.

use std::sync::Arc;

use crate::adapters::email::{Mailer, Templates};
use crate::config::{CommandKind, Config};
use crate::db::DbPool;

/// Everything a request needs, built once at start-up.
pub struct AppState {
    pub config: Config,
    pub db: DbPool,
    pub mailer: Mailer,
    pub templates: Templates,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
    #[error("migrations: {0}")]
    Migrate(#[from] crate::db::migrate::MigrateError),
    #[error("templates: {0}")]
    Templates(#[from] crate::adapters::email::TemplateError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub async fn run(command: CommandKind, config: Config) -> Result<(), StartupError> {
    crate::telemetry::init(&config);
    match command {
        CommandKind::Migrate => {
            let report = crate::db::migrate::migrate(config.migrations_database_url()).await?;
            tracing::info!(
                from = report.from_version,
                to = report.to_version,
                "migrations applied"
            );
            Ok(())
        }
        CommandKind::Serve => Err(StartupError::Config("serve not implemented yet".into())),
    }
}

pub type SharedState = Arc<AppState>;
