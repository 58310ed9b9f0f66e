//! `matrix`: the confidence-weighted user-item CSR of the train events →
//! `train_matrix.csr` and `matrix.json`.

use std::io::Write;
use std::path::Path;

use clickrec_io::{AtomicFile, read_events, read_split_id_maps, write_json};
use clickrec_prep::{CheckedWeights, build_matrix};

use crate::artifacts::{MATRIX_FILE, MATRIX_REPORT_FILE, TRAIN_FILE};
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

pub(crate) fn run(dir: &Path, weights: &CheckedWeights) -> Result<StageOutput, PipelineError> {
    let ids = read_split_id_maps(dir)?;
    let train_path = dir.join(TRAIN_FILE);
    let (train, _) = read_events(&train_path, &ids)?;
    let matrix =
        build_matrix(&train, ids.users.len(), ids.items.len(), weights).map_err(|source| {
            PipelineError::Matrix {
                path: train_path,
                source,
            }
        })?;
    drop(train);
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
