use std::path::PathBuf;

use thiserror::Error;

/// Errors of a stage on Spark. Each keeps its cause as its `source`; those about a file or
/// a table name its path.
#[derive(Debug, Error)]
pub enum SparkStageError {
    /// The client failed; the cause says what to do (start the cluster, …).
    #[error("{stage} on Spark: {source}")]
    Spark {
        stage: &'static str,
        /// Boxed: the client's errors are large.
        #[source]
        source: Box<clickrec_spark::SparkError>,
    },
    /// What Spark returned, or the input it was given, is not what the stage needs.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Io(#[from] clickrec_core::FileError),
    #[error(transparent)]
    Artifact(#[from] clickrec_io::ArtifactError),
    #[error(transparent)]
    Ingest(#[from] clickrec_ingest::IngestError),
    /// The split of the table at the path failed.
    #[error("splitting {0}: {1}")]
    Split(PathBuf, #[source] clickrec_prep::SplitError),
    /// The matrix pulled from the table at the path is not a valid one.
    #[error("{0}: train matrix: {1}")]
    Matrix(PathBuf, #[source] clickrec_core::MatrixError),
}

impl SparkStageError {
    /// The client's error in `stage`.
    pub(crate) fn spark(stage: &'static str, source: clickrec_spark::SparkError) -> Self {
        SparkStageError::Spark {
            stage,
            source: Box::new(source),
        }
    }
}
