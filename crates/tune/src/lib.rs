//! The tuner's parts: `[tune]` search spaces and their draws, the search over them
//! (random, grid, successive halving) recorded in `tune/trials.json`, the validation
//! split as trials see it with the scorer of one metric at K, and early stopping of
//! iterative fits on that metric. The pipeline reads the validation split from the run
//! directory and drives `clickrec tune`; nothing here opens a file of the test split.
//!
//! Layers, bottom first: [`config`](TuneConfig) and the errors → the search spaces
//! ([`Space`]) and the validation scorer ([`Scorer`]) → early stopping
//! ([`EarlyStopping`]) → the search ([`Search`]).

mod config;
mod early_stop;
mod error;
mod search;
mod space;
mod validation;

pub use config::{CheckedTune, Domain, MetricAtK, Range, Strategy, TuneConfig};
pub use early_stop::{CheckedEarlyStopping, EarlyStopRecord, EarlyStopping, EarlyStoppingConfig};
pub use error::TuneError;
pub use search::{BestTrial, Budget, Search, TrialRecord, TrialsFile, rung_sizes};
pub use space::{ITERATIONS, Space, checked_model, with_iterations};
pub use validation::{Scorer, TrainPart, Validation, ValidationParts};
