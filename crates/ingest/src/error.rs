use std::path::PathBuf;

use clickrec_core::{CoreError, Excerpt};
use thiserror::Error;

use crate::options::BadRowLimit;
use crate::rejection::RejectReason;

/// Everything that can stop ingestion. Each names the file, and where it applies the
/// line, column and value.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error("{path}: is a directory, expected a click-log file")]
    IsDirectory { path: PathBuf },
    #[error(
        "{path}: is {kind}, not a regular file: clickrec reads click logs from regular files only (a stream has no end to wait for and no size to check); copy it into a file first"
    )]
    NotRegularFile { path: PathBuf, kind: &'static str },
    #[error(
        "-: reading the click log from standard input is not supported: write it to a file first (e.g. `cat > log.csv`) and pass that file's path"
    )]
    Stdin,
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: the file has a header line but no data rows")]
    HeaderOnly { path: PathBuf },
    /// A file operation failed (the file, what was being done, the OS error).
    #[error(transparent)]
    Io(#[from] clickrec_core::FileError),
    #[error(
        "{path}:{line}: a quoted field opened in this record is still open at the end of the file"
    )]
    OpenQuote { path: PathBuf, line: u64 },
    #[error("{path}: the header (line 1) is not valid UTF-8")]
    HeaderNotUtf8 { path: PathBuf },
    #[error(
        "{path}:1: the header is longer than {limit} bytes (--max-record-bytes, input.max_record_bytes): is the file in this --format and --delimiter? raise the limit if such a header is real"
    )]
    HeaderTooLong { path: PathBuf, limit: usize },
    #[error(
        "{path}:1: the header names column {name:?} twice (columns {first} and {second}, counted from 0): a column name must be unique so that a mapping by name means one column; rename one of them"
    )]
    DuplicateHeader {
        path: PathBuf,
        name: String,
        first: usize,
        second: usize,
    },
    #[error("{path}: the layout names {column} for the {role}, but {available}")]
    MissingColumn {
        path: PathBuf,
        role: &'static str,
        column: String,
        available: String,
    },
    #[error("{path}: column {column:?} has type {dtype}, which cannot hold the {role}")]
    ColumnType {
        path: PathBuf,
        role: &'static str,
        column: String,
        dtype: String,
    },
    #[error("{path}:{line}: {reason}{}: {} ({})", column.as_ref().map(|c| format!(" in column {c}")).unwrap_or_default(), Excerpt(value), reason.hint(*line))]
    BadRow {
        path: PathBuf,
        line: u64,
        reason: RejectReason,
        column: Option<String>,
        value: String,
    },
    #[error(
        "{path}: {rejected} of {read} rows rejected, more than the allowed {limit} (rejected rows are in {quarantine})"
    )]
    TooManyBadRows {
        path: PathBuf,
        rejected: u64,
        read: u64,
        limit: BadRowLimit,
        quarantine: PathBuf,
    },
    #[error("{path}: all {read} rows were rejected, nothing to ingest (see {quarantine})")]
    NoValidRows {
        path: PathBuf,
        read: u64,
        quarantine: PathBuf,
    },
    #[error(
        "the layout names neither a user nor a session column (set user_col, session_col or both)"
    )]
    NoUserOrSession,
    #[error("time pattern {pattern:?} is not a valid strftime pattern")]
    BadTimePattern { pattern: String },
    #[error("{path}: {source}")]
    Polars {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error(transparent)]
    Artifact(#[from] clickrec_io::ArtifactError),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl IngestError {
    pub(crate) fn io(path: &std::path::Path, action: &'static str, source: std::io::Error) -> Self {
        IngestError::Io(clickrec_core::FileError::new(path, action, source))
    }

    pub(crate) fn polars(path: &std::path::Path, source: polars::error::PolarsError) -> Self {
        IngestError::Polars {
            path: path.to_owned(),
            source,
        }
    }
}
