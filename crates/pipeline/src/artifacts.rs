//! The run directory's layout: the file each stage writes, and the loaders later stages
//! (and the `evaluate` and `similar` commands) read them back with.

use std::collections::BTreeMap;
use std::path::Path;

use clickrec_core::{IdMaps, Recommender, TestSet, UserItemMatrix};
use clickrec_io::{read_events, read_json, read_split_id_maps};
use clickrec_models::{IdFingerprint, Model, ModelKind};
use clickrec_rerank::Reranker;
use clickrec_segment::SegmentPopular;
use serde::{Deserialize, Serialize};

use crate::config::{ListSource, Plan};
use crate::error::PipelineError;

pub const PREPARED_FILE: &str = "prepared.parquet";
pub const PREP_REPORT_FILE: &str = "prep.json";
pub const TRAIN_FILE: &str = "train.parquet";
pub const TEST_EVENTS_FILE: &str = "test_events.parquet";
pub const TEST_SET_FILE: &str = "test_set.json";
pub const VALIDATION_TRAIN_FILE: &str = "validation_train.parquet";
pub const VALIDATION_EVENTS_FILE: &str = "validation_events.parquet";
pub const VALIDATION_SET_FILE: &str = "validation_set.json";
pub const SPLIT_REPORT_FILE: &str = "split.json";
pub const MATRIX_FILE: &str = "train_matrix.csr";
pub const MATRIX_REPORT_FILE: &str = "matrix.json";
pub const MODELS_DIR: &str = "models";
pub const TRAIN_REPORT_FILE: &str = "train.json";
pub const SEGMENT_ASSIGNMENTS_FILE: &str = "segments/assignments.csv";
pub const SEGMENT_SUMMARY_FILE: &str = "segments/summary.json";
pub const SEGMENT_POPULAR_FILE: &str = "models/segment_popular.json";
pub const RECS_DIR: &str = "recs";
pub const RERANKER_FILE: &str = "models/rerank.json";
pub const RERANK_REPORT_FILE: &str = "rerank.json";
pub const METRICS_FILE: &str = "metrics.json";
pub const REPORT_MD_FILE: &str = "report.md";
pub const REPORT_HTML_FILE: &str = "report.html";

/// Creates a folder of the run directory (and its parents).
pub(crate) fn create_dir(path: &Path) -> Result<(), PipelineError> {
    std::fs::create_dir_all(path)
        .map_err(|e| clickrec_core::FileError::new(path, "cannot create folder", e).into())
}

/// `models/<kind>.model`, relative to the run directory.
pub fn model_file(kind: ModelKind) -> String {
    format!("{MODELS_DIR}/{}.model", kind.name())
}

/// `recs/<list>.<ext>`, relative to the run directory.
pub fn recs_file(plan: &Plan, source: ListSource) -> String {
    format!(
        "{RECS_DIR}/{}.{}",
        source.name(),
        plan.config.recommend.format.extension()
    )
}

/// One model's fit, as recorded in `train.json` and the manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitRecord {
    pub model: ModelKind,
    pub seconds: f64,
    pub peak_rss_bytes: Option<u64>,
    /// Loss after each iteration (ALS, BPR with `train.record_loss`).
    pub training_loss: Vec<f64>,
    /// The validation metric after each iteration and the iteration kept (ALS, BPR with
    /// `[train.early_stopping]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<crate::early_stop::EarlyStopRecord>,
    /// On `engine.kind = "spark"`: where ALS trained and the rule's numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<TrainPlacement>,
}

/// Where a model trained on the Spark engine, and why: on MLlib when
/// `bytes > share × memory_bytes`, else locally on the pulled matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainPlacement {
    /// How `bytes` is counted, e.g. `16·nnz + 4·(users+items)·factors` for ALS: the
    /// matrix, its transpose and the factors.
    pub rule: String,
    /// The memory the fit needs by `rule`.
    pub bytes: u64,
    /// This machine's memory (`MemTotal` of `/proc/meminfo`).
    pub memory_bytes: u64,
    /// `engine.train_memory_share`.
    pub share: f64,
    /// `"mllib"` or `"local"`.
    pub trained_on: String,
}

impl TrainPlacement {
    /// Whether the rule sent the fit to MLlib.
    pub(crate) fn on_mllib(&self) -> bool {
        self.trained_on == "mllib"
    }

    /// The stage output's line: where `what` trained, and the rule's numbers.
    pub(crate) fn line(&self, what: &str) -> String {
        format!(
            "{what}: trained on {} ({} = {} bytes {} {} × {} bytes of memory)\n",
            self.trained_on,
            self.rule,
            self.bytes,
            if self.on_mllib() { ">" } else { "≤" },
            self.share,
            self.memory_bytes
        )
    }
}

/// One list's recommendation pass.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecommendRecord {
    /// `ListSource::name`: a model kind, `segment_popular` or `rerank`.
    pub model: String,
    pub users: usize,
    pub rows: usize,
    /// The whole list stage: scoring, selection and writing.
    pub seconds: f64,
    /// Of `seconds`, the time spent encoding and writing the file.
    #[serde(default)]
    pub write_seconds: f64,
    pub peak_rss_bytes: Option<u64>,
    pub file: String,
}

/// The train matrix (`train_matrix.csr`).
pub(crate) fn read_matrix(dir: &Path) -> Result<UserItemMatrix, PipelineError> {
    let path = dir.join(MATRIX_FILE);
    let file = std::fs::File::open(&path).map_err(|source| {
        PipelineError::Io(clickrec_core::FileError {
            path: path.clone(),
            action: "cannot open",
            source,
        })
    })?;
    UserItemMatrix::read_from(&mut std::io::BufReader::new(file))
        .map_err(|source| PipelineError::Matrix { path, source })
}

/// A `TestSet` written by the split stage (`test_set.json`, `validation_set.json`).
pub(crate) fn read_test_set(path: &Path) -> Result<TestSet, PipelineError> {
    Ok(read_json(path, "test set")?)
}

/// The measured leakage of the test split, from `split.json`.
/// The test split's measured leakage; `None` for a random split (not measurable).
pub(crate) fn read_leakage(dir: &Path) -> Result<Option<clickrec_core::Leakage>, PipelineError> {
    #[derive(serde::Deserialize)]
    struct Part {
        leakage: Option<clickrec_core::Leakage>,
    }
    #[derive(serde::Deserialize)]
    struct Report {
        test: Part,
    }
    let report: Report = read_json(&dir.join(SPLIT_REPORT_FILE), "split report")?;
    Ok(report.test.leakage)
}

/// Loads a saved model of this run directory, checking it matches the run's id maps.
pub fn load_model(dir: &Path, ids: &IdMaps, kind: ModelKind) -> Result<Model, PipelineError> {
    Ok(Model::load(
        &dir.join(model_file(kind)),
        &IdFingerprint::of(ids),
    )?)
}

/// The segment stage's segment-popular model.
pub(crate) fn load_segment_popular(dir: &Path) -> Result<SegmentPopular, PipelineError> {
    Ok(read_json(
        &dir.join(SEGMENT_POPULAR_FILE),
        "segment-popular model",
    )?)
}

/// Loads a fitted model or the segment stage's segment-popular model, for scoring.
pub(crate) fn load_recommender(
    dir: &Path,
    ids: &IdMaps,
    source: ListSource,
) -> Result<Box<dyn Recommender>, PipelineError> {
    Ok(match source {
        ListSource::Model(kind) => Box::new(load_model(dir, ids, kind)?),
        ListSource::SegmentPopular => Box::new(load_segment_popular(dir)?),
        ListSource::Rerank => return Err(PipelineError::NotAGenerator(source.name())),
    })
}

/// The re-ranker's coefficients by feature name, for the evaluation report.
pub(crate) fn read_coefficients(dir: &Path) -> Result<(String, Vec<(String, f64)>), PipelineError> {
    let reranker: Reranker = read_json(&dir.join(RERANKER_FILE), "re-ranker")?;
    let mut table = reranker.coefficients_table();
    table.push(("(intercept)".to_owned(), reranker.intercept()));
    Ok((ListSource::Rerank.name().to_owned(), table))
}

/// Training losses recorded by the train stage, by model name.
pub(crate) fn read_losses(dir: &Path) -> Result<BTreeMap<String, Vec<f64>>, PipelineError> {
    let records: Vec<FitRecord> = read_json(&dir.join(TRAIN_REPORT_FILE), "train report")?;
    Ok(records
        .into_iter()
        .filter(|r| !r.training_loss.is_empty())
        .map(|r| (r.model.name().to_owned(), r.training_loss))
        .collect())
}

/// Train events per user (the activity buckets of the report).
fn train_events_per_user(dir: &Path, ids: &IdMaps) -> Result<Vec<u32>, PipelineError> {
    let (log, _) = read_events(&dir.join(TRAIN_FILE), ids)?;
    let mut counts = vec![0u32; ids.users.len()];
    for (user, rows) in log.user_rows() {
        counts[user.0 as usize] = rows.len() as u32;
    }
    Ok(counts)
}

/// What the evaluator reads from a run directory besides the lists.
#[derive(Debug)]
pub struct EvalInputs {
    pub ids: IdMaps,
    pub test: TestSet,
    pub train: UserItemMatrix,
    pub train_events_per_user: Vec<u32>,
}

impl EvalInputs {
    /// Reads the id maps, test set, train matrix and train events of a run directory.
    pub fn read(dir: &Path) -> Result<Self, PipelineError> {
        let ids = read_split_id_maps(dir)?;
        let test = read_test_set(&dir.join(TEST_SET_FILE))?;
        let train = read_matrix(dir)?;
        let train_events_per_user = train_events_per_user(dir, &ids)?;
        Ok(EvalInputs {
            ids,
            test,
            train,
            train_events_per_user,
        })
    }

    pub fn data(&self) -> clickrec_eval::EvalData<'_> {
        clickrec_eval::EvalData {
            test: &self.test,
            train: &self.train,
            train_events_per_user: &self.train_events_per_user,
            population: clickrec_eval::Population::All,
        }
    }
}
