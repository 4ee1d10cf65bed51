//! Printing a command's output on stdout without panicking when the reader is gone.
//!
//! `println!` panics (with a backtrace) when stdout is a closed pipe, as in
//! `hasura-auth --check-config | head -c 50`. Rust ignores SIGPIPE, so the write fails
//! with `BrokenPipe` instead of the process being stopped as a C or Go program would be;
//! [`print`] does what those do: exit quietly.

use std::io::Write;

/// Writes `text` and a newline to stdout. When stdout is closed, exits quietly (status
/// 0: the reader had what it wanted); another write error exits with status 1.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let result = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("hasura-auth: writing to stdout: {e}");
            std::process::exit(1);
        }
    }
}
