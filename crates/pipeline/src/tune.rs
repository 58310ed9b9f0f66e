//! `clickrec tune`: searches each model's `[tune.<model>]` space on the validation split,
//! writes `tune/trials.json` and `tune/best.toml`, then runs the pipeline of `best.toml`,
//! which reads the test split once, for the chosen configuration.
//!
//! The search runs the stages up to `split` (with `split.validation = true`), then fits
//! every trial on validation-train and scores it on the validation sessions (the search
//! itself is `clickrec-tune`'s); no test file is opened until the final run.

use std::path::{Path, PathBuf};

pub use clickrec_tune::{
    BestTrial, Budget, CheckedTune, Domain, MetricAtK, Range, Strategy, TrialRecord, TrialsFile,
    TuneConfig,
};
use clickrec_tune::{Search, Space, rung_sizes};

pub use crate::artifacts::{BEST_FILE, TRIALS_FILE, TUNE_DIR, VALIDATION_MATRIX_FILE};
use crate::config::{PipelineConfig, Plan};
use crate::error::PipelineError;
use crate::manifest::{Manifest, fingerprint};
use crate::progress::Bars;
use crate::runner::{RunOptions, StageReport, run};
use crate::stages::{Stage, json};
use crate::validation::{read_validation, scorer};

/// Options of `clickrec tune` that are not part of the pipeline.
#[derive(Clone, Copy, Debug, Default)]
pub struct TuneOptions<'a> {
    /// The run directory, instead of the pipeline's `run.out`.
    pub out: Option<&'a Path>,
    /// Stop after writing `best.toml`: no final run, the test split is not read.
    pub search_only: bool,
    /// Redo the stages before the search even when cached (recorded trials of the same
    /// search are still reused; delete `tune/trials.json` to redo them).
    pub force: bool,
}

/// What a tuning run did.
#[derive(Debug)]
pub struct TuneOutcome {
    pub trials: TrialsFile,
    pub best_file: PathBuf,
    /// The final run's stages (none with `search_only`).
    pub final_run: Vec<StageReport>,
}

/// Tunes the pipeline `file` (already loaded as `config`; `base` resolves its relative
/// paths). `on_stage` hears of every stage, `on_trial` of every finished trial.
pub fn tune(
    config: PipelineConfig,
    file: &Path,
    base: &Path,
    options: TuneOptions<'_>,
    bars: &dyn Bars,
    on_stage: &mut dyn FnMut(&StageReport),
    on_trial: &(dyn Fn(&TrialRecord) + Sync),
) -> Result<TuneOutcome, PipelineError> {
    let invalid = |message: String| PipelineError::Invalid {
        path: file.to_owned(),
        message,
    };
    let tune_config = config
        .tune
        .clone()
        .ok_or(PipelineError::NotConfigured("tune"))?;
    let mut config = config;
    // The search learns from the validation split only.
    config.split.validation = true;
    let plan = config.clone().plan(file, base, options.out)?;
    let checked = tune_config.check(plan.seed).map_err(invalid)?;
    if checked.metric.k > plan.config.recommend.n {
        return Err(invalid(format!(
            "tune.metric: K = {} is larger than recommend.n = {}",
            checked.metric.k, plan.config.recommend.n
        )));
    }
    let mut spaces = Vec::new();
    for (kind, dims) in &checked.spaces {
        // A key the model does not have, or a value it rejects on a draw, is an error in
        // the space itself.
        spaces.push(Space::new(*kind, &config.models, dims.clone()).map_err(invalid)?);
    }

    let until = RunOptions {
        force: options.force,
        only: None,
        until: Some(Stage::Split),
    };
    run(&plan, until, bars, on_stage)?;
    let dir = &plan.out;
    let trials = {
        let _lock = clickrec_io::RunDirLock::acquire(dir)?;
        crate::artifacts::create_dir(&dir.join(TUNE_DIR))?;
        let validation = read_validation(&plan)?;
        // For other systems' searches on the same validation split (bench/tune.sh).
        crate::stages::matrix::write_matrix(
            &dir.join(VALIDATION_MATRIX_FILE),
            &validation.train.matrix,
        )?;
        let scorer = scorer(&plan, &validation, checked.metric)?;
        let planned: usize = spaces
            .iter()
            .map(|s| match checked.strategy {
                Strategy::Random => checked.trials,
                Strategy::Grid => s.grid().len(),
                Strategy::Halving => rung_sizes(checked.trials, checked.eta).iter().sum(),
            })
            .sum();
        let trial_bar = bars.bar("tune", "trials");
        trial_bar.start(planned as u64);
        let search = Search {
            seed: plan.seed,
            memory_limit: plan.memory_limit,
            tune: &checked,
            validation: &validation,
            scorer: &scorer,
            early_stopping: plan.early_stopping,
            file: &dir.join(TRIALS_FILE),
            on_trial,
            progress: trial_bar.as_ref(),
            done: Default::default(),
        };
        let trials = search.run(&spaces, search_fingerprint(&plan, &tune_config)?)?;
        trial_bar.finish();
        trials
    };
    if trials.best.is_empty() {
        let why = if trials.stopped_by_budget {
            "tune.time_budget_s ended the search before any trial finished".into()
        } else {
            format!(
                "no trial finished: see the errors in {}",
                dir.join(TRIALS_FILE).display()
            )
        };
        return Err(invalid(format!("tune: {why}")));
    }
    let best_file = dir.join(BEST_FILE);
    let text = best_toml(&config, &plan, &trials)?;
    clickrec_io::write_atomic(&best_file, text.as_bytes())?;
    let final_run = if options.search_only {
        Vec::new()
    } else {
        let best = PipelineConfig::load(&best_file, &[])?;
        let best_plan = best.plan(&best_file, &dir.join(TUNE_DIR), Some(dir))?;
        run(&best_plan, RunOptions::default(), bars, on_stage)?
    };
    Ok(TuneOutcome {
        trials,
        best_file,
        final_run,
    })
}

/// Everything the trials' results depend on: the split (by its stage fingerprint), the
/// matrix weights, the models' tables, the search, the metric's evaluation and the seed.
fn search_fingerprint(plan: &Plan, tune: &TuneConfig) -> Result<String, PipelineError> {
    let manifest = Manifest::load(&plan.out)?;
    let split = manifest
        .stages
        .get(Stage::Split.name())
        .map(|r| r.fingerprint.clone())
        .ok_or_else(|| PipelineError::MissingStage {
            stage: Stage::Split.name(),
            dir: plan.out.clone(),
            why: "the manifest has no record of it".into(),
        })?;
    Ok(fingerprint(&[
        &serde_json::json!(env!("CARGO_PKG_VERSION")),
        &serde_json::json!(split),
        &json("prep.weights", &plan.config.prep.weights)?,
        &json("models", &plan.config.models)?,
        &json("train", &plan.config.train)?,
        &json("tune", tune)?,
        &json("recommend", &plan.config.recommend)?,
        &json("evaluate", &plan.config.evaluate)?,
        &serde_json::json!(plan.seed),
    ]))
}

/// `best.toml`: the pipeline as run, with each tuned model's winning table, no `[tune]`,
/// and absolute paths (the file lives in the run directory).
fn best_toml(
    config: &PipelineConfig,
    plan: &Plan,
    trials: &TrialsFile,
) -> Result<String, PipelineError> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let mut config = config.clone();
    config.tune = None;
    config.input.path = absolute(&plan.input);
    config.split.test_path = plan.config.split.test_path.as_deref().map(absolute);
    config.run.out = Some(absolute(&plan.out));
    let mut table = toml::Table::try_from(&config).map_err(|e| PipelineError::Invalid {
        path: plan.out.join(BEST_FILE),
        message: format!("cannot write the pipeline as TOML: {e}"),
    })?;
    let models = table
        .entry("models")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let mut header = format!(
        "# Written by `clickrec tune`: the pipeline with the configuration that maximised\n# {} on the validation split ({:?} search, {} trials).\n",
        trials.metric,
        trials.strategy,
        trials.trials.len()
    );
    if let toml::Value::Table(models) = models {
        for (name, best) in &trials.best {
            header.push_str(&format!(
                "# {name}: configuration {} (rung {}), {} = {:.6}{}\n",
                best.config,
                best.rung,
                trials.metric,
                best.value,
                if best.kept_own_values {
                    " (the pipeline's own values: no draw beat them beyond the noise)"
                } else {
                    ""
                }
            ));
            models.insert(name.clone(), toml::Value::Table(best.params.clone()));
        }
    }
    let body = toml::to_string_pretty(&table).map_err(|e| PipelineError::Invalid {
        path: plan.out.join(BEST_FILE),
        message: format!("cannot write the pipeline as TOML: {e}"),
    })?;
    Ok(format!("{header}\n{body}"))
}
