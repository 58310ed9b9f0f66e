//! Pipelines: a TOML file describing a run, checked into a [`Plan`] before any data is
//! read, then run stage by stage over a run directory with a `manifest.json` that makes
//! re-runs skip unchanged stages.
//!
//! ```no_run
//! use clickrec_pipeline::{run, PipelineConfig, RunOptions};
//! use clickrec_ingest::NoProgress;
//!
//! let file = std::path::Path::new("pipelines/quickstart.toml");
//! let plan = PipelineConfig::load(file, &[])?.plan(file, file.parent().unwrap(), None)?;
//! for stage in run(&plan, RunOptions::default(), &NoProgress, &mut |_| {})? {
//!     print!("{}", stage.text);
//! }
//! # Ok::<(), clickrec_pipeline::PipelineError>(())
//! ```

mod config;
mod error;
mod manifest;
mod runner;
mod stages;

pub use config::{GenerateConfig, PipelineConfig, Plan, RunConfig};
pub use error::PipelineError;
pub use manifest::{InputRecord, MANIFEST_FILE, Manifest, StageRecord, fingerprint, hash_file};
pub use runner::{RunOptions, Stage, StageReport, StageStatus, run};
pub use stages::{
    MATRIX_FILE, PREPARED_FILE, SPLIT_REPORT_FILE, TEST_EVENTS_FILE, TEST_SET_FILE, TRAIN_FILE,
};
