//! Turning the command line and the environment into a [`Cli`].
//!
//! On top of plain clap this does three things upstream (urfave/cli) users rely on:
//! - an env var set to the empty string behaves as upstream: a string setting becomes
//!   empty, a boolean becomes `false`, anything else (numbers, durations, lists, enums)
//!   keeps its default;
//! - a bad value is reported with the env var AND the flag, e.g.
//!   `invalid value "yes" for AUTH_CONCEAL_ERRORS (--conceal-errors): …`;
//! - `HASURA_GRAPHQL_DATABASE_URL` is applied as the alias of `POSTGRES_CONNECTION`.

use std::any::TypeId;
use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command, CommandFactory, FromArgMatches};

use super::flag_values::{MASK, is_sensitive};
use super::{Cli, Config, Secret};

/// Parses `std::env::args_os()` and the environment; on error prints the message and exits
/// (code 2, or 0 for `--help`/`--version`). `--check-config` prints the settings as one JSON
/// object (secrets masked) and exits 0.
pub fn parse_cli() -> Cli {
    match try_parse_cli_from(std::env::args_os()) {
        Ok(cli) if cli.check_config => {
            let settings = serde_json::Value::Object(cli.config().flag_values().masked());
            crate::stdout::print(&settings.to_string());
            std::process::exit(0);
        }
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}

/// Parses the given arguments (the first one is the program name) and the environment.
pub fn try_parse_cli_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = command();
    let matches = cmd
        .try_get_matches_from_mut(args)
        .map_err(|e| name_env_in_error(&cmd, e))?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    cli.config_mut().apply_env_aliases();
    Ok(cli)
}

/// The clap command, adjusted for env vars that are set but empty.
pub fn command() -> Command {
    let mut cmd = apply_empty_env_rules(Cli::command());
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, apply_empty_env_rules);
    }
    cmd
}

enum EmptyEnv {
    /// Strings: the empty value is a value.
    Keep,
    /// Booleans: empty means false.
    False,
    /// Everything else: as if unset (the default applies).
    Ignore,
}

/// Whether the argument takes free text (a string or a secret).
fn is_text(arg: &Arg) -> bool {
    let ty = arg.get_value_parser().type_id();
    ty == TypeId::of::<String>() || ty == TypeId::of::<Secret>()
}

fn empty_env_rule(arg: &Arg) -> EmptyEnv {
    if arg.get_value_parser().type_id() == TypeId::of::<bool>() {
        EmptyEnv::False
    } else if is_text(arg) && arg.get_value_delimiter().is_none() {
        EmptyEnv::Keep
    } else {
        EmptyEnv::Ignore
    }
}

fn apply_empty_env_rules(mut cmd: Command) -> Command {
    let empty: Vec<(String, EmptyEnv)> = cmd
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.is_empty())
        })
        .map(|arg| (arg.get_id().to_string(), empty_env_rule(arg)))
        .collect();
    for (id, rule) in empty {
        cmd = match rule {
            EmptyEnv::Keep => cmd,
            EmptyEnv::False => cmd.mut_arg(id, |a| a.env(None).default_value("false")),
            EmptyEnv::Ignore => cmd.mut_arg(id, |a| a.env(None)),
        };
    }
    cmd
}

/// Finds the argument whose `--long` is `long`, in the command or its subcommands.
fn find_arg<'a>(cmd: &'a Command, long: &str) -> Option<&'a Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .or_else(|| cmd.get_subcommands().find_map(|s| find_arg(s, long)))
}

/// Rewrites clap's "invalid value" errors so they name the env var as well as the flag.
fn name_env_in_error(cmd: &Command, err: clap::Error) -> clap::Error {
    let kind = err.kind();
    if !matches!(kind, ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        return err;
    }
    let Some(ContextValue::String(arg_display)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let long: String = arg_display
        .trim_start_matches('-')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let Some(arg) = find_arg(cmd, &long) else {
        return err;
    };
    let Some(env) = arg.get_env() else {
        return err;
    };
    let value = match err.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => v.clone(),
        _ => String::new(),
    };
    let reason = match kind {
        ErrorKind::InvalidValue => match err.get(ContextKind::ValidValue) {
            Some(ContextValue::Strings(valid)) => format!("expected one of {}", valid.join(", ")),
            _ => "not an allowed value".to_owned(),
        },
        _ => std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "invalid value".to_owned()),
    };
    let secret = is_sensitive(&long) && is_text(arg);
    let message = if secret {
        // A free-form secret: neither the value nor a parser message (which may echo it)
        // is shown. (Numbers and booleans whose flag name merely looks sensitive are.)
        format!(
            "invalid value {MASK} for {} (--{long})",
            env.to_string_lossy()
        )
    } else {
        format!(
            "invalid value {value:?} for {} (--{long}): {reason}",
            env.to_string_lossy()
        )
    };
    clap::Error::raw(kind, format!("{message}\n")).with_cmd(cmd)
}

impl Cli {
    /// The configuration of the selected command.
    pub fn config(&self) -> &Config {
        match &self.command {
            None => &self.config,
            Some(
                super::Command::Serve(c)
                | super::Command::Migrate(c)
                | super::Command::Healthcheck(c),
            ) => c,
            Some(super::Command::Users(a)) => &a.config,
            Some(super::Command::Sessions(a)) => &a.config,
            Some(super::Command::Keys(a)) => &a.config,
            Some(super::Command::OAuth2Clients(a)) => &a.config,
        }
    }

    /// The configuration of the selected command, mutably.
    pub fn config_mut(&mut self) -> &mut Config {
        match &mut self.command {
            None => &mut self.config,
            Some(
                super::Command::Serve(c)
                | super::Command::Migrate(c)
                | super::Command::Healthcheck(c),
            ) => c,
            Some(super::Command::Users(a)) => &mut a.config,
            Some(super::Command::Sessions(a)) => &mut a.config,
            Some(super::Command::Keys(a)) => &mut a.config,
            Some(super::Command::OAuth2Clients(a)) => &mut a.config,
        }
    }
}
