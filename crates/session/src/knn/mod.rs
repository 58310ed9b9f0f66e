//! Session-based k-nearest neighbours: SKNN, V-SKNN, STAN and V-STAN share one index and
//! one state; their parameters decide the weights.

mod model;
mod params;

pub use model::{KnnState, SessionKnn};
pub use params::{CheckedKnn, Decay, Similarity, SknnParams, StanParams, VsknnParams, VstanParams};
