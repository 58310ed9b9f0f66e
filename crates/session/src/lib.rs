//! Session-aware recommenders: models that score the next item of a session from the
//! session itself, after session-rec (Ludewig, Latifi, Jannach: "Empirical analysis of
//! session-based recommendation algorithms", UMUAI 2021).
//!
//! - [`knn`]: SKNN, V-SKNN, STAN and V-STAN over one item → sessions index ordered by
//!   recency, so a prediction touches only the sampled candidate sessions.
//! - [`rules`]: sequential rules (SR), association rules (AR), the first-order Markov
//!   chain, and session popularity (SPOP).
//!
//! Every model fits on [`TrainSessions`] and is both a next-item
//! [`clickrec_recommend::SessionRecommender`] (one state per session, one event at a time) and
//! a batch [`clickrec_recommend::Recommender`] whose query is the user's last train session.
//!
//! ```
//! use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId};
//! use clickrec_session::{SessionParams, TrainSessions, score_session};
//!
//! // Two sessions: 0 → 1 → 2 and 0 → 1.
//! let log = EventLog::from_columns(
//!     vec![UserId(0), UserId(0), UserId(0), UserId(1), UserId(1)],
//!     vec![ItemId(0), ItemId(1), ItemId(2), ItemId(0), ItemId(1)],
//!     vec![CategoryId(0); 5],
//!     vec![Behavior::Pv; 5],
//!     vec![1, 2, 3, 10, 11],
//! )
//! .unwrap();
//! let sessions = TrainSessions::from_log(&log, &[0, 0, 0, 1, 1], 2, 3).unwrap();
//! let sr = SessionParams::Sr(Default::default()).check().unwrap().fit(sessions);
//! let scores = score_session(sr.as_session(), &[(ItemId(1), 100)]);
//! assert_eq!(scores, vec![(ItemId(2), 1.0)]);
//! ```

mod error;
pub mod knn;
mod model;
pub mod rules;
mod sessions;

pub use error::{ParamError, SessionsError};
pub use model::{CheckedSessionModel, SessionModel, SessionParams, score_session};
pub use sessions::{SessionParts, TrainSessions};

#[cfg(test)]
mod tests;
