//! EASE's closed form: `B = I − P · diag(1 / diag(P))`, `P = (XᵀX + λI)⁻¹`, over the
//! trained items, with faer's dense Cholesky.

use clickrec_core::{ItemId, UserId};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular::{BlockStructure, matmul};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::params::EaseParams;
use crate::{FitError, FitOptions, TrainData};

/// Bytes of a dense `n × n` f32 matrix.
pub(super) fn dense_bytes(n: usize) -> u128 {
    (n as u128) * (n as u128) * 4
}

/// `bytes` in GiB, for messages.
pub(super) fn gib(bytes: u128) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

/// What a fit produces: the trained items (increasing) and `B` over them, row-major
/// (`weights[a * n + b]` is the weight of trained item `a` towards trained item `b`).
#[derive(Debug)]
pub(super) struct Fitted {
    pub(super) items: Vec<ItemId>,
    pub(super) weights: Vec<f32>,
}

/// Fits EASE on the binary train matrix (every stored pair counts 1).
pub(super) fn fit(
    params: &EaseParams,
    data: &TrainData<'_>,
    options: &FitOptions<'_>,
) -> Result<Fitted, FitError> {
    let matrix = data.matrix;
    if matrix.nnz() == 0 {
        return Err(FitError::EmptyTrain { model: "ease" });
    }
    let items: Vec<ItemId> = (0..data.n_items() as u32)
        .map(ItemId)
        .filter(|&i| !data.item_users.row(i).0.is_empty())
        .collect();
    let n = items.len();
    if n > params.max_items {
        let bytes = dense_bytes(n);
        return Err(FitError::Data {
            model: "ease",
            reason: format!(
                "{n} items have train events, more than models.ease.max_items = {}: EASE would need a dense {n} × {n} f32 matrix of {:.1} GiB ({:.1} GiB while fitting); raise max_items if the memory is there, or shrink the catalogue (e.g. [prep.kcore] min_users_per_item)",
                params.max_items,
                gib(bytes),
                gib(2 * bytes)
            ),
        });
    }
    // The Gram matrix and its inverse, both dense while fitting.
    options.check_memory("ease", 2 * dense_bytes(n), || {
        format!("EASE on {n} trained items (two dense {n} × {n} f32 matrices while fitting)")
    })?;
    let mut compact = vec![u32::MAX; data.n_items()];
    for (c, i) in items.iter().enumerate() {
        compact[i.0 as usize] = c as u32;
    }

    // G = XᵀX + λI, one column per task (symmetric, so column-major is row-major too).
    let lambda = params.lambda as f32;
    let mut gram = vec![0.0f32; n * n];
    gram.par_chunks_mut(n)
        .zip(&items)
        .enumerate()
        .for_each(|(c, (column, &item))| {
            for &u in data.item_users.row(item).0 {
                for &j in matrix.row(UserId(u)).0 {
                    column[compact[j as usize] as usize] += 1.0;
                }
            }
            column[c] += lambda;
        });

    let par = Par::rayon(0);
    // G = L Lᵀ, L in the lower triangle of `gram`.
    let mut buffer = MemBuffer::new(cholesky_in_place_scratch::<f32>(n, par, Default::default()));
    cholesky_in_place(
        MatMut::from_column_major_slice_mut(&mut gram, n, n),
        Default::default(),
        par,
        MemStack::new(&mut buffer),
        Default::default(),
    )
    .map_err(|e| FitError::Data {
        model: "ease",
        reason: format!(
            "the Gram matrix XᵀX + λI is not positive definite in f32 ({e:?}); raise models.ease.lambda (now {})",
            params.lambda
        ),
    })?;
    drop(buffer);
    // P = L⁻ᵀ L⁻¹, its lower triangle written over L.
    let mut inverse = vec![0.0f32; n * n];
    invert_lower_triangular(
        MatMut::from_column_major_slice_mut(&mut inverse, n, n),
        MatRef::from_column_major_slice(&gram, n, n),
        par,
    );
    let l_inv = MatRef::from_column_major_slice(&inverse, n, n);
    matmul(
        MatMut::from_column_major_slice_mut(&mut gram, n, n),
        BlockStructure::TriangularLower,
        Accum::Replace,
        l_inv.transpose(),
        BlockStructure::TriangularUpper,
        l_inv,
        BlockStructure::TriangularLower,
        1.0,
        par,
    );
    drop(inverse);
    let weights = weights_from_precision(gram, n);
    if let Some(k) = weights.iter().position(|w| !w.is_finite()) {
        return Err(FitError::Data {
            model: "ease",
            reason: format!(
                "weight {} → {} is {} (the solve lost precision in f32); raise models.ease.lambda (now {})",
                items[k / n],
                items[k % n],
                weights[k],
                params.lambda
            ),
        });
    }
    Ok(Fitted { items, weights })
}

/// Turns `P` (its lower triangle, column-major: `p[c * n + r]` is `P[r][c]` for `r ≥ c`)
/// into `B` row-major in the same buffer: `B[a][b] = −P[a][b] / P[b][b]` off the
/// diagonal, 0 on it. Each pair `(a, b)`, `a > b`, reads `P[a][b]` once and writes both
/// `B[a][b]` (at `a * n + b`, the unused upper triangle) and `B[b][a]` (at `b * n + a`,
/// where `P[a][b]` was); done in tiles so both walks stay in cache.
fn weights_from_precision(mut p: Vec<f32>, n: usize) -> Vec<f32> {
    const TILE: usize = 64;
    let diagonal: Vec<f32> = (0..n).map(|d| p[d * n + d]).collect();
    for b0 in (0..n).step_by(TILE) {
        for a0 in (b0..n).step_by(TILE) {
            for b in b0..(b0 + TILE).min(n) {
                for a in a0.max(b + 1)..(a0 + TILE).min(n) {
                    let value = p[b * n + a];
                    p[a * n + b] = -value / diagonal[b];
                    p[b * n + a] = -value / diagonal[a];
                }
            }
        }
    }
    (0..n).for_each(|d| p[d * n + d] = 0.0);
    p
}
