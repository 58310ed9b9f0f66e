//! `prep`: cleaning and sessions, `events.parquet` → `prepared.parquet` (with a `session`
//! column) and `prep.json`. Sessions given by the input replace the inactivity gap.

use clickrec_io::{write_events, write_json};

use crate::artifacts::{PREP_REPORT_FILE, PREPARED_FILE};
use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

pub(crate) fn run(plan: &Plan, engine: &dyn Engine) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let prepared = engine.prepare(plan)?;
    // Rows, users and items before and after each step: for `--verbose` (prep.json has them).
    let details = prepared.report.to_string();
    let summary = json(&prepared.report);
    write_json(&dir.join(PREP_REPORT_FILE), &prepared.report)?;
    write_events(
        &dir.join(PREPARED_FILE),
        prepared.log,
        Some(prepared.sessions),
    )?;
    Ok(StageOutput {
        text: String::new(),
        details,
        summary,
        artifacts: names(&[PREPARED_FILE, PREP_REPORT_FILE]),
    })
}
