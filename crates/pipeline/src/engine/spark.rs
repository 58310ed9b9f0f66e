//! `engine.kind = "spark"`: the [`Engine`] over `clickrec_spark_engine`'s stages, and the
//! rule that sends ALS, k-means and the re-ranker's logistic regression to MLlib when
//! what they fit outgrows the configured share of this machine's memory.

use std::path::Path;

use clickrec_core::{Progress, UserItemMatrix};
use clickrec_ingest::SUMMARY_FILE;
use clickrec_models::als::{Als, AlsParams};
use clickrec_prep::{Prepared, SplitOutput};
use clickrec_rerank::LogisticProblem;
use clickrec_spark_engine::{Cluster, SparkStageError, SparkStages};

use super::Engine;
use crate::artifacts::TrainPlacement;
use crate::config::{Plan, SparkSettings};
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

/// The Spark engine of one run.
#[derive(Debug)]
pub(crate) struct SparkEngine {
    stages: SparkStages,
    train_memory_share: f64,
}

impl SparkEngine {
    pub(crate) fn new(settings: SparkSettings, run_dir: &Path) -> Self {
        let cluster = Cluster {
            url: settings.url,
            cores_max: settings.cores_max,
            storage: settings.storage,
        };
        SparkEngine {
            stages: SparkStages::new(cluster, run_dir),
            train_memory_share: settings.train_memory_share,
        }
    }

    /// Where ALS trains: on MLlib when `16·nnz + 4·(users+items)·factors` exceeds the
    /// configured share of this machine's memory.
    pub(crate) fn als_placement(&self, matrix: &UserItemMatrix, factors: usize) -> TrainPlacement {
        let bytes = 16 * matrix.nnz() as u64
            + 4 * (matrix.n_users() + matrix.n_items()) as u64 * factors as u64;
        self.placement("16·nnz + 4·(users+items)·factors", bytes)
    }

    /// Where a fit needing `bytes` (by `rule`) runs: on MLlib when they exceed the
    /// configured share of this machine's memory, else here.
    pub(crate) fn placement(&self, rule: &str, bytes: u64) -> TrainPlacement {
        let memory_bytes = clickrec_core::total_memory_bytes();
        let share = self.train_memory_share;
        let on_spark = bytes as f64 > share * memory_bytes as f64;
        TrainPlacement {
            rule: rule.to_string(),
            bytes,
            memory_bytes,
            share,
            trained_on: if on_spark { "mllib" } else { "local" }.into(),
        }
    }

    /// k-means on MLlib: `k × dim` centres of `points` (`n × dim`).
    pub(crate) fn fit_kmeans(
        &self,
        points: &[f32],
        dim: usize,
        k: usize,
        max_iterations: u64,
        tolerance: f64,
        seed: u64,
    ) -> Result<Vec<f32>, PipelineError> {
        let params = clickrec_spark::SparkKMeansParams {
            k: u32::try_from(k).unwrap_or(u32::MAX),
            max_iter: u32::try_from(max_iterations).unwrap_or(u32::MAX),
            tol: tolerance,
            seed: (seed & i64::MAX as u64) as i64,
        };
        Ok(self.stages.fit_kmeans(points, dim, &params)?)
    }

    /// Logistic regression on MLlib: the coefficients and the intercept.
    pub(crate) fn fit_logistic(
        &self,
        problem: &LogisticProblem<'_>,
    ) -> Result<(Vec<f64>, f64), PipelineError> {
        Ok(self.stages.fit_logistic(problem)?)
    }

    /// Implicit ALS on MLlib over the run's Spark matrix.
    pub(crate) fn fit_als(
        &self,
        params: &AlsParams,
        matrix: &UserItemMatrix,
        seed: u64,
        run_dir: &Path,
    ) -> Result<Als, PipelineError> {
        Ok(self.stages.fit_als(params, matrix, seed, run_dir)?)
    }
}

impl Engine for SparkEngine {
    fn ingest(&self, plan: &Plan, _progress: &dyn Progress) -> Result<StageOutput, PipelineError> {
        let summary = self.stages.ingest(&plan.input, &plan.ingest, &plan.out)?;
        let mut artifacts = names(&clickrec_io::EVENT_LOG_FILES);
        artifacts.push(SUMMARY_FILE.to_owned());
        Ok(StageOutput {
            details: String::new(),
            text: format!(
                "{}on Spark ({}), tables in {}\n",
                summary.human(),
                self.stages.url(),
                self.stages.tables_root()
            ),
            summary: json(&summary),
            artifacts,
        })
    }

    fn prepare(&self, plan: &Plan) -> Result<Prepared, PipelineError> {
        Ok(self.stages.prepare(&plan.prep)?)
    }

    fn split(&self, plan: &Plan) -> Result<SplitOutput, PipelineError> {
        Ok(self.stages.split(&plan.split, &plan.prep)?)
    }

    fn matrix(&self, plan: &Plan) -> Result<UserItemMatrix, PipelineError> {
        Ok(self.stages.matrix(plan.prep.weights(), &plan.out)?)
    }

    fn spark(&self) -> Option<&SparkEngine> {
        Some(self)
    }
}

/// A stage's error; what Spark returned that is not what the stage needs is, as on the
/// local engine, an invalid input (exit code 2).
impl From<SparkStageError> for PipelineError {
    fn from(error: SparkStageError) -> Self {
        match error {
            SparkStageError::Invalid { path, message } => PipelineError::Invalid { path, message },
            other => PipelineError::SparkStage(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn engine(share: f64) -> SparkEngine {
        SparkEngine::new(
            SparkSettings {
                url: "sc://127.0.0.1:1".into(),
                cores_max: 2,
                storage: PathBuf::from("/shared"),
                train_memory_share: share,
            },
            Path::new("/runs/a"),
        )
    }

    #[test]
    fn als_goes_to_mllib_when_the_matrix_outgrows_the_share_of_memory() {
        let matrix =
            UserItemMatrix::from_csr_parts(2, 3, vec![0, 2, 3], vec![0, 2, 1], vec![1.0; 3])
                .unwrap();
        let everything = engine(0.0).als_placement(&matrix, 4);
        // 16·3 + 4·(2 + 3)·4 bytes.
        assert_eq!(everything.bytes, 128);
        assert_eq!(everything.trained_on, "mllib");
        assert!(everything.memory_bytes > 0, "MemTotal is read on Linux");
        assert_eq!(engine(0.5).als_placement(&matrix, 4).trained_on, "local");
    }
}
