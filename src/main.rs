use clap::Parser;
use hasura_auth::config::Cli;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (command, mut config) = cli.into_parts();
    config.apply_env_aliases();
    match hasura_auth::app::run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hasura-auth: {e}");
            ExitCode::FAILURE
        }
    }
}
