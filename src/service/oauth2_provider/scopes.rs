//! Scopes of the identity provider (Nhost Auth 0.52's `oauth2/scopes.go` and migration
//! 22's `auth.is_valid_oauth2_scope`): six fixed scopes, plus `graphql:role:<role>`,
//! which narrows the Hasura claims of an access token to the roles named.
//!
//! Rules: a space-separated list, `openid` when empty; every scope must be valid and
//! allowed for the client (a client allowed `graphql` may ask any `graphql:role:*`);
//! `graphql` and `graphql:role:*` are mutually exclusive in one request.

use super::error::OAuth2Error;

/// The scopes the provider advertises (discovery's `scopes_supported`).
pub const SUPPORTED: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "offline_access",
    "graphql",
];

/// The scope asked for when a request names none.
pub const DEFAULT: &str = "openid";

/// The prefix of a role-narrowing scope.
pub const ROLE_PREFIX: &str = "graphql:role:";

/// Whether `scope` is one the database accepts (`auth.is_valid_oauth2_scope`).
pub fn is_valid(scope: &str) -> bool {
    if SUPPORTED.contains(&scope) {
        return true;
    }
    scope.strip_prefix(ROLE_PREFIX).is_some_and(|role| {
        !role.is_empty()
            && role
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-'))
    })
}

/// The role a `graphql:role:<role>` scope names.
pub fn role_of(scope: &str) -> Option<&str> {
    scope.strip_prefix(ROLE_PREFIX).filter(|r| !r.is_empty())
}

/// A request's `scope` parameter split on spaces, duplicates dropped (first kept); the
/// default scope when it holds none.
pub fn parse(scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    if out.is_empty() {
        out.push(DEFAULT.to_owned());
    }
    out
}

/// Checks requested scopes against the rules and the client's allowed list.
pub fn check(requested: &[String], allowed: &[String]) -> Result<(), OAuth2Error> {
    let client_has_graphql = allowed.iter().any(|a| a == "graphql");
    for scope in requested {
        if !is_valid(scope) {
            return Err(OAuth2Error::invalid_scope(format!(
                "Unsupported scope: {}",
                printable(scope)
            )));
        }
        let permitted =
            allowed.iter().any(|a| a == scope) || (client_has_graphql && role_of(scope).is_some());
        if !permitted {
            return Err(OAuth2Error::invalid_scope(format!(
                "Scope not allowed for this client: {scope}"
            )));
        }
    }
    let whole = requested.iter().any(|s| s == "graphql");
    let narrowed = requested.iter().any(|s| role_of(s).is_some());
    if whole && narrowed {
        return Err(OAuth2Error::invalid_scope(
            "The graphql scope cannot be combined with graphql:role scopes",
        ));
    }
    Ok(())
}

/// The roles named by `graphql:role:*` scopes, in request order.
pub fn roles(scopes: &[String]) -> Vec<&str> {
    scopes.iter().filter_map(|s| role_of(s)).collect()
}

/// Whether the scopes grant Hasura claims (`graphql` or any `graphql:role:*`).
pub fn grants_graphql(scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s == "graphql" || role_of(s).is_some())
}

/// At most 64 characters of a value for a message, control characters dropped.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::oauth2_provider::error::OAuth2ErrorCode;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parse_defaults_to_openid_and_dedupes() {
        assert_eq!(parse(None), v(&["openid"]));
        assert_eq!(parse(Some("")), v(&["openid"]));
        assert_eq!(parse(Some("   ")), v(&["openid"]));
        assert_eq!(
            parse(Some("openid  email openid profile")),
            v(&["openid", "email", "profile"])
        );
    }

    #[test]
    fn validity_matches_the_database_function() {
        for ok in SUPPORTED.iter().copied().chain([
            "graphql:role:user",
            "graphql:role:a.b-c_d:e",
            "graphql:role:X9",
        ]) {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "OPENID",
            "graphql:role:",
            "graphql:role:a b",
            "graphql:role:é",
            "graphql:role:a/b",
            "graphql:roles:a",
            "address",
            "openid\0",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn check_applies_the_client_list_and_graphql_rules() {
        let all = v(&SUPPORTED);
        assert!(check(&v(&["openid", "email"]), &all).is_ok());
        assert!(check(&v(&["graphql:role:user", "graphql:role:me"]), &all).is_ok());
        let narrow = v(&["openid"]);
        let e = check(&v(&["email"]), &narrow).unwrap_err();
        assert_eq!(e.code, OAuth2ErrorCode::InvalidScope);
        // graphql:role:* needs graphql (or that exact scope) in the client's list.
        assert!(check(&v(&["graphql:role:user"]), &narrow).is_err());
        assert!(check(&v(&["graphql:role:user"]), &v(&["graphql:role:user"])).is_ok());
        assert!(check(&v(&["graphql:role:admin"]), &v(&["graphql:role:user"])).is_err());
        let e = check(&v(&["graphql", "graphql:role:user"]), &all).unwrap_err();
        assert_eq!(e.code, OAuth2ErrorCode::InvalidScope);
        assert!(e.description.contains("cannot be combined"));
        let e = check(&v(&["openid", "address"]), &all).unwrap_err();
        assert_eq!(e.description, "Unsupported scope: address");
    }

    #[test]
    fn roles_and_graphql_grant() {
        let s = v(&["openid", "graphql:role:a", "graphql:role:b"]);
        assert_eq!(roles(&s), vec!["a", "b"]);
        assert!(grants_graphql(&s));
        assert!(grants_graphql(&v(&["graphql"])));
        assert!(!grants_graphql(&v(&["openid", "profile"])));
    }
}
