//! A property-based generator over the contract: every operation of
//! `openapi/hasura-auth.json`, with bodies and query strings generated from its schemas
//! and then broken (wrong types, NUL, invalid UTF-8, deep nesting, huge bodies, wrong
//! content types, garbage, bearer tokens). The property: no answer is a 5xx.
//! Seeded (`FAULTS_SEED`, else random and printed) so a failure can be replayed.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::harness::{Server, Tally};

/// Every optional feature on, so that operations are reached, not answered "disabled".
pub const FEATURES: &[&str] = &[
    "--enable-anonymous-users",
    "--mfa-enabled",
    "--email-passwordless-enabled",
    "--otp-email-enabled",
    "--sms-passwordless-enabled",
    "--sms-provider=dev",
    "--webauthn-enabled",
    "--webauthn-rp-id=localhost",
    "--webauthn-rp-origins=http://localhost:3000",
];

const DOC: &str = include_str!("../../openapi/hasura-auth.json");

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Valid,
    WrongTypes,
    Nul,
    InvalidUtf8,
    DeepNesting,
    HugeBody,
    WrongContentType,
    Garbage,
}

const MUTATIONS: [Mutation; 8] = [
    Mutation::Valid,
    Mutation::WrongTypes,
    Mutation::Nul,
    Mutation::InvalidUtf8,
    Mutation::DeepNesting,
    Mutation::HugeBody,
    Mutation::WrongContentType,
    Mutation::Garbage,
];

struct Operation {
    method: String,
    path: String,
    body: Option<Value>,
    query: Vec<(String, Value)>,
    bearer: bool,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let body = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| c["schema"].clone());
            let query = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["schema"].clone(),
                    )
                })
                .collect();
            let bearer = op["security"].as_array().is_some_and(|s| !s.is_empty());
            ops.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                body,
                query,
                bearer,
            });
        }
    }
    ops
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

const STRINGS: &[&str] = &[
    "",
    "a",
    "user@example.com",
    "correct horse battery staple",
    "http://localhost:3000/cb",
    "https://evil.example/",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "é✓😀",
    "00000000-0000-0000-0000-000000000000",
    "verifyEmail:00000000-0000-0000-0000-000000000000",
    "+33612345678",
    "en",
    "user",
    "%00",
    "../../etc/passwd",
];

struct Gen<'a> {
    doc: &'a Value,
    rng: StdRng,
    nul: bool,
    seq: u64,
}

impl Gen<'_> {
    fn string(&mut self, format: Option<&str>) -> String {
        self.seq += 1;
        let mut s = match format {
            Some("email") if self.rng.gen_bool(0.8) => format!("fz{}@example.com", self.seq),
            Some("uri") if self.rng.gen_bool(0.8) => "http://localhost:3000/x".to_owned(),
            Some("uuid") if self.rng.gen_bool(0.8) => uuid::Uuid::new_v4().to_string(),
            _ if self.rng.gen_bool(0.05) => "x".repeat(self.rng.gen_range(1000..20_000)),
            _ => STRINGS[self.rng.gen_range(0..STRINGS.len())].to_owned(),
        };
        if self.nul && self.rng.gen_bool(0.5) {
            let at = s.char_indices().map(|(i, _)| i).next_back().unwrap_or(0);
            s.insert(at, '\0');
        }
        s
    }

    fn scalar(&mut self) -> Value {
        match self.rng.gen_range(0..6) {
            0 => Value::Null,
            1 => json!(self.rng.gen_bool(0.5)),
            2 => json!(self.rng.gen_range(-5i64..5)),
            3 => json!(i64::MAX),
            4 => json!(1.5e300),
            _ => json!(self.string(None)),
        }
    }

    fn value(&mut self, schema: &Value, depth: u32) -> Value {
        let schema = resolve(self.doc, schema).clone();
        if depth > 6 {
            return Value::Null;
        }
        if let Some(values) = schema["enum"].as_array()
            && !values.is_empty()
            && self.rng.gen_bool(0.9)
        {
            return values[self.rng.gen_range(0..values.len())].clone();
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema[key].as_array()
                && !options.is_empty()
            {
                let pick = options[self.rng.gen_range(0..options.len())].clone();
                return self.value(&pick, depth + 1);
            }
        }
        if let Some(parts) = schema["allOf"].as_array() {
            let mut merged = Map::new();
            for part in parts.clone() {
                if let Value::Object(o) = self.value(&part, depth + 1) {
                    merged.extend(o);
                }
            }
            return Value::Object(merged);
        }
        match schema["type"].as_str() {
            Some("object") => {
                let required: Vec<String> = schema["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect();
                let mut out = Map::new();
                for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                    if required.contains(name) || self.rng.gen_bool(0.5) {
                        out.insert(name.clone(), self.value(prop, depth + 1));
                    }
                }
                if schema["properties"].is_null() && self.rng.gen_bool(0.5) {
                    let key = self.string(None);
                    let value = self.string(None);
                    out.insert(key, json!(value));
                }
                Value::Object(out)
            }
            Some("array") => {
                let n = self.rng.gen_range(0..3);
                let items = schema["items"].clone();
                Value::Array((0..n).map(|_| self.value(&items, depth + 1)).collect())
            }
            Some("string") => json!(self.string(schema["format"].as_str())),
            Some("integer") => json!(self.rng.gen_range(-2i64..100)),
            Some("number") => json!(self.rng.gen_range(-2.0..100.0)),
            Some("boolean") => json!(self.rng.gen_bool(0.5)),
            _ => self.scalar(),
        }
    }

    /// Replaces some leaves by values of another type.
    fn break_types(&mut self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                for value in map.values_mut() {
                    if self.rng.gen_bool(0.4) {
                        *value = self.scalar();
                    } else {
                        self.break_types(value);
                    }
                }
            }
            Value::Array(items) => {
                for value in items {
                    self.break_types(value);
                }
            }
            _ if self.rng.gen_bool(0.5) => *v = self.scalar(),
            _ => {}
        }
    }
}

pub struct Report {
    pub seed: u64,
    pub cases: usize,
    pub operations: usize,
    pub tally: Tally,
    pub by_mutation: BTreeMap<String, usize>,
    pub failures: Vec<String>,
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "{} cases over {} operations (seed {}; {}): {}; {} × 5xx",
            self.cases,
            self.operations,
            self.seed,
            self.by_mutation
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.tally,
            self.failures.len()
        )
    }
}

pub async fn run(server: &Server, cases: usize) -> Report {
    let doc: Value = serde_json::from_str(DOC).expect("OpenAPI document");
    let ops = operations(&doc);
    let seed = std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let mut g = Gen {
        doc: &doc,
        rng: StdRng::seed_from_u64(seed),
        nul: false,
        seq: 0,
    };
    let session = server.signup("fuzzer@example.com").await;
    let token = session["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let providers = ["github", "google", "apple", "nope", "..%2f..", "%00"];
    let mut report = Report {
        seed,
        cases,
        operations: ops.len(),
        tally: Tally::default(),
        by_mutation: BTreeMap::new(),
        failures: Vec::new(),
    };
    for _ in 0..cases {
        let op = &ops[g.rng.gen_range(0..ops.len())];
        let mutation = MUTATIONS[g.rng.gen_range(0..MUTATIONS.len())];
        *report
            .by_mutation
            .entry(format!("{mutation:?}"))
            .or_default() += 1;
        let provider = providers[g.rng.gen_range(0..providers.len())];
        let path = op.path.replace("{provider}", provider);
        g.nul = matches!(mutation, Mutation::Nul);
        let mut query: Vec<(String, String)> = Vec::new();
        for (name, schema) in &op.query {
            if g.rng.gen_bool(0.7) {
                let v = match g.value(schema, 0) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                query.push((name.clone(), v));
            }
        }
        let mut body_value = op.body.as_ref().map(|s| g.value(s, 0));
        if let (Mutation::WrongTypes, Some(b)) = (mutation, body_value.as_mut()) {
            g.break_types(b);
        }
        let (bytes, content_type): (Vec<u8>, Option<&str>) = match mutation {
            Mutation::InvalidUtf8 => (
                b"{\"email\":\"\xff\xfe\xc3\x28@example.com\",\"password\":\"\xed\xa0\x80abcdefgh\"}"
                    .to_vec(),
                Some("application/json"),
            ),
            Mutation::DeepNesting => {
                let depth = g.rng.gen_range(1_000..120_000);
                let mut s = "[".repeat(depth);
                s.push_str(&"]".repeat(depth));
                (s.into_bytes(), Some("application/json"))
            }
            Mutation::HugeBody => {
                let n = g.rng.gen_range(200_000..1_200_000);
                (
                    format!("{{\"email\":\"{}\"}}", "a".repeat(n)).into_bytes(),
                    Some("application/json"),
                )
            }
            Mutation::Garbage => {
                let n = g.rng.gen_range(0..512);
                ((0..n).map(|_| g.rng.r#gen::<u8>()).collect(), Some("application/json"))
            }
            Mutation::WrongContentType => {
                let types = [
                    None,
                    Some("text/plain"),
                    Some("application/x-www-form-urlencoded"),
                    Some("multipart/form-data; boundary=x"),
                    Some("application/json; charset=latin1"),
                    Some("application/jsonx"),
                ];
                let ct = types[g.rng.gen_range(0..types.len())];
                (
                    body_value.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                    ct,
                )
            }
            _ => (
                body_value.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                Some("application/json"),
            ),
        };
        let method = reqwest::Method::from_bytes(op.method.as_bytes()).expect("method");
        let mut req = server
            .http
            .request(method.clone(), server.url(&path))
            .query(&query);
        if method != reqwest::Method::GET && method != reqwest::Method::HEAD {
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            req = req.body(bytes);
        }
        if op.bearer || g.rng.gen_bool(0.1) {
            req = match g.rng.gen_range(0..4) {
                0 => req.bearer_auth(&token),
                1 => req.header("authorization", "Bearer not.a.jwt"),
                2 => req.header("authorization", "Basic Zm9vOmJhcg=="),
                _ => req,
            };
        }
        let (status, text) = match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        };
        report.tally.add(status);
        // The identity provider is off on this server (it needs an asymmetric key), and
        // Nhost 0.52's contract for its endpoints then is this 500; any other 5xx counts.
        let provider_off = status == 500
            && text
                == r#"{"error":"server_error","error_description":"OAuth2 provider is disabled"}"#;
        if status >= 500 && !provider_off {
            let shown: String = text.chars().take(200).collect();
            report.failures.push(format!(
                "{} {path} ?{query:?} [{mutation:?}] → {status} {shown}",
                op.method
            ));
        }
    }
    let alive = server.http.get(server.url("/healthz")).send().await;
    assert!(
        alive.is_ok_and(|r| r.status() == 200),
        "server died while fuzzed"
    );
    report
}

/// Forged variants of a genuine RS256 access token.
pub fn forged_tokens(
    valid: &str,
    rsa_public: &str,
    rsa_private: &str,
    other_private: &str,
) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    let parts: Vec<&str> = valid.split('.').collect();
    let header: Value =
        serde_json::from_slice(&B64.decode(parts[0]).expect("header")).expect("header JSON");
    let claims: Value =
        serde_json::from_slice(&B64.decode(parts[1]).expect("payload")).expect("payload JSON");
    let kid = header["kid"].as_str().map(str::to_owned);
    let now = chrono::Utc::now().timestamp();
    let unsigned = |alg: &str, claims: &Value| {
        format!(
            "{}.{}.",
            B64.encode(json!({"alg": alg, "typ": "JWT"}).to_string()),
            B64.encode(claims.to_string())
        )
    };
    let real = EncodingKey::from_rsa_pem(rsa_private.as_bytes()).expect("RSA key");
    let other = EncodingKey::from_rsa_pem(other_private.as_bytes()).expect("other RSA key");
    let rs = |key: &EncodingKey, kid: Option<String>, claims: &Value| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = kid;
        encode(&h, claims, key).expect("sign")
    };
    let with = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut c = claims.clone();
        if let Value::Object(map) = &mut c {
            edit(map);
        }
        c
    };
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = kid.clone();
    vec![
        ("alg none", unsigned("none", &claims)),
        ("alg None", unsigned("None", &claims)),
        (
            "HS256 keyed with the RSA public key",
            encode(
                &hs_header,
                &claims,
                &EncodingKey::from_secret(rsa_public.as_bytes()),
            )
            .expect("sign"),
        ),
        ("another key, same kid", rs(&other, kid.clone(), &claims)),
        (
            "another key, unknown kid",
            rs(&other, Some("not-our-key".into()), &claims),
        ),
        (
            "future nbf",
            rs(
                &real,
                kid.clone(),
                &with(&|m| {
                    m.insert("nbf".into(), json!(now + 3600));
                }),
            ),
        ),
        (
            "expired",
            rs(
                &real,
                kid.clone(),
                &with(&|m| {
                    m.insert("iat".into(), json!(now - 7200));
                    m.insert("exp".into(), json!(now - 3600));
                }),
            ),
        ),
        (
            "no exp",
            rs(
                &real,
                kid.clone(),
                &with(&|m| {
                    m.remove("exp");
                }),
            ),
        ),
        (
            "claims changed after signing",
            format!(
                "{}.{}.{}",
                parts[0],
                B64.encode(
                    with(&|m| {
                        m.insert("sub".into(), json!(uuid::Uuid::new_v4().to_string()));
                    })
                    .to_string()
                ),
                parts[2]
            ),
        ),
    ]
}
