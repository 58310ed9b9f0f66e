//! Preprocessing of click logs: cleaning, sessions, train/test splits with a leakage
//! guard, and the confidence-weighted user-item matrix.
//!
//! Every step works on the typed columns of a [`clickrec_core::EventLog`], which is
//! always sorted by (user, time): a user's events are one contiguous, time-ordered run,
//! so steps are linear passes (or per-user sorts) and filter the columns in place.
//! Parallel steps split the rows at user boundaries and compute each user alone, so
//! results are identical for any number of threads.
//!
//! Configuration comes from the `[prep]` and `[split]` tables of a pipeline file
//! ([`PrepConfig`], [`SplitConfig`]); `check()` turns them into the only parameters
//! the steps accept, with an error naming the key otherwise.
//!
//! ```
//! use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId};
//! use clickrec_prep::{PrepConfig, SplitConfig, SplitKind, build_matrix, prepare, split};
//!
//! // Two users; user 0 comes back after an hour (a second session).
//! let rows = [(0, 1, 0), (0, 2, 60), (0, 1, 3_700), (1, 1, 10), (1, 3, 20)];
//! let log = EventLog::from_columns(
//!     rows.iter().map(|r| UserId(r.0)).collect(),
//!     rows.iter().map(|r| ItemId(r.1)).collect(),
//!     vec![CategoryId(0); rows.len()],
//!     vec![Behavior::Pv; rows.len()],
//!     rows.iter().map(|r| r.2).collect(),
//! )?;
//!
//! let prep: PrepConfig = toml::from_str("[session]\ngap_s = 1800")?;
//! let prepared = prepare(log, &prep.check()?)?;
//! let filters = prep.check()?.train_filters();
//! let last_session = SplitConfig { kind: SplitKind::LastSession, ..SplitConfig::default() };
//! let out = split(&prepared.log, &prepared.sessions, &last_session.check()?, &filters)?;
//! assert_eq!(out.test.users(), &[UserId(0)]);
//! assert_eq!(out.test.get(0).targets, &[ItemId(1)]);
//!
//! let matrix = build_matrix(&out.train, 2, 4, prep.check()?.weights())?;
//! assert_eq!(matrix.row(UserId(1)), (&[1, 3][..], &[1.0, 1.0][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod dedup;
mod error;
mod kcore;
mod min_events;
mod outliers;
mod prepare;
mod report;
mod rows;
mod session;
mod split;
mod weights;
mod window;

pub use config::{CheckedPrep, PrepConfig};
pub use dedup::{DedupConfig, DedupParams, dedup};
pub use error::{ConfigError, PrepError};
pub use kcore::{KCoreConfig, KCoreParams, k_core};
pub use min_events::{MinEventsConfig, MinEventsParams, filter_min_events};
pub use outliers::{OutlierConfig, OutlierParams, remove_outlier_users};
pub use prepare::{Prepared, prepare};
pub use report::{
    DedupDetails, KCoreDetails, LogStats, MinEventsDetails, OutlierDetails, PrepReport,
    SessionDetails, SessionSource, StepDetails, StepReport, WindowDetails,
};
pub use rows::retain_rows;
pub use session::{SessionConfig, sessionize};
pub use split::{
    CheckedSplit, CompactItems, CompactItemsReport, CutParts, DEFAULT_TEST_FRACTION,
    FilterStepReport, LeakageError, SplitConfig, SplitError, SplitKind, SplitOutput,
    SplitPartReport, SplitReport, SplitRule, SplitSpec, TrainFilters, ValidationSplit,
    add_validation, check_leakage, split, split_from_cut, split_test_file,
};
pub use weights::{CheckedWeights, WeightsConfig, build_matrix};
pub use window::{TimeWindow, WindowConfig, filter_time_window};

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
