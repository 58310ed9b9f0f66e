//! A run directory is trusted only as far as it can be checked: damaged artifacts are
//! found by size and hash and redone, a standalone ingest invalidates what was built on the
//! files it replaces, temporary files of a killed run are removed, a failed first run
//! leaves no folder behind, a foreign folder is refused, and files take the umask's mode.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{binary, clickrec, read_json, root, stderr};

/// Files whose content records wall time or memory, which no two runs share.
const TIMED_FILES: [&str; 3] = ["manifest.json", "ingest.json", "train.json"];

/// Every file of a run directory (relative path → bytes), but `.lock` and [`TIMED_FILES`].
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_owned();
            let name = relative.to_string_lossy().into_owned();
            if path.is_dir() {
                folders.push(path);
            } else if name != ".lock" && !TIMED_FILES.contains(&name.as_str()) {
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Asserts two run directories hold the same files, byte for byte (as `cmp` compares).
fn assert_same_files(expected: &Path, got: &Path) {
    let (expected, got) = (contents(expected), contents(got));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &expected {
        assert!(bytes == &got[path], "{} differs", path.display());
    }
}

fn run(pipeline: &Path, out: &Path) -> Output {
    clickrec(&[
        "run",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

fn run_ok(pipeline: &Path, out: &Path) -> String {
    let output = run(pipeline, out);
    assert!(output.status.success(), "{}", stderr(&output));
    stderr(&output)
}

/// Runs again and asserts that every stage was reused.
fn assert_all_cached(pipeline: &Path, out: &Path) {
    let again = run_ok(pipeline, out);
    assert!(!again.contains("done in"), "{again}");
}

/// The small pipeline run undisturbed into `reference` and again into `run`, which a
/// test then damages.
fn reference_and_run(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let pipeline = small_pipeline(dir);
    let (reference, out) = (dir.join("reference"), dir.join("run"));
    run_ok(&pipeline, &reference);
    run_ok(&pipeline, &out);
    (pipeline, reference, out)
}

/// `truncate -s 5000 FILE`.
fn truncate(path: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(5000)
        .unwrap();
}

/// A small pipeline on the shipped sample: popularity only, a short evaluation.
fn small_pipeline(dir: &Path) -> PathBuf {
    let pipeline = dir.join("small.toml");
    let input = root().join("data/sample.csv");
    std::fs::write(
        &pipeline,
        format!(
            "[run]\nout = \"unused\"\nseed = 42\n[input]\npath = {:?}\nformat = \"taobao\"\n\
             [models.popularity]\n[evaluate]\nks = [10]\nbootstrap_samples = 10\n",
            input.to_str().unwrap()
        ),
    )
    .unwrap();
    pipeline
}

/// The "done when": `truncate -s 5000` of a model, then of `prepared.parquet`, is
/// found by the next run without `--force`, which redoes that stage and those after it and
/// ends with the artifacts of an undisturbed run.
#[test]
fn truncated_artifacts_are_redone_to_an_undisturbed_runs_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = root().join("pipelines/quickstart.toml");
    let reference = dir.path().join("reference");
    let out = dir.path().join("run");
    run_ok(&quickstart, &reference);
    run_ok(&quickstart, &out);

    for (file, stage, before) in [
        ("models/als.model", "train", "split"),
        ("prepared.parquet", "prep", "ingest"),
    ] {
        let manifest = read_json(&out.join("manifest.json"));
        let recorded = manifest["stages"][stage]["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == file)
            .unwrap_or_else(|| panic!("{file} in the {stage} record: {manifest}"))["bytes"]
            .as_u64()
            .unwrap();
        truncate(&out.join(file));
        let rerun = run_ok(&quickstart, &out);
        assert!(
            rerun.contains(&format!(
                "{file}: 5000 bytes, the manifest recorded {recorded}; redoing {stage}\n[{stage}] done"
            )),
            "{rerun}"
        );
        assert!(rerun.contains(&format!("[{before}] cached")), "{rerun}");
        assert!(rerun.contains("[evaluate] done"), "{rerun}");
        assert_same_files(&reference, &out);
    }
}

/// A file of the recorded size with other content is found by its hash.
#[test]
fn a_changed_file_of_the_same_size_is_found_by_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, reference, out) = reference_and_run(dir.path());
    let path = out.join("test_set.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b' ' { b'\n' } else { b' ' };
    std::fs::write(&path, &bytes).unwrap();
    let rerun = run_ok(&pipeline, &out);
    assert!(
        rerun.contains(&format!(
            "test_set.json: content differs from the blake3 hash the manifest recorded (same size, {} bytes); redoing split",
            bytes.len()
        )),
        "{rerun}"
    );
    assert!(rerun.contains("[prep] cached"), "{rerun}");
    assert_same_files(&reference, &out);
    assert_all_cached(&pipeline, &out);
}

/// A one-stage command on a damaged upstream artifact stops, naming the file and how it
/// differs from the record, so the user knows why the stage is not up to date.
#[test]
fn a_single_stage_command_says_which_upstream_file_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = small_pipeline(dir.path());
    let out = dir.path().join("run");
    run_ok(&pipeline, &out);
    truncate(&out.join("prepared.parquet"));
    let output = clickrec(&[
        "evaluate",
        pipeline.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("stage prep is not up to date in")
            && err.contains("(prepared.parquet: 5000 bytes, the manifest recorded"),
        "{err}"
    );
}

/// A manifest written before artifacts were hashed holds bare paths: nothing can be
/// checked, so every stage is redone once, saying why, and then reused.
#[test]
fn a_manifest_without_hashes_is_redone_once() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = small_pipeline(dir.path());
    let out = dir.path().join("run");
    run_ok(&pipeline, &out);
    let path = out.join("manifest.json");
    let mut manifest = read_json(&path);
    for record in manifest["stages"].as_object_mut().unwrap().values_mut() {
        let names: Vec<_> = record["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["path"].clone())
            .collect();
        record["artifacts"] = serde_json::Value::Array(names);
    }
    std::fs::write(&path, manifest.to_string()).unwrap();
    let rerun = run_ok(&pipeline, &out);
    assert!(
        rerun.contains(
            "events.parquet: the manifest (written by an older clickrec) has no size or hash to check it by; redoing ingest"
        ),
        "{rerun}"
    );
    assert!(!rerun.contains("cached"), "{rerun}");
    assert_all_cached(&pipeline, &out);
}

/// `clickrec ingest --out RUN` of another input into a finished run: the records of
/// ingest and everything after it are dropped, and the next run redoes them from the
/// pipeline's input instead of mixing the new id maps with the old stages.
#[test]
fn a_standalone_ingest_invalidates_the_records_built_on_what_it_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, reference, out) = reference_and_run(dir.path());
    let sample = std::fs::read_to_string(root().join("data/sample.csv")).unwrap();
    let other = dir.path().join("other.csv");
    let half: Vec<&str> = sample.lines().step_by(2).collect();
    std::fs::write(&other, half.join("\n") + "\n").unwrap();
    let ingest = clickrec(&[
        "ingest",
        "--input",
        other.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ingest.status.success(), "{}", stderr(&ingest));
    assert!(
        stderr(&ingest).contains("forgot the records of ingest, prep, split, matrix, train, recommend, evaluate: the next `clickrec run` into it redoes them"),
        "{}",
        stderr(&ingest)
    );
    let stages = read_json(&out.join("manifest.json"))["stages"].clone();
    assert_eq!(stages, serde_json::json!({}));
    let rerun = run_ok(&pipeline, &out);
    assert!(rerun.contains("[ingest] done"), "{rerun}");
    assert!(!rerun.contains("cached"), "{rerun}");
    assert_same_files(&reference, &out);
}

/// Temporary files named as the atomic writer names them, left by a killed run, are
/// removed under the lock at the start of the next run and counted; other files stay.
#[test]
fn temporary_files_of_an_interrupted_run_are_removed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = small_pipeline(dir.path());
    let out = dir.path().join("run");
    run_ok(&pipeline, &out);
    let stale = [
        out.join(".prepared.parquet.Ab3xYz.tmp"),
        out.join("models/.popularity.model.q9Z0aB.tmp"),
    ];
    std::fs::write(&stale[0], vec![7u8; 1200]).unwrap();
    std::fs::write(&stale[1], vec![7u8; 34]).unwrap();
    let kept = out.join("notes.tmp");
    std::fs::write(&kept, "mine").unwrap();
    let rerun = run_ok(&pipeline, &out);
    assert!(
        rerun.contains(
            "removed 2 temporary files left by an interrupted run (1234 bytes (1.2 KiB))\n"
        ),
        "{rerun}"
    );
    assert!(stale.iter().all(|p| !p.exists()));
    assert!(kept.exists());
    let again = run_ok(&pipeline, &out);
    assert!(!again.contains("temporary file"), "{again}");
}

/// A first ingest that fails leaves no folder holding only `.lock`, from either command.
#[test]
fn a_failed_first_ingest_leaves_no_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new");
    let missing = clickrec(&[
        "ingest",
        "--input",
        "no/such.csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(!out.exists(), "{} was left behind", out.display());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1,2,3,pv,1511544070\n1,2,3,view,1511544071\n").unwrap();
    let pipeline = dir.path().join("bad.toml");
    std::fs::write(
        &pipeline,
        "[run]\nout = \"unused\"\n[input]\npath = \"bad.csv\"\non_bad_row = \"fail\"\n",
    )
    .unwrap();
    let failed = run(&pipeline, &out);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("unknown behaviour value"));
    assert!(!out.exists(), "{} was left behind", out.display());

    // A folder that was there before stays, whatever happens.
    std::fs::create_dir(&out).unwrap();
    assert_eq!(run(&pipeline, &out).status.code(), Some(1));
    assert!(out.is_dir());
}

/// `--out` into a non-empty folder clickrec did not write is refused (exit 2) before
/// anything is written; an empty one is used.
#[test]
fn a_non_empty_foreign_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("photos");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("events.parquet"), "not ours").unwrap();
    let expected = format!(
        "{}: not empty and not a clickrec run directory (no manifest.json): choose a new or empty folder for the run",
        foreign.display()
    );
    let ingest = clickrec(&[
        "ingest",
        "--input",
        "data/sample.csv",
        "--out",
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(ingest.status.code(), Some(2), "{}", stderr(&ingest));
    assert!(stderr(&ingest).contains(&expected), "{}", stderr(&ingest));
    let pipeline = small_pipeline(dir.path());
    let output = run(&pipeline, &foreign);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
    let names: Vec<_> = std::fs::read_dir(&foreign)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["events.parquet"]);
    assert_eq!(
        std::fs::read(foreign.join("events.parquet")).unwrap(),
        b"not ours"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let into_empty = clickrec(&[
        "ingest",
        "--input",
        "data/sample.csv",
        "--out",
        empty.to_str().unwrap(),
    ]);
    assert!(into_empty.status.success(), "{}", stderr(&into_empty));
    // A folder a standalone ingest wrote is a run directory for the pipeline.
    run_ok(&pipeline, &empty);
}

/// Files and folders of a run take the umask's modes: 0644 / 0755 under 022, 0640 /
/// 0750 under 027 — never the owner-only 0600 of a temporary file.
#[cfg(unix)]
#[test]
fn artifacts_take_their_modes_from_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pipeline = small_pipeline(dir.path());
    for (umask, file_mode, dir_mode) in [("022", 0o644, 0o755), ("027", 0o640, 0o750)] {
        let out = dir.path().join(format!("umask-{umask}"));
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(binary())
            .args(["run", pipeline.to_str().unwrap(), "--out"])
            .arg(&out)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let mode = |p: &str| std::fs::metadata(out.join(p)).unwrap().permissions().mode() & 0o777;
        for file in [
            "report.md",
            "models/popularity.model",
            "events.parquet",
            "manifest.json",
            ".lock",
        ] {
            assert_eq!(mode(file), file_mode, "{file} under umask {umask}");
        }
        for folder in ["", "models", "recs"] {
            assert_eq!(mode(folder), dir_mode, "{folder}/ under umask {umask}");
        }
    }
}
