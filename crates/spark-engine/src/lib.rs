//! The Spark engine's stages: the data stages as Spark SQL (`clickrec_spark::sql`) through
//! Spark Connect, their tables Parquet on the shared storage, each stage's result pulled
//! back into the local engine's types so the run directory is the same whichever engine
//! wrote it; and ALS, k-means and logistic regression on MLlib, read back as clickrec's
//! models. The pipeline decides when to use it (`engine.kind = "spark"`) and which fits
//! go to MLlib.
//!
//! Everything here needs the `connect` feature (the client, and `protoc` to build it).

#[cfg(feature = "connect")]
mod error;
#[cfg(feature = "connect")]
mod stages;

#[cfg(feature = "connect")]
pub use error::SparkStageError;
#[cfg(feature = "connect")]
pub use stages::{Cluster, SparkStages};
