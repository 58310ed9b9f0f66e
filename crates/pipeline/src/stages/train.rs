//! `train`: fits every configured model on the train matrix → `models/<kind>.model`
//! and `train.json`.

use std::time::Instant;

use clickrec_core::Progress;
use clickrec_io::{read_events, read_id_maps, write_json};
use clickrec_models::{CheckedModel, FitOptions, IdFingerprint, Model, TrainData};

use crate::artifacts::{
    FitRecord, MODELS_DIR, TRAIN_FILE, TRAIN_REPORT_FILE, create_dir, model_file, read_matrix,
};
use crate::config::Plan;
use crate::error::PipelineError;
use crate::manifest::{peak_rss_bytes, reset_peak_rss};
use crate::output::StageOutput;
use crate::progress::{Bars, IterationBar};

/// Confidence of one event per behaviour (pv, fav, cart, buy), as the matrix stage uses.
pub(crate) fn behavior_weights(plan: &Plan) -> [f32; 4] {
    let weights = plan.prep.weights();
    [0u8, 1, 2, 3].map(|code| {
        clickrec_core::Behavior::from_code(code)
            .map(|b| weights.weight(b) as f32)
            .unwrap_or(0.0)
    })
}

/// Fits one model with the run's seed, reporting iterations to `bar`. `events` names the
/// train events `data` was built from, for errors.
pub(crate) fn fit_model(
    plan: &Plan,
    checked: &CheckedModel,
    data: &TrainData<'_>,
    events: &std::path::Path,
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
        .map_err(|source| PipelineError::Fit {
            model: checked.kind(),
            path: events.to_owned(),
            source,
        })?;
    bar.finish();
    Ok(model)
}

pub(crate) fn run(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let ids = read_id_maps(dir)?;
    let train_path = dir.join(TRAIN_FILE);
    let (log, sessions) = read_events(&train_path, &ids)?;
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
    create_dir(&models_dir)?;
    let fingerprint = IdFingerprint::of(&ids);
    let mut records = Vec::new();
    let mut text = String::new();
    for checked in &plan.models {
        let kind = checked.kind();
        reset_peak_rss();
        let started = Instant::now();
        let bar = bars.bar(kind.name(), "iterations");
        let model = fit_model(plan, checked, &data, &train_path, bar)?;
        let seconds = started.elapsed().as_secs_f64();
        let record = FitRecord {
            model: kind,
            seconds,
            peak_rss_bytes: peak_rss_bytes(),
            training_loss: model.training_loss().to_vec(),
        };
        model.save(&dir.join(model_file(kind)), &fingerprint)?;
        let loss = match (record.training_loss.first(), record.training_loss.last()) {
            (Some(first), Some(last)) => format!(", loss {first:.4} → {last:.4}"),
            _ => String::new(),
        };
        text.push_str(&format!("{kind}: fitted in {seconds:.2} s{loss}\n"));
        records.push(record);
    }
    write_json(&dir.join(TRAIN_REPORT_FILE), &records)?;
    let mut artifacts: Vec<String> = plan.models.iter().map(|m| model_file(m.kind())).collect();
    artifacts.push(TRAIN_REPORT_FILE.to_owned());
    Ok(StageOutput {
        text,
        summary: serde_json::to_value(&records).unwrap_or_default(),
        artifacts,
    })
}
