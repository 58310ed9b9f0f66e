//! `clickrec`: batch recommendations from e-commerce click logs.

mod evaluate_cmd;
mod failure;
mod generate_cmd;
mod ingest_cmd;
mod progress;
mod run_cmd;
mod serve_cmd;
mod similar_cmd;
mod tune_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clickrec_pipeline::Stage;

/// `clickrec --version`: the crate version and the git commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CLICKREC_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "clickrec",
    version = VERSION,
    about = "Batch recommender pipeline for e-commerce click logs",
    after_help = "\
Examples:
  clickrec run pipelines/quickstart.toml
  clickrec run pipelines/two-stage-quickstart.toml
  clickrec tune pipelines/quickstart.toml
  clickrec ingest --input UserBehavior.csv --format taobao --out runs/taobao
  clickrec generate --users 1000 --items 2000 --events 60000 --seed 42 --out data/sample.csv
  clickrec similar --run runs/quickstart --model item_knn --item 1234 --n 10
  clickrec evaluate --recs other-tool.csv --run runs/quickstart --k 10,20,50

Exit codes: 0 ok, 1 runtime or data error, 2 usage or configuration error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline file: every stage, skipping those already up to date.
    Run(run_cmd::RunArgs),
    /// Read and validate a click log into a run directory (events.parquet, id maps, ingest.json).
    Ingest(Box<ingest_cmd::IngestArgs>),
    /// Run only the prep stage of a pipeline (cleaning, k-core, sessions) → prepared.parquet.
    Prep(run_cmd::RunArgs),
    /// Run only the split stage (train / held-out sessions, leakage guard) → train.parquet, test_set.json.
    Split(run_cmd::RunArgs),
    /// Run only the matrix stage (confidence-weighted user-item CSR) → train_matrix.csr.
    Matrix(run_cmd::RunArgs),
    /// Run only the train stage: fit the [models.*] of a pipeline → models/*.model.
    Train(run_cmd::RunArgs),
    /// Run only the segment stage: k-means user segments of [segment] → segments/, segment_popular.
    Segment(run_cmd::RunArgs),
    /// Run only the recommend stage: top-N per model → recs/<model>.parquet|csv.
    Recommend(run_cmd::RunArgs),
    /// Run only the rerank stage: learn the [rerank] logistic regression on the validation split, re-rank → recs/rerank.*.
    Rerank(run_cmd::RunArgs),
    /// Search model parameters on the validation split ([tune]), then run the best pipeline.
    Tune(tune_cmd::TuneArgs),
    /// Score recommendation lists: the evaluate stage of a pipeline, or any system's file.
    Evaluate(Box<evaluate_cmd::EvaluateArgs>),
    /// Items most similar to given items, from a fitted item-kNN, ALS or BPR model.
    Similar(similar_cmd::SimilarArgs),
    /// Write a synthetic Taobao-format click log (seeded, deterministic).
    Generate(generate_cmd::GenerateArgs),
    /// Serve a finished run's models over HTTP: user and session recommendations, similar items.
    Serve(Box<serve_cmd::ServeArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => run_cmd::run(args, None),
        Command::Ingest(args) => ingest_cmd::run(args),
        Command::Prep(args) => run_cmd::run(args, Some(Stage::Prep)),
        Command::Split(args) => run_cmd::run(args, Some(Stage::Split)),
        Command::Matrix(args) => run_cmd::run(args, Some(Stage::Matrix)),
        Command::Train(args) => run_cmd::run(args, Some(Stage::Train)),
        Command::Segment(args) => run_cmd::run(args, Some(Stage::Segment)),
        Command::Recommend(args) => run_cmd::run(args, Some(Stage::Recommend)),
        Command::Rerank(args) => run_cmd::run(args, Some(Stage::Rerank)),
        Command::Tune(args) => tune_cmd::run(args),
        Command::Evaluate(args) => evaluate_cmd::run(args),
        Command::Similar(args) => similar_cmd::run(args),
        Command::Generate(args) => generate_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(failure::exit_code(&error))
        }
    }
}
