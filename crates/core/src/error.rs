use thiserror::Error;

/// Errors from building or loading the shared types.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CoreError {
    /// Columns of one event log must have the same number of rows.
    #[error("event log column `{column}` has {found} rows, expected {expected}")]
    ColumnLength {
        column: &'static str,
        expected: usize,
        found: usize,
    },
    /// An id map may not list the same external id twice.
    #[error(
        "{kind} id map lists external id {} twice (dense ids {first} and {second})",
        crate::Excerpt(external)
    )]
    DuplicateExternalId {
        kind: &'static str,
        external: String,
        first: u32,
        second: u32,
    },
    /// More distinct ids than a `u32` can number.
    #[error("more than {max} distinct {kind} ids", max = u32::MAX)]
    TooManyIds { kind: &'static str },
    /// Rows that had to arrive sorted by (user, time) did not.
    #[error("event rows are not sorted by (user, time): row {row} comes before the row above it")]
    NotSorted { row: usize },
    /// A dense id outside its id map.
    #[error("{kind} id {id} is outside the id map of {len} ids")]
    IdOutOfRange {
        kind: &'static str,
        id: u32,
        len: usize,
    },
    /// A behaviour name that is none of pv, fav, cart, buy.
    #[error("unknown behaviour {}: expected one of pv, fav, cart, buy", crate::Excerpt(.0))]
    UnknownBehaviorName(String),
}
