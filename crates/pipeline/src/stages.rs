//! The stage bodies, one file each, in run order. Each reads its inputs from the run
//! directory (through [`crate::artifacts`]) and writes its artifacts atomically.

pub(crate) mod evaluate;
pub(crate) mod generate;
pub(crate) mod ingest;
pub(crate) mod matrix;
pub(crate) mod prep;
pub(crate) mod recommend;
pub(crate) mod rerank;
pub(crate) mod segment;
pub(crate) mod split;
pub(crate) mod train;
