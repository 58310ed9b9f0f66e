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

mod artifacts;
mod config;
mod engine;
mod error;
mod manifest;
mod output;
mod progress;
mod runner;
mod stages;
pub mod tune;
mod validation;

pub use artifacts::{
    EvalInputs, FitRecord, MANIFEST_FILE, MATRIX_FILE, METRICS_FILE, MODELS_DIR, PREPARED_FILE,
    RECS_DIR, REPORT_HTML_FILE, REPORT_MD_FILE, RERANK_REPORT_FILE, RERANKER_FILE, RecommendRecord,
    RunDir, SEGMENT_ASSIGNMENTS_FILE, SEGMENT_POPULAR_FILE, SEGMENT_SUMMARY_FILE,
    SPLIT_REPORT_FILE, TEST_EVENTS_FILE, TEST_SET_FILE, TRAIN_FILE, TRAIN_REPORT_FILE,
    VALIDATION_EVENTS_FILE, VALIDATION_SET_FILE, VALIDATION_TRAIN_FILE, load_model, model_file,
    read_matrix, recs_file,
};
pub use clickrec_tune::{CheckedEarlyStopping, EarlyStopRecord, EarlyStoppingConfig};
pub use config::{
    CheckedEngine, EngineConfig, EngineKind, Fallback, GenerateConfig, ListSource, PipelineConfig,
    Plan, RecommendConfig, RecommendUsers, RecsFormat, RunConfig, SparkSettings, TrainConfig,
};
pub use error::PipelineError;
pub use manifest::{Artifact, FileRecord, Manifest, StageRecord, fingerprint, hash_file};
pub use progress::{Bars, NoBars};
pub use runner::{RunOptions, StageReport, StageStatus, run};
pub use stages::Stage;
pub use stages::evaluate::write_reports;
