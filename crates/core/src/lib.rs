//! Shared vocabulary of clickrec: dense ids, id maps, behaviours, the event log, the
//! user-item matrix and the held-out test set.
//!
//! Every stage hands the next one a named type from this crate, never a bare table.
//! Ids are dense `u32` newtypes so that columns and matrices index by them directly;
//! [`IdMap`] keeps the way back to the external ids of the source log.
//!
//! ```
//! use clickrec_core::{Behavior, EventLog, IdMap, UserId, ItemId, CategoryId};
//!
//! let users = IdMap::<UserId>::from_externals(["alice", "bob"]).unwrap();
//! let alice = users.lookup_table()["alice"];
//! assert_eq!(users.external(alice), "alice");
//!
//! let log = EventLog::from_columns(
//!     vec![alice, alice],
//!     vec![ItemId(1), ItemId(0)],
//!     vec![CategoryId(0), CategoryId(0)],
//!     vec![Behavior::Pv, Behavior::Buy],
//!     vec![20, 10],
//! )
//! .unwrap();
//! assert_eq!(log.timestamps(), &[10, 20]);
//! ```

mod atomic;
mod behavior;
mod error;
mod event_log;
mod excerpt;
mod id_map;
mod ids;
mod matrix;
mod memory;
mod progress;
mod rng;
mod split;
mod time;

pub use atomic::{AtomicFile, FileError};
pub use behavior::{Behavior, BehaviorCounts, BehaviorMapping};
pub use error::CoreError;
pub use event_log::{EventColumns, EventLog};
pub use excerpt::{EXCERPT_CHARS, Excerpt};
pub use id_map::{IdMap, IdMaps};
pub use ids::{CategoryId, DenseId, ItemId, SessionId, UserId};
pub use matrix::{
    Csr, ItemUserMatrix, MATRIX_FORMAT_VERSION, MATRIX_MAGIC, MatrixError, UserItemMatrix,
};
pub use memory::{
    Bytes, DEFAULT_MEMORY_SHARE, MemoryError, cap_at_catalogue, check_memory, default_memory_limit,
    parse_byte_size, peak_rss_bytes, reset_peak_rss, total_memory_bytes,
};
pub use progress::{NoProgress, Progress};
pub use rng::{SPLITMIX_GAMMA, SplitMix64, derive_seed, mix64};
pub use split::{Leakage, TestSet, TestSetBuilder, TestSetCounts, TestSetError, TestUser};
pub use time::{parse_utc_time, utc_text};
