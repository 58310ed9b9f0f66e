//! Pipelines: a TOML file describing a run, checked into a [`Plan`] before any data is
//! read, then run stage by stage over a run directory with a `manifest.json` that makes
//! re-runs skip unchanged stages.
//!
//! ```no_run
//! use clickrec_pipeline::{run, PipelineConfig, RunOptions};
//! use clickrec_pipeline::NoBars;
//!
//! let file = std::path::Path::new("pipelines/quickstart.toml");
//! let plan = PipelineConfig::load(file, &[])?.plan(file, file.parent().unwrap(), None)?;
//! for stage in run(&plan, RunOptions::default(), &NoBars, &mut |_| {})? {
//!     print!("{}", stage.text);
//! }
//! # Ok::<(), clickrec_pipeline::PipelineError>(())
//! ```

mod config;
mod error;
mod manifest;
mod model_stages;
mod runner;
mod stages;
mod two_stage;

pub use config::{
    GenerateConfig, ListSource, PipelineConfig, Plan, RecommendConfig, RecommendUsers, RecsFormat,
    RunConfig, TrainConfig,
};
pub use error::PipelineError;
pub use manifest::{InputRecord, MANIFEST_FILE, Manifest, StageRecord, fingerprint, hash_file};
pub use model_stages::{
    EvalInputs, FitRecord, METRICS_FILE, MODELS_DIR, RECS_DIR, REPORT_HTML_FILE, REPORT_MD_FILE,
    RecommendRecord, TRAIN_REPORT_FILE, load_model, model_file, recs_file, write_reports,
};
pub use runner::{Bars, NoBars, RunOptions, Stage, StageReport, StageStatus, run};
pub use stages::{
    MATRIX_FILE, PREPARED_FILE, SPLIT_REPORT_FILE, TEST_EVENTS_FILE, TEST_SET_FILE, TRAIN_FILE,
    VALIDATION_EVENTS_FILE, VALIDATION_SET_FILE, VALIDATION_TRAIN_FILE,
};
pub use two_stage::{
    RERANK_REPORT_FILE, RERANKER_FILE, SEGMENT_ASSIGNMENTS_FILE, SEGMENT_POPULAR_FILE,
    SEGMENT_SUMMARY_FILE,
};
