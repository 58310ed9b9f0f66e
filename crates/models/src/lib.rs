//! clickrec's recommenders. Each model fits on [`TrainData`] and implements
//! [`clickrec_recommend::Recommender`] (scoring only); filtering, batching and top-N selection
//! are shared in `clickrec_core`.
//!
//! - [`popularity`]: most popular items, all time or over the last days, weighted by behaviour.
//! - [`recent`]: the user's own latest distinct items, by recency and frequency.
//! - [`knn`]: item-kNN, cosine over the weighted matrix (optionally BM25/TF-IDF weighted).
//! - [`als`]: implicit ALS (Hu, Koren, Volinsky 2008) with the conjugate-gradient solver.
//! - [`bpr`]: Bayesian personalised ranking with SGD, thread-count independent.
//! - [`ease`]: EASE (Steck 2019), the closed-form item-item autoencoder.
//!
//! Every model has a params struct with documented defaults and a `check()` that returns
//! valid params or a [`ParamError`]; only checked params can fit. [`Model`] wraps any of
//! them for the pipeline, with a versioned binary save/load ([`Model::save`], [`Model::load`]).

pub mod als;
pub mod bpr;
pub mod ease;
mod error;
mod factors;
mod fit;
mod fold_in;
mod io;
pub mod knn;
mod model;
pub mod popularity;
pub mod recent;

pub use error::{FitError, ModelError, ParamError};
pub use factors::Factors;
#[cfg(test)]
pub(crate) use fit::TestTrain;
pub use fit::{FitOptions, TrainData, Watch};
pub use fold_in::FoldedUser;
pub use io::{IdFingerprint, MODEL_FORMAT_VERSION, MODEL_MAGIC, ModelReader, ModelWriter};
pub use model::{CheckedModel, FitMonitor, Model, ModelKind, ModelsConfig};
