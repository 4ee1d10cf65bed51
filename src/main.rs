use hasura_auth::config::parse_cli;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parse_cli();
    let (command, mut config) = cli.into_parts();
    config.apply_env_aliases();
    match hasura_auth::startup::run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hasura-auth: {e}");
            ExitCode::FAILURE
        }
    }
}
