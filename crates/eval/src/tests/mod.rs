//! Tests of the evaluator: hand-computed vectors, a brute-force reference, the bootstrap,
//! and the report data (its renderings are tested in clickrec-report).
#![allow(clippy::unwrap_used)]

mod boot;
mod config;
mod hand;
mod next_item;
mod props;

pub(super) use crate::testing::{
    Synthetic, close, config, matrix, recs, seen_in_train, synthetic, test_set,
};
