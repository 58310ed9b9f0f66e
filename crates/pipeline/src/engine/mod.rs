//! The one boundary between the data stages and where they run. The stages ask an
//! [`Engine`] for the ingested log, the prepared log, the split and the matrix, write the
//! same run-directory artifacts whichever engine answered, and every later stage reads
//! only those artifacts.
//!
//! - [`LocalEngine`]: this process (the embedded default, `engine.kind = "local"`).
//! - `SparkEngine`: the stages of `clickrec-spark-engine` (Spark SQL through Spark
//!   Connect, results pulled back into the same types) and the rule that sends the big
//!   fits to MLlib (`engine.kind = "spark"`). Only with the `spark` feature; without it the
//!   configuration check refuses `engine.kind = "spark"`, and `SparkEngine` is a type
//!   without values, so the stages' MLlib branches compile but can never be taken.

mod local;
#[cfg(feature = "spark")]
mod spark;

use clickrec_core::{Progress, UserItemMatrix};
use clickrec_prep::{Prepared, SplitOutput};

pub(crate) use local::LocalEngine;
#[cfg(feature = "spark")]
pub(crate) use spark::SparkEngine;

use crate::config::{CheckedEngine, Plan};
use crate::error::PipelineError;
use crate::output::StageOutput;

/// Where ingest, prep, split and the matrix run.
pub(crate) trait Engine {
    /// Reads and validates the input into the run directory (`events.parquet`, the id
    /// maps, `ingest.json`, …).
    fn ingest(&self, plan: &Plan, progress: &dyn Progress) -> Result<StageOutput, PipelineError>;
    /// The cleaned, sessionized log of the ingested events.
    fn prepare(&self, plan: &Plan) -> Result<Prepared, PipelineError>;
    /// The train/test split of the prepared log.
    fn split(&self, plan: &Plan) -> Result<SplitOutput, PipelineError>;
    /// The weighted user-item matrix of train.
    fn matrix(&self, plan: &Plan) -> Result<UserItemMatrix, PipelineError>;
    /// The Spark engine, for the fits that may also run there (ALS, k-means and logistic
    /// regression on MLlib).
    fn spark(&self) -> Option<&SparkEngine> {
        None
    }
}

/// The engine `[engine]` asks for. Spark connects on first use, so a run whose data
/// stages are all cached needs no cluster.
pub(crate) fn for_plan(plan: &Plan) -> Box<dyn Engine> {
    match &plan.engine {
        CheckedEngine::Local => Box::new(LocalEngine),
        #[cfg(feature = "spark")]
        CheckedEngine::Spark(settings) => Box::new(SparkEngine::new(settings.clone(), &plan.out)),
    }
}

/// The Spark engine of a build without the `spark` feature: no value of it exists.
#[cfg(not(feature = "spark"))]
#[derive(Debug)]
pub(crate) enum SparkEngine {}

#[cfg(not(feature = "spark"))]
impl SparkEngine {
    pub(crate) fn als_placement(
        &self,
        _: &UserItemMatrix,
        _: usize,
    ) -> crate::artifacts::TrainPlacement {
        match *self {}
    }

    pub(crate) fn placement(&self, _: &str, _: u64) -> crate::artifacts::TrainPlacement {
        match *self {}
    }

    pub(crate) fn fit_kmeans(
        &self,
        _: &[f32],
        _: usize,
        _: usize,
        _: u64,
        _: f64,
        _: u64,
    ) -> Result<Vec<f32>, PipelineError> {
        match *self {}
    }

    pub(crate) fn fit_logistic(
        &self,
        _: &clickrec_rerank::LogisticProblem<'_>,
    ) -> Result<(Vec<f64>, f64), PipelineError> {
        match *self {}
    }

    pub(crate) fn fit_als(
        &self,
        _: &clickrec_models::als::AlsParams,
        _: &UserItemMatrix,
        _: u64,
        _: &std::path::Path,
    ) -> Result<clickrec_models::als::Als, PipelineError> {
        match *self {}
    }
}
