//! How a claim value becomes text in the token: upstream's `pgEncode` (strings as they
//! are, arrays as `{…}` like a PostgreSQL array literal, anything else as JSON) over Go's
//! `json.Marshal` text (sorted keys, HTML-safe escapes, every number a float64).
//!
//! Hasura reads `x-hasura-*` session variables as text, and upstream encodes them this
//! way; permissions written against upstream's tokens depend on these exact bytes.

use std::fmt::Write as _;

use serde_json::Value;

/// Upstream's `pgEncode`: strings as is, `null` → `"null"`, arrays as Go JSON with the
/// outer brackets turned into braces, anything else as Go JSON.
pub fn pg_encode(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(_) => {
            let json = go_json(value);
            format!("{{{}}}", &json[1..json.len() - 1])
        }
        other => go_json(other),
    }
}

/// JSON text as Go's `json.Marshal` writes it: sorted keys, HTML-safe escapes,
/// numbers as float64.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_go_json(&mut out, value);
    out
}

fn write_go_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&go_float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => write_go_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is ordered by key bytes, like Go's sorted keys.
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(out, k);
                out.push(':');
                write_go_json(out, v);
            }
            out.push('}');
        }
    }
}

fn write_go_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's float64 JSON text: shortest round-trip digits, exponent form outside
/// [1e-6, 1e21) as `1e+21` / `1e-7`.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// go/controller/jwt_test.go "with custom claims".
    #[test]
    fn claims_pg_encode_matches_upstream() {
        assert_eq!(pg_encode(&json!("v")), "v");
        assert_eq!(pg_encode(&Value::Null), "null");
        assert_eq!(pg_encode(&json!(["a", "b"])), r#"{"a","b"}"#);
        assert_eq!(pg_encode(&json!([1, 2, 3])), "{1,2,3}");
        assert_eq!(pg_encode(&json!([])), "{}");
        assert_eq!(pg_encode(&json!(123)), "123");
        assert_eq!(pg_encode(&json!(123.456)), "123.456");
        assert_eq!(pg_encode(&json!(true)), "true");
        assert_eq!(pg_encode(&json!({"k1": "v1"})), r#"{"k1":"v1"}"#);
        assert_eq!(pg_encode(&json!([[1, 2], [3]])), "{[1,2],[3]}");
        assert_eq!(pg_encode(&json!([null])), "{null}");
        assert_eq!(
            pg_encode(&json!({"b": 1, "a": "<&>"})),
            r#"{"a":"\u003c\u0026\u003e","b":1}"#
        );
        assert_eq!(pg_encode(&json!(1e21)), "1e+21");
        assert_eq!(pg_encode(&json!(1e-7)), "1e-7");
        assert_eq!(pg_encode(&json!(1.5e-10)), "1.5e-10");
        assert_eq!(pg_encode(&json!(1e20)), "100000000000000000000");
        assert_eq!(pg_encode(&json!(0.000001)), "0.000001");
        assert_eq!(
            pg_encode(&json!("a\u{1}")),
            "a\u{1}",
            "top-level strings stay raw"
        );
        assert_eq!(go_json(&json!("a\u{1}\n")), r#""a\u0001\n""#);
    }
}
