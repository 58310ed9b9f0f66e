//! A run killed with SIGKILL at any point leaves nothing a re-run would trust: the re-run
//! completes and its artifacts equal those of an uninterrupted run.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{binary, clickrec, stderr};

const ARTIFACTS: [&str; 9] = [
    "events.parquet",
    "users.parquet",
    "items.parquet",
    "prepared.parquet",
    "train.parquet",
    "test_events.parquet",
    "test_set.json",
    "split_items.parquet",
    "train_matrix.csr",
];

fn run(pipeline: &Path, out: &Path) -> std::process::Output {
    clickrec(&[
        "run",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn killed_runs_rerun_to_identical_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    let generated = clickrec(&[
        "generate",
        "--users",
        "20000",
        "--items",
        "20000",
        "--events",
        "1500000",
        "--seed",
        "3",
        "--out",
        log.to_str().unwrap(),
    ]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "[run]\nout = \"unused\"\n[input]\npath = \"log.csv\"\n",
    )
    .unwrap();

    let reference = dir.path().join("reference");
    let output = run(&pipeline, &reference);
    assert!(output.status.success(), "{}", stderr(&output));

    for (attempt, delay_ms) in [50u64, 400, 900, 1500, 2500].into_iter().enumerate() {
        let out = dir.path().join(format!("killed-{attempt}"));
        let mut child = Command::new(binary())
            .args([
                "run",
                pipeline.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL; it may have finished already
        let _ = child.wait();
        let rerun = run(&pipeline, &out);
        assert!(
            rerun.status.success(),
            "after kill at {delay_ms} ms: {}",
            stderr(&rerun)
        );
        for artifact in ARTIFACTS {
            let expected = std::fs::read(reference.join(artifact)).unwrap();
            let got = std::fs::read(out.join(artifact)).unwrap();
            assert!(
                expected == got,
                "{artifact} differs after a kill at {delay_ms} ms"
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        // A temporary file may remain from the killed run, but never under a final name.
        assert!(
            leftovers.iter().all(|n| n.starts_with('.')),
            "{leftovers:?}"
        );
    }
}
