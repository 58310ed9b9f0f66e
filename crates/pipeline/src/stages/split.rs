//! `split`: train/test (and validation) sessions: `[prep]`'s learned filters on train
//! only, the leakage guard and the leakage measurement.

use std::path::Path;

use clickrec_io::{read_events, read_id_maps, write_events, write_json};
use clickrec_prep::{CheckedPrep, CheckedSplit};

use crate::artifacts::{
    PREPARED_FILE, SPLIT_REPORT_FILE, TEST_EVENTS_FILE, TEST_SET_FILE, TRAIN_FILE,
    VALIDATION_EVENTS_FILE, VALIDATION_SET_FILE, VALIDATION_TRAIN_FILE,
};
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

pub(crate) fn run(
    dir: &Path,
    config: &CheckedSplit,
    prep: &CheckedPrep,
) -> Result<StageOutput, PipelineError> {
    let ids = read_id_maps(dir)?;
    let prepared_path = dir.join(PREPARED_FILE);
    let (log, sessions) = read_events(&prepared_path, &ids)?;
    let sessions = sessions.ok_or_else(|| PipelineError::NoSessions {
        path: prepared_path.clone(),
    })?;
    let out =
        clickrec_prep::split(&log, &sessions, config, &prep.train_filters()).map_err(|source| {
            PipelineError::Split {
                path: prepared_path,
                source,
            }
        })?;
    drop(log);
    let text = out.report.to_string();
    let summary = json(&out.report);
    let mut artifacts = names(&[
        TRAIN_FILE,
        TEST_EVENTS_FILE,
        TEST_SET_FILE,
        SPLIT_REPORT_FILE,
    ]);
    write_json(&dir.join(TEST_SET_FILE), &out.test)?;
    write_events(&dir.join(TEST_EVENTS_FILE), out.test_events, None)?;
    write_events(&dir.join(TRAIN_FILE), out.train, Some(out.train_sessions))?;
    if let Some(v) = out.validation {
        write_json(&dir.join(VALIDATION_SET_FILE), &v.test)?;
        write_events(&dir.join(VALIDATION_EVENTS_FILE), v.test_events, None)?;
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
        text,
        summary,
        artifacts,
    })
}
