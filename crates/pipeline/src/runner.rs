//! Runs the stages of a [`Plan`] over its run directory, skipping those whose inputs and
//! configuration are unchanged.

use std::time::Instant;

use crate::artifacts::RunDir;
use crate::config::Plan;
use crate::error::PipelineError;
use crate::manifest::{
    Manifest, Reuse, StageRecord, check_artifacts, fingerprint, hash_file, peak_rss_bytes,
    reset_peak_rss,
};
use crate::output::StageOutput;
use crate::progress::Bars;
use crate::stages;

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
    /// More lines, for `--verbose` (the evaluate stage's full tables); empty for most.
    pub details: String,
    /// What the run noticed before the stage, for stderr: why a stage whose record matched
    /// was redone (a damaged artifact), the temporary files of an interrupted run removed.
    pub notes: Vec<String>,
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
    /// Only with `[models.*]` tables: fit and save each model.
    Train,
    /// Only with `[segment]`: k-means user segments and the segment-popular model.
    Segment,
    /// Top-N lists per model → `recs/`.
    Recommend,
    /// Only with `[rerank]`: the logistic-regression re-ranker → `recs/rerank.*`.
    Rerank,
    /// Metrics and reports of the lists on the test set.
    Evaluate,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 10] = [
        Stage::Generate,
        Stage::Ingest,
        Stage::Prep,
        Stage::Split,
        Stage::Matrix,
        Stage::Train,
        Stage::Segment,
        Stage::Recommend,
        Stage::Rerank,
        Stage::Evaluate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Generate => "generate",
            Stage::Ingest => "ingest",
            Stage::Prep => "prep",
            Stage::Split => "split",
            Stage::Matrix => "matrix",
            Stage::Train => "train",
            Stage::Segment => "segment",
            Stage::Recommend => "recommend",
            Stage::Rerank => "rerank",
            Stage::Evaluate => "evaluate",
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
    /// Stop after this stage (the tuner stops after `split`).
    pub until: Option<Stage>,
}

/// Runs the plan; `on_stage` hears about each stage as it finishes. The run directory is
/// opened (and locked) for the whole run ([`RunDir`]).
pub fn run(
    plan: &Plan,
    options: RunOptions,
    bars: &dyn Bars,
    on_stage: &mut dyn FnMut(&StageReport),
) -> Result<Vec<StageReport>, PipelineError> {
    let dir = &plan.out;
    // Held until the run ends: a second run on this directory fails at once.
    let run_dir = RunDir::open(dir)?;
    let mut manifest = Manifest::load(dir)?;
    manifest.clickrec_version = env!("CARGO_PKG_VERSION").to_owned();
    manifest.seed = plan.seed;
    manifest.config = serde_json::to_value(&plan.config).unwrap_or_default();
    let mut reports = Vec::new();
    // The first stage's report carries what opening the directory removed.
    let mut opening_note = run_dir.removed_note();
    let mut finished = |mut report: StageReport| {
        report.notes.splice(0..0, opening_note.take());
        on_stage(&report);
        reports.push(report);
    };
    let version = serde_json::json!(manifest.clickrec_version);
    if let Some(params) = &plan.generate {
        let generate_config = serde_json::to_value(&plan.config.generate).unwrap_or_default();
        let fp = fingerprint(&[&version, &generate_config, &serde_json::json!(plan.seed)]);
        let wanted = options.only.is_none_or(|only| only == Stage::Generate);
        if wanted {
            finished(stage(
                dir,
                &mut manifest,
                Stage::Generate,
                &fp,
                options,
                || stages::generate::run(&plan.input, params),
            )?);
        }
    }
    let input = hash_file(&plan.input)?;
    let test_input = plan.test_input.as_deref().map(hash_file).transpose()?;
    manifest.inputs = std::iter::once(input.clone())
        .chain(test_input.clone())
        .collect();

    // Each fingerprint covers the one before it, so a change anywhere upstream
    // invalidates everything downstream.
    let config = &plan.config;
    let mut prep_config = serde_json::to_value(&config.prep).unwrap_or_default();
    if let Some(table) = prep_config.as_object_mut() {
        table.remove("weights"); // weights only shape the matrix
    }
    let input_hash = serde_json::json!(input.blake3);
    let ingest_options = serde_json::to_value(&plan.ingest).unwrap_or_default();
    let test_hash = test_input.as_ref().map(|t| serde_json::json!(t.blake3));
    let mut ingest_parts = vec![&version, &input_hash, &ingest_options];
    ingest_parts.extend(test_hash.as_ref());
    // Another engine (or cluster) redoes every stage; the local engine's fingerprints
    // stay what they were before `[engine]` existed.
    let engine_config = serde_json::to_value(&config.engine).unwrap_or_default();
    if plan.engine != crate::config::CheckedEngine::Local {
        ingest_parts.push(&engine_config);
    }
    let ingest_fp = fingerprint(&ingest_parts);
    let prep_fp = fingerprint(&[&serde_json::json!(ingest_fp), &prep_config]);
    let split_fp = fingerprint(&[
        &serde_json::json!(prep_fp),
        &serde_json::to_value(&config.split).unwrap_or_default(),
        // Splits made before item ids were compacted (no split_items.parquet) are redone.
        &serde_json::json!("compact item ids"),
    ]);
    let matrix_fp = fingerprint(&[
        &serde_json::json!(split_fp),
        &serde_json::to_value(config.prep.weights).unwrap_or_default(),
    ]);
    let train_fp = fingerprint(&[
        &serde_json::json!(matrix_fp),
        &serde_json::to_value(&config.models).unwrap_or_default(),
        &serde_json::to_value(&config.train).unwrap_or_default(),
        &serde_json::json!(plan.seed),
    ]);
    let segment_fp = fingerprint(&[
        &serde_json::json!(train_fp),
        &serde_json::to_value(&config.segment).unwrap_or_default(),
    ]);
    let recommend_fp = fingerprint(&[
        &serde_json::json!(segment_fp),
        &serde_json::to_value(config.recommend).unwrap_or_default(),
    ]);
    let rerank_fp = fingerprint(&[
        &serde_json::json!(recommend_fp),
        &serde_json::to_value(&config.rerank).unwrap_or_default(),
    ]);
    let evaluate_fp = fingerprint(&[
        &serde_json::json!(rerank_fp),
        &serde_json::to_value(&config.evaluate).unwrap_or_default(),
    ]);
    let mut stage_kinds = vec![Stage::Ingest, Stage::Prep, Stage::Split, Stage::Matrix];
    if !plan.generated_lists().is_empty() {
        stage_kinds.push(Stage::Train);
        if plan.segment.is_some() {
            stage_kinds.push(Stage::Segment);
        }
        stage_kinds.push(Stage::Recommend);
        if plan.rerank.is_some() {
            stage_kinds.push(Stage::Rerank);
        }
        stage_kinds.push(Stage::Evaluate);
    } else if options.only.is_some_and(|only| only > Stage::Matrix) {
        return Err(PipelineError::NoModels);
    }
    if let Some(only) = options.only
        && only > Stage::Matrix
        && !stage_kinds.contains(&only)
    {
        return Err(PipelineError::NotConfigured(only.name()));
    }

    // Connects (if it is Spark) only when a stage runs on it.
    let engine = crate::engine::for_plan(plan);
    // `generate` ran above: the input must exist before it is hashed.
    for stage_kind in stage_kinds {
        let fp = match stage_kind {
            Stage::Generate | Stage::Ingest => &ingest_fp,
            Stage::Prep => &prep_fp,
            Stage::Split => &split_fp,
            Stage::Matrix => &matrix_fp,
            Stage::Train => &train_fp,
            Stage::Segment => &segment_fp,
            Stage::Recommend => &recommend_fp,
            Stage::Rerank => &rerank_fp,
            Stage::Evaluate => &evaluate_fp,
        };
        if options.until.is_some_and(|until| stage_kind > until) {
            break;
        }
        if let Some(only) = options.only {
            if stage_kind > only {
                break;
            }
            if stage_kind < only {
                let why = match manifest.reuse(dir, stage_kind, fp) {
                    Reuse::Yes(_) => continue,
                    Reuse::No => {
                        "the manifest has no record of it for this input and configuration"
                            .to_owned()
                    }
                    Reuse::Damaged(why) => why,
                };
                return Err(PipelineError::MissingStage {
                    stage: stage_kind.name(),
                    dir: dir.clone(),
                    why,
                });
            }
        }
        finished(stage(
            dir,
            &mut manifest,
            stage_kind,
            fp,
            options,
            || match stage_kind {
                Stage::Generate | Stage::Ingest => {
                    let bar = bars.bar("ingest", "bytes");
                    stages::ingest::run(plan, engine.as_ref(), bar.as_ref())
                }
                Stage::Prep => stages::prep::run(plan, engine.as_ref()),
                Stage::Split => stages::split::run(plan, engine.as_ref()),
                Stage::Matrix => stages::matrix::run(plan, engine.as_ref()),
                Stage::Train => stages::train::run(plan, engine.as_ref(), bars),
                Stage::Segment => stages::segment::run(plan, engine.as_ref()),
                Stage::Recommend => stages::recommend::run(plan, bars),
                Stage::Rerank => stages::rerank::run(plan, engine.as_ref(), bars),
                Stage::Evaluate => stages::evaluate::run(plan),
            },
        )?);
    }
    Ok(reports)
}

/// Runs or reuses one stage and records it in the manifest.
fn stage(
    dir: &std::path::Path,
    manifest: &mut Manifest,
    kind: Stage,
    fp: &str,
    options: RunOptions,
    body: impl FnOnce() -> Result<StageOutput, PipelineError>,
) -> Result<StageReport, PipelineError> {
    let name = kind.name();
    let mut notes = Vec::new();
    if !options.force {
        match manifest.reuse(dir, kind, fp) {
            Reuse::Yes(record) => {
                let record = record.clone();
                manifest.save(dir)?;
                let files: Vec<_> = record
                    .artifacts
                    .iter()
                    .map(|a| a.path().display().to_string())
                    .collect();
                return Ok(StageReport {
                    name,
                    status: StageStatus::Cached,
                    text: format!("{name}: unchanged, reusing {}\n", files.join(", ")),
                    details: String::new(),
                    notes,
                    record,
                });
            }
            Reuse::No => {}
            Reuse::Damaged(why) => notes.push(format!("{why}; redoing {name}")),
        }
    }
    // Forget the old records first, this stage's and those built on it: if this run dies,
    // nothing vouches for half-new artifacts, and later stages are redone on the new ones.
    if !manifest.forget_from(kind).is_empty() {
        manifest.save(dir)?;
    }
    reset_peak_rss();
    let started = Instant::now();
    let StageOutput {
        text,
        details,
        summary,
        artifacts,
    } = body()?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_bytes = peak_rss_bytes();
    let record = StageRecord {
        fingerprint: fp.to_owned(),
        artifacts: check_artifacts(dir, artifacts)?,
        seconds,
        peak_rss_bytes,
        summary,
    };
    manifest.stages.insert(name.to_owned(), record.clone());
    manifest.save(dir)?;
    Ok(StageReport {
        name,
        status: StageStatus::Ran,
        record,
        text,
        details,
        notes,
    })
}
