//! What a test does when something it needs from the machine is missing (a program such as
//! `memcached` or Chromium, or a server feature such as TLS).
//!
//! Under CI (`CI` set to a truthy value, as `.ci/run` does) the test fails: CI installs
//! everything, so a missing tool there is a broken set-up, not a reason to pass without
//! running. Elsewhere the test is skipped with a note written straight to stderr, past the
//! test harness's output capture, so that `cargo test` shows it even for a passing test.

use std::io::Write;
use std::path::PathBuf;

/// Whether this is a CI run: `CI` is set and is not empty, `0`, `false`, `no` or `off`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "false" | "no" | "off")
    })
}

/// The program `name`, found on `PATH` (Debian's package of the same name provides it);
/// see [`require_one_of`].
#[track_caller]
pub fn require_tool(name: &str) -> Option<PathBuf> {
    require_one_of(&[name], None, &format!("install Debian's `{name}`"))
}

/// The path in the environment variable `env` when it is set, else the first of `names`
/// found on `PATH`. When there is none: panics under CI, else prints a note (with
/// `install`, how to get it) and returns `None`, and the caller returns early.
#[track_caller]
pub fn require_one_of(names: &[&str], env: Option<&str>, install: &str) -> Option<PathBuf> {
    if let Some(path) = env.and_then(std::env::var_os).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        names
            .iter()
            .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
            .find(|p| p.is_file())
    });
    let env = env.map_or_else(String::new, |e| format!(" and ${e} is unset"));
    let wanted = names.join(" / ");
    require(
        found,
        &format!("{wanted} not found on PATH{env} ({install}; .ci/run does)"),
    )
}

/// `found`, or, when it is `None`, the CI failure or the visible skip note saying what is
/// `missing`.
#[track_caller]
pub fn require<T>(found: Option<T>, missing: &str) -> Option<T> {
    if found.is_some() {
        return found;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if in_ci() {
        panic!("{test} cannot run: {missing}; CI is set, so this fails instead of skipping");
    }
    // Not eprintln!: the harness captures that and shows it only for failing tests.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {missing}; with CI=true this fails instead"
    );
    None
}
