//! Errors of the run directory's own files (event logs, id maps, JSON artifacts, atomic
//! writes). Each names the file.

use std::path::{Path, PathBuf};

use clickrec_core::CoreError;
use thiserror::Error;

/// Reading or writing one artifact of a run directory failed.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// A file operation failed (the file, what was being done, the OS error).
    #[error(transparent)]
    Io(#[from] clickrec_core::FileError),
    #[error("{path}: {source}")]
    Polars {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{path}: not a valid {what}: {source}")]
    Json {
        path: PathBuf,
        /// What the file should hold, e.g. "test set".
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Core {
        path: PathBuf,
        #[source]
        source: CoreError,
    },
}

impl ArtifactError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        ArtifactError::Io(clickrec_core::FileError::new(path, action, source))
    }

    pub(crate) fn polars(path: &Path, source: polars::error::PolarsError) -> Self {
        ArtifactError::Polars {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        ArtifactError::Parquet {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        ArtifactError::Invalid {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}
