//! Runs the stages of a [`Plan`] over its run directory, skipping those whose inputs and
//! configuration are unchanged.

use std::time::Instant;

use clickrec_ingest::Progress;

use crate::config::Plan;
use crate::error::PipelineError;
use crate::manifest::{
    Manifest, StageRecord, fingerprint, hash_file, peak_rss_bytes, reset_peak_rss,
};
use crate::stages::{self, StageOutput};

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

/// The stages, in order. Each reads the artifacts of the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Only with a `[generate]` table: writes the synthetic input log.
    Generate,
    Ingest,
    Prep,
    Split,
    Matrix,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Generate => "generate",
            Stage::Ingest => "ingest",
            Stage::Prep => "prep",
            Stage::Split => "split",
            Stage::Matrix => "matrix",
        }
    }
}

/// Options of a run that are not part of the pipeline's identity.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunOptions {
    /// Redo the stages run even when cached.
    pub force: bool,
    /// Run only this stage; the stages before it must be up to date in the run directory.
    pub only: Option<Stage>,
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
    let mut reports = Vec::new();
    let version = serde_json::json!(manifest.clickrec_version);
    if let Some(params) = &plan.generate {
        let generate_config = serde_json::to_value(&plan.config.generate).unwrap_or_default();
        let fp = fingerprint(&[&version, &generate_config, &serde_json::json!(plan.seed)]);
        let wanted = options.only.is_none_or(|only| only == Stage::Generate);
        if wanted {
            let report = stage(
                dir,
                &mut manifest,
                Stage::Generate.name(),
                &fp,
                options,
                || stages::run_generate(&plan.input, params),
            )?;
            on_stage(&report);
            reports.push(report);
        }
    }
    let input = hash_file(&plan.input)?;
    manifest.inputs = vec![input.clone()];

    // Each fingerprint covers the one before it, so a change anywhere upstream
    // invalidates everything downstream.
    let config = &plan.config;
    let mut prep_config = serde_json::to_value(&config.prep).unwrap_or_default();
    if let Some(table) = prep_config.as_object_mut() {
        table.remove("weights"); // weights only shape the matrix
    }
    let ingest_fp = fingerprint(&[
        &version,
        &serde_json::json!(input.blake3),
        &serde_json::to_value(&plan.ingest).unwrap_or_default(),
    ]);
    let prep_fp = fingerprint(&[&serde_json::json!(ingest_fp), &prep_config]);
    let split_fp = fingerprint(&[
        &serde_json::json!(prep_fp),
        &serde_json::to_value(config.split).unwrap_or_default(),
    ]);
    let matrix_fp = fingerprint(&[
        &serde_json::json!(split_fp),
        &serde_json::to_value(config.prep.weights).unwrap_or_default(),
    ]);

    // `generate` ran above: the input must exist before it is hashed.
    for stage_kind in [Stage::Ingest, Stage::Prep, Stage::Split, Stage::Matrix] {
        let fp = match stage_kind {
            Stage::Generate | Stage::Ingest => &ingest_fp,
            Stage::Prep => &prep_fp,
            Stage::Split => &split_fp,
            Stage::Matrix => &matrix_fp,
        };
        if let Some(only) = options.only {
            if stage_kind > only {
                break;
            }
            if stage_kind < only {
                if manifest.reusable(dir, stage_kind.name(), fp).is_none() {
                    return Err(PipelineError::MissingStage {
                        stage: stage_kind.name(),
                        dir: dir.clone(),
                    });
                }
                continue;
            }
        }
        let report = stage(
            dir,
            &mut manifest,
            stage_kind.name(),
            fp,
            options,
            || match stage_kind {
                Stage::Generate | Stage::Ingest => stages::run_ingest(plan, progress),
                Stage::Prep => stages::run_prep(dir, &plan.prep),
                Stage::Split => stages::run_split(dir, &plan.split),
                Stage::Matrix => stages::run_matrix(dir, plan.prep.weights()),
            },
        )?;
        on_stage(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// Runs or reuses one stage and records it in the manifest.
fn stage(
    dir: &std::path::Path,
    manifest: &mut Manifest,
    name: &'static str,
    fp: &str,
    options: RunOptions,
    body: impl FnOnce() -> Result<StageOutput, PipelineError>,
) -> Result<StageReport, PipelineError> {
    if !options.force
        && let Some(record) = manifest.reusable(dir, name, fp)
    {
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
    // Forget the old record first: if this run dies, nothing vouches for half-new artifacts.
    manifest.stages.remove(name);
    manifest.save(dir)?;
    reset_peak_rss();
    let started = Instant::now();
    let StageOutput {
        text,
        summary,
        artifacts,
    } = body()?;
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
