//! Tests of the renderings, on reports the evaluator builds from small hand-made and
//! synthetic data.
#![allow(clippy::unwrap_used)]

mod cold;
mod render;

pub(super) use clickrec_eval::testing::{TestSpec, config, matrix, recs, synthetic, test_set};
