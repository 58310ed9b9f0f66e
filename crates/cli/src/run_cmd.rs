//! `clickrec run`: a whole pipeline from its TOML file.

use std::path::PathBuf;

use clap::Args;
use clickrec_core::Progress;
use clickrec_pipeline::{Bars, PipelineConfig, RunOptions, Stage, StageReport, StageStatus};

use crate::failure::UsageError;
use crate::progress::Bar;

#[derive(Debug, Args)]
#[command(after_help = "\
Relative paths in the pipeline file are relative to the file's own folder; relative paths
given with --set input.path / split.test_path / run.out or --out are relative to the current
directory. Stages whose
input and configuration are unchanged since the last run into the same directory are
skipped; their artifacts are reused after a check of each file's size and blake3 hash
against the manifest (a damaged file is named and its stage redone). --out must be new,
empty or a run directory.

Stages: ingest → prep (cleaning, sessions) → split (held-out sessions, leakage guard) →
matrix (confidence-weighted user-item CSR) → train (the [models.*] tables) → segment
(k-means user segments, only with [segment]) → recommend (top-N lists in recs/) → rerank
(the two-stage re-ranker, only with [rerank]) → evaluate (metrics.json, report.md,
report.html). The stages from train on run only when the pipeline has a [models.*] or
[segment] table.
`clickrec prep|split|matrix|train|segment|recommend|rerank|evaluate PIPELINE.toml` runs one
stage over a run directory whose earlier stages are up to date.

Examples:
  clickrec run pipelines/quickstart.toml
  clickrec split pipelines/quickstart.toml --set split.kind=temporal --set split.cutoff=1512230400
  clickrec run pipelines/taobao.toml --set input.path=/data/UserBehavior.csv --out runs/taobao
  clickrec run pipelines/quickstart.toml --set input.on_bad_row=skip --force
  clickrec run sessions.toml --set input.path=train_tr.txt --set split.test_path=train_valid.txt
  clickrec train pipelines/quickstart.toml --set models.als.factors=32
  clickrec recommend pipelines/quickstart.toml --set recommend.users=all --set recommend.format=csv
  clickrec segment pipelines/two-stage-quickstart.toml --set segment.k=8 --set 'segment.sweep=[4,8,16]'
  clickrec rerank pipelines/taobao-two-stage.toml --set rerank.negatives_per_positive=20")]
pub struct RunArgs {
    /// Pipeline file (TOML).
    #[arg(value_name = "PIPELINE.toml")]
    pub pipeline: PathBuf,
    /// Run directory (overrides run.out).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: Option<PathBuf>,
    /// Override a value of the pipeline file, e.g. --set input.path=data/other.csv (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Memory the fits' dense buffers may take, e.g. 8GiB or 8589934592 (sets
    /// engine.memory_limit; default 80% of the machine's memory).
    #[arg(long, value_name = "BYTES")]
    pub memory_limit: Option<String>,
    /// Redo every stage even when its artifacts are up to date.
    #[arg(long)]
    pub force: bool,
    /// Print every stage's details: the evaluation at every K with every comparison (they
    /// are always in report.md, report.html and metrics.json).
    #[arg(long, short)]
    pub verbose: bool,
}

/// A pipeline error as the CLI reports it: configuration errors exit 2.
pub fn config_error(e: clickrec_pipeline::PipelineError) -> anyhow::Error {
    if e.is_config_error() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

/// `--set` overrides with `--memory-limit` as the last: `engine.memory_limit`, as text so
/// that `8GiB` and `8589934592` read alike.
pub fn with_memory_limit(overrides: &[String], limit: Option<&str>) -> Vec<String> {
    let mut all = overrides.to_vec();
    all.extend(limit.map(|l| format!("engine.memory_limit={l:?}")));
    all
}

/// The folder relative paths of a pipeline file are resolved against.
pub fn folder_of(pipeline: &std::path::Path) -> PathBuf {
    pipeline.parent().map(|p| p.to_owned()).unwrap_or_default()
}

/// Prints a finished stage: its notes (a damaged artifact redone, temporary files
/// removed) and status line on stderr, its text on stderr — but the
/// evaluate stage's metrics table, the run's result, on stdout so it can be piped. Its
/// details only when `verbose`.
pub fn print_stage(stage: &StageReport, verbose: bool) {
    let rss = stage
        .record
        .peak_rss_bytes
        .map(|b| format!(", peak RSS {:.1} MiB", b as f64 / (1 << 20) as f64))
        .unwrap_or_default();
    for note in &stage.notes {
        eprintln!("{note}");
    }
    match stage.status {
        StageStatus::Ran => eprintln!(
            "[{}] done in {:.2} s{rss}",
            stage.name, stage.record.seconds
        ),
        StageStatus::Cached => eprintln!("[{}] cached", stage.name),
    }
    let details = if verbose { stage.details.as_str() } else { "" };
    if stage.name == Stage::Evaluate.name() {
        print!("{details}{}", stage.text);
    } else {
        eprint!("{}{details}", stage.text);
    }
}

/// Runs the whole pipeline, or with `only` one stage over an up-to-date run directory.
pub fn run(args: &RunArgs, only: Option<Stage>) -> anyhow::Result<()> {
    let base = folder_of(&args.pipeline);
    let overrides = with_memory_limit(&args.overrides, args.memory_limit.as_deref());
    let plan = PipelineConfig::load(&args.pipeline, &overrides)
        .and_then(|c| c.plan(&args.pipeline, &base, args.out.as_deref()))
        .map_err(config_error)?;
    eprintln!("run {} → {}", args.pipeline.display(), plan.out.display());
    let options = RunOptions {
        force: args.force,
        only,
        until: None,
    };
    clickrec_pipeline::run(&plan, options, &TerminalBars, &mut |stage| {
        print_stage(stage, args.verbose)
    })
    .map_err(config_error)?;
    eprintln!(
        "manifest: {}",
        plan.out.join(clickrec_pipeline::MANIFEST_FILE).display()
    );
    Ok(())
}

/// A progress bar on stderr per long step.
pub struct TerminalBars;

impl Bars for TerminalBars {
    fn bar(&self, label: &str, unit: &str) -> Box<dyn Progress> {
        Box::new(Bar::new(label, unit))
    }
}
