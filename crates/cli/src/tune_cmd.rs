//! `clickrec tune`: search model parameters on the validation split, then run the best.

use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use clickrec_pipeline::PipelineConfig;
use clickrec_pipeline::tune::{TrialRecord, TuneOptions, tune};

use crate::run_cmd::{TerminalBars, config_error, folder_of, print_stage, with_memory_limit};

#[derive(Debug, Args)]
#[command(after_help = "\
The pipeline file needs a [tune] table and one search space per model:

  [tune]
  metric = \"ndcg@20\"        # any metric@K of the evaluator, on the validation split
  strategy = \"halving\"      # random | grid | halving
  trials = 40               # configurations per model, the first the pipeline's own values
  time_budget_s = 600       # optional
  seed = 1
  [tune.als]
  factors = [32, 64, 128]                     # a list = choices
  regularization = { log_uniform = [1e-3, 1.0] }
  alpha = { log_uniform = [0.1, 50.0] }
  iterations = { int_uniform = [5, 30] }      # under halving: the budget of the rungs

The stages up to split run first (split.validation is turned on). Every trial fits on
validation-train and is scored on the validation sessions; the test split is not read.
Then RUN_DIR/tune/best.toml (the pipeline with the winning values) runs as `clickrec run`
would, and its report scores the chosen models on the test split once.
RUN_DIR/tune/trials.json records every trial; a re-run of the same search resumes from it.

Examples:
  clickrec tune pipelines/quickstart.toml
  clickrec tune pipelines/quickstart.toml --set tune.trials=8 --search-only
  clickrec run runs/quickstart/tune/best.toml")]
pub struct TuneArgs {
    /// Pipeline file (TOML) with a [tune] table.
    #[arg(value_name = "PIPELINE.toml")]
    pub pipeline: PathBuf,
    /// Run directory (overrides run.out).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: Option<PathBuf>,
    /// Override a value of the pipeline file, e.g. --set tune.trials=10 (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Memory the fits' dense buffers may take, e.g. 8GiB (sets engine.memory_limit;
    /// default 80% of the machine's memory).
    #[arg(long, value_name = "BYTES")]
    pub memory_limit: Option<String>,
    /// Stop after writing tune/best.toml: no final run, the test split is not read.
    #[arg(long)]
    pub search_only: bool,
    /// Redo the stages before the search even when their artifacts are up to date.
    #[arg(long)]
    pub force: bool,
    /// Print the final run's evaluation at every K with every comparison.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &TuneArgs) -> anyhow::Result<()> {
    let base = folder_of(&args.pipeline);
    let overrides = with_memory_limit(&args.overrides, args.memory_limit.as_deref());
    let config = PipelineConfig::load(&args.pipeline, &overrides).map_err(config_error)?;
    eprintln!("tune {}", args.pipeline.display());
    let best: Mutex<Option<f64>> = Mutex::new(None);
    let on_trial = |t: &TrialRecord| {
        let mut best = best.lock().unwrap_or_else(|p| p.into_inner());
        let line = match (t.value, &t.error) {
            (Some(v), _) => {
                if best.is_none_or(|b| v > b) {
                    *best = Some(v);
                }
                format!("{v:.4}")
            }
            (None, Some(e)) => format!("failed: {e}"),
            (None, None) => "failed".into(),
        };
        let iterations = t
            .budget
            .iterations
            .map(|i| format!(", {i} iterations"))
            .unwrap_or_default();
        let share = if t.budget.users_share < 1.0 {
            format!(", {:.0}% of users", t.budget.users_share * 100.0)
        } else {
            String::new()
        };
        eprintln!(
            "[tune] {} config {} rung {}{iterations}{share}: {line} (fit {:.2} s; best so far {})",
            t.model,
            t.config,
            t.rung,
            t.fit_seconds,
            best.map(|b| format!("{b:.4}"))
                .unwrap_or_else(|| "-".into())
        );
    };
    let options = TuneOptions {
        out: args.out.as_deref(),
        search_only: args.search_only,
        force: args.force,
    };
    let outcome = tune(
        config,
        &args.pipeline,
        &base,
        options,
        &TerminalBars,
        &mut |stage| print_stage(stage, args.verbose),
        &on_trial,
    )
    .map_err(config_error)?;
    let trials = &outcome.trials;
    eprintln!(
        "tune: {} trials in {:.1} s{}",
        trials.trials.len(),
        trials.seconds,
        if trials.stopped_by_budget {
            " (stopped by tune.time_budget_s)"
        } else {
            ""
        }
    );
    for (model, best) in &trials.best {
        let params: Vec<String> = best
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let own = if best.kept_own_values {
            " — the pipeline's own values: no draw beat them beyond the noise"
        } else {
            ""
        };
        eprintln!(
            "  best {model}: {} = {:.4} ({}){own}",
            trials.metric,
            best.value,
            params.join(", ")
        );
    }
    eprintln!("best pipeline: {}", outcome.best_file.display());
    Ok(())
}
