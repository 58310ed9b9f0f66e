//! `prep`: cleaning and sessions, `events.parquet` → `prepared.parquet` (with a `session`
//! column) and `prep.json`.

use std::path::Path;

use clickrec_io::{EVENTS_FILE, read_events, read_id_maps, write_events, write_json};
use clickrec_prep::{CheckedPrep, prepare};

use crate::artifacts::{PREP_REPORT_FILE, PREPARED_FILE};
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

pub(crate) fn run(dir: &Path, config: &CheckedPrep) -> Result<StageOutput, PipelineError> {
    let ids = read_id_maps(dir)?;
    let events = dir.join(EVENTS_FILE);
    let (log, _) = read_events(&events, &ids)?;
    let prepared = prepare(log, config).map_err(|source| PipelineError::Prep {
        path: events,
        source,
    })?;
    let text = prepared.report.to_string();
    let summary = json(&prepared.report);
    write_json(&dir.join(PREP_REPORT_FILE), &prepared.report)?;
    write_events(
        &dir.join(PREPARED_FILE),
        prepared.log,
        Some(prepared.sessions),
    )?;
    Ok(StageOutput {
        text,
        summary,
        artifacts: names(&[PREPARED_FILE, PREP_REPORT_FILE]),
    })
}
