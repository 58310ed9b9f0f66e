//! One run per run directory: a second run on a busy directory fails at once naming the
//! process that holds it, and a killed run leaves nothing that blocks the next one.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{binary, clickrec, stderr};

/// A pipeline over a generated log large enough that a run lasts a few seconds.
fn pipeline(dir: &Path) -> PathBuf {
    let log = dir.join("log.csv");
    let generated = clickrec(&[
        "generate",
        "--users",
        "20000",
        "--items",
        "20000",
        "--events",
        "1500000",
        "--seed",
        "5",
        "--out",
        log.to_str().unwrap(),
    ]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let pipeline = dir.join("p.toml");
    std::fs::write(
        &pipeline,
        "[run]\nout = \"unused\"\n[input]\npath = \"log.csv\"\n[models.popularity]\n",
    )
    .unwrap();
    pipeline
}

fn spawn_run(pipeline: &Path, out: &Path) -> Child {
    Command::new(binary())
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `child` holds the lock of `out` (its pid is in `out/.lock`).
fn wait_for_lock(child: &mut Child, out: &Path) {
    let started = Instant::now();
    let pid = child.id().to_string();
    loop {
        let holder = std::fs::read_to_string(out.join(".lock")).unwrap_or_default();
        if holder.trim() == pid {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first run ended before it was seen holding the lock"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no lock after 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_run_on_a_busy_directory_fails_at_once_and_the_first_completes() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(dir.path());
    let out = dir.path().join("run");
    let mut first = spawn_run(&pipeline, &out);
    wait_for_lock(&mut first, &out);

    let second = clickrec(&[
        "run",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let still_running = first.try_wait().unwrap().is_none();
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let message = format!("{} is in use by process {}", out.display(), first.id());
    assert!(stderr(&second).contains(&message), "{}", stderr(&second));
    assert!(
        still_running,
        "the second run waited for the first instead of failing at once"
    );

    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(out.join("manifest.json").is_file());
    // The directory is free again.
    let again = clickrec(&[
        "run",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn a_killed_run_leaves_no_lock_that_blocks_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(dir.path());
    let out = dir.path().join("run");
    let mut killed = spawn_run(&pipeline, &out);
    wait_for_lock(&mut killed, &out);
    killed.kill().unwrap(); // SIGKILL: no chance to clean up
    killed.wait().unwrap();
    // The lock file stays behind, naming the dead process; it must not block.
    assert!(out.join(".lock").is_file());
    let rerun = clickrec(&[
        "run",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
}

#[test]
fn ingest_into_a_busy_directory_fails_too() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(dir.path());
    let out = dir.path().join("run");
    let mut first = spawn_run(&pipeline, &out);
    wait_for_lock(&mut first, &out);
    let ingest = clickrec(&[
        "ingest",
        "--input",
        dir.path().join("log.csv").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(ingest.status.code(), Some(1), "{}", stderr(&ingest));
    assert!(
        stderr(&ingest).contains("is in use by process"),
        "{}",
        stderr(&ingest)
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
}
