//! The stages after the matrix: fit the configured models, write their top-N lists, and
//! evaluate those lists on the held-out test set.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use clickrec_core::{IdMaps, RecommendRequest, UserId, UserItemMatrix, recommend_blocks};
use clickrec_eval::{EvalData, Protocol, build_report, evaluate_model};
use clickrec_ingest::{
    Progress, RecsWriter, read_events, read_id_maps, read_recommendations, write_json_atomic,
};
use clickrec_models::{FitOptions, FitProgress, IdFingerprint, Model, ModelKind, TrainData};
use serde::{Deserialize, Serialize};

use crate::config::{Plan, RecommendUsers};
use crate::error::PipelineError;
use crate::manifest::{peak_rss_bytes, reset_peak_rss};
use crate::runner::Bars;
use crate::stages::{MATRIX_FILE, StageOutput, TEST_SET_FILE, TRAIN_FILE};

pub const MODELS_DIR: &str = "models";
pub const RECS_DIR: &str = "recs";
pub const TRAIN_REPORT_FILE: &str = "train.json";
pub const METRICS_FILE: &str = "metrics.json";
pub const REPORT_MD_FILE: &str = "report.md";
pub const REPORT_HTML_FILE: &str = "report.html";

/// `models/<kind>.model`, relative to the run directory.
pub fn model_file(kind: ModelKind) -> String {
    format!("{MODELS_DIR}/{}.model", kind.name())
}

/// `recs/<kind>.<ext>`, relative to the run directory.
pub fn recs_file(plan: &Plan, kind: ModelKind) -> String {
    format!(
        "{RECS_DIR}/{}.{}",
        kind.name(),
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
}

/// One model's recommendation pass.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecommendRecord {
    pub model: ModelKind,
    pub users: usize,
    pub rows: usize,
    pub seconds: f64,
    pub peak_rss_bytes: Option<u64>,
    pub file: String,
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.to_owned();
    move |source| PipelineError::Io {
        path,
        action,
        source,
    }
}

pub(crate) fn read_matrix(dir: &Path) -> Result<UserItemMatrix, PipelineError> {
    let path = dir.join(MATRIX_FILE);
    let file = std::fs::File::open(&path).map_err(io_error(&path, "cannot open"))?;
    Ok(UserItemMatrix::read_from(&mut std::io::BufReader::new(
        file,
    ))?)
}

fn read_test_set(dir: &Path) -> Result<clickrec_core::TestSet, PipelineError> {
    let path = dir.join(TEST_SET_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path, "cannot read"))?;
    serde_json::from_str(&text).map_err(|e| PipelineError::Manifest {
        path,
        message: format!("not a test set: {e}"),
    })
}

/// Reports fit iterations to a progress bar.
struct IterationBar<'a>(&'a dyn Progress);

impl FitProgress for IterationBar<'_> {
    fn iteration(&self, done: usize, total: usize, _loss: Option<f64>) {
        if done <= 1 {
            self.0.start(total as u64);
        }
        self.0.advance_to(done as u64);
    }
}

/// Fits every configured model on the train matrix and saves it under `models/`.
pub(crate) fn run_train(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let ids = read_id_maps(dir)?;
    let (log, _) = read_events(&dir.join(TRAIN_FILE), &ids)?;
    let matrix = read_matrix(dir)?;
    let item_users = matrix.transpose();
    let weights = plan.prep.weights();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: [0u8, 1, 2, 3].map(|code| {
            clickrec_core::Behavior::from_code(code)
                .map(|b| weights.weight(b) as f32)
                .unwrap_or(0.0)
        }),
    };
    let models_dir = dir.join(MODELS_DIR);
    std::fs::create_dir_all(&models_dir).map_err(io_error(&models_dir, "cannot create"))?;
    let fingerprint = IdFingerprint::of(&ids);
    let mut records = Vec::new();
    let mut text = String::new();
    for checked in &plan.models {
        let kind = checked.kind();
        let bar = bars.bar(kind.name(), "iterations");
        reset_peak_rss();
        let started = Instant::now();
        let progress = IterationBar(bar.as_ref());
        let options = FitOptions {
            seed: plan.seed,
            record_loss: plan.config.train.record_loss,
            progress: &progress,
        };
        let model = checked
            .fit(&data, &options)
            .map_err(|e| PipelineError::Model(format!("fitting {kind}: {e}")))?;
        bar.finish();
        let seconds = started.elapsed().as_secs_f64();
        let record = FitRecord {
            model: kind,
            seconds,
            peak_rss_bytes: peak_rss_bytes(),
            training_loss: model.training_loss().to_vec(),
        };
        model
            .save(&dir.join(model_file(kind)), &fingerprint)
            .map_err(|e| PipelineError::Model(e.to_string()))?;
        let loss = match (record.training_loss.first(), record.training_loss.last()) {
            (Some(first), Some(last)) => format!(", loss {first:.4} → {last:.4}"),
            _ => String::new(),
        };
        text.push_str(&format!("{kind}: fitted in {seconds:.2} s{loss}\n"));
        records.push(record);
    }
    write_json_atomic(&dir.join(TRAIN_REPORT_FILE), &records)?;
    let mut artifacts: Vec<String> = plan.models.iter().map(|m| model_file(m.kind())).collect();
    artifacts.push(TRAIN_REPORT_FILE.to_owned());
    Ok(StageOutput {
        text,
        summary: serde_json::to_value(&records).unwrap_or_default(),
        artifacts,
    })
}

/// Loads a saved model of this run directory, checking it matches the run's id maps.
pub fn load_model(dir: &Path, ids: &IdMaps, kind: ModelKind) -> Result<Model, PipelineError> {
    Model::load(&dir.join(model_file(kind)), &IdFingerprint::of(ids))
        .map_err(|e| PipelineError::Model(e.to_string()))
}

/// Writes each model's top-N lists for the test users (or all users) to `recs/`.
pub(crate) fn run_recommend(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let config = &plan.config.recommend;
    let ids = read_id_maps(dir)?;
    let matrix = read_matrix(dir)?;
    let users: Vec<UserId> = match config.users {
        RecommendUsers::Test => read_test_set(dir)?.users().to_vec(),
        RecommendUsers::All => (0..matrix.n_users() as u32).map(UserId).collect(),
    };
    let request = RecommendRequest {
        n: config.n,
        candidates: clickrec_core::Candidates::All,
        exclude_seen: config.exclude_seen,
    };
    let recs_dir = dir.join(RECS_DIR);
    std::fs::create_dir_all(&recs_dir).map_err(io_error(&recs_dir, "cannot create"))?;
    let mut records = Vec::new();
    let mut text = String::new();
    for checked in &plan.models {
        let kind = checked.kind();
        reset_peak_rss();
        let started = Instant::now();
        let model = load_model(dir, &ids, kind)?;
        let file = recs_file(plan, kind);
        let path = dir.join(&file);
        let mut writer = RecsWriter::create(&path, &ids).map_err(recs_error)?;
        let bar = bars.bar(kind.name(), "users");
        bar.start(users.len() as u64);
        let mut done = 0u64;
        let mut write_error = None;
        recommend_blocks(&model, &matrix, &users, &request, |block| {
            done += block.len() as u64;
            bar.advance_to(done);
            if write_error.is_none()
                && let Err(e) = writer.write(&block)
            {
                write_error = Some(e);
            }
            Ok(())
        })
        .map_err(|e| PipelineError::Model(format!("recommending with {kind}: {e}")))?;
        if let Some(e) = write_error {
            return Err(recs_error(e));
        }
        bar.finish();
        let written = writer.finish().map_err(recs_error)?;
        let seconds = started.elapsed().as_secs_f64();
        text.push_str(&format!(
            "{kind}: top-{} for {} users in {seconds:.2} s → {file}\n",
            config.n,
            users.len()
        ));
        records.push(RecommendRecord {
            model: kind,
            users: users.len(),
            rows: written.rows as usize,
            seconds,
            peak_rss_bytes: peak_rss_bytes(),
            file,
        });
    }
    let artifacts = records.iter().map(|r| r.file.clone()).collect();
    Ok(StageOutput {
        text,
        summary: serde_json::to_value(&records).unwrap_or_default(),
        artifacts,
    })
}

fn recs_error(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Model(e.to_string())
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
    pub test: clickrec_core::TestSet,
    pub train: UserItemMatrix,
    pub train_events_per_user: Vec<u32>,
}

impl EvalInputs {
    /// Reads the id maps, test set, train matrix and train events of a run directory.
    pub fn read(dir: &Path) -> Result<Self, PipelineError> {
        let ids = read_id_maps(dir)?;
        let test = read_test_set(dir)?;
        let train = read_matrix(dir)?;
        let train_events_per_user = train_events_per_user(dir, &ids)?;
        Ok(EvalInputs {
            ids,
            test,
            train,
            train_events_per_user,
        })
    }

    pub fn data(&self) -> EvalData<'_> {
        EvalData {
            test: &self.test,
            train: &self.train,
            train_events_per_user: &self.train_events_per_user,
        }
    }
}

/// Writes `metrics.json`, `report.md` and `report.html` into `dir`.
pub fn write_reports(
    dir: &Path,
    report: &clickrec_eval::Report,
) -> Result<Vec<String>, PipelineError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir, "cannot create"))?;
    write_text(&dir.join(METRICS_FILE), &report.to_json())?;
    write_text(&dir.join(REPORT_MD_FILE), &report.markdown())?;
    write_text(&dir.join(REPORT_HTML_FILE), &report.html())?;
    Ok(vec![
        METRICS_FILE.to_owned(),
        REPORT_MD_FILE.to_owned(),
        REPORT_HTML_FILE.to_owned(),
    ])
}

/// Scores every model's lists on the test set: `metrics.json`, `report.md`, `report.html`.
pub(crate) fn run_evaluate(plan: &Plan) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let inputs = EvalInputs::read(dir)?;
    let data = inputs.data();
    let mut evaluations = Vec::new();
    for checked in &plan.models {
        let kind = checked.kind();
        let path = dir.join(recs_file(plan, kind));
        let (recs, _) = read_recommendations(&path, &inputs.ids).map_err(recs_error)?;
        let evaluation = evaluate_model(kind.name(), &recs, &data, &plan.evaluate)
            .map_err(|e| PipelineError::Model(format!("evaluating {kind}: {e}")))?;
        evaluations.push(evaluation);
    }
    let losses = read_losses(dir)?;
    let protocol = Protocol {
        // The [split] table as written (e.g. {"kind":"last_session",…}), plus the session gap.
        split: format!(
            "{} with sessions cut after {} s of inactivity",
            serde_json::to_string(&plan.config.split).unwrap_or_default(),
            plan.config.prep.session.gap_s
        ),
        exclude_seen: plan.config.recommend.exclude_seen,
        n_recommended: plan.config.recommend.n,
    };
    let report = build_report(protocol, &data, &evaluations, &losses, &plan.evaluate);
    let artifacts = write_reports(dir, &report)?;
    Ok(StageOutput {
        text: report.terminal_table(),
        summary: serde_json::json!({ "models": evaluations.len(), "test_users": inputs.test.len() }),
        artifacts,
    })
}

/// Training losses recorded by the train stage, by model name.
fn read_losses(dir: &Path) -> Result<BTreeMap<String, Vec<f64>>, PipelineError> {
    let path = dir.join(TRAIN_REPORT_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path, "cannot read"))?;
    let records: Vec<FitRecord> =
        serde_json::from_str(&text).map_err(|e| PipelineError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
    Ok(records
        .into_iter()
        .filter(|r| !r.training_loss.is_empty())
        .map(|r| (r.model.name().to_owned(), r.training_loss))
        .collect())
}

/// Writes through a temporary file and a rename.
fn write_text(path: &Path, text: &str) -> Result<(), PipelineError> {
    let tmp = clickrec_ingest::temporary_path(path);
    std::fs::write(&tmp, text).map_err(io_error(&tmp, "cannot write"))?;
    std::fs::rename(&tmp, path).map_err(io_error(path, "cannot move into place"))
}
