//! The path dialect of `AUTH_JWT_CUSTOM_CLAIMS`, parsed at start-up and evaluated against
//! the `user` object Hasura returns, exactly as upstream does: its Kubernetes-style
//! JSONPath subset (k8s.io/client-go/util/jsonpath: `a.b`, `[*]`/`[]`, `[N]`, `[a:b]`,
//! `[a:b:c]`, `['name']`, `[?(@.f == 'v')]`), and, for paths ending in `[]`, its older
//! walker that maps over arrays.
//!
//! Written here rather than taken from a JSONPath crate because the claims must match
//! upstream's results, including its quirks (what is an array result, what a slice of
//! equal bounds returns, which comparisons are refused).

use serde_json::Value;

/// A claim path, compiled.
#[derive(Debug)]
pub(super) struct ClaimPath(Compiled);

#[derive(Debug)]
enum Compiled {
    /// Paths ending in `[]`: upstream's legacy walker over dot-separated parts.
    Legacy(Vec<String>),
    /// A JSONPath; `array` when the path contains `[]`, `[*]` or `[?`.
    Path { steps: Vec<Step>, array: bool },
}

impl ClaimPath {
    /// Compiles a path as configured; the error says what is wrong with it.
    pub(super) fn parse(path: &str) -> Result<ClaimPath, String> {
        if path.ends_with("[]") {
            return Ok(ClaimPath(Compiled::Legacy(
                path.split('.').map(str::to_owned).collect(),
            )));
        }
        let steps = parse_path(&path.replace("[]", "[*]"))?;
        let array = path.contains("[]") || path.contains("[*]") || path.contains("[?");
        Ok(ClaimPath(Compiled::Path { steps, array }))
    }

    /// The value at this path in `user`: an array for array paths, else the first match;
    /// `null` when nothing matches or the evaluation fails.
    pub(super) fn value_in(&self, user: &Value) -> Value {
        match &self.0 {
            Compiled::Legacy(parts) => legacy_walk(user, parts),
            Compiled::Path { steps, array } => match eval(steps, vec![user]) {
                Err(_) => Value::Null,
                Ok(found) if *array => Value::Array(found.into_iter().cloned().collect()),
                Ok(found) => found.first().map_or(Value::Null, |v| (*v).clone()),
            },
        }
    }
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

// ---- evaluation ----

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

// ---- parsing ----

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

#[cfg(test)]
mod tests {
    use super::super::tests::{compile, data};
    use serde_json::{Value, json};

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
}
