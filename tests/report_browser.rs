//! The quickstart's `report.html` opened in headless Chromium: it renders (the screenshot
//! is not blank), its charts are in the rendered DOM, and the page logs nothing to the
//! console. Skips, saying so, where Chromium is not installed (`.ci/run` installs
//! Debian's `chromium`); under `CI=true` a missing Chromium fails the test.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{clickrec, stderr};

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs headless Chromium on `page` with the flags this closed network needs.
fn headless(chromium: &Path, profile: &Path, page: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

#[test]
fn quickstart_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        common::skip_or_fail("Chromium is not installed (.ci/run installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = clickrec(&[
        "run",
        "pipelines/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let page = out.join("report.html");

    let dom = headless(
        &chromium,
        &dir.path().join("profile-dom"),
        &page,
        &["--dump-dom"],
    );
    assert!(dom.status.success(), "{}", stderr(&dom));
    let rendered = String::from_utf8_lossy(&dom.stdout);
    let charts = rendered.matches("class=\"chart\"").count();
    assert!(
        charts >= 4,
        "expected at least 4 charts in the rendered page, found {charts}"
    );
    for title in ["Recall@K", "NDCG@K"] {
        assert!(
            rendered.contains(title),
            "no {title} chart in the rendered page"
        );
    }
    let console: Vec<&str> = std::str::from_utf8(&dom.stderr)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Failed to load"))
        .collect();
    assert!(
        console.is_empty(),
        "the page logged to the console: {console:#?}"
    );

    let png = dir.path().join("report.png");
    let shot = headless(
        &chromium,
        &dir.path().join("profile-shot"),
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2400",
        ],
    );
    assert!(shot.status.success(), "{}", stderr(&shot));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let pixels = &pixels[..info.buffer_size()];
    let colours: std::collections::HashSet<&[u8]> = pixels.chunks_exact(channels).collect();
    let background = pixels
        .chunks_exact(channels)
        .filter(|p| p.iter().take(3).all(|&c| c > 245))
        .count();
    let total = pixels.len() / channels;
    assert!(
        colours.len() > 20,
        "screenshot has only {} colours: blank?",
        colours.len()
    );
    assert!(
        background < total * 99 / 100,
        "screenshot is {background} of {total} pixels near-white: blank?"
    );
}
