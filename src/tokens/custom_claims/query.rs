//! The GraphQL document that fetches what the claims need, built once at start-up from
//! the claim paths as upstream builds it (its `parseClaims`, `mergeMaps`,
//! `claimsMapToGraphql` and `extractFilterFields`): `query GetClaims($id: uuid!) {
//! user(id:$id) {…} }`, fields sorted, `metadata.x` selecting the whole `metadata` column,
//! the fields a filter tests selected too.
//!
//! It is sent to Hasura at every token issuance, hence built once; the paths are then
//! evaluated against its answer ([`super::jsonpath`]), so it must select every field they
//! read, as upstream's does.

use std::collections::BTreeMap;

/// The fields selected so far.
#[derive(Debug, Default)]
pub(super) struct Selection(Tree);

impl Selection {
    /// Selects what `path` (a claim path as configured) reads.
    pub(super) fn add(&mut self, path: &str) {
        let tree = &mut self.0;
        merge(tree, parse_claims(&smart_split(path)));
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
                merge(tree, parse_claims(&parts));
            }
        }
    }

    /// The GraphQL document.
    pub(super) fn into_query(self) -> String {
        format!(
            "query GetClaims($id: uuid!) {{ user(id:$id) {} }}",
            render(&self.0)
        )
    }
}

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

#[cfg(test)]
mod tests {
    use super::super::tests::compile;
    use serde_json::json;

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
}
