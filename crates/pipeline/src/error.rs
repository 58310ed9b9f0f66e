use std::path::PathBuf;

use thiserror::Error;

/// Errors of loading, planning or running a pipeline.
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
    #[error("--set {assignment:?}: {message}")]
    Override { assignment: String, message: String },
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: damaged manifest ({message}); delete it or rerun with --force")]
    Manifest { path: PathBuf, message: String },
    #[error(transparent)]
    Ingest(#[from] clickrec_ingest::IngestError),
    #[error("preprocessing: {0}")]
    Prep(#[from] clickrec_prep::PrepError),
    #[error("split: {0}")]
    Split(#[from] clickrec_prep::SplitError),
    #[error("train matrix: {0}")]
    Matrix(#[from] clickrec_core::MatrixError),
    #[error(
        "stage {stage} is not up to date in {dir}: run `clickrec run` (or `clickrec {stage}`) first"
    )]
    MissingStage { stage: &'static str, dir: PathBuf },
    #[error("generating the input: {0}")]
    Generate(String),
    #[error("{0}")]
    Model(String),
    #[error(
        "the pipeline has no [models.*] table: add one (e.g. `[models.popularity]`) to train, recommend or evaluate"
    )]
    NoModels,
    #[error("the pipeline has no [{0}] table: add one to run the {0} stage")]
    NotConfigured(&'static str),
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
        )
    }
}
