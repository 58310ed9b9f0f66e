//! Errors of parameter checking and fitting.

use thiserror::Error;

/// A model parameter with an impossible value, named by its config key (`clickrec-models`
/// re-exports it for every model).
#[derive(Clone, Debug, Error, PartialEq)]
#[error("models.{model}.{param}: expected {expected}, found {found}")]
pub struct ParamError {
    /// Model section, e.g. `vsknn`.
    pub model: &'static str,
    /// Parameter name, e.g. `k`.
    pub param: &'static str,
    pub expected: &'static str,
    pub found: String,
}

impl ParamError {
    pub fn new(
        model: &'static str,
        param: &'static str,
        expected: &'static str,
        found: impl ToString,
    ) -> Self {
        ParamError {
            model,
            param,
            expected,
            found: found.to_string(),
        }
    }
}

/// The train sessions cannot be built from what was given.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SessionsError {
    #[error("{sessions} session indices for a log of {rows} rows")]
    Length { rows: usize, sessions: usize },
    #[error(
        "row {row}: session index {session} is smaller than the row before it ({previous}); sessions must be consecutive in (user, time) order"
    )]
    Order {
        row: usize,
        session: u32,
        previous: u32,
    },
    #[error("row {row}: item {item} is outside the {n_items} items")]
    ItemOutOfRange {
        row: usize,
        item: u32,
        n_items: usize,
    },
    #[error("row {row}: user {user} is outside the {n_users} users")]
    UserOutOfRange {
        row: usize,
        user: u32,
        n_users: usize,
    },
    #[error("stored sessions do not fit together: {0}")]
    Corrupt(String),
}
