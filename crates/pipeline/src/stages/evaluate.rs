//! `evaluate`: scores every list on the test set → `metrics.json`, `report.md`,
//! `report.html`.

use std::path::Path;

use clickrec_eval::{Protocol, build_report, evaluate_model};
use clickrec_io::{read_recommendations, write_atomic};

use crate::artifacts::{
    EvalInputs, METRICS_FILE, REPORT_HTML_FILE, REPORT_MD_FILE, read_coefficients, read_leakage,
    read_losses, recs_file,
};
use crate::config::{ListSource, Plan};
use crate::error::PipelineError;
use crate::output::StageOutput;

/// Writes `metrics.json`, `report.md` and `report.html` into `dir`.
pub fn write_reports(
    dir: &Path,
    report: &clickrec_eval::Report,
) -> Result<Vec<String>, PipelineError> {
    std::fs::create_dir_all(dir).map_err(|source| PipelineError::Io {
        path: dir.to_owned(),
        action: "cannot create",
        source,
    })?;
    write_atomic(&dir.join(METRICS_FILE), report.to_json().as_bytes())?;
    write_atomic(&dir.join(REPORT_MD_FILE), report.markdown().as_bytes())?;
    write_atomic(&dir.join(REPORT_HTML_FILE), report.html().as_bytes())?;
    Ok(vec![
        METRICS_FILE.to_owned(),
        REPORT_MD_FILE.to_owned(),
        REPORT_HTML_FILE.to_owned(),
    ])
}

pub(crate) fn run(plan: &Plan) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let inputs = EvalInputs::read(dir)?;
    let data = inputs.data();
    let mut evaluations = Vec::new();
    for source in plan.evaluated_lists() {
        let path = dir.join(recs_file(plan, source));
        let (recs, _) = read_recommendations(&path, &inputs.ids)?;
        let evaluation = evaluate_model(source.name(), &recs, &data, &plan.evaluate)
            .map_err(|source| PipelineError::Evaluate { path, source })?;
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
        leakage: Some(read_leakage(dir)?),
        without_history: Some(plan.config.recommend.fallback.describe().to_owned()),
        baselines: plan
            .evaluated_lists()
            .into_iter()
            .filter(|s| matches!(s, ListSource::Model(kind) if kind.is_baseline()))
            .map(|s| s.name().to_owned())
            .collect(),
    };
    let mut report = build_report(protocol, &data, &evaluations, &losses, &plan.evaluate);
    if plan.rerank.is_some() {
        let (name, table) = read_coefficients(dir)?;
        report.coefficients.insert(name, table);
    }
    let artifacts = write_reports(dir, &report)?;
    Ok(StageOutput {
        text: report.terminal_table(),
        summary: serde_json::json!({ "models": evaluations.len(), "test_users": inputs.test.len() }),
        artifacts,
    })
}
