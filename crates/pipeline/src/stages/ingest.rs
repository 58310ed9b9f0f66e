//! `ingest`: reads and validates the input log (and the test file of a pre-split pair)
//! into the run directory.

use clickrec_core::Progress;
use clickrec_ingest::{
    QUARANTINE_FILE, SUMMARY_FILE, TEST_FILE_EVENTS_FILE, TEST_QUARANTINE_FILE, TEST_SUMMARY_FILE,
};

use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

/// Ingest on the plan's engine.
pub(crate) fn run(
    plan: &Plan,
    engine: &dyn Engine,
    progress: &dyn Progress,
) -> Result<StageOutput, PipelineError> {
    engine.ingest(plan, progress)
}

/// The local engine's ingest: `events.parquet`, the id maps, `ingest.json` and, when rows
/// were skipped, `quarantine.csv`; with a test file also `test_file_events.parquet`,
/// `test_ingest.json` and `test_quarantine.csv`.
pub(crate) fn run_local(
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<StageOutput, PipelineError> {
    let mut artifacts = names(&clickrec_io::EVENT_LOG_FILES);
    artifacts.push(SUMMARY_FILE.to_owned());
    let Some(test_input) = &plan.test_input else {
        let summary =
            clickrec_ingest::ingest_to_dir(&plan.input, &plan.ingest, &plan.out, progress)?;
        if summary.quarantine.is_some() {
            artifacts.push(QUARANTINE_FILE.to_owned());
        }
        return Ok(StageOutput {
            details: String::new(),
            text: summary.human(),
            summary: json(&summary),
            artifacts,
        });
    };
    let (summary, test) = clickrec_ingest::ingest_pair_to_dir(
        &plan.input,
        test_input,
        &plan.ingest,
        &plan.out,
        progress,
    )?;
    artifacts.extend(names(&[TEST_FILE_EVENTS_FILE, TEST_SUMMARY_FILE]));
    if summary.quarantine.is_some() {
        artifacts.push(QUARANTINE_FILE.to_owned());
    }
    if test.quarantine.is_some() {
        artifacts.push(TEST_QUARANTINE_FILE.to_owned());
    }
    Ok(StageOutput {
        details: String::new(),
        text: format!("{}test file: {}", summary.human(), test.human()),
        summary: serde_json::json!({ "input": summary, "test_file": test }),
        artifacts,
    })
}
