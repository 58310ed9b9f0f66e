//! `train`: fits every configured model on the train matrix → `models/<kind>.model`
//! and `train.json`.

use std::time::Instant;

use clickrec_core::{Progress, peak_rss_bytes, reset_peak_rss};
use clickrec_io::{read_events, read_split_id_maps, write_json};
use clickrec_models::{
    CheckedModel, FitMonitor, FitOptions, IdFingerprint, Model, ModelKind, TrainData,
};
use clickrec_tune::{
    CheckedEarlyStopping, EarlyStopRecord, EarlyStopping, Validation, with_iterations,
};

use crate::artifacts::{
    FitRecord, MODELS_DIR, TRAIN_FILE, TRAIN_REPORT_FILE, create_dir, model_file, read_matrix,
};
use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::StageOutput;
use crate::progress::Bars;
use crate::validation::{read_validation, scorer};

/// Confidence of one event per behaviour (pv, fav, cart, buy), as the matrix stage uses.
pub(crate) fn behavior_weights(plan: &Plan) -> [f32; 4] {
    plan.prep.weights().per_behavior()
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
    fit_watched(plan, checked, data, events, bar, None)
}

/// [`fit_model`] with a monitor that may end the fit early.
fn fit_watched(
    plan: &Plan,
    checked: &CheckedModel,
    data: &TrainData<'_>,
    events: &std::path::Path,
    bar: Box<dyn Progress>,
    monitor: Option<&dyn FitMonitor>,
) -> Result<Model, PipelineError> {
    let options = FitOptions {
        seed: plan.seed,
        record_loss: plan.config.train.record_loss,
        progress: bar.as_ref(),
        memory_limit: plan.memory_limit,
    };
    let model = checked
        .fit_watched(data, &options, monitor)
        .map_err(|source| PipelineError::Fit {
            model: checked.kind(),
            path: events.to_owned(),
            source,
        })?;
    bar.finish();
    Ok(model)
}

pub(crate) fn run(
    plan: &Plan,
    engine: &dyn Engine,
    bars: &dyn Bars,
) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let ids = read_split_id_maps(dir)?;
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
    // One line per fitted model, for `--verbose` (train.json has them).
    let mut details = String::new();
    let iterative = |kind: ModelKind| matches!(kind, ModelKind::Als | ModelKind::Bpr);
    // Early stopping watches the validation split: read it once, when a model needs it.
    let watched_by = match plan.early_stopping {
        Some(settings) if plan.models.iter().any(|m| iterative(m.kind())) => {
            Some((settings, read_validation(plan)?))
        }
        _ => None,
    };
    for checked in &plan.models {
        let kind = checked.kind();
        if let CheckedModel::Recent(p) = checked {
            let (_, note) = clickrec_core::cap_at_catalogue(
                "models.recent.max_items",
                p.params().max_items as usize,
                matrix.n_items(),
                "keeping",
            );
            text.push_str(&note.unwrap_or_default());
        }
        reset_peak_rss();
        let started = Instant::now();
        let watched = match &watched_by {
            Some((settings, validation)) if iterative(kind) => {
                Some(best_iterations(plan, checked, validation, *settings, bars)?)
            }
            _ => None,
        };
        let (checked, early_stopping) = match watched {
            Some((checked, record)) => (checked, Some(record)),
            None => (checked.clone(), None),
        };
        // On Spark, ALS trains on MLlib when the rule says the matrix outgrows this machine.
        let placement = match (&checked, engine.spark()) {
            (CheckedModel::Als(p), Some(spark)) => {
                Some((spark, spark.als_placement(&matrix, p.params().factors), p))
            }
            _ => None,
        };
        let model = match &placement {
            Some((spark, place, p)) if place.on_mllib() => {
                Model::Als(spark.fit_als(p.params(), &matrix, plan.seed, dir)?)
            }
            _ => {
                let bar = bars.bar(kind.name(), "iterations");
                fit_model(plan, &checked, &data, &train_path, bar)?
            }
        };
        let placement = placement.map(|(_, place, _)| place);
        if let Some(place) = &placement {
            text.push_str(&place.line(&kind.to_string()));
        }
        let seconds = started.elapsed().as_secs_f64();
        if let Some(stop) = &early_stopping {
            text.push_str(&format!(
                "{kind}: early stopping on validation {}: best {:.4} at iteration {} of {} run\n",
                stop.metric,
                stop.best_value,
                stop.best_iteration,
                stop.values.len()
            ));
        }
        let record = FitRecord {
            model: kind,
            seconds,
            peak_rss_bytes: peak_rss_bytes(),
            training_loss: model.training_loss().to_vec(),
            early_stopping,
            placement,
        };
        model.save(&dir.join(model_file(kind)), &fingerprint)?;
        let loss = match (record.training_loss.first(), record.training_loss.last()) {
            (Some(first), Some(last)) => format!(", loss {first:.4} → {last:.4}"),
            _ => String::new(),
        };
        details.push_str(&format!("{kind}: fitted in {seconds:.2} s{loss}\n"));
        records.push(record);
    }
    write_json(&dir.join(TRAIN_REPORT_FILE), &records)?;
    let mut artifacts: Vec<String> = plan.models.iter().map(|m| model_file(m.kind())).collect();
    artifacts.push(TRAIN_REPORT_FILE.to_owned());
    Ok(StageOutput {
        text,
        details,
        summary: serde_json::to_value(&records).unwrap_or_default(),
        artifacts,
    })
}

/// Early stopping for the train stage: fits `checked` on validation-train, watching the
/// validation metric, and returns the model's parameters with the best iteration count
/// for the full-train fit, and what was seen.
fn best_iterations(
    plan: &Plan,
    checked: &CheckedModel,
    validation: &Validation,
    settings: CheckedEarlyStopping,
    bars: &dyn Bars,
) -> Result<(CheckedModel, EarlyStopRecord), PipelineError> {
    let kind = checked.kind();
    let scorer = scorer(plan, validation, settings.metric)?;
    let monitor = EarlyStopping::new(&scorer, settings);
    let data = validation.train_data(&validation.train);
    let label = format!("{} (early stopping)", kind.name());
    fit_watched(
        plan,
        checked,
        &data,
        &validation.path,
        bars.bar(&label, "iterations"),
        Some(&monitor),
    )?;
    let (_, record) = monitor.finish()?;
    let best =
        with_iterations(kind, &plan.config.models, record.best_iteration).map_err(|message| {
            PipelineError::Invalid {
                path: validation.path.clone(),
                message,
            }
        })?;
    Ok((best, record))
}
