//! Custom claims (`AUTH_JWT_CUSTOM_CLAIMS`, `AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS`), exactly as
//! upstream builds and encodes them (SPEC §4.5, §4.1). [`CustomClaims`] is the claim set
//! compiled once at start-up; its three parts follow the three steps of a lookup:
//!
//! - [`query`]: one GraphQL document selects every field the paths need;
//! - [`jsonpath`]: each path is evaluated against the returned `user` object in upstream's
//!   path dialect (a Kubernetes-style JSONPath subset, and a legacy walker for paths
//!   ending in `[]`); a missing value takes its configured default;
//! - [`encode`]: each value becomes token text with upstream's `pgEncode`.
//!
//! Pure code: fetching the user from Hasura is the caller's business
//! (`service::custom_claims`).

mod encode;
mod jsonpath;
mod query;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use encode::{go_json, pg_encode};
use jsonpath::ClaimPath;
use query::Selection;

/// Claims of the default set; a custom claim never replaces them, whatever its case.
const RESERVED: [&str; 5] = [
    "x-hasura-allowed-roles",
    "x-hasura-default-role",
    "x-hasura-user-id",
    "x-hasura-user-is-anonymous",
    "x-hasura-auth-elevated",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClaimsConfigError {
    #[error("AUTH_JWT_CUSTOM_CLAIMS: claim {0:?}: the path must be a string")]
    NotAString(String),
    #[error("AUTH_JWT_CUSTOM_CLAIMS: claim {name:?}: cannot parse path {path:?}: {reason}")]
    Path {
        name: String,
        path: String,
        reason: String,
    },
}

/// The compiled claim set.
#[derive(Debug)]
pub struct CustomClaims {
    query: String,
    claims: Vec<Claim>,
    defaults: Map<String, Value>,
}

#[derive(Debug)]
struct Claim {
    name: String,
    /// `x-hasura-…` as it appears in the token.
    token_name: String,
    path: ClaimPath,
}

impl CustomClaims {
    /// Compiles the two settings; `None` when no custom claim is configured.
    pub fn from_settings(
        claims: Option<&Map<String, Value>>,
        defaults: Option<&Map<String, Value>>,
    ) -> Result<Option<CustomClaims>, ClaimsConfigError> {
        let Some(raw) = claims.filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        let mut selection = Selection::default();
        let mut compiled = Vec::with_capacity(raw.len());
        for (name, path) in raw {
            let path = path
                .as_str()
                .ok_or_else(|| ClaimsConfigError::NotAString(name.clone()))?;
            selection.add(path);
            let compiled_path =
                ClaimPath::parse(path).map_err(|reason| ClaimsConfigError::Path {
                    name: name.clone(),
                    path: path.to_owned(),
                    reason,
                })?;
            let token_name = token_claim_name(name);
            if RESERVED.contains(&token_name.to_lowercase().as_str()) {
                tracing::warn!(
                    claim = %name,
                    "custom claim ignored: it would replace a default claim"
                );
                continue;
            }
            compiled.push(Claim {
                name: name.clone(),
                token_name,
                path: compiled_path,
            });
        }
        Ok(Some(CustomClaims {
            query: selection.into_query(),
            claims: compiled,
            defaults: defaults.cloned().unwrap_or_default(),
        }))
    }

    /// The GraphQL document sent at every token issuance.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Raw values by claim name, from the Hasura `user` object (defaults applied).
    pub fn extract(&self, user: &Value) -> BTreeMap<String, Value> {
        self.claims
            .iter()
            .map(|c| {
                let got = c.path.value_in(user);
                let value = if got.is_null() {
                    self.default_or_null(&c.name)
                } else {
                    got
                };
                (c.name.clone(), value)
            })
            .collect()
    }

    /// The claims of a failed lookup: only those with a configured default.
    pub fn defaults_only(&self) -> BTreeMap<String, Value> {
        self.claims
            .iter()
            .filter_map(|c| {
                self.defaults
                    .get(&c.name)
                    .map(|v| (c.name.clone(), v.clone()))
            })
            .collect()
    }

    /// Token claims (`x-hasura-…` name, pg-encoded value) for extracted values.
    pub fn encode(&self, values: &BTreeMap<String, Value>) -> Vec<(String, String)> {
        self.claims
            .iter()
            .filter_map(|c| {
                values
                    .get(&c.name)
                    .map(|v| (c.token_name.clone(), pg_encode(v)))
            })
            .collect()
    }

    /// Claims by token name (`x-hasura-…`) with their values as JSON (userinfo's
    /// native types), for extracted values.
    pub fn named(&self, values: &BTreeMap<String, Value>) -> Vec<(String, Value)> {
        self.claims
            .iter()
            .filter_map(|c| {
                values
                    .get(&c.name)
                    .map(|v| (c.token_name.clone(), v.clone()))
            })
            .collect()
    }

    fn default_or_null(&self, name: &str) -> Value {
        self.defaults.get(name).cloned().unwrap_or(Value::Null)
    }
}

/// `x-hasura-` + the name, lower-cased, unless it already has the prefix (any case).
pub fn token_claim_name(name: &str) -> String {
    if name.to_lowercase().starts_with("x-hasura-") {
        name.to_owned()
    } else {
        format!("x-hasura-{name}").to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn compile(claims: Value, defaults: Option<Value>) -> CustomClaims {
        let claims = claims.as_object().cloned();
        let defaults = defaults.and_then(|d| d.as_object().cloned());
        CustomClaims::from_settings(claims.as_ref(), defaults.as_ref())
            .expect("claims compile")
            .expect("claims configured")
    }

    /// Upstream's go/controller/custom_claims_test.go data.
    pub(super) fn data() -> Value {
        json!({
            "m": {
                "k": "v",
                "l": ["a", "b", "c"],
                "l2": ["a"],
                "lm": [{"id": 1}, {"id": 2}, {"id": 3}],
                "ln": [[{"id": 1}, {"id": 2}], [{"id": 3}, {"id": 4}]],
                "d": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "a"}]
            },
            "metadata": {"m1": 1}
        })
    }

    fn upstream_claims(with_filter: bool) -> Value {
        let mut c = json!({
            "root": "m",
            "key": "m.k",
            "element": "m.l[2]",
            "array[]": "m.l[]",
            "array[*]": "m.l[*]",
            "array[].ids": "m.lm[].id",
            "array[*].ids": "m.lm[*].id",
            "array.ids[]": "m.lm.id[]",
            "arrayOneElement[]": "m.l2[]",
            "metadata.m1": "metadata.m1",
            "nonexistent": "nonexistent.nonexistent"
        });
        if with_filter {
            c["filtered"] = json!("m.d[?(@.v == 'a')].id");
        }
        c
    }

    #[test]
    fn claims_query_matches_upstream_without_defaults() {
        let c = compile(upstream_claims(true), None);
        assert_eq!(
            c.query(),
            "query GetClaims($id: uuid!) { user(id:$id) {m{d{id v }k l l2 lm{id }}metadata nonexistent{nonexistent }} }"
        );
        let got = c.extract(&data());
        let expected: BTreeMap<String, Value> = serde_json::from_value(json!({
            "root": data()["m"],
            "key": "v",
            "element": "c",
            "arrayOneElement[]": ["a"],
            "array[]": ["a", "b", "c"],
            "array[*]": ["a", "b", "c"],
            "array[].ids": [1, 2, 3],
            "array[*].ids": [1, 2, 3],
            "array.ids[]": [1, 2, 3],
            "metadata.m1": 1,
            "nonexistent": null,
            "filtered": [1, 3]
        }))
        .unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn claims_defaults_fill_missing_values_only() {
        let c = compile(
            upstream_claims(false),
            Some(json!({"root": "defaultRoot", "nonexistent": "defaultNonExistent"})),
        );
        assert_eq!(
            c.query(),
            "query GetClaims($id: uuid!) { user(id:$id) {m{k l l2 lm{id }}metadata nonexistent{nonexistent }} }"
        );
        let got = c.extract(&data());
        assert_eq!(got["root"], data()["m"]);
        assert_eq!(got["nonexistent"], "defaultNonExistent");
        let only = c.defaults_only();
        assert_eq!(only.len(), 2);
        assert_eq!(only["root"], "defaultRoot");
    }

    #[test]
    fn claims_bad_paths_are_refused_at_start_up() {
        for bad in ["", "a..b", "a[", "a[x]", "a.", "a[?(1)]", "a b"] {
            let claims = json!({ "c": bad });
            let r = CustomClaims::from_settings(claims.as_object(), None);
            assert!(r.is_err(), "{bad:?} accepted");
        }
        let claims = json!({ "c": 1 });
        assert_eq!(
            CustomClaims::from_settings(claims.as_object(), None).unwrap_err(),
            ClaimsConfigError::NotAString("c".into())
        );
        assert!(CustomClaims::from_settings(None, None).unwrap().is_none());
    }

    #[test]
    fn claims_names_are_prefixed_and_reserved_names_skipped() {
        assert_eq!(token_claim_name("Org-Id"), "x-hasura-org-id");
        assert_eq!(token_claim_name("X-Hasura-Org"), "X-Hasura-Org");
        let c = compile(
            json!({"User-Id": "id", "X-Hasura-User-Id": "id", "auth-elevated": "id", "org": "id"}),
            None,
        );
        let values: BTreeMap<String, Value> =
            [("org".to_owned(), json!("o"))].into_iter().collect();
        assert_eq!(
            c.encode(&values),
            vec![("x-hasura-org".to_owned(), "o".to_owned())]
        );
    }
}
