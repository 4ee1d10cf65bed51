//! Custom claims (`AUTH_JWT_CUSTOM_CLAIMS`, `AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS`), exactly as
//! upstream builds and encodes them (SPEC §4.5, §4.1):
//!
//! - one GraphQL document, generated once, selects every field the paths need
//!   (`query GetClaims($id: uuid!) { user(id:$id) {…} }`, fields sorted, `metadata.x`
//!   selecting the whole `metadata` column, filter fields added);
//! - each path is evaluated against the returned `user` object with upstream's
//!   Kubernetes-style JSONPath subset (`a.b`, `[*]`/`[]`, `[N]`, `[a:b]`,
//!   `[?(@.f == 'v')]`), paths ending in `[]` with upstream's legacy walker;
//! - values are encoded with upstream's `pgEncode` (strings as is, arrays as `{…}`,
//!   everything else as Go's JSON text).
//!
//! This module is pure: fetching the user from Hasura is the caller's business.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

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
    extract: Extract,
}

#[derive(Debug)]
enum Extract {
    /// Paths ending in `[]`: upstream's legacy walker over dot-separated parts.
    Legacy(Vec<String>),
    /// A JSONPath; `array` when the path contains `[]`, `[*]` or `[?`.
    Path { steps: Vec<Step>, array: bool },
}

#[derive(Debug, Clone)]
enum Step {
    Field(String),
    /// `[N]`, `[a:b]`, `[a:b:c]`, `[*]`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
        /// `[N]`: the end is derived (N + 1).
        index: bool,
    },
    Filter(Filter),
}

#[derive(Debug, Clone)]
struct Filter {
    left: Operand,
    op: FilterOp,
    right: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FilterOp {
    Exists,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum Operand {
    /// `@.a.b` relative to the element.
    Current(Vec<Step>),
    Literal(Value),
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
        let mut tree = Tree::new();
        let mut compiled = Vec::with_capacity(raw.len());
        for (name, path) in raw {
            let path = path
                .as_str()
                .ok_or_else(|| ClaimsConfigError::NotAString(name.clone()))?;
            merge(&mut tree, parse_claims(&smart_split(path)));
            if path.contains("[?") {
                let fields = filter_fields(path);
                let mut base: Vec<String> = Vec::new();
                for part in smart_split(path) {
                    if part.contains("[?") {
                        base.push(before_bracket(&part).to_owned());
                        break;
                    }
                    base.push(part);
                }
                for field in fields {
                    let mut parts = base.clone();
                    parts.push(field);
                    merge(&mut tree, parse_claims(&parts));
                }
            }
            let extract = if path.ends_with("[]") {
                Extract::Legacy(path.split('.').map(str::to_owned).collect())
            } else {
                let steps = parse_path(&path.replace("[]", "[*]")).map_err(|reason| {
                    ClaimsConfigError::Path {
                        name: name.clone(),
                        path: path.to_owned(),
                        reason,
                    }
                })?;
                let array = path.contains("[]") || path.contains("[*]") || path.contains("[?");
                Extract::Path { steps, array }
            };
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
                extract,
            });
        }
        Ok(Some(CustomClaims {
            query: format!(
                "query GetClaims($id: uuid!) {{ user(id:$id) {} }}",
                render(&tree)
            ),
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
                let got = match &c.extract {
                    Extract::Legacy(parts) => legacy_walk(user, parts),
                    Extract::Path { steps, array } => match eval(steps, vec![user]) {
                        Err(_) => Value::Null,
                        Ok(found) if *array => Value::Array(found.into_iter().cloned().collect()),
                        Ok(found) => found.first().map_or(Value::Null, |v| (*v).clone()),
                    },
                };
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

// ---- GraphQL selection (upstream's parseClaims / mergeMaps / claimsMapToGraphql) ----

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf,
    Tree(Tree),
}

type Tree = BTreeMap<String, Node>;

/// Splits on dots outside brackets (filters contain dots).
fn smart_split(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

fn before_bracket(part: &str) -> &str {
    part.split('[').next().unwrap_or_default()
}

fn parse_claims(parts: &[String]) -> Tree {
    let mut tree = Tree::new();
    let Some((first, rest)) = parts.split_first() else {
        return tree;
    };
    let key = before_bracket(first).to_owned();
    let node = if rest.is_empty() {
        if key.ends_with(']') {
            Node::Tree(Tree::new())
        } else {
            Node::Leaf
        }
    } else if key == "metadata" {
        // metadata is one JSON column: select it whole.
        Node::Leaf
    } else {
        Node::Tree(parse_claims(rest))
    };
    tree.insert(key, node);
    tree
}

/// Upstream's mergeMaps: a field selected both whole and with sub-fields keeps the
/// sub-field selection.
fn merge(into: &mut Tree, other: Tree) {
    for (key, node) in other {
        match (into.get_mut(&key), node) {
            (None, node) => {
                into.insert(key, node);
            }
            (Some(Node::Tree(existing)), Node::Tree(new)) => merge(existing, new),
            (Some(Node::Tree(_)), Node::Leaf) => {}
            (Some(existing @ Node::Leaf), node) => *existing = node,
        }
    }
}

fn render(tree: &Tree) -> String {
    let mut out = String::from("{");
    for (key, node) in tree {
        match node {
            Node::Leaf => {
                out.push_str(key);
                out.push(' ');
            }
            Node::Tree(sub) => {
                out.push_str(key);
                out.push_str(&render(sub));
            }
        }
    }
    out.push('}');
    out
}

/// Fields named by `@.field` in the first filter of a path (upstream's extractFilterFields,
/// including its early stop at the first repeated field).
fn filter_fields(path: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    let Some(start) = path.find("[?") else {
        return fields;
    };
    let Some(end) = path[start..].find(']') else {
        return fields;
    };
    let expr = &path.as_bytes()[start + 2..start + end];
    let mut i = 0;
    while i < expr.len() {
        let Some(at) = find_bytes(&expr[i..], b"@.") else {
            break;
        };
        let field_start = i + at + 2;
        let mut field_end = field_start;
        while field_end < expr.len()
            && !matches!(expr[field_end], b' ' | b')' | b'=' | b'!' | b'<' | b'>')
        {
            field_end += 1;
        }
        if field_end > field_start {
            let field = String::from_utf8_lossy(&expr[field_start..field_end]).into_owned();
            if fields.contains(&field) {
                break;
            }
            fields.push(field);
        }
        i = field_end;
    }
    fields
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---- extraction ----

/// Upstream's walker for paths ending in `[]`: maps over arrays, `null` when missing.
fn legacy_walk(data: &Value, path: &[String]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return data.clone();
    };
    match data {
        Value::Object(map) => {
            let key = first.trim_end_matches(['[', ']']);
            map.get(key).map_or(Value::Null, |v| legacy_walk(v, rest))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| legacy_walk(v, path)).collect()),
        _ => Value::Null,
    }
}

type EvalResult<'a> = Result<Vec<&'a Value>, String>;

/// Evaluates steps the way k8s.io/client-go/util/jsonpath does.
fn eval<'a>(steps: &[Step], mut values: Vec<&'a Value>) -> EvalResult<'a> {
    for step in steps {
        values = match step {
            Step::Field(name) => eval_field(name, values)?,
            Step::Slice {
                start,
                end,
                step,
                index,
            } => eval_slice(*start, *end, *step, *index, values)?,
            Step::Filter(filter) => eval_filter(filter, values)?,
        };
    }
    Ok(values)
}

fn eval_field<'a>(name: &str, input: Vec<&'a Value>) -> EvalResult<'a> {
    if input.is_empty() {
        return Ok(input);
    }
    let found: Vec<&Value> = input
        .iter()
        .filter_map(|v| v.as_object().and_then(|m| m.get(name)))
        .collect();
    if found.is_empty() {
        return Err(format!("{name} is not found"));
    }
    Ok(found)
}

fn eval_slice<'a>(
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    index: bool,
    input: Vec<&'a Value>,
) -> EvalResult<'a> {
    let mut out = Vec::new();
    for value in input {
        if value.is_null() {
            continue;
        }
        let items = value
            .as_array()
            .ok_or_else(|| "value is not array or slice".to_owned())?;
        let len = items.len() as i64;
        let mut from = start.unwrap_or(0);
        if from < 0 {
            from += len;
        }
        let mut to = match (end, index) {
            (_, true) => start.unwrap_or(0) + 1,
            (Some(e), false) => e,
            (None, false) => len,
        };
        if to < 0 || (index && to == 0) {
            to += len;
        }
        if to == from {
            // Upstream returns what it has so far and ignores later inputs.
            return Ok(out);
        }
        if from >= len || from < 0 || to > len || to < 0 {
            return Err(format!("array index out of bounds: length {len}"));
        }
        if from > to {
            return Err(format!(
                "starting index {from} is greater than ending index {to}"
            ));
        }
        let stride = match step {
            Some(s) if s <= 0 => return Err("step must be > 0".to_owned()),
            Some(s) => s as usize,
            None => 1,
        };
        out.extend(items[from as usize..to as usize].iter().step_by(stride));
    }
    Ok(out)
}

fn eval_filter<'a>(filter: &Filter, input: Vec<&'a Value>) -> EvalResult<'a> {
    let mut out = Vec::new();
    for value in input {
        let items = value
            .as_array()
            .ok_or_else(|| "value is not array or slice and cannot be filtered".to_owned())?;
        for item in items {
            let lefts = operand(&filter.left, item);
            if filter.op == FilterOp::Exists {
                if lefts.is_ok_and(|l| !l.is_empty()) {
                    out.push(item);
                }
                continue;
            }
            let lefts = lefts?;
            let left = match lefts.as_slice() {
                [] => continue,
                [one] => one.clone(),
                _ => return Err("can only compare one element at a time".to_owned()),
            };
            let rights = operand(&filter.right, item)?;
            let right = match rights.as_slice() {
                [] => continue,
                [one] => one.clone(),
                _ => return Err("can only compare one element at a time".to_owned()),
            };
            if compare(filter.op, &left, &right)? {
                out.push(item);
            }
        }
    }
    Ok(out)
}

fn operand(op: &Operand, item: &Value) -> Result<Vec<Value>, String> {
    match op {
        Operand::Literal(v) => Ok(vec![v.clone()]),
        Operand::Current(steps) => Ok(eval(steps, vec![item])?.into_iter().cloned().collect()),
    }
}

/// Go template comparison: same kinds only; numbers compare by value (upstream's Go
/// version refuses to compare a JSON number with an integer literal).
fn compare(op: FilterOp, left: &Value, right: &Value) -> Result<bool, String> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (left, right) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a.partial_cmp(&b)
        }
        (Value::Bool(a), Value::Bool(b)) => {
            return match op {
                FilterOp::Eq => Ok(a == b),
                FilterOp::Ne => Ok(a != b),
                _ => Err("invalid type for comparison".to_owned()),
            };
        }
        _ => return Err("incompatible types for comparison".to_owned()),
    };
    let ord = ordering.ok_or_else(|| "incomparable values".to_owned())?;
    Ok(match op {
        FilterOp::Eq => ord == Ordering::Equal,
        FilterOp::Ne => ord != Ordering::Equal,
        FilterOp::Lt => ord == Ordering::Less,
        FilterOp::Le => ord != Ordering::Greater,
        FilterOp::Gt => ord == Ordering::Greater,
        FilterOp::Ge => ord != Ordering::Less,
        FilterOp::Exists => true,
    })
}

// ---- path parsing ----

/// Parses `a.b[0].c[*].d[?(@.x == 'y')]` (the part after upstream's leading `.`).
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    let mut expect_field = true;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if expect_field {
                    return Err(format!("unexpected '.' at {i}"));
                }
                expect_field = true;
                i += 1;
            }
            '[' => {
                let close = matching_bracket(&chars, i)?;
                let inner: String = chars[i + 1..close].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                expect_field = false;
                i = close + 1;
            }
            _ if expect_field => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[') {
                    if chars[i].is_whitespace() || matches!(chars[i], ']' | '(' | ')' | '@') {
                        return Err(format!("unexpected {:?} at {i}", chars[i]));
                    }
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name == "*" || name.is_empty() {
                    return Err(format!("unsupported field {name:?}"));
                }
                steps.push(Step::Field(name));
                expect_field = false;
            }
            c => return Err(format!("unexpected {c:?} at {i}")),
        }
    }
    if steps.is_empty() || expect_field {
        return Err("empty path or trailing '.'".to_owned());
    }
    Ok(steps)
}

fn matching_bracket(chars: &[char], open: usize) -> Result<usize, String> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(j);
                }
            }
            _ => {}
        }
    }
    Err("unclosed '['".to_owned())
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if let Some(filter) = inner.strip_prefix('?') {
        let expr = filter
            .trim()
            .strip_prefix('(')
            .and_then(|f| f.strip_suffix(')'))
            .ok_or_else(|| format!("filter must look like ?(…): {inner:?}"))?;
        return parse_filter(expr.trim()).map(Step::Filter);
    }
    if let Some(name) = quoted(inner) {
        return Ok(Step::Field(name));
    }
    if inner == "*" {
        return Ok(Step::Slice {
            start: None,
            end: None,
            step: None,
            index: false,
        });
    }
    let parts: Vec<&str> = inner.split(':').map(str::trim).collect();
    let num = |s: &str| -> Result<Option<i64>, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| format!("invalid array index {s:?}"))
        }
    };
    match parts.as_slice() {
        [one] => {
            let n = num(one)?.ok_or_else(|| "empty brackets".to_owned())?;
            Ok(Step::Slice {
                start: Some(n),
                end: None,
                step: None,
                index: true,
            })
        }
        [a, b] => Ok(Step::Slice {
            start: num(a)?,
            end: num(b)?,
            step: None,
            index: false,
        }),
        [a, b, c] => Ok(Step::Slice {
            start: num(a)?,
            end: num(b)?,
            step: num(c)?,
            index: false,
        }),
        _ => Err(format!("invalid brackets {inner:?}")),
    }
}

fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return Some(s[1..s.len() - 1].to_owned());
        }
    }
    None
}

fn parse_filter(expr: &str) -> Result<Filter, String> {
    for (token, op) in [
        ("==", FilterOp::Eq),
        ("!=", FilterOp::Ne),
        ("<=", FilterOp::Le),
        (">=", FilterOp::Ge),
        ("<", FilterOp::Lt),
        (">", FilterOp::Gt),
    ] {
        if let Some(pos) = find_outside_quotes(expr, token) {
            let left = parse_operand(expr[..pos].trim())?;
            let right = parse_operand(expr[pos + token.len()..].trim())?;
            return Ok(Filter { left, op, right });
        }
    }
    let left = parse_operand(expr)?;
    if !matches!(left, Operand::Current(_)) {
        return Err(format!("filter {expr:?} tests no field"));
    }
    Ok(Filter {
        left,
        op: FilterOp::Exists,
        right: Operand::Literal(Value::Null),
    })
}

fn find_outside_quotes(s: &str, token: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if s[i..].starts_with(token) => return Some(i),
            None => {}
        }
    }
    None
}

fn parse_operand(s: &str) -> Result<Operand, String> {
    if s == "@" {
        return Ok(Operand::Current(Vec::new()));
    }
    if let Some(rest) = s.strip_prefix("@.") {
        return parse_path(rest).map(Operand::Current);
    }
    if let Some(text) = quoted(s) {
        return Ok(Operand::Literal(Value::String(text)));
    }
    match s {
        "true" => return Ok(Operand::Literal(Value::Bool(true))),
        "false" => return Ok(Operand::Literal(Value::Bool(false))),
        _ => {}
    }
    serde_json::from_str::<serde_json::Number>(s)
        .map(|n| Operand::Literal(Value::Number(n)))
        .map_err(|_| format!("invalid filter operand {s:?}"))
}

// ---- pgEncode ----

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

    fn compile(claims: Value, defaults: Option<Value>) -> CustomClaims {
        let claims = claims.as_object().cloned();
        let defaults = defaults.and_then(|d| d.as_object().cloned());
        CustomClaims::from_settings(claims.as_ref(), defaults.as_ref())
            .expect("claims compile")
            .expect("claims configured")
    }

    /// Upstream's go/controller/custom_claims_test.go data.
    fn data() -> Value {
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
    fn claims_paths_index_slice_nested_and_missing() {
        let c = compile(
            json!({
                "last": "m.l[-1]",
                "slice": "m.l[0:2]",
                "nested": "m.ln[*][*].id",
                "out-of-range": "m.l[9]",
                "wrong-type": "m.k[*]",
                "empty-filter": "m.d[?(@.v == 'z')].id",
                "exists": "m.d[?(@.v)].id",
                "numeric": "m.d[?(@.id >= 2)].v",
                "quoted": "m['k']"
            }),
            None,
        );
        let got = c.extract(&data());
        assert_eq!(got["last"], "c");
        assert_eq!(got["slice"], "a", "not an array path: first match");
        assert_eq!(got["nested"], json!([1, 2, 3, 4]));
        assert_eq!(got["out-of-range"], Value::Null);
        assert_eq!(got["wrong-type"], Value::Null);
        assert_eq!(got["empty-filter"], json!([]));
        assert_eq!(got["exists"], json!([1, 2, 3]));
        assert_eq!(got["numeric"], json!(["b", "a"]));
        assert_eq!(got["quoted"], "v");
    }

    #[test]
    fn claims_legacy_walker_maps_arrays() {
        let c = compile(
            json!({"orgs": "profile.orgs[]", "ids": "profile.orgs.id[]", "none": "x.y[]"}),
            None,
        );
        assert_eq!(
            c.query(),
            "query GetClaims($id: uuid!) { user(id:$id) {profile{orgs{id }}x{y }} }"
        );
        let user = json!({"profile": {"orgs": [{"id": "a"}, {"id": "b"}]}});
        let got = c.extract(&user);
        assert_eq!(got["ids"], json!(["a", "b"]));
        assert_eq!(got["orgs"], json!([{"id": "a"}, {"id": "b"}]));
        assert_eq!(got["none"], Value::Null);
    }

    #[test]
    fn claims_metadata_selects_the_whole_column() {
        let c = compile(
            json!({"a": "metadata.x.y", "b": "profile.metadata.z"}),
            None,
        );
        assert_eq!(
            c.query(),
            "query GetClaims($id: uuid!) { user(id:$id) {metadata profile{metadata }} }"
        );
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
