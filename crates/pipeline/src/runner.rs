//! Runs the stages of a [`Plan`] over its run directory, skipping those whose inputs and
//! configuration are unchanged.

use std::time::Instant;

use clickrec_ingest::Progress;

use crate::config::Plan;
use crate::error::PipelineError;
use crate::manifest::{
    Manifest, StageRecord, fingerprint, hash_file, peak_rss_bytes, reset_peak_rss,
};

/// What happened to one stage.
#[derive(Clone, Debug, PartialEq)]
pub enum StageStatus {
    Ran,
    /// Unchanged inputs and configuration: the artifacts were reused.
    Cached,
}

/// One stage's result, for printing.
#[derive(Clone, Debug)]
pub struct StageReport {
    pub name: &'static str,
    pub status: StageStatus,
    pub record: StageRecord,
    /// A few human lines on what the stage did.
    pub text: String,
}

/// Options of a run that are not part of the pipeline's identity.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunOptions {
    /// Redo every stage even when cached.
    pub force: bool,
}

/// Runs the plan; `on_stage` hears about each stage as it finishes.
pub fn run(
    plan: &Plan,
    options: RunOptions,
    progress: &dyn Progress,
    on_stage: &mut dyn FnMut(&StageReport),
) -> Result<Vec<StageReport>, PipelineError> {
    let dir = &plan.out;
    std::fs::create_dir_all(dir).map_err(|e| PipelineError::Io {
        path: dir.clone(),
        action: "cannot create run directory",
        source: e,
    })?;
    let mut manifest = Manifest::load(dir)?;
    manifest.clickrec_version = env!("CARGO_PKG_VERSION").to_owned();
    manifest.seed = plan.seed;
    manifest.config = serde_json::to_value(&plan.config).unwrap_or_default();
    let input = hash_file(&plan.input)?;
    manifest.inputs = vec![input.clone()];

    let mut reports = Vec::new();
    let version = serde_json::json!(manifest.clickrec_version);
    let ingest_fp = fingerprint(&[
        &version,
        &serde_json::json!(input.blake3),
        &serde_json::to_value(&plan.ingest).unwrap_or_default(),
    ]);
    let report = stage(dir, &mut manifest, "ingest", &ingest_fp, options, || {
        let summary = clickrec_ingest::ingest_to_dir(&plan.input, &plan.ingest, dir, progress)?;
        let mut artifacts: Vec<String> = clickrec_ingest::EVENT_LOG_FILES
            .iter()
            .chain([&clickrec_ingest::SUMMARY_FILE])
            .map(|s| s.to_string())
            .collect();
        if summary.quarantine.is_some() {
            artifacts.push(clickrec_ingest::QUARANTINE_FILE.to_owned());
        }
        Ok((
            summary.human(),
            serde_json::to_value(&summary).unwrap_or_default(),
            artifacts,
        ))
    })?;
    on_stage(&report);
    reports.push(report);
    Ok(reports)
}

type StageOutput = (String, serde_json::Value, Vec<String>);

/// Runs or reuses one stage and records it in the manifest.
fn stage(
    dir: &std::path::Path,
    manifest: &mut Manifest,
    name: &'static str,
    fp: &str,
    options: RunOptions,
    body: impl FnOnce() -> Result<StageOutput, PipelineError>,
) -> Result<StageReport, PipelineError> {
    if !options.force {
        if let Some(record) = manifest.reusable(dir, name, fp) {
            let record = record.clone();
            manifest.save(dir)?;
            return Ok(StageReport {
                name,
                status: StageStatus::Cached,
                text: format!(
                    "{name}: unchanged, reusing {}\n",
                    record.artifacts.join(", ")
                ),
                record,
            });
        }
    }
    // Forget the old record first: if this run dies, nothing vouches for half-new artifacts.
    manifest.stages.remove(name);
    manifest.save(dir)?;
    reset_peak_rss();
    let started = Instant::now();
    let (text, summary, artifacts) = body()?;
    let record = StageRecord {
        fingerprint: fp.to_owned(),
        artifacts,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
        summary,
    };
    manifest.stages.insert(name.to_owned(), record.clone());
    manifest.save(dir)?;
    Ok(StageReport {
        name,
        status: StageStatus::Ran,
        record,
        text,
    })
}
