//! `clickrec serve`: the models of a finished run directory over HTTP, answering as the
//! run answered offline.
//!
//! A user the run knows gets exactly their row of `recs/<model>.parquet`, a replayed test
//! session exactly the lists the next-item evaluator scored: both go through the code
//! the pipeline uses (see [`ServedRun`]). Events posted for a user extend their history
//! and the model folds it in (ALS re-solves the user's factor, item-kNN and EASE score the
//! longer row, `recent` re-ranks); events posted for a session drive the session models.
//!
//! Routes (JSON; errors are `{"error": …}` with the offending value):
//! - `GET /v1/users/{user_id}/recommendations?model=M&n=N&exclude_seen=true|false`
//! - `POST /v1/users/{user_id}/events`, `POST /v1/sessions/{session_id}/events` with
//!   `{"events": [{"item_id", "behavior", "timestamp"}]}`
//! - `GET /v1/sessions/{session_id}/recommendations?model=M&n=N`
//! - `GET /v1/items/{item_id}/similar?model=M&n=N`
//! - `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus text)
//! - `POST /admin/reload` (optional body `{"run_dir": …}`; SIGHUP does the same)
//!
//! State is bounded ([`state`]): sessions and users held in memory, least recently used
//! first out, idle sessions expire.

mod api;
mod error;
mod metrics;
pub mod parity;
mod run;
mod server;
pub mod state;

pub use api::{ApiOptions, AppState, UnknownItems, UnknownUsers, router};
pub use error::ServeError;
pub use run::{Event, RunSettings, ServedRun};
pub use server::{ServeOptions, serve};
