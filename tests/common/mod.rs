//! Shared helpers of the end-to-end tests: where the binary, the samples and the real
//! data are, and how to run the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A JSON file of a run directory (a test fails when it is missing or malformed).
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The `clickrec` binary of this build: next to the test executable's `deps/` folder.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CLICKREC_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let bin = profile_dir.join(format!("clickrec{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: run the tests with `cargo test --workspace` (which builds it), \
         or set CLICKREC_BIN",
        bin.display()
    );
    bin
}

/// Runs `clickrec ARGS` from the workspace root.
pub fn clickrec(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(root())
        .output()
        .expect("clickrec runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// True under CI (`CI=true`), where a missing prerequisite must fail a test, not skip it:
/// a skipped test there would hide a broken install step.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Skips a test whose prerequisite is missing, saying why; under `CI=true` fails it
/// with the same reason instead.
pub fn skip_or_fail(reason: &str) {
    assert!(!in_ci(), "prerequisite missing under CI=true: {reason}");
    eprintln!("skipped: {reason}");
}

/// A real data file from `../shared/data`, or `None` (with a note on stderr) when the
/// shared data is absent, as on machines without it. Under `CI=true` an absent file fails
/// the test.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = root().join("../shared/data").join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip_or_fail(&format!("{} is absent", path.display()));
        None
    }
}

/// Takes the artifacts of `stage` whose path starts with `prefix` out of the run's
/// manifest record, so that a test can put other content in them and have the stage
/// reused as is (a record checks the size and hash of the files it lists).
pub fn unrecord_artifacts(run_dir: &Path, stage: &str, prefix: &str) {
    let path = run_dir.join("manifest.json");
    let mut manifest = read_json(&path);
    manifest["stages"][stage]["artifacts"]
        .as_array_mut()
        .expect("the stage has a record")
        .retain(|a| !a["path"].as_str().unwrap_or_default().starts_with(prefix));
    std::fs::write(&path, manifest.to_string()).unwrap();
}

/// The item of the first row of a Taobao-format log.
pub fn first_item(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .next()
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_owned()
}
