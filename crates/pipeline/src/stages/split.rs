//! `split`: train/test (and validation) sessions: `[prep]`'s learned filters on train
//! only, the leakage guard and the leakage measurement. A test-file split takes the
//! prepared input as train and the ingested test file, sessionized like the input, as
//! test. Items are then renumbered over those that remain (`split_items.parquet`).

use clickrec_io::{SPLIT_ITEMS_FILE, read_id_maps, write_events, write_json, write_split_items};

use crate::artifacts::{
    SPLIT_REPORT_FILE, TEST_EVENTS_FILE, TEST_SET_FILE, TRAIN_FILE, VALIDATION_EVENTS_FILE,
    VALIDATION_SET_FILE, VALIDATION_TRAIN_FILE,
};
use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

pub(crate) fn run(plan: &Plan, engine: &dyn Engine) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let mut out = engine.split(plan)?;
    // From here on, items are numbered over those that remain (see ARCHITECTURE.md).
    let ids = read_id_maps(dir)?;
    let compact = out.compact_items(ids.items.len());
    write_split_items(dir, &ids.items.subset(&compact.kept))?;
    let text = out.report.to_string();
    let summary = json(&out.report);
    let mut artifacts = names(&[
        TRAIN_FILE,
        TEST_EVENTS_FILE,
        TEST_SET_FILE,
        SPLIT_REPORT_FILE,
        SPLIT_ITEMS_FILE,
    ]);
    write_json(&dir.join(TEST_SET_FILE), &out.test)?;
    write_events(
        &dir.join(TEST_EVENTS_FILE),
        out.test_events,
        Some(out.test_sessions),
    )?;
    write_events(&dir.join(TRAIN_FILE), out.train, Some(out.train_sessions))?;
    if let Some(v) = out.validation {
        write_json(&dir.join(VALIDATION_SET_FILE), &v.test)?;
        write_events(
            &dir.join(VALIDATION_EVENTS_FILE),
            v.test_events,
            Some(v.test_sessions),
        )?;
        write_events(
            &dir.join(VALIDATION_TRAIN_FILE),
            v.train,
            Some(v.train_sessions),
        )?;
        artifacts.extend(names(&[
            VALIDATION_SET_FILE,
            VALIDATION_EVENTS_FILE,
            VALIDATION_TRAIN_FILE,
        ]));
    }
    write_json(&dir.join(SPLIT_REPORT_FILE), &out.report)?;
    Ok(StageOutput {
        details: String::new(),
        text,
        summary,
        artifacts,
    })
}
