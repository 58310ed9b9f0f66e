//! `ingest`: reads and validates the input log into the run directory.

use clickrec_core::Progress;

use crate::config::Plan;
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

/// `events.parquet`, the id maps, `ingest.json` and, when rows were skipped, `quarantine.csv`.
pub(crate) fn run(plan: &Plan, progress: &dyn Progress) -> Result<StageOutput, PipelineError> {
    let summary = clickrec_ingest::ingest_to_dir(&plan.input, &plan.ingest, &plan.out, progress)?;
    let mut artifacts = names(&clickrec_io::EVENT_LOG_FILES);
    artifacts.push(clickrec_ingest::SUMMARY_FILE.to_owned());
    if summary.quarantine.is_some() {
        artifacts.push(clickrec_ingest::QUARANTINE_FILE.to_owned());
    }
    Ok(StageOutput {
        text: summary.human(),
        summary: json(&summary),
        artifacts,
    })
}
