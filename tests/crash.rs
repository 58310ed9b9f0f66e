//! A run killed with SIGKILL mid-run leaves nothing a re-run would trust: the re-run
//! completes, its artifacts equal those of an uninterrupted run, and no temporary file of
//! the killed run remains. Each kill is checked to have landed before the run finished.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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

    // Kill points: early (during ingest), and just after each of the first stages is
    // recorded in the manifest, while the next one runs.
    let points = [
        KillPoint::After(Duration::from_millis(50)),
        KillPoint::Recorded("ingest"),
        KillPoint::Recorded("prep"),
        KillPoint::Recorded("split"),
    ];
    for (attempt, point) in points.into_iter().enumerate() {
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
        match point {
            KillPoint::After(delay) => std::thread::sleep(delay),
            KillPoint::Recorded(stage) => {
                let started = Instant::now();
                while !recorded(&out).contains(&stage.to_owned()) {
                    assert!(
                        child.try_wait().unwrap().is_none(),
                        "the run ended before {stage} was recorded"
                    );
                    assert!(
                        started.elapsed() < Duration::from_secs(120),
                        "{stage} never recorded"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // The kill landed mid-run: the process died of it, not of finishing first.
        assert_eq!(status.signal(), Some(9), "{point:?}: {status}");

        let rerun = run(&pipeline, &out);
        assert!(
            rerun.status.success(),
            "after a kill at {point:?}: {}",
            stderr(&rerun)
        );
        for artifact in ARTIFACTS {
            let expected = std::fs::read(reference.join(artifact)).unwrap();
            let got = std::fs::read(out.join(artifact)).unwrap();
            assert!(
                expected == got,
                "{artifact} differs after a kill at {point:?}"
            );
        }
        // The re-run removed what the killed one was writing.
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{point:?}: {leftovers:?}");
    }
}

#[derive(Clone, Copy, Debug)]
enum KillPoint {
    After(Duration),
    /// As soon as the manifest records this stage.
    Recorded(&'static str),
}

/// The stages the run directory's manifest records (none while it has no manifest, or
/// while the manifest is being replaced).
fn recorded(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|manifest| {
            manifest["stages"]
                .as_object()
                .map(|stages| stages.keys().cloned().collect())
        })
        .unwrap_or_default()
}
