//! What can go wrong in a search or an early-stopped fit.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TuneError {
    /// A setting the search cannot use (e.g. the evaluation settings of its metric).
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Artifact(#[from] clickrec_io::ArtifactError),
    #[error("{path}: train matrix: {source}")]
    Matrix {
        path: PathBuf,
        #[source]
        source: clickrec_core::MatrixError,
    },
    #[error("recommending with {list} for the validation users of {path}: {source}")]
    ValidationRecommend {
        list: &'static str,
        path: PathBuf,
        #[source]
        source: clickrec_recommend::RecommendError,
    },
    #[error("evaluating {path}: {source}")]
    Evaluate {
        path: PathBuf,
        #[source]
        source: clickrec_eval::EvalError,
    },
    /// Early stopping saw no iteration: the fit ended before the first.
    #[error("early stopping scored no iteration: the fit ended before its first")]
    NothingScored,
}

impl TuneError {
    /// Whether the error is in the configuration (exit code 2), not in the data.
    pub fn is_config_error(&self) -> bool {
        matches!(self, TuneError::Invalid { .. })
    }
}
