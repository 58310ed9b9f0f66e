//! clickrec's Spark engine client: the only crate that talks to Spark.
//!
//! - [`client`]: a checked Spark Connect session (reachable, Spark version,
//!   `spark.cores.max`, a job gets cores), SQL statements and queries as Arrow batches;
//! - [`columns`]: those batches as plain, checked Rust columns;
//! - [`sql`]: the Spark SQL of the data stages, pure functions of the checked configs;
//! - [`table_files`]: a table Spark wrote, read from its Parquet files on the shared storage;
//! - [`ml`]: MLlib fits (ALS, k-means, logistic regression) through raw Connect ML
//!   commands, what the models saved read back dense;
//! - [`vectors`]: feature rows written for MLlib, and its Vector/Matrix columns read back;
//! - [`error`]: [`SparkError`], whose messages say what to do;
//! - [`local_cluster`]: the development cluster of `scripts/spark-cluster.sh`, for tests.
//!
//! Only [`sql`], [`error`] and [`local_cluster`] are built by default: the client and
//! everything that speaks to Spark need the `connect` feature (and `protoc` to build).
//!
//! The official client is synchronous and blocks on its own Tokio runtime: call it from
//! plain threads, never from inside an async task.

#[cfg(feature = "connect")]
pub mod client;
#[cfg(feature = "connect")]
pub mod columns;
pub mod error;
pub mod local_cluster;
#[cfg(feature = "connect")]
pub mod ml;
pub mod sql;
#[cfg(feature = "connect")]
pub mod table_files;
#[cfg(feature = "connect")]
pub mod vectors;

#[cfg(feature = "connect")]
pub use client::{ConnectOptions, SparkClient};
pub use error::SparkError;
pub use local_cluster::LocalCluster;
#[cfg(feature = "connect")]
pub use ml::{
    AlsFactors, SparkAlsParams, SparkKMeansParams, SparkLogisticParams, fit_als, fit_kmeans,
    fit_logistic,
};
