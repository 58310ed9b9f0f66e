//! `generate`: writes the synthetic input log of a `[generate]` table.

use std::path::Path;

use clickrec_io::AtomicFile;

use crate::artifacts::create_dir;
use crate::error::PipelineError;
use crate::output::StageOutput;

/// Writes the synthetic input log to `path`, atomically.
pub(crate) fn run(
    path: &Path,
    params: &clickrec_synth::CheckedParams,
) -> Result<StageOutput, PipelineError> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    let file = AtomicFile::create(path)?;
    let summary = clickrec_synth::generate(
        params,
        std::io::BufWriter::new(file.file()),
        &clickrec_core::NoProgress,
    )
    .map_err(|source| PipelineError::Generate {
        path: path.to_owned(),
        source,
    })?;
    file.commit()?;
    let [pv, fav, cart, buy] = summary.behavior_counts;
    Ok(StageOutput {
        details: String::new(),
        text: format!(
            "generated {}: {} rows, {} users, {} distinct items; pv {pv} / fav {fav} / cart {cart} / buy {buy}\n",
            path.display(),
            summary.rows,
            summary.users,
            summary.distinct_items
        ),
        summary: serde_json::json!({
            "rows": summary.rows,
            "users": summary.users,
            "distinct_items": summary.distinct_items,
        }),
        // An absolute path: `Manifest::reusable` joins it onto the run directory unchanged.
        artifacts: vec![
            std::path::absolute(path)
                .unwrap_or_else(|_| path.to_owned())
                .display()
                .to_string(),
        ],
    })
}
