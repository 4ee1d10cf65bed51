//! Embedded schema migrations (upstream's 18 versions) and the takeover of databases
//! that upstream hasura-auth has run on.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Version found before running (0 on an empty database).
    pub from_version: i64,
    /// Version after running (18 today).
    pub to_version: i64,
    /// Versions applied by this run, in order.
    pub applied: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    State(String),
}

/// Brings the `auth` schema at `database_url` to the latest version.
pub async fn migrate(database_url: &str) -> Result<MigrationReport, MigrateError> {
    let _ = database_url;
    Err(MigrateError::State("migrations not implemented yet".into()))
}
