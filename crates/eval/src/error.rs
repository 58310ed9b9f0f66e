//! The evaluator's error type.

use clickrec_core::{ItemId, UserId};
use thiserror::Error;

/// Why an evaluation, a configuration or a comparison cannot be done as asked.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum EvalError {
    /// A configuration value that cannot work, named by its key in the pipeline file
    /// (e.g. `evaluate.ks`).
    #[error("{key}: expected {expected}, found {found}")]
    Config {
        key: &'static str,
        expected: String,
        found: String,
    },
    /// A recommendation list names an item outside the train matrix's item space.
    #[error(
        "model {model:?} recommends {item} to {user}, outside the {n_items} items of the train matrix"
    )]
    ItemOutOfRange {
        model: String,
        user: UserId,
        item: ItemId,
        n_items: usize,
    },
    /// Test set, train matrix and train events that do not describe the same data.
    #[error("the evaluation data do not fit together: {0}")]
    Inconsistent(String),
    /// A comparison names a model the report does not hold.
    #[error("no model named {0:?} in the report")]
    UnknownModel(String),
    /// A comparison asks for a cut-off that was not evaluated.
    #[error("K = {k} was not evaluated (the cut-offs are {ks:?})")]
    UnknownK { k: usize, ks: Vec<usize> },
    /// Two evaluations that were not made on the same test users and cut-offs.
    #[error("models {a:?} and {b:?} cannot be compared: {reason}")]
    NotComparable {
        a: String,
        b: String,
        reason: String,
    },
}
