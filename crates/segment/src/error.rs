//! Errors of parameter checking and fitting.

use thiserror::Error;

/// Why segments could not be checked or fitted.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SegmentError {
    /// A `[segment]` key with an impossible value, named by its config key.
    #[error("segment.{key}: expected {expected}, found {found}")]
    Param {
        /// Key inside `[segment]`, e.g. `k`.
        key: &'static str,
        expected: &'static str,
        found: String,
    },
    /// k-means needs at least one user per segment.
    #[error("segment.k = {k} is more than the {users} users with a vector: lower k")]
    TooFewUsers { k: usize, users: usize },
    /// linfa's k-means refused the data (its message).
    #[error("k-means failed: {0}")]
    KMeans(String),
}

impl SegmentError {
    pub(crate) fn param(key: &'static str, expected: &'static str, found: impl ToString) -> Self {
        SegmentError::Param {
            key,
            expected,
            found: found.to_string(),
        }
    }
}
