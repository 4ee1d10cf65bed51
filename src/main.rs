use hasura_auth::config::{CommandKind, parse_cli};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parse_cli();
    let (command, mut config) = cli.into_parts();
    config.apply_env_aliases();
    if let CommandKind::Operator { command, json } = command {
        // `users`, `sessions`, `keys`: exit codes of their own (docs/cli.md).
        return ExitCode::from(hasura_auth::startup::operate(*command, json, config).await);
    }
    match hasura_auth::startup::run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hasura-auth: {e}");
            ExitCode::FAILURE
        }
    }
}
