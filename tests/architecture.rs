//! The layering the code promises (README, "Code layout"), checked over `use` lines:
//! no import circle between the top-level modules, and handlers that name the workflow
//! they call instead of reaching into the whole state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/http/user.rs` → `http`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// Top-level modules named in `crate::<module>` paths of a file (code, not comments).
fn referenced_modules(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(&name) {
                found.insert(name);
            }
        }
    }
    found
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        let deps = graph.entry(module.clone()).or_default();
        for dep in referenced_modules(&text, &modules) {
            if dep != module {
                deps.insert(dep);
            }
        }
    }
    graph
}

/// A path from `from` back to itself, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == from {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn top_level_modules_import_each_other_without_circles() {
    let graph = module_graph();
    for layer in ["cli", "http", "service", "settings", "error", "startup"] {
        assert!(graph.contains_key(layer), "module {layer} not found");
    }
    for module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!("import circle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_layers_point_downwards() {
    let graph = module_graph();
    let uses = |from: &str, to: &str| graph.get(from).is_some_and(|d| d.contains(to));
    for (from, to) in [
        ("service", "http"),
        ("service", "startup"),
        ("service", "cli"),
        // The operator's commands and the HTTP handlers are two doors to the same
        // workflows: neither goes through the other, and start-up builds both.
        ("cli", "http"),
        ("http", "cli"),
        ("cli", "startup"),
        ("error", "http"),
        ("error", "db"),
        ("error", "service"),
        ("db", "service"),
        ("domain", "service"),
        ("adapters", "service"),
        ("settings", "service"),
    ] {
        assert!(!uses(from, to), "{from} must not import {to}");
    }
}

/// Handlers ask axum for the workflow they call (`State<Arc<SignUp>>`); only the
/// router, its state and the cross-cutting layers see the whole state.
#[test]
fn handlers_name_their_workflow() {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = Vec::new();
    rust_files(&http, &mut files);
    let infrastructure = [
        "mod.rs",
        "extract.rs",
        "middleware.rs",
        "rate_limit.rs",
        "turnstile.rs",
        "routes.rs",
        "policy.rs",
        "state.rs",
    ];
    for file in files {
        let rel = file.strip_prefix(&http).expect("under src/http");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        if infrastructure.contains(&top) || top == "rate_limit" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read handler");
        assert!(
            !text.contains("SharedState"),
            "{} reaches into the whole state; extract its workflow instead",
            rel.display()
        );
    }
}

/// Every sign-up method goes through the registration workflow, which owns the only
/// statement that creates users.
#[test]
fn one_code_path_inserts_users() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut inserts = Vec::new();
    let mut callers = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .display()
            .to_string();
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let normalised = code.split_whitespace().collect::<Vec<_>>().join(" ");
        if normalised
            .to_ascii_uppercase()
            .contains("INSERT INTO AUTH.USERS ")
        {
            inserts.push(rel.clone());
        }
        if code.contains("insert_user(") && !rel.starts_with("db/") {
            callers.push(rel);
        }
    }
    assert_eq!(
        inserts,
        ["db/users.rs"],
        "statements inserting into auth.users"
    );
    assert_eq!(
        callers,
        ["service/registration.rs"],
        "callers of db::users::insert_user"
    );
}
