//! The binary's own surface: help and usage errors. (Cargo builds `clickrec` for these
//! tests, which the end-to-end tests in `tests/` then reuse.)

#![allow(clippy::unwrap_used)] // tests report failures by panicking

use std::process::Command;

fn clickrec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clickrec"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn top_level_help_lists_commands_and_exit_codes() {
    let out = clickrec(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ingest") && text.contains("Exit codes"),
        "{text}"
    );
}

#[test]
fn no_command_is_a_usage_error() {
    assert_eq!(clickrec(&[]).status.code(), Some(2));
}
