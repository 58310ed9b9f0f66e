//! Runs the stages of a [`Plan`] over its run directory, skipping those whose inputs and
//! configuration are unchanged.

use std::time::Instant;

use clickrec_core::{peak_rss_bytes, reset_peak_rss};

use crate::artifacts::RunDir;
use crate::config::Plan;
use crate::error::PipelineError;
use crate::manifest::{Manifest, Reuse, StageRecord, check_artifacts, fingerprint, hash_file};
use crate::output::StageOutput;
use crate::progress::Bars;
use crate::stages::{RunFacts, Stage, StageContext, StageSpec, json};

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
    manifest.config = json("the pipeline", &plan.config)?;
    let mut reports = Vec::new();
    // The first stage's report carries what opening the directory removed.
    let mut opening_note = run_dir.removed_note();
    let mut finished = |mut report: StageReport| {
        report.notes.splice(0..0, opening_note.take());
        on_stage(&report);
        reports.push(report);
    };
    let mut facts = RunFacts {
        version: serde_json::json!(manifest.clickrec_version),
        input: serde_json::Value::Null,
        test_input: None,
    };
    // Connects (if it is Spark) only when a stage runs on it.
    let engine = crate::engine::for_plan(plan);
    let cx = StageContext {
        plan,
        engine: engine.as_ref(),
        bars,
    };
    // `generate` writes the input, so it runs before the input is hashed, apart from the
    // fingerprint chain of the other stages.
    let generate = Stage::Generate.spec();
    if (generate.runs)(plan) && options.only.is_none_or(|only| only == Stage::Generate) {
        let fp = stage_fingerprint(generate, plan, &facts, None)?;
        finished(stage(
            dir,
            &mut manifest,
            Stage::Generate,
            &fp,
            options,
            &cx,
        )?);
    }
    let input = hash_file(&plan.input)?;
    let test_input = plan.test_input.as_deref().map(hash_file).transpose()?;
    facts.input = serde_json::json!(input.blake3);
    facts.test_input = test_input.as_ref().map(|t| serde_json::json!(t.blake3));
    manifest.inputs = std::iter::once(input).chain(test_input).collect();

    // Each fingerprint covers the one of the stage before it, so a change anywhere
    // upstream invalidates everything downstream.
    let mut fingerprints = vec![String::new(); Stage::ALL.len()];
    for &kind in &Stage::ALL[1..] {
        let spec = kind.spec();
        let upstream = spec
            .after
            .map(|after| fingerprints[after as usize].as_str());
        let fp = stage_fingerprint(spec, plan, &facts, upstream)?;
        fingerprints[kind as usize] = fp;
    }
    let runs = |kind: Stage| (kind.spec().runs)(plan);
    if let Some(only) = options.only
        && only > Stage::Matrix
        && !runs(only)
    {
        return Err(if runs(Stage::Train) {
            PipelineError::NotConfigured(only.name())
        } else {
            PipelineError::NoModels
        });
    }

    for (&kind, fp) in Stage::ALL[1..].iter().zip(&fingerprints[1..]) {
        if !runs(kind) {
            continue;
        }
        if options.until.is_some_and(|until| kind > until) {
            break;
        }
        if let Some(only) = options.only {
            if kind > only {
                break;
            }
            if kind < only {
                let why = match manifest.reuse(dir, kind, fp) {
                    Reuse::Yes(_) => continue,
                    Reuse::No => {
                        "the manifest has no record of it for this input and configuration"
                            .to_owned()
                    }
                    Reuse::Damaged(why) => why,
                };
                return Err(PipelineError::MissingStage {
                    stage: kind.name(),
                    dir: dir.clone(),
                    why,
                });
            }
        }
        finished(stage(dir, &mut manifest, kind, fp, options, &cx)?);
    }
    Ok(reports)
}

/// The fingerprint of one stage: the one it starts from, then what it covers.
fn stage_fingerprint(
    spec: &StageSpec,
    plan: &Plan,
    facts: &RunFacts,
    upstream: Option<&str>,
) -> Result<String, PipelineError> {
    let mut parts: Vec<serde_json::Value> =
        upstream.map(serde_json::Value::from).into_iter().collect();
    parts.extend((spec.covers)(plan, facts)?);
    Ok(fingerprint(&parts.iter().collect::<Vec<_>>()))
}

/// Runs or reuses one stage and records it in the manifest.
fn stage(
    dir: &std::path::Path,
    manifest: &mut Manifest,
    kind: Stage,
    fp: &str,
    options: RunOptions,
    cx: &StageContext<'_>,
) -> Result<StageReport, PipelineError> {
    let spec = kind.spec();
    let name = spec.name;
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
    } = (spec.run)(cx)?;
    debug_assert!(
        artifacts.iter().all(|a| spec.declares(a)),
        "{name} wrote {artifacts:?}, not all declared in the stage table"
    );
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
