//! The operator's commands (`hasura-auth users|sessions|keys|oauth2-clients …`, docs/cli.md): an outer
//! layer next to [`crate::http`]. Like a handler, a command parses its arguments into
//! domain values, calls one workflow ([`crate::service::admin::UserAdmin`], built by
//! [`crate::startup`] from the server's configuration) and prints the result, as a table
//! or as JSON. Errors go to stderr; the exit code says what kind of failure it was
//! ([`ExitKind`]). Standard output is only ever the result, so logs go to stderr.

mod keys;
mod oauth2_clients;
mod output;
mod sessions;
mod users;

use std::future::Future;
use std::io::BufRead;

use crate::config::{Config, OperatorCommand};
use crate::service::admin::{AdminError, UserAdmin};

pub use output::Output;

/// What went wrong, as the exit code reports it (documented in docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// 1: anything else (database unreachable, email not accepted, bad configuration).
    Failed = 1,
    /// 2: bad arguments (also what clap exits with).
    Usage = 2,
    /// 3: no such user or session.
    NotFound = 3,
    /// 4: refused by the API's rules (taken email, weak password, role not allowed…).
    Refused = 4,
    /// 5: the database schema is not at this build's version (`hasura-auth migrate`).
    Schema = 5,
}

/// An error as the operator sees it: a kind (exit code), a stable code and a message.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: ExitKind,
    /// Stable identifier (`--json`): the API's error code for refusals.
    pub code: String,
    pub message: String,
}

impl Failure {
    fn new(kind: ExitKind, code: &str, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The configuration or the database connection is not usable.
    pub fn setup(message: impl Into<String>) -> Failure {
        Failure::new(ExitKind::Failed, "failed", message)
    }

    /// The schema is behind (or ahead of) this build.
    pub fn schema(message: impl Into<String>) -> Failure {
        Failure::new(ExitKind::Schema, "schema-not-migrated", message)
    }

    fn usage(message: impl Into<String>) -> Failure {
        Failure::new(ExitKind::Usage, "invalid-argument", message)
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        let message = e.to_string();
        match e {
            AdminError::UnknownUser(_) => {
                Failure::new(ExitKind::NotFound, "user-not-found", message)
            }
            AdminError::UnknownSession { .. } => {
                Failure::new(ExitKind::NotFound, "session-not-found", message)
            }
            AdminError::UnknownClient(_) => {
                Failure::new(ExitKind::NotFound, "client-not-found", message)
            }
            AdminError::Schema(_) => Failure::schema(message),
            AdminError::Invalid(_) => Failure::usage(message),
            AdminError::Refused { code, .. } => {
                Failure::new(ExitKind::Refused, code.as_str(), message)
            }
            AdminError::Failed(_) => Failure::setup(message),
        }
    }
}

/// Runs an operator command and reports its outcome; returns the exit code. `build`
/// makes the workflows of the commands that need the database (not `keys`).
pub async fn run<B, F>(command: OperatorCommand, json: bool, config: Config, build: B) -> u8
where
    B: FnOnce(Config) -> F,
    F: Future<Output = Result<UserAdmin, Failure>>,
{
    init_logs();
    let mut out = Output::new(json);
    let result = match command {
        OperatorCommand::Keys(action) => keys::run(action, &config, &mut out),
        OperatorCommand::Users(action) => match build(config).await {
            Ok(admin) => users::run(action, &admin, &mut out).await,
            Err(e) => Err(e),
        },
        OperatorCommand::Sessions(action) => match build(config).await {
            Ok(admin) => sessions::run(action, &admin, &mut out).await,
            Err(e) => Err(e),
        },
        OperatorCommand::OAuth2Clients(action) => match build(config).await {
            Ok(admin) => oauth2_clients::run(action, &admin, &mut out).await,
            Err(e) => Err(e),
        },
    };
    let result = result.and_then(|()| out.flush());
    match result {
        Ok(()) => 0,
        Err(failure) => {
            report(&failure, json);
            failure.kind as u8
        }
    }
}

/// The `--json` error line: the CLI's own shape on stderr (not the API's error body,
/// which only `crate::error` writes).
#[derive(serde::Serialize)]
struct ErrorLine<'a> {
    error: &'a str,
    message: &'a str,
}

/// The error on stderr: one line of text, or `{"error": code, "message": …}`. A closed
/// stderr is ignored (the exit code still tells).
fn report(failure: &Failure, json: bool) {
    use std::io::Write;
    let text = if json {
        serde_json::to_string(&ErrorLine {
            error: &failure.code,
            message: &failure.message,
        })
        .ok()
    } else {
        None
    };
    let text =
        text.unwrap_or_else(|| format!("hasura-auth: {} ({})", failure.message, failure.code));
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Logs on stderr, warnings only unless `RUST_LOG` says otherwise; the email adapter's
/// info lines stay, so that with no SMTP server the emails still show.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,hasura_auth::adapters::email=info,hasura_auth::adapters::email::templates=warn",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// A password given with `--password`, or read from the first line of stdin.
fn read_password(
    given: Option<String>,
    from_stdin: bool,
) -> Result<crate::domain::Password, Failure> {
    let raw = match (given, from_stdin) {
        (Some(p), _) => p,
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::setup(format!("reading the password from stdin: {e}")))?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, false) => return Err(Failure::usage("give --password or --password-stdin")),
    };
    crate::domain::Password::parse(raw).map_err(Failure::usage)
}
