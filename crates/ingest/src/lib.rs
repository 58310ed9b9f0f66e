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

use clickrec_core::Progress;
use clickrec_io::{write_event_log, write_json};

pub use assemble::Ingested;
pub use config::{ConfigError, FormatName, IdRuleName, InputConfig, parse_utc_offset};
pub use error::IngestError;
pub use format::{ColumnMapping, ColumnRef, IdRule, Layout, LogFormat, TimeFormat};
pub use options::{BadRowLimit, BadRowPolicy, IngestOptions, TimeWindow};
pub use rejection::{RejectCounts, RejectReason, Rejection};
pub use summary::{IngestSummary, TimeSpan, utc_text};

/// File names inside a run directory written by [`ingest_to_dir`].
pub const SUMMARY_FILE: &str = "ingest.json";
pub const QUARANTINE_FILE: &str = "quarantine.csv";

/// Opens an input file, with one clear error each for a missing file or a directory.
pub(crate) fn open_input(path: &Path) -> Result<File, IngestError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
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
        Ok(_) => {}
    }
    File::open(path).map_err(|e| IngestError::io(path, "cannot open", e))
}

/// Reads and validates a click log, reporting progress in bytes (text) or rows (Parquet). Rejected rows go to `quarantine` (only written with
/// [`BadRowPolicy::Skip`]).
pub fn ingest_file(
    input: &Path,
    options: &IngestOptions,
    quarantine: &Path,
    progress: &dyn Progress,
) -> Result<Ingested, IngestError> {
    let layout = options.format.layout();
    match &options.format {
        LogFormat::Parquet(_) => {
            parquet::read_parquet(input, &layout, options, quarantine, progress)
        }
        _ => text::read_text(input, &layout, options, quarantine, progress),
    }
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
    let input_bytes = open_input(input)?
        .metadata()
        .map_err(|e| IngestError::io(input, "cannot read file metadata", e))?
        .len();
    let ingested = ingest_file(input, options, &out.join(QUARANTINE_FILE), progress)?;
    let mut summary = IngestSummary::new(
        input,
        options.format.name(),
        input_bytes,
        &ingested,
        options.window,
    );
    write_event_log(out, ingested.log, &ingested.ids)?;
    summary.seconds = started.elapsed().as_secs_f64();
    write_json(&out.join(SUMMARY_FILE), &summary)?;
    Ok(summary)
}
