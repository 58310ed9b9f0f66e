//! Click-log ingestion: Taobao, RetailRocket, any mapped CSV (plain or `.gz`) and Parquet
//! into a validated, sorted [`EventLog`](clickrec_core::EventLog) with its id maps.
//!
//! Every row is validated; a bad row either stops ingestion with an error naming file,
//! line, column and value ([`BadRowPolicy::Fail`], the default) or goes to a quarantine
//! file and is counted by reason ([`BadRowPolicy::Skip`]). Nothing is dropped uncounted.
//! Text input is read in blocks that are validated in parallel and merged in file order,
//! so memory stays close to the size of the kept columns and results do not depend on
//! the thread count.
//!
//! ```no_run
//! use clickrec_core::NoProgress;
//! use clickrec_ingest::{ingest_to_dir, IngestOptions, LogFormat};
//!
//! let options = IngestOptions::new(LogFormat::Taobao);
//! let summary = ingest_to_dir("UserBehavior.csv".as_ref(), &options, "runs/taobao".as_ref(), &NoProgress)?;
//! println!("{} users, {} items", summary.users, summary.items);
//! # Ok::<(), clickrec_ingest::IngestError>(())
//! ```

mod assemble;
mod config;
mod error;
mod format;
mod ids;
mod options;
mod parquet;
mod rejection;
mod row;
mod summary;
mod text;

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use clickrec_core::{IdMaps, Progress};
use clickrec_io::{write_event_log, write_input_events, write_json};

pub use assemble::{ANONYMOUS_PREFIX, Ingested};
pub use config::{ConfigError, FormatName, IdRuleName, InputConfig, parse_utc_offset};
pub use error::IngestError;
pub use format::{ColumnMapping, ColumnRef, IdRule, Layout, LogFormat, TimeFormat};
pub use options::{BadRowLimit, BadRowPolicy, IngestOptions, TimeWindow};
pub use rejection::{RejectCounts, RejectReason, Rejection};
pub use summary::{IngestSummary, TimeSpan, utc_text};

/// File names inside a run directory written by [`ingest_to_dir`].
pub const SUMMARY_FILE: &str = "ingest.json";
pub const QUARANTINE_FILE: &str = "quarantine.csv";
/// Written by [`ingest_pair_to_dir`] for the test file of a pre-split pair.
pub const TEST_FILE_EVENTS_FILE: &str = "test_file_events.parquet";
pub const TEST_SUMMARY_FILE: &str = "test_ingest.json";
pub const TEST_QUARANTINE_FILE: &str = "test_quarantine.csv";

/// Opens an input file, with one clear error each for a missing file, a directory, and
/// anything else that is not a regular file: a FIFO, a device such as `/dev/zero` or a
/// socket may never end, so it is refused before a byte is read. `-` (standard input,
/// by convention) is refused with its own message unless a file of that name exists.
pub(crate) fn open_input(path: &Path) -> Result<File, IngestError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if path == Path::new("-") {
                return Err(IngestError::Stdin);
            }
            return Err(IngestError::NotFound {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(IngestError::io(path, "cannot read file metadata", e)),
        Ok(m) if m.is_dir() => {
            return Err(IngestError::IsDirectory {
                path: path.to_owned(),
            });
        }
        Ok(m) if !m.is_file() => {
            return Err(IngestError::NotRegularFile {
                path: path.to_owned(),
                kind: file_kind(&m.file_type()),
            });
        }
        Ok(_) => {}
    }
    File::open(path).map_err(|e| IngestError::io(path, "cannot open", e))
}

/// What a file that is neither a regular file nor a directory is, in words.
fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    let _ = file_type;
    "a special file"
}

/// Reads and validates a click log, reporting progress in bytes (text) or rows (Parquet). Rejected rows go to `quarantine` (only written with
/// [`BadRowPolicy::Skip`]).
pub fn ingest_file(
    input: &Path,
    options: &IngestOptions,
    quarantine: &Path,
    progress: &dyn Progress,
) -> Result<Ingested, IngestError> {
    read_any(input, options, quarantine, progress, None)
}

/// Like [`ingest_file`], in the id space of `known` (the maps of a file read before):
/// known ids keep their dense ids, new ones are appended, so the returned maps extend
/// `known`. This is how the test file of a pre-split pair shares the train file's ids.
pub fn ingest_file_with_ids(
    input: &Path,
    options: &IngestOptions,
    quarantine: &Path,
    progress: &dyn Progress,
    known: &IdMaps,
) -> Result<Ingested, IngestError> {
    read_any(input, options, quarantine, progress, Some(known))
}

/// One read of a click log, what the Parquet and the text reader both take: the file, how
/// its columns map, where rejected rows go, progress, and the id maps to extend (if any).
#[derive(Clone, Copy)]
pub(crate) struct Input<'a> {
    pub(crate) path: &'a Path,
    pub(crate) layout: &'a Layout,
    pub(crate) options: &'a IngestOptions,
    pub(crate) quarantine: &'a Path,
    pub(crate) progress: &'a dyn Progress,
    pub(crate) known: Option<&'a IdMaps>,
}

fn read_any(
    path: &Path,
    options: &IngestOptions,
    quarantine: &Path,
    progress: &dyn Progress,
    known: Option<&IdMaps>,
) -> Result<Ingested, IngestError> {
    let layout = options.format.layout();
    let input = Input {
        path,
        layout: &layout,
        options,
        quarantine,
        progress,
        known,
    };
    match &options.format {
        LogFormat::Parquet(_) => parquet::read_parquet(input),
        _ => text::read_text(input),
    }
}

fn file_len(path: &Path) -> Result<u64, IngestError> {
    Ok(open_input(path)?
        .metadata()
        .map_err(|e| IngestError::io(path, "cannot read file metadata", e))?
        .len())
}

/// Ingests `input` into the run directory `out`: `events.parquet`, the id maps,
/// `ingest.json` and, when rows were skipped, `quarantine.csv`.
pub fn ingest_to_dir(
    input: &Path,
    options: &IngestOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    std::fs::create_dir_all(out)
        .map_err(|e| IngestError::io(out, "cannot create run directory", e))?;
    let ingested = ingest_file(input, options, &out.join(QUARANTINE_FILE), progress)?;
    write_ingested(input, options, out, ingested, started)
}

/// Writes an ingested log into the run directory `out` as [`ingest_to_dir`] does
/// (`events.parquet`, the id maps, `ingest.json`): also for a log another engine read
/// and validated. `started` is when the reading began, for the summary's seconds.
pub fn write_ingested(
    input: &Path,
    options: &IngestOptions,
    out: &Path,
    ingested: Ingested,
    started: Instant,
) -> Result<IngestSummary, IngestError> {
    let input_bytes = file_len(input)?;
    let mut summary = IngestSummary::new(input, options, input_bytes, &ingested, None);
    write_event_log(out, ingested.log, &ingested.ids)?;
    summary.seconds = started.elapsed().as_secs_f64();
    write_json(&out.join(SUMMARY_FILE), &summary)?;
    Ok(summary)
}

/// Ingests a pre-split pair into the run directory `out`: `input` as by [`ingest_to_dir`],
/// then `test` (same format and mapping) into the same id space as
/// `test_file_events.parquet` with its own `test_ingest.json` and `test_quarantine.csv`.
/// The id maps written cover both files. Returns the two summaries; their `seconds` are
/// the reading and validating of each file (the stage's wall time includes the writing).
pub fn ingest_pair_to_dir(
    input: &Path,
    test: &Path,
    options: &IngestOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<(IngestSummary, IngestSummary), IngestError> {
    let started = Instant::now();
    std::fs::create_dir_all(out)
        .map_err(|e| IngestError::io(out, "cannot create run directory", e))?;
    let (input_bytes, test_bytes) = (file_len(input)?, file_len(test)?);
    let train = ingest_file(input, options, &out.join(QUARANTINE_FILE), progress)?;
    let mut summary = IngestSummary::new(input, options, input_bytes, &train, None);
    summary.seconds = started.elapsed().as_secs_f64();
    let test_started = Instant::now();
    let tested = ingest_file_with_ids(
        test,
        options,
        &out.join(TEST_QUARANTINE_FILE),
        progress,
        &train.ids,
    )?;
    let mut test_summary = IngestSummary::new(test, options, test_bytes, &tested, Some(&train.ids));
    test_summary.seconds = test_started.elapsed().as_secs_f64();
    write_input_events(&out.join(TEST_FILE_EVENTS_FILE), tested.log)?;
    // The maps of the test file extend the train file's: they cover both.
    write_event_log(out, train.log, &tested.ids)?;
    write_json(&out.join(SUMMARY_FILE), &summary)?;
    write_json(&out.join(TEST_SUMMARY_FILE), &test_summary)?;
    Ok((summary, test_summary))
}
