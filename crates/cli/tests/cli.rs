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

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let out = clickrec(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("clickrec {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

/// A binary built without the `spark` feature refuses the Spark engine in one line that
/// says how to get one with it.
#[cfg(not(feature = "spark"))]
#[test]
fn the_spark_engine_needs_the_spark_feature() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(env!("CARGO_BIN_EXE_clickrec"))
        .args([
            "run",
            "pipelines/quickstart.toml",
            "--out",
            "runs/never-written",
            "--set",
            "engine.kind=spark",
            "--set",
            "engine.url=sc://127.0.0.1:15002",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(
        text.contains("engine.kind") && text.contains("--features spark"),
        "{text}"
    );
    assert!(
        !std::path::Path::new(root)
            .join("runs/never-written")
            .exists()
    );
}
