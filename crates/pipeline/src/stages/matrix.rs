//! `matrix`: the confidence-weighted user-item CSR of the train events →
//! `train_matrix.csr` and `matrix.json`.

use clickrec_io::{AtomicFile, write_json};
use std::io::Write;

use crate::artifacts::{MATRIX_FILE, MATRIX_REPORT_FILE};
use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

/// Sizes of the train matrix, for `matrix.json`.
#[derive(Debug, serde::Serialize)]
struct MatrixSummary {
    users: usize,
    items: usize,
    nonzeros: usize,
    bytes: u64,
}

pub(crate) fn run(plan: &Plan, engine: &dyn Engine) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let matrix = engine.matrix(plan)?;
    let path = dir.join(MATRIX_FILE);
    write_matrix(&path, &matrix)?;
    let summary = MatrixSummary {
        users: matrix.n_users(),
        items: matrix.n_items(),
        nonzeros: matrix.nnz(),
        bytes: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
    };
    write_json(&dir.join(MATRIX_REPORT_FILE), &summary)?;
    Ok(StageOutput {
        details: String::new(),
        text: format!(
            "train matrix: {} users × {} items, {} non-zeros ({:.1} MiB)\n",
            summary.users,
            summary.items,
            summary.nonzeros,
            summary.bytes as f64 / (1 << 20) as f64
        ),
        summary: json(&summary),
        artifacts: names(&[MATRIX_FILE, MATRIX_REPORT_FILE]),
    })
}

/// Writes a matrix in the run directory's CSR format, atomically.
pub(crate) fn write_matrix(
    path: &std::path::Path,
    matrix: &clickrec_core::UserItemMatrix,
) -> Result<(), PipelineError> {
    let file = AtomicFile::create(path)?;
    let mut writer = std::io::BufWriter::new(file.file());
    matrix
        .write_to(&mut writer)
        .and_then(|()| writer.flush().map_err(Into::into))
        .map_err(|source| PipelineError::Matrix {
            path: path.to_owned(),
            source,
        })?;
    drop(writer);
    file.commit()?;
    Ok(())
}
