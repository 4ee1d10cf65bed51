//! Every setting as `(flag name, value)`, for the start-up log line and `--check-config`.
//!
//! Derived, not written out: [`Config`] is serialized (serde, keyed by each field's clap
//! argument id) and each argument of the clap command gives its flag name, in declaration
//! order. A field is listed under the flag it was declared with, and nowhere else.
//!
//! Secrets are masked by upstream's rule: a flag whose name contains `pass`, `token`,
//! `secret`, `key`, `license`, `postgres`, `client-id` or `client-secret` is shown as
//! `********`, whatever its value; so is `--sms-generic-headers` (an API key, usually). A [`super::Secret`] serializes as `********` anyway, so
//! the listing never holds one.

use clap::{Args, Command};
use serde::Serializer;
use serde_json::{Map, Value};

use super::Config;

/// What a masked value looks like.
pub const MASK: &str = "********";

/// Parts of a flag name that mark its value as secret (upstream's rule).
const SENSITIVE_PARTS: [&str; 9] = [
    "pass",
    "token",
    "secret",
    "key",
    "license",
    "postgres",
    "client-id",
    "client-secret",
    // A Redis URL may carry a password.
    "redis-url",
];

/// Flags masked although their names contain no part above: the generic SMS provider's
/// headers usually carry an API key (upstream shows them).
const SENSITIVE_DESPITE_NAME: [&str; 1] = ["sms-generic-headers"];

/// Flags whose names contain a part above but whose values are not secrets.
const PUBLIC_DESPITE_NAME: [&str; 1] = ["postgres-transaction-pooler"];

/// Whether the value of the flag `name` (without `--`) must never be shown. A time limit
/// is never a secret (`--postgres-pool-timeout` names the database, not its URL); no
/// upstream flag ends in `-timeout` and contains a sensitive part.
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE_DESPITE_NAME.contains(&name)
        || !name.ends_with("-timeout")
            && !PUBLIC_DESPITE_NAME.contains(&name)
            && SENSITIVE_PARTS.iter().any(|part| name.contains(part))
}

/// The value of every flag, in declaration order, keyed by flag name.
pub struct FlagValues(Vec<(String, Value)>);

impl FlagValues {
    /// Flag names in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    /// Every value with secrets replaced by [`MASK`]. This is the only form to log.
    pub fn masked(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(name, value)| {
                let shown = if is_sensitive(name) {
                    Value::String(MASK.to_owned())
                } else {
                    value.clone()
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

impl Config {
    /// Every setting (all flags), keyed by flag name, in declaration order.
    /// Use [`FlagValues::masked`] for anything printed or logged.
    pub fn flag_values(&self) -> FlagValues {
        // Serializing plain data into a map cannot fail; an error would show as missing
        // flags, which the tests check for.
        let values = match serde_json::to_value(self) {
            Ok(Value::Object(values)) => values,
            _ => Map::new(),
        };
        let command = Config::augment_args(Command::new("config"));
        let listed = command
            .get_arguments()
            .filter_map(|arg| {
                let flag = arg.get_long()?;
                let value = values.get(arg.get_id().as_str())?;
                Some((flag.to_owned(), value.clone()))
            })
            .collect();
        FlagValues(listed)
    }
}

/// A duration setting as Go prints it (`1m0s`), like upstream's log line.
pub(crate) fn go_duration<S: Serializer>(
    value: &std::time::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&super::parse::format_go_duration(*value))
}
