//! Errors of parameter checking, fitting, and saving/loading models.

use std::path::PathBuf;

use thiserror::Error;

/// A model parameter with an impossible value, named by its config key: one type for
/// every model, the session models' included.
pub use clickrec_session::ParamError;

/// Fitting failed on the data given.
#[derive(Debug, Error)]
pub enum FitError {
    #[error("cannot fit {model}: the train matrix is empty (no user-item pairs)")]
    EmptyTrain { model: &'static str },
    #[error("cannot fit {model}: {reason}")]
    Data { model: &'static str, reason: String },
    /// Its dense buffers would need more memory than the run's limit (boxed: it is
    /// large, and every fit's `Result` carries this enum).
    #[error("cannot fit {model}: {source}")]
    Memory {
        model: &'static str,
        #[source]
        source: Box<clickrec_core::MemoryError>,
    },
    #[error("{model} diverged at iteration {iteration}: loss is {loss}")]
    Diverged {
        model: &'static str,
        iteration: usize,
        loss: f64,
    },
}

/// Saving, loading or using a saved model failed.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("{path}: cannot {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// Creating, flushing or moving the model file into place failed.
    #[error(transparent)]
    File(#[from] clickrec_core::FileError),
    #[error("{path}: not a clickrec model file (bad magic bytes)")]
    BadMagic { path: PathBuf },
    #[error("{path}: model format version {found}, this build reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path}: corrupt model file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path}: the model was fitted on other id maps ({found_users} users, {found_items} items, fingerprint {found}) than this run's ({expected_users} users, {expected_items} items, fingerprint {expected}); refit it on this run or use the run it came from"
    )]
    IdMapsDiffer {
        path: PathBuf,
        found: String,
        expected: String,
        found_users: u64,
        found_items: u64,
        expected_users: u64,
        expected_items: u64,
    },
    #[error("{kind} cannot list similar items (only item-kNN, ALS, BPR and EASE can)")]
    NoSimilarItems { kind: &'static str },
    #[error("item {item} is outside the model's {n_items} items")]
    ItemOutOfRange { item: u32, n_items: usize },
}
