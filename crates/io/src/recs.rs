//! Recommendation files in and out: ranked lists written by clickrec or any other
//! system, and held-out test pairs, as CSV (`.csv`; `.csv.gz` for reading) or Parquet
//! (`.parquet`), with external ids on disk and dense ids in memory.
//!
//! * [`RecsWriter`] streams [`Recommendations`](clickrec_recommend::Recommendations) blocks to
//!   `user_id, rank, item_id, score`.
//! * [`read_recommendations`] / [`read_recommendations_with`] read `user_id, item_id` plus
//!   `rank` and/or `score` back into `Recommendations`, ordered by rank (or by score
//!   when there is no rank), with a [`RecsReadReport`].
//! * [`read_test_pairs`] reads `user_id, item_id[, behavior]` into a
//!   [`TestSet`](clickrec_core::TestSet), with a [`TestPairsReport`].
//!
//! Every error is a [`RecsError`] naming the file and, for a bad row, the [`Location`]
//! (CSV line, 1-based with the header as line 1; Parquet row index, 0-based), the column
//! and the value.
//!
//! ```no_run
//! use clickrec_io::{RecsWriter, read_id_maps, read_recommendations};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let lists = clickrec_recommend::Recommendations::new();
//! let ids = read_id_maps("runs/taobao".as_ref())?;
//! let mut writer = RecsWriter::create("runs/taobao/recs.parquet".as_ref(), &ids)?;
//! writer.write(&lists)?;
//! let summary = writer.finish()?;
//! let (back, report) = read_recommendations("runs/taobao/recs.parquet".as_ref(), &ids)?;
//! assert_eq!(report.rows, summary.rows);
//! # Ok(()) }
//! ```

mod csv_records;
mod error;
mod lookup;
mod pairs;
mod read;
mod source;
mod write;

pub use error::{Location, RecsError, ValueProblem};
pub use pairs::{TestPairsReport, read_test_pairs};
pub use read::{
    ListOrder, ReadOptions, RecsReadReport, read_recommendations, read_recommendations_with,
};
pub use write::{RecsFileSummary, RecsWriter};
