//! The stages after the matrix: fit the configured models, write their top-N lists, and
//! evaluate those lists on the held-out test set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clickrec_core::{
    IdMaps, RecommendError, RecommendRequest, Recommendations, Recommender, SessionRecommender,
    UserId, UserItemMatrix, UserScoresSessions, recommend_blocks,
};
use clickrec_eval::{
    EvalData, EvalProtocol, Latency, NextItemReport, NextItemSessions, NextItemSummary, Protocol,
    build_report, evaluate_model, evaluate_next_item, next_item_reports,
};
use clickrec_ingest::{
    Progress, RecsWriter, read_events, read_id_maps, read_recommendations, write_json_atomic,
};
use clickrec_models::{
    CheckedModel, FitOptions, FitProgress, IdFingerprint, Model, ModelKind, TrainData,
};
use serde::{Deserialize, Serialize};

use crate::config::{ListSource, Plan, RecommendUsers};
use crate::error::PipelineError;
use crate::manifest::{peak_rss_bytes, reset_peak_rss};
use crate::runner::Bars;
use crate::stages::{MATRIX_FILE, StageOutput, TEST_EVENTS_FILE, TEST_SET_FILE, TRAIN_FILE};

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
}

/// One list's recommendation pass.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecommendRecord {
    /// `ListSource::name`: a model kind, `segment_popular` or `rerank`.
    pub model: String,
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

pub(crate) fn read_test_set(dir: &Path) -> Result<clickrec_core::TestSet, PipelineError> {
    read_test_set_file(dir.join(TEST_SET_FILE))
}

/// Reads a `TestSet` written by the split stage (`test_set.json`, `validation_set.json`).
pub(crate) fn read_test_set_file(path: PathBuf) -> Result<clickrec_core::TestSet, PipelineError> {
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

/// Confidence of one event per behaviour (pv, fav, cart, buy), as the matrix stage uses.
pub(crate) fn behavior_weights(plan: &Plan) -> [f32; 4] {
    let weights = plan.prep.weights();
    [0u8, 1, 2, 3].map(|code| {
        clickrec_core::Behavior::from_code(code)
            .map(|b| weights.weight(b) as f32)
            .unwrap_or(0.0)
    })
}

/// Fits one model with the run's seed, reporting iterations to `bar`.
pub(crate) fn fit_model(
    plan: &Plan,
    checked: &CheckedModel,
    data: &TrainData<'_>,
    bar: Box<dyn Progress>,
) -> Result<Model, PipelineError> {
    let progress = IterationBar(bar.as_ref());
    let options = FitOptions {
        seed: plan.seed,
        record_loss: plan.config.train.record_loss,
        progress: &progress,
    };
    let model = checked
        .fit(data, &options)
        .map_err(|e| PipelineError::Model(format!("fitting {}: {e}", checked.kind())))?;
    bar.finish();
    Ok(model)
}

/// Fits every configured model on the train matrix and saves it under `models/`.
pub(crate) fn run_train(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let ids = read_id_maps(dir)?;
    let (log, sessions) = read_events(&dir.join(TRAIN_FILE), &ids)?;
    let matrix = read_matrix(dir)?;
    let item_users = matrix.transpose();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: behavior_weights(plan),
        sessions: sessions.as_deref(),
    };
    let models_dir = dir.join(MODELS_DIR);
    std::fs::create_dir_all(&models_dir).map_err(io_error(&models_dir, "cannot create"))?;
    let fingerprint = IdFingerprint::of(&ids);
    let mut records = Vec::new();
    let mut text = String::new();
    for checked in &plan.models {
        let kind = checked.kind();
        reset_peak_rss();
        let started = Instant::now();
        let model = fit_model(plan, checked, &data, bars.bar(kind.name(), "iterations"))?;
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

/// The users who get lists: the test users, or every user of the train matrix.
pub(crate) fn recommend_users(
    plan: &Plan,
    matrix: &UserItemMatrix,
) -> Result<Vec<UserId>, PipelineError> {
    Ok(match plan.config.recommend.users {
        RecommendUsers::Test => read_test_set(&plan.out)?.users().to_vec(),
        RecommendUsers::All => (0..matrix.n_users() as u32).map(UserId).collect(),
    })
}

/// Loads a fitted model or the segment stage's segment-popular model, for scoring.
pub(crate) fn load_recommender(
    dir: &Path,
    ids: &IdMaps,
    source: ListSource,
) -> Result<Box<dyn Recommender>, PipelineError> {
    Ok(match source {
        ListSource::Model(kind) => Box::new(load_model(dir, ids, kind)?),
        ListSource::SegmentPopular => Box::new(crate::two_stage::load_segment_popular(dir)?),
        ListSource::Rerank => {
            return Err(PipelineError::Model(
                "the re-ranker is not a generator".into(),
            ));
        }
    })
}

/// Streams the lists that `produce` hands out, block by block in user order, into
/// `recs/<source>.<ext>` with a progress bar over `users` users.
pub(crate) fn write_lists<E: std::fmt::Display>(
    plan: &Plan,
    ids: &IdMaps,
    source: ListSource,
    users: usize,
    bars: &dyn Bars,
    produce: impl FnOnce(&mut dyn FnMut(Recommendations)) -> Result<(), E>,
) -> Result<RecommendRecord, PipelineError> {
    let started = Instant::now();
    let file = recs_file(plan, source);
    let path = plan.out.join(&file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent, "cannot create"))?;
    }
    let mut writer = RecsWriter::create(&path, ids).map_err(recs_error)?;
    let bar = bars.bar(source.name(), "users");
    bar.start(users as u64);
    let mut done = 0u64;
    let mut write_error = None;
    produce(&mut |block: Recommendations| {
        done += block.len() as u64;
        bar.advance_to(done);
        if write_error.is_none()
            && let Err(e) = writer.write(&block)
        {
            write_error = Some(e);
        }
    })
    .map_err(|e| PipelineError::Model(format!("recommending with {}: {e}", source.name())))?;
    if let Some(e) = write_error {
        return Err(recs_error(e));
    }
    bar.finish();
    let written = writer.finish().map_err(recs_error)?;
    Ok(RecommendRecord {
        model: source.name().to_owned(),
        users,
        rows: written.rows as usize,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
        file,
    })
}

/// Writes each model's top-N lists for the test users (or all users) to `recs/`.
pub(crate) fn run_recommend(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let config = &plan.config.recommend;
    let ids = read_id_maps(dir)?;
    let matrix = read_matrix(dir)?;
    let users = recommend_users(plan, &matrix)?;
    let request = RecommendRequest {
        n: config.n,
        candidates: clickrec_core::Candidates::All,
        exclude_seen: config.exclude_seen,
    };
    let mut records = Vec::new();
    let mut text = String::new();
    for source in plan.generated_lists() {
        reset_peak_rss();
        let model = load_recommender(dir, &ids, source)?;
        let record = write_lists(plan, &ids, source, users.len(), bars, |on_block| {
            recommend_blocks(model.as_ref(), &matrix, &users, &request, |block| {
                on_block(block);
                Ok::<(), RecommendError>(())
            })
        })?;
        text.push_str(&format!(
            "{}: top-{} for {} users in {:.2} s → {}\n",
            source.name(),
            config.n,
            users.len(),
            record.seconds,
            record.file
        ));
        records.push(record);
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
    for source in plan.evaluated_lists() {
        let name = source.name();
        let path = dir.join(recs_file(plan, source));
        let (recs, _) = read_recommendations(&path, &inputs.ids).map_err(recs_error)?;
        let evaluation = evaluate_model(name, &recs, &data, &plan.evaluate)
            .map_err(|e| PipelineError::Model(format!("evaluating {name}: {e}")))?;
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
    let mut report = build_report(protocol, &data, &evaluations, &losses, &plan.evaluate);
    if plan.rerank.is_some() {
        let (name, table) = crate::two_stage::read_coefficients(dir)?;
        report.coefficients.insert(name, table);
    }
    let mut latencies = serde_json::Map::new();
    let mut lines = Vec::new();
    if plan.evaluate.runs(EvalProtocol::NextItem) {
        let run = run_next_item(plan, &inputs)?;
        for (name, t) in &run.timings {
            lines.push(format!(
                "{name}: next-item pass {:.2} s, per prediction p50 {:.3} ms, p90 {:.3} ms",
                t.seconds, t.latency.p50_ms, t.latency.p90_ms
            ));
            latencies.insert(name.clone(), serde_json::to_value(t).unwrap_or_default());
        }
        report.add_next_item(run.reports, run.summary);
    }
    let artifacts = write_reports(dir, &report)?;
    let mut text = report.terminal_table();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    Ok(StageOutput {
        text,
        summary: serde_json::json!({
            "models": evaluations.len(),
            "test_users": inputs.test.len(),
            "next_item_latency": latencies,
        }),
        artifacts,
    })
}

/// The next-item protocol's results and each model's timing.
struct NextItemRun {
    reports: Vec<NextItemReport>,
    summary: NextItemSummary,
    timings: Vec<(String, NextItemTiming)>,
}

/// One model's next-item pass, timed: (latency percentiles, seconds of the whole pass).
#[derive(Debug, Serialize)]
pub struct NextItemTiming {
    #[serde(flatten)]
    pub latency: Latency,
    pub seconds: f64,
}

/// The next-item protocol over the test events, for every model of the run (session
/// models incrementally; the others through their scores for the user, which ignore the
/// session). Latencies move with the machine, so they go to the manifest, not the report.
fn run_next_item(plan: &Plan, inputs: &EvalInputs) -> Result<NextItemRun, PipelineError> {
    let dir = &plan.out;
    let (test_events, _) = read_events(&dir.join(TEST_EVENTS_FILE), &inputs.ids)?;
    let mut in_train = vec![false; inputs.train.n_items()];
    for user in 0..inputs.train.n_users() {
        for &item in inputs.train.row(UserId(user as u32)).0 {
            in_train[item as usize] = true;
        }
    }
    let sessions = NextItemSessions::from_log(&test_events, &in_train);
    let mut evaluations = Vec::new();
    let mut timings = Vec::new();
    for source in plan.generated_lists() {
        let ListSource::Model(kind) = source else {
            continue;
        };
        let model = load_model(dir, &inputs.ids, kind)?;
        let started = Instant::now();
        let fallback = UserScoresSessions::new(&model, &inputs.train);
        let session_model: &dyn SessionRecommender = match model.as_session() {
            Some(m) => m,
            None => &fallback,
        };
        let evaluation = evaluate_next_item(kind.name(), session_model, &sessions, &plan.evaluate)
            .map_err(|e| PipelineError::Model(format!("next-item evaluation of {kind}: {e}")))?;
        timings.push((
            kind.name().to_owned(),
            NextItemTiming {
                latency: evaluation.latency(),
                seconds: started.elapsed().as_secs_f64(),
            },
        ));
        evaluations.push(evaluation);
    }
    let (reports, summary) = next_item_reports(&evaluations, &sessions, &plan.evaluate);
    Ok(NextItemRun {
        reports,
        summary,
        timings,
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
pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), PipelineError> {
    let tmp = clickrec_ingest::temporary_path(path);
    std::fs::write(&tmp, text).map_err(io_error(&tmp, "cannot write"))?;
    std::fs::rename(&tmp, path).map_err(io_error(path, "cannot move into place"))
}
