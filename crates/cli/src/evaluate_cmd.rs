//! `clickrec evaluate`: the evaluate stage of a pipeline, or any system's recommendation
//! files scored against a run directory's held-out test set with the same ruler.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use clickrec_core::UserId;
use clickrec_eval::{EvalConfig, Evaluator, Protocol};
use clickrec_pipeline::{EvalInputs, Stage, write_reports};
use clickrec_report::Render;

use crate::failure::{UsageError, usage};
use crate::run_cmd::{self, RunArgs};

#[derive(Debug, Args)]
#[command(after_help = "\
Two ways to call it:

  clickrec evaluate PIPELINE.toml
      the evaluate stage of a pipeline (its recs/ lists against its test set).

  clickrec evaluate --recs FILE [--recs FILE ...] --run RUN_DIR [--test FILE] [--k 10,20,50]
      lists from any system, CSV or Parquet with columns user_id,item_id,rank or
      user_id,item_id,score (external ids, rank 1 = best; with only a score, higher is
      better), scored against RUN_DIR's held-out test set (test_set.json), train matrix and
      id maps (or against the user_id,item_id[,behavior] pairs of --test FILE). Each file
      is a model named after the file stem. Writes metrics.json,
      report.md and report.html into --report-dir (default: the current directory) and
      prints the metrics table.

Malformed lists (missing columns, duplicate ranks or items, non-numeric ranks) are errors
naming the file, line and value. Users or items the run does not know are errors unless
--skip-unknown, which drops them and reports how many.

Examples:
  clickrec evaluate pipelines/quickstart.toml
  clickrec evaluate --recs implicit-als.csv --recs runs/quickstart/recs/als.parquet --run runs/quickstart --k 10,20,50")]
pub struct EvaluateArgs {
    /// Pipeline file whose evaluate stage to run.
    #[arg(value_name = "PIPELINE.toml", conflicts_with_all = ["recs", "run"])]
    pub pipeline: Option<PathBuf>,
    /// Run directory of the pipeline (overrides run.out).
    #[arg(long, value_name = "RUN_DIR", requires = "pipeline")]
    pub out: Option<PathBuf>,
    /// Override a value of the pipeline file (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE", requires = "pipeline")]
    pub overrides: Vec<String>,
    /// Redo the stage even when it is up to date.
    #[arg(long, requires = "pipeline")]
    pub force: bool,
    /// A recommendation file to score (repeatable).
    #[arg(long, value_name = "FILE", requires = "run")]
    pub recs: Vec<PathBuf>,
    /// Run directory with the held-out test set, train matrix and id maps.
    #[arg(long, value_name = "RUN_DIR", requires = "recs")]
    pub run: Option<PathBuf>,
    /// Test pairs instead of the run's held-out sessions: CSV or Parquet with columns
    /// user_id,item_id and optionally behavior (pv/fav/cart/buy), external ids of the run.
    #[arg(long, value_name = "FILE", requires = "run")]
    pub test: Option<PathBuf>,
    /// Cut-offs, comma-separated (default 5,10,20,50,100).
    #[arg(long, value_delimiter = ',', value_name = "K,K,...")]
    pub k: Vec<usize>,
    /// Bootstrap resamples for the confidence intervals (default 1000).
    #[arg(long)]
    pub bootstrap: Option<usize>,
    /// Seed of the bootstrap (default 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Rank on targets new to each user, leaving seen items out of the lists (the "new
    /// items" headline). Default: what RUN_DIR's pipeline did (`recommend.exclude_seen`,
    /// true unless set otherwise), so both commands headline the same variant.
    #[arg(long, conflicts_with = "include_seen")]
    pub exclude_seen: bool,
    /// Rank on all targets with the lists as given (the "all items" headline).
    #[arg(long)]
    pub include_seen: bool,
    /// Drop rows whose user or item the run does not know, and count them.
    #[arg(long)]
    pub skip_unknown: bool,
    /// Print the evaluation at every K with every comparison, not only the answer.
    #[arg(long, short)]
    pub verbose: bool,
    /// Folder for metrics.json, report.md and report.html.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub report_dir: PathBuf,
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    if let Some(pipeline) = &args.pipeline {
        let run_args = RunArgs {
            pipeline: pipeline.clone(),
            out: args.out.clone(),
            overrides: args.overrides.clone(),
            // Evaluation fits nothing: the limit is for the fits of the stages before.
            memory_limit: None,
            force: args.force,
            verbose: args.verbose,
        };
        return run_cmd::run(&run_args, Some(Stage::Evaluate));
    }
    let Some(run_dir) = &args.run else {
        return usage("give a PIPELINE.toml, or --recs FILE with --run RUN_DIR (see --help)");
    };
    let mut config = EvalConfig::default();
    if !args.k.is_empty() {
        config.ks = args.k.clone();
    }
    if let Some(b) = args.bootstrap {
        config.bootstrap_samples = b;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let config = config
        .check()
        .map_err(|e| UsageError(e.to_string().replace("evaluate.ks", "--k")))?;
    let mut inputs = EvalInputs::read(run_dir)?;
    if let Some(path) = &args.test {
        let mut seen = vec![false; inputs.ids.items.len()];
        inputs
            .train
            .csr()
            .indices()
            .iter()
            .for_each(|&i| seen[i as usize] = true);
        let has_train: Vec<bool> = (0..inputs.ids.users.len())
            .map(|u| u < inputs.train.n_users() && !inputs.train.row(UserId(u as u32)).0.is_empty())
            .collect();
        let (test, read) = clickrec_io::read_test_pairs(path, &inputs.ids, &seen, &has_train)?;
        eprintln!(
            "{}: {} rows, {} test users; unknown users {} ({} rows), unknown items {} rows",
            path.display(),
            read.rows,
            read.test_users,
            read.unknown_users,
            read.unknown_user_rows,
            read.unknown_item_rows
        );
        inputs.test = test;
    }
    let mut evaluator = Evaluator::new(inputs.data(), &config);
    let options = clickrec_io::ReadOptions {
        skip_unknown: args.skip_unknown,
    };
    let mut longest = 0;
    for path in &args.recs {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let (recs, read) = clickrec_io::read_recommendations_with(path, &inputs.ids, &options)?;
        eprintln!(
            "{}: {} rows, {} lists ordered by {:?}; unknown users {} ({} rows), unknown items {} rows",
            path.display(),
            read.rows,
            read.users,
            read.order,
            read.unknown_users,
            read.unknown_user_rows,
            read.unknown_item_rows
        );
        longest = longest.max(recs.iter().map(|l| l.items.len()).max().unwrap_or(0));
        evaluator.add(&name, &recs)?;
    }
    let split = match &args.test {
        Some(path) => format!(
            "test pairs of {} (train and ids of {})",
            path.display(),
            run_dir.display()
        ),
        None => format!("held-out test set of {}", run_dir.display()),
    };
    // Lists named like the baseline models (recs/popularity.parquet, …) are baselines.
    let baselines = evaluator
        .evaluations()
        .iter()
        .map(|e| e.name().to_owned())
        .filter(|name| clickrec_models::ModelKind::from_name(name).is_some_and(|k| k.is_baseline()))
        .collect();
    // The run's own setting unless a flag says otherwise (a run without a manifest
    // record of it: the pipeline default, true).
    let exclude_seen = if args.exclude_seen || args.include_seen {
        args.exclude_seen
    } else {
        clickrec_pipeline::Manifest::load(run_dir)?.config["recommend"]["exclude_seen"]
            .as_bool()
            .unwrap_or(true)
    };
    let protocol = Protocol {
        split,
        exclude_seen,
        n_recommended: longest,
        baselines,
        ..Protocol::default()
    };
    let report = evaluator.report(protocol, &BTreeMap::new());
    write_reports(&args.report_dir, &report)?;
    if args.verbose {
        print!("{}", report.terminal_table());
    }
    print!("{}", report.terminal_answer());
    eprintln!(
        "wrote metrics.json, report.md, report.html to {}",
        args.report_dir.display()
    );
    Ok(())
}
