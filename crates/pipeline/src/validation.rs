//! The validation split of a run directory, read once for all who learn from it: early
//! stopping (train stage), the re-ranker (rerank stage) and the tuner.

use clickrec_io::{read_events, read_split_id_maps};
use clickrec_tune::{MetricAtK, Scorer, Validation, ValidationParts};

use crate::artifacts::{VALIDATION_SET_FILE, VALIDATION_TRAIN_FILE, read_test_set};
use crate::config::Plan;
use crate::error::PipelineError;

/// Reads `validation_train.parquet` and `validation_set.json` of the plan's run
/// directory (the split stage must have run with `split.validation = true`).
pub(crate) fn read_validation(plan: &Plan) -> Result<Validation, PipelineError> {
    let dir = &plan.out;
    let ids = read_split_id_maps(dir)?;
    let path = dir.join(VALIDATION_TRAIN_FILE);
    if !path.is_file() {
        return Err(PipelineError::NoValidation { path });
    }
    let (log, sessions) = read_events(&path, &ids)?;
    let test = read_test_set(&dir.join(VALIDATION_SET_FILE))?;
    Ok(Validation::new(ValidationParts {
        log,
        sessions,
        test,
        n_users: ids.users.len(),
        n_items: ids.items.len(),
        weights: *plan.prep.weights(),
        path,
    })?)
}

/// Scores `metric` on `validation` with the plan's evaluation and exclude-seen settings.
pub(crate) fn scorer<'a>(
    plan: &Plan,
    validation: &'a Validation,
    metric: MetricAtK,
) -> Result<Scorer<'a>, PipelineError> {
    Ok(Scorer::new(
        validation,
        metric,
        &plan.config.evaluate,
        plan.evaluate.bootstrap_samples(),
        plan.config.recommend.exclude_seen,
    )?)
}
