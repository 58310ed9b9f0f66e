//! The run directory's layout: the file each stage writes, and the loaders later stages
//! (and the `evaluate` and `similar` commands) read them back with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clickrec_core::{IdMaps, TestSet, UserItemMatrix};
use clickrec_io::{read_events, read_json, read_split_id_maps};
use clickrec_models::{IdFingerprint, Model, ModelKind};
use clickrec_recommend::Recommender;
use clickrec_rerank::Reranker;
use clickrec_segment::SegmentPopular;
use serde::{Deserialize, Serialize};

use crate::config::{ListSource, Plan};
use crate::error::PipelineError;

pub const MANIFEST_FILE: &str = "manifest.json";
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
/// The tuner's folder in the run directory.
pub const TUNE_DIR: &str = "tune";
/// Every trial, relative to the run directory.
pub const TRIALS_FILE: &str = "tune/trials.json";
/// The validation-train matrix the trials fit on, relative to the run directory (the
/// format of `train_matrix.csr`).
pub const VALIDATION_MATRIX_FILE: &str = "tune/validation_matrix.csr";
/// The pipeline with the winning values, relative to the run directory.
pub const BEST_FILE: &str = "tune/best.toml";

/// Creates a folder of the run directory (and its parents).
pub(crate) fn create_dir(path: &Path) -> Result<(), PipelineError> {
    std::fs::create_dir_all(path)
        .map_err(|e| clickrec_core::FileError::new(path, "cannot create folder", e).into())
}

/// A run directory opened for writing: created if need be, locked
/// ([`clickrec_io::RunDirLock`]) until dropped, and cleared of the temporary files an
/// interrupted run left. A folder clickrec has not written into (no `manifest.json`, no
/// `.lock`) is accepted only when empty, so a mistyped `--out` never overwrites someone's
/// files. A folder this process created and left holding nothing but `.lock` (the run
/// failed before writing anything) is removed on drop.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    created: bool,
    /// Temporary files removed on opening: how many, and their bytes.
    removed: (usize, u64),
    _lock: clickrec_io::RunDirLock,
}

impl RunDir {
    pub fn open(dir: &Path) -> Result<RunDir, PipelineError> {
        let created = !dir.exists();
        if !created {
            refuse_foreign(dir)?;
        }
        create_dir(dir)?;
        let lock = clickrec_io::RunDirLock::acquire(dir)?;
        let mut run_dir = RunDir {
            path: dir.to_owned(),
            created,
            removed: (0, 0),
            _lock: lock,
        };
        // Under the lock: no other process is writing the files removed.
        run_dir.removed = remove_temporary_files(dir)?;
        Ok(run_dir)
    }

    /// "removed 2 temporary files left by an interrupted run (282000000 bytes (268.9
    /// MiB))", if there were any.
    pub fn removed_note(&self) -> Option<String> {
        let (files, bytes) = self.removed;
        (files > 0).then(|| {
            format!(
                "removed {files} temporary file{} left by an interrupted run ({})",
                if files == 1 { "" } else { "s" },
                clickrec_core::Bytes(u128::from(bytes))
            )
        })
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let only_lock = |dir: &Path| {
            std::fs::read_dir(dir).is_ok_and(|mut entries| {
                entries.all(|e| e.is_ok_and(|e| e.file_name() == clickrec_io::LOCK_FILE))
            })
        };
        // Best effort: a folder that cannot be removed is merely left behind.
        if self.created && only_lock(&self.path) {
            let _ = std::fs::remove_file(self.path.join(clickrec_io::LOCK_FILE));
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// Refuses an existing folder that holds files but neither `manifest.json` nor `.lock`,
/// the marks every clickrec run or ingest leaves (a config error: the folder is wrong).
fn refuse_foreign(dir: &Path) -> Result<(), PipelineError> {
    if dir.join(MANIFEST_FILE).exists() || dir.join(clickrec_io::LOCK_FILE).exists() {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| clickrec_core::FileError::new(dir, "cannot read folder", e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    Err(PipelineError::Invalid {
        path: dir.to_owned(),
        message: format!(
            "not empty and not a clickrec run directory (no {}): choose a new or empty \
             folder for the run, so that no file of yours is overwritten",
            MANIFEST_FILE
        ),
    })
}

/// Deletes the temporary files of [`clickrec_io::AtomicFile`] (`.NAME.XXXXXX.tmp`) in
/// `dir` and its subfolders: a run killed before a commit leaves one behind, which no
/// later run would ever read or remove. Returns how many, and their bytes.
fn remove_temporary_files(dir: &Path) -> Result<(usize, u64), PipelineError> {
    let error = |path: &Path, action, e| clickrec_core::FileError::new(path, action, e);
    let mut removed = (0, 0);
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).map_err(|e| error(&folder, "cannot read folder", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| error(&folder, "cannot read folder", e))?;
            let path = entry.path();
            // Not followed: a symbolic link is not part of the run directory.
            let meta = entry
                .metadata()
                .map_err(|e| error(&path, "cannot read metadata", e))?;
            if meta.is_dir() {
                folders.push(path);
            } else if meta.is_file()
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(clickrec_io::AtomicFile::is_temporary)
            {
                std::fs::remove_file(&path).map_err(|e| error(&path, "cannot remove", e))?;
                removed.0 += 1;
                removed.1 += meta.len();
            }
        }
    }
    Ok(removed)
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
    pub early_stopping: Option<clickrec_tune::EarlyStopRecord>,
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

/// The run's train matrix (`train_matrix.csr`).
pub fn read_matrix(dir: &Path) -> Result<UserItemMatrix, PipelineError> {
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
