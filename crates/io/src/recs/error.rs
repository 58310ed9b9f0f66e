//! Errors of recommendation and test-pair files. Each names the file and, where it
//! applies, the line (CSV) or row index (Parquet), the column and the value.

use std::fmt;
use std::path::{Path, PathBuf};

use clickrec_core::{Excerpt, TestSetError, UserId};
use clickrec_recommend::RecommendError;
use thiserror::Error;

use crate::error::ArtifactError;

/// Where a value sits in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// 1-based line of a CSV file: the header is line 1, and a record whose quoted field
    /// holds line breaks is named by the line it starts on.
    Line(u64),
    /// 0-based row index of a Parquet file.
    Row(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Row(n) => write!(f, "row index {n}"),
        }
    }
}

/// What is wrong with one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueProblem {
    /// Empty CSV field or Parquet null where a value is required.
    Empty,
    /// A rank with a fraction, or not a number at all.
    RankNotInteger,
    /// A rank of 0 or below.
    RankBelowOne,
    /// A rank above `u32::MAX`.
    RankTooLarge,
    /// A score that does not parse as a number.
    ScoreNotNumber,
    /// NaN or an infinity in a score that orders the list.
    ScoreNotFinite,
    /// A behaviour outside the accepted names and codes.
    UnknownBehavior,
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueProblem::Empty => "a value is required",
            ValueProblem::RankNotInteger => "rank must be a whole number",
            ValueProblem::RankBelowOne => "rank must be at least 1",
            ValueProblem::RankTooLarge => "rank must be at most 4294967295",
            ValueProblem::ScoreNotNumber => "score is not a number",
            ValueProblem::ScoreNotFinite => {
                "score must be a finite number when it orders the list (no rank column)"
            }
            ValueProblem::UnknownBehavior => {
                "behaviour must be one of pv, fav, cart, buy, view, addtocart, transaction or a code 0-3"
            }
        })
    }
}

/// Everything that can stop reading or writing a recommendation or test-pair file.
#[derive(Debug, Error)]
pub enum RecsError {
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error("{path}: is a directory, expected a file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: unsupported file type: the name must end in {expected}")]
    UnsupportedFormat {
        path: PathBuf,
        expected: &'static str,
    },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },
    #[error("{path}: the header ({at}) is not valid UTF-8")]
    HeaderNotUtf8 { path: PathBuf, at: Location },
    #[error("{path}: no column {column}; the file has the columns {found}")]
    MissingColumn {
        path: PathBuf,
        /// The missing name, or `rank or score` when neither ordering column exists.
        column: &'static str,
        /// The columns found, quoted and comma-separated.
        found: String,
    },
    #[error("{path}: column {column:?} has type {dtype}, expected text or numbers")]
    ColumnType {
        path: PathBuf,
        column: String,
        dtype: String,
    },
    #[error("{path}: {at}: expected at least {expected} fields, found {found}")]
    TooFewFields {
        path: PathBuf,
        at: Location,
        expected: usize,
        found: usize,
    },
    #[error("{path}: {at}: a quoted field is still open at the end of the file")]
    UnclosedQuote { path: PathBuf, at: Location },
    #[error("{path}: {at}, column {column}, value {}: {problem}", Excerpt(value))]
    BadValue {
        path: PathBuf,
        at: Location,
        column: &'static str,
        value: String,
        problem: ValueProblem,
    },
    #[error(
        "{path}: {at}, column {column}, value \"{rank}\": user {} already has rank {rank} (at {first})",
        Excerpt(user)
    )]
    DuplicateRank {
        path: PathBuf,
        at: Location,
        column: &'static str,
        user: String,
        rank: u32,
        /// The other row with this rank (the earlier one in the file).
        first: Location,
    },
    #[error(
        "{path}: {at}, column {column}, value {}: item repeated in the list of user {} (first at {first})",
        Excerpt(value),
        Excerpt(user)
    )]
    DuplicateItem {
        path: PathBuf,
        at: Location,
        column: &'static str,
        value: String,
        user: String,
        first: Location,
    },
    #[error(
        "{path}: {at}, column {column}, value {}: not in the id maps of the run \
         ({unknown_user_rows} rows have an unknown user, {unknown_item_rows} rows an unknown item; \
         rerun with --skip-unknown to drop and count them)",
        Excerpt(value)
    )]
    UnknownIds {
        path: PathBuf,
        /// The first unknown id of the file.
        at: Location,
        column: &'static str,
        value: String,
        unknown_user_rows: u64,
        unknown_item_rows: u64,
    },
    #[error("seen_in_train covers {found} items but the id maps have {expected} items")]
    ItemSpace { expected: usize, found: usize },
    #[error("has_train covers {found} users but the id maps have {expected} users")]
    UserSpace { expected: usize, found: usize },
    #[error("{path}: ranked lists must come in increasing user order: {user} follows {previous}")]
    UserOrder {
        path: PathBuf,
        previous: UserId,
        user: UserId,
    },
    #[error("{path}: {kind} id {id} is outside the {len} ids of the id maps")]
    IdOutOfRange {
        path: PathBuf,
        kind: &'static str,
        id: u32,
        len: usize,
    },
    #[error("{path}: {source}")]
    Recommend {
        path: PathBuf,
        #[source]
        source: RecommendError,
    },
    /// A file, Parquet or polars operation failed ([`crate::ArtifactError`] says which).
    #[error(transparent)]
    Artifact(#[from] crate::error::ArtifactError),
    #[error("{path}: {source}")]
    TestSet {
        path: PathBuf,
        #[source]
        source: TestSetError,
    },
}

impl From<clickrec_core::FileError> for RecsError {
    fn from(error: clickrec_core::FileError) -> Self {
        RecsError::Artifact(error.into())
    }
}

impl RecsError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        ArtifactError::io(path, action, source).into()
    }

    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        ArtifactError::parquet(path, source).into()
    }

    pub(crate) fn polars(path: &Path, source: polars::error::PolarsError) -> Self {
        ArtifactError::polars(path, source).into()
    }
}
