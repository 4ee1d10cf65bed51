//! Which upstream contract the API speaks: hasura-auth v0.42's or Nhost Auth 0.52's.
//!
//! The two generations differ in a handful of answers (error codes and bodies, the
//! default JWT issuer; docs/compatibility.md, "Two generations"). A client of either
//! keeps working without a setting: by default (`auto`) the service speaks the contract
//! of the database generation it found at start-up. The choice is made once, before the
//! first request, and never changes while the process runs.
//!
//! This module imports nothing of the crate, so every layer may use it.

/// `AUTH_UPSTREAM_GENERATION`: the operator's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpstreamGeneration {
    /// The contract of the database generation found at start-up.
    #[default]
    Auto,
    /// hasura-auth v0.42's contract, whatever the schema level.
    V0_42,
    /// Nhost Auth 0.52's contract, whatever the schema level.
    V0_52,
}

impl UpstreamGeneration {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::V0_42 => "0.42",
            Self::V0_52 => "0.52",
        }
    }

    /// Parses the flag value (`auto`, `0.42`, `0.52`; a leading `v` is accepted).
    pub fn parse(s: &str) -> Result<UpstreamGeneration, String> {
        let s = s.trim().to_ascii_lowercase();
        match s.strip_prefix('v').unwrap_or(&s) {
            "" | "auto" => Ok(Self::Auto),
            "0.42" => Ok(Self::V0_42),
            "0.52" => Ok(Self::V0_52),
            other => Err(format!(
                "unknown upstream generation {other:?} (use auto, 0.42 or 0.52)"
            )),
        }
    }

    /// The contract to serve, given the `auth` schema version found at start-up (before
    /// this run migrated anything; 0 for an empty database).
    pub fn resolve(self, found_version: i64) -> Generation {
        match self {
            Self::V0_42 => Generation::V0_42,
            Self::V0_52 => Generation::V0_52,
            // 1..=18 were written by hasura-auth v0.42 or older; 19 and later only by
            // Nhost Auth 0.45+; an empty database is new, so it gets the current contract.
            Self::Auto if (1..=LAST_V0_42_VERSION).contains(&found_version) => Generation::V0_42,
            Self::Auto => Generation::V0_52,
        }
    }
}

/// The last `auth` schema migration of hasura-auth v0.42.
const LAST_V0_42_VERSION: i64 = 18;

/// The contract being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// Upstream `nhost/hasura-auth` v0.42.
    V0_42,
    /// Nhost Auth 0.52 (`services/auth` of `nhost/nhost`).
    V0_52,
}

impl Generation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_42 => "0.42",
            Self::V0_52 => "0.52",
        }
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_generation_of_the_database_found() {
        let auto = UpstreamGeneration::Auto;
        assert_eq!(auto.resolve(0), Generation::V0_52, "empty database");
        assert_eq!(auto.resolve(1), Generation::V0_42);
        assert_eq!(auto.resolve(18), Generation::V0_42);
        assert_eq!(auto.resolve(19), Generation::V0_52);
        assert_eq!(auto.resolve(27), Generation::V0_52);
    }

    #[test]
    fn explicit_choices_ignore_the_schema_level() {
        for found in [0, 5, 18, 19, 27] {
            assert_eq!(UpstreamGeneration::V0_42.resolve(found), Generation::V0_42);
            assert_eq!(UpstreamGeneration::V0_52.resolve(found), Generation::V0_52);
        }
    }

    #[test]
    fn flag_values_parse_and_round_trip() {
        for g in [
            UpstreamGeneration::Auto,
            UpstreamGeneration::V0_42,
            UpstreamGeneration::V0_52,
        ] {
            assert_eq!(UpstreamGeneration::parse(g.as_str()), Ok(g));
        }
        assert_eq!(
            UpstreamGeneration::parse(" V0.52 "),
            Ok(UpstreamGeneration::V0_52)
        );
        assert_eq!(UpstreamGeneration::parse(""), Ok(UpstreamGeneration::Auto));
        for bad in ["0.43", "52", "latest", "0.42;drop"] {
            assert!(UpstreamGeneration::parse(bad).is_err(), "{bad}");
        }
    }
}
