//! The errors of the crate: a bad `[prep]`/`[split]` value, and a log the steps cannot
//! finish on. Below every step, so each can return them.

use std::num::NonZeroU32;

use thiserror::Error;

/// Preprocessing that cannot finish on this log.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PrepError {
    /// Session indices are `u32`.
    #[error("the log has more than {} sessions; session indices are u32", u64::from(u32::MAX) + 1)]
    TooManySessions,
}

/// A configuration value that cannot work, named by its key path in the pipeline file.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{key}: expected {expected}, found {found}")]
pub struct ConfigError {
    /// Key path as written in a pipeline file, e.g. `prep.kcore.min_items_per_user`.
    pub key: &'static str,
    /// What the key accepts.
    pub expected: String,
    /// The offending value (`nothing` when a required key is missing).
    pub found: String,
}

pub(crate) fn config_error(
    key: &'static str,
    expected: impl Into<String>,
    found: impl ToString,
) -> ConfigError {
    ConfigError {
        key,
        expected: expected.into(),
        found: found.to_string(),
    }
}

/// A count that must be at least 1.
pub(crate) fn positive(
    key: &'static str,
    value: u32,
    expected: &str,
) -> Result<NonZeroU32, ConfigError> {
    NonZeroU32::new(value).ok_or_else(|| config_error(key, expected, value))
}
