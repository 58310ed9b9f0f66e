//! The files of a clickrec run directory, read and written in one place:
//!
//! * the event log and its id maps as Parquet ([`write_event_log`], [`read_events`], ...);
//! * ranked recommendation lists ([`RecsWriter`], [`read_recommendations`]) and held-out
//!   test pairs ([`read_test_pairs`]), from clickrec or any other system;
//! * the one CSV dialect of every delimited file clickrec reads or writes
//!   ([`csv_dialect`]);
//! * the segment of each user ([`write_segment_assignments`]);
//! * JSON artifacts ([`write_json`], [`read_json`]);
//! * atomic writes ([`AtomicFile`], [`write_atomic`]): every file appears whole under
//!   its final name or not at all, through a unique temporary file, `fsync` of the file
//!   and of its folder;
//! * one writer per run directory ([`RunDirLock`]).
//!
//! ```no_run
//! use clickrec_io::{read_event_log, write_json};
//!
//! let (log, ids) = read_event_log("runs/quickstart".as_ref())?;
//! write_json("runs/quickstart/sizes.json".as_ref(), &(log.len(), ids.users.len()))?;
//! # Ok::<(), clickrec_io::ArtifactError>(())
//! ```

mod assignments;
mod atomic;
pub mod csv_dialect;
mod error;
mod event_log;
mod events_parquet;
mod json;
mod lock;
mod recs;

pub use assignments::write_segment_assignments;
pub use atomic::{AtomicFile, write_atomic, write_atomic_with};
pub use error::ArtifactError;
pub use event_log::{
    CATEGORIES_FILE, EVENT_LOG_FILES, EVENTS_FILE, ITEMS_FILE, SPLIT_ITEMS_FILE, USERS_FILE,
    read_event_log, read_events, read_id_maps, read_input_events, read_split_id_maps,
    write_event_log, write_events, write_input_events, write_split_items,
};
pub use json::{read_json, write_json};
pub use lock::{LOCK_FILE, LockError, RunDirLock};
pub use recs::{
    ListOrder, Location, ReadOptions, RecsError, RecsFileSummary, RecsReadReport, RecsWriter,
    TestPairsReport, ValueProblem, read_recommendations, read_recommendations_with,
    read_test_pairs,
};
