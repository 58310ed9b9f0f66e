use std::path::PathBuf;

use clickrec_io::{ArtifactError, RecsError};
use clickrec_models::{FitError, ModelError, ModelKind};
use thiserror::Error;

/// Errors of loading, planning or running a pipeline. Each keeps its cause as its
/// `source`; those about a file name it.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("{path}: cannot read pipeline file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("--set {}: {message}", clickrec_core::Excerpt(assignment))]
    Override { assignment: String, message: String },
    /// A file operation failed (the file, what was being done, the OS error).
    #[error(transparent)]
    Io(#[from] clickrec_core::FileError),
    #[error("{path}: damaged manifest ({message}); delete it or rerun with --force")]
    Manifest { path: PathBuf, message: String },
    #[error(transparent)]
    Lock(#[from] clickrec_io::LockError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Recs(#[from] RecsError),
    #[error(transparent)]
    Ingest(#[from] clickrec_ingest::IngestError),
    #[error("generating {path}: {source}")]
    Generate {
        path: PathBuf,
        #[source]
        source: clickrec_synth::GenerateError,
    },
    #[error("preprocessing {path}: {source}")]
    Prep {
        path: PathBuf,
        #[source]
        source: clickrec_prep::PrepError,
    },
    /// A stage on the Spark engine failed; the cause says what to do (start the cluster, …).
    #[cfg(feature = "spark")]
    #[error(transparent)]
    SparkStage(clickrec_spark_engine::SparkStageError),
    #[error("{path}: has no session column (rerun the prep stage)")]
    NoSessions { path: PathBuf },
    #[error("splitting {path}: {source}")]
    Split {
        path: PathBuf,
        #[source]
        source: clickrec_prep::SplitError,
    },
    #[error("{path}: train matrix: {source}")]
    Matrix {
        path: PathBuf,
        #[source]
        source: clickrec_core::MatrixError,
    },
    #[error("fitting {model} on {path}: {source}")]
    Fit {
        model: ModelKind,
        /// The train events the model was fitted on.
        path: PathBuf,
        #[source]
        source: FitError,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("segments of {path}: {source}")]
    Segment {
        /// The train events the segments were fitted on.
        path: PathBuf,
        #[source]
        source: clickrec_segment::SegmentError,
    },
    #[error(
        "segments of {path}: vectors = \"als_factors\" needs a fitted ALS model: add [models.als]"
    )]
    SegmentsNeedAls { path: PathBuf },
    #[error("re-ranker ({path}): {source}")]
    Rerank {
        /// The file the failed step read (train events) or wrote (lists).
        path: PathBuf,
        #[source]
        source: clickrec_rerank::RerankError,
    },
    #[error("{0} is not a candidate generator")]
    NotAGenerator(&'static str),
    #[error("writing {path}: recommending with {list}: {source}")]
    Recommend {
        list: &'static str,
        path: PathBuf,
        #[source]
        source: clickrec_recommend::RecommendError,
    },
    #[error(
        "{path} is missing: tuning and early stopping need the validation split (split.validation = true)"
    )]
    NoValidation { path: PathBuf },
    #[error("evaluating {path}: {source}")]
    Evaluate {
        path: PathBuf,
        #[source]
        source: clickrec_eval::EvalError,
    },
    #[error(
        "stage {stage} is not up to date in {dir} ({why}): run `clickrec run` (or `clickrec {stage}`) first"
    )]
    MissingStage {
        stage: &'static str,
        dir: PathBuf,
        /// What the manifest says: no record, one of other settings, or a damaged artifact.
        why: String,
    },
    #[error(
        "the pipeline has no [models.*] table: add one (e.g. `[models.popularity]`) to train, recommend or evaluate"
    )]
    NoModels,
    #[error("the pipeline has no [{0}] table: add one to run the {0} stage")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Tune(#[from] clickrec_tune::TuneError),
    /// A configuration part that JSON cannot hold, so no fingerprint can vouch for it.
    #[error("cannot fingerprint {what}: {message}")]
    Fingerprint { what: &'static str, message: String },
}

impl PipelineError {
    /// True for errors in the pipeline file or overrides (exit code 2), false for errors
    /// met while running (exit code 1).
    pub fn is_config_error(&self) -> bool {
        matches!(
            self,
            PipelineError::Read { .. }
                | PipelineError::Syntax { .. }
                | PipelineError::Invalid { .. }
                | PipelineError::Override { .. }
                | PipelineError::NoModels
                | PipelineError::NotConfigured(_)
        ) || matches!(self, PipelineError::Tune(e) if e.is_config_error())
    }
}
