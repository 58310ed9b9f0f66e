//! Fitting: seeded initialisation, the alternating half-sweeps and the training loss.

use clickrec_core::{ItemId, SplitMix64, UserId};
use ndarray::ArrayView2;
use rayon::prelude::*;

use super::cg::{RowSolver, Scratch};
use super::{Als, AlsParams, CheckedAls};
use crate::fit::{Watch, keep_going};
use crate::{Factors, FitError, FitOptions, TrainData};

/// Rows per partial Gram matrix and per partial loss sum. Fixed, so sums are added in the
/// same order at any thread count.
const CHUNK_ROWS: usize = 4096;

/// Fewest rows a rayon task solves, so task overhead stays small next to the solves.
const MIN_ROWS_PER_TASK: usize = 32;

/// Which factor matrix a random stream initialises.
#[derive(Clone, Copy, Debug)]
enum Side {
    Users = 1,
    Items = 2,
}

/// `rows × dim` factors uniform in `[0, scale)`; row `r`'s values come from a stream seeded
/// by `(seed, side, r)`, so they do not depend on how rows are spread over threads.
fn init_factors(rows: usize, dim: usize, seed: u64, side: Side, scale: f32) -> Factors {
    let mut f = Factors::zeros(rows, dim);
    let side_seed =
        SplitMix64::new(seed ^ (side as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64();
    f.as_mut_slice()
        .par_chunks_mut(dim)
        .enumerate()
        .with_min_len(1024)
        .for_each(|(r, row)| {
            let mut rng =
                SplitMix64::new(side_seed ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            rng.next_u64();
            row.iter_mut().for_each(|v| *v = rng.next_f32() * scale);
        });
    f
}

/// `scale·FᵀF + reg·I`, row-major `dim × dim`, from partial Gram matrices of fixed row
/// chunks computed in parallel and summed in chunk order.
pub(super) fn gram(f: &Factors, scale: f32, reg: f32) -> Vec<f32> {
    let dim = f.dim();
    let partials: Vec<ndarray::Array2<f32>> = f
        .as_slice()
        .par_chunks(CHUNK_ROWS * dim)
        .map(|chunk| {
            let m = ArrayView2::from_shape((chunk.len() / dim, dim), chunk)
                .unwrap_or_else(|_| unreachable!("a chunk holds whole rows"));
            m.t().dot(&m)
        })
        .collect();
    let mut g = vec![0f32; dim * dim];
    for part in &partials {
        for (acc, v) in g.iter_mut().zip(part.iter()) {
            *acc += v;
        }
    }
    // Exactly symmetric (the matrix multiply may round the two triangles differently).
    for i in 0..dim {
        for j in 0..i {
            g[i * dim + j] = g[j * dim + i];
        }
    }
    // Scaling by 1 (the default α₀) is exact, so the default keeps implicit's bits.
    g.iter_mut().for_each(|v| *v *= scale);
    for i in 0..dim {
        g[i * dim + i] += reg;
    }
    g
}

/// The Gram matrix a half-sweep solves against: `α₀·YᵀY`, plus `λI` when every row has
/// the same λ.
pub(super) fn half_sweep_gram(other: &Factors, p: &AlsParams) -> Vec<f32> {
    let reg = if p.uniform_regularization() {
        p.regularization
    } else {
        0.0
    };
    gram(other, p.unobserved_weight, reg)
}

/// One half-sweep: every row of `x` takes `cg_steps` CG steps given `other`, in parallel.
/// `row(r)` gives row `r`'s observed columns and values.
fn solve_side<'a>(
    x: &mut Factors,
    other: &Factors,
    row: impl Fn(usize) -> (&'a [u32], &'a [f32]) + Sync,
    p: &AlsParams,
) {
    let dim = x.dim();
    let g = half_sweep_gram(other, p);
    let solver = RowSolver {
        gram: &g,
        other,
        alpha: p.alpha,
        unobserved: p.unobserved_weight,
        row_regularization: (!p.uniform_regularization()).then_some((p, other.rows())),
        cg_steps: p.cg_steps,
    };
    x.as_mut_slice()
        .par_chunks_mut(dim)
        .enumerate()
        .with_min_len(MIN_ROWS_PER_TASK)
        .for_each_init(
            || Scratch::new(dim),
            |scratch, (r, xr)| {
                let (cols, vals) = row(r);
                solver.solve(scratch, cols, vals, xr);
            },
        );
}

/// Sum of `f(row)` over `rows` rows in f64: fixed chunks in parallel, chunks added in order.
fn ordered_sum(rows: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    let chunks = rows.div_ceil(CHUNK_ROWS);
    let partials: Vec<f64> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            (c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(rows))
                .map(&f)
                .sum::<f64>()
        })
        .collect();
    partials.into_iter().sum()
}

/// implicit's `calculate_loss`: `Σ_ui C_ui (p_ui − x_uᵀy_i)² + Σ_u λ_u‖x_u‖² + Σ_i λ_i‖y_i‖²`
/// (`C = α₀` for an unobserved pair, λ the same for every row unless frequency-scaled),
/// divided by the total confidence over all pairs, `Σ_observed C + α₀(users·items − nnz)`.
fn training_loss(
    data: &TrainData<'_>,
    users: &Factors,
    items: &Factors,
    p: &AlsParams,
    total_confidence: f64,
) -> f64 {
    let dim = users.dim();
    let yty = gram(items, p.unobserved_weight, 0.0);
    let solver = RowSolver {
        gram: &yty,
        other: items,
        alpha: p.alpha,
        unobserved: p.unobserved_weight,
        row_regularization: None,
        cg_steps: 0,
    };
    let chunks = users.rows().div_ceil(CHUNK_ROWS);
    let partials: Vec<f64> = (0..chunks)
        .into_par_iter()
        .map_init(
            || Scratch::new(dim),
            |scratch, c| {
                (c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(users.rows()))
                    .map(|u| {
                        let (cols, vals) = data.matrix.row(UserId(u as u32));
                        solver.row_loss(scratch, cols, vals, users.row(u))
                    })
                    .sum::<f64>()
            },
        )
        .collect();
    let loss: f64 = partials.into_iter().sum();
    // Σ_r λ_r‖f_r‖² over one side, `entries(r)` being row r's observed count.
    let penalty = |f: &Factors, entries: &(dyn Fn(usize) -> usize + Sync), others: usize| {
        ordered_sum(f.rows(), |r| {
            let sq: f64 = f.row(r).iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            if p.uniform_regularization() {
                sq
            } else {
                f64::from(p.row_regularization(entries(r), others)) * sq
            }
        })
    };
    let user_entries = |u: usize| data.matrix.row(UserId(u as u32)).0.len();
    let item_entries = |i: usize| data.item_users.row(ItemId(i as u32)).0.len();
    let penalties =
        penalty(users, &user_entries, items.rows()) + penalty(items, &item_entries, users.rows());
    let regularization = if p.uniform_regularization() {
        f64::from(p.regularization) * penalties
    } else {
        penalties
    };
    let pairs = data.n_users() as f64 * data.n_items() as f64;
    let unobserved = f64::from(p.unobserved_weight) * (pairs - data.matrix.nnz() as f64);
    (loss + regularization) / (total_confidence + unobserved)
}

fn all_finite(f: &Factors) -> bool {
    f.as_slice()
        .par_chunks(CHUNK_ROWS)
        .all(|c| c.iter().all(|v| v.is_finite()))
}

impl Als {
    /// Fits implicit ALS with the conjugate-gradient solver on `data.matrix` (users ×
    /// items) and `data.item_users` (its transpose). Results are bit-identical at any
    /// rayon thread count for the same seed.
    pub fn fit(
        params: &CheckedAls,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
    ) -> Result<Self, FitError> {
        Self::fit_watched(params, data, options, None)
    }

    /// [`Als::fit`], with `watch` told of every iteration (and able to end the fit).
    pub fn fit_watched(
        params: &CheckedAls,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
        watch: Watch<'_, Als>,
    ) -> Result<Self, FitError> {
        const MODEL: &str = "als";
        let p = params.params();
        let (n_users, n_items) = (data.n_users(), data.n_items());
        if data.matrix.nnz() == 0 {
            return Err(FitError::EmptyTrain { model: MODEL });
        }
        let t = data.item_users;
        if t.n_items() != n_items || t.n_users() != n_users || t.nnz() != data.matrix.nnz() {
            return Err(FitError::Data {
                model: MODEL,
                reason: format!(
                    "the item-user matrix ({} items × {} users, {} pairs) is not the transpose \
                     of the user-item matrix ({n_users} users × {n_items} items, {} pairs)",
                    t.n_items(),
                    t.n_users(),
                    t.nnz(),
                    data.matrix.nnz()
                ),
            });
        }

        let k = p.factors as u128;
        // The two factor matrices (and a snapshot of each for a monitor), and one Gram
        // matrix per chunk of the longer side while summing them.
        let chunks = n_users.max(n_items).div_ceil(CHUNK_ROWS) as u128 + 1;
        let bytes = 4 * 2 * (n_users + n_items) as u128 * k + 4 * k * k * chunks;
        options.check_memory(MODEL, bytes, || {
            format!(
                "ALS with {k} factors on {n_users} users × {n_items} items (factor matrices 8·(users + items)·factors bytes, Gram matrices 4·factors²·{chunks})"
            )
        })?;
        let mut users = init_factors(n_users, p.factors, options.seed, Side::Users, p.init_scale);
        let mut items = init_factors(n_items, p.factors, options.seed, Side::Items, p.init_scale);
        let total_confidence: f64 = if options.record_loss {
            ordered_sum(n_users, |u| {
                let (_, vals) = data.matrix.row(UserId(u as u32));
                vals.iter().map(|&v| f64::from(p.alpha * v.abs())).sum()
            })
        } else {
            0.0
        };

        let mut losses = Vec::new();
        options.progress.start(p.iterations as u64);
        for it in 0..p.iterations {
            solve_side(&mut users, &items, |u| data.matrix.row(UserId(u as u32)), p);
            solve_side(
                &mut items,
                &users,
                |i| data.item_users.row(ItemId(i as u32)),
                p,
            );
            let loss = options
                .record_loss
                .then(|| training_loss(data, &users, &items, p, total_confidence));
            if !(all_finite(&users) && all_finite(&items)) || loss.is_some_and(|l| !l.is_finite()) {
                return Err(FitError::Diverged {
                    model: MODEL,
                    iteration: it + 1,
                    loss: loss.unwrap_or(f64::NAN),
                });
            }
            if let Some(l) = loss {
                losses.push(l);
            }
            options.progress.advance_to(it as u64 + 1);
            let snapshot = || Als::new(p.clone(), users.clone(), items.clone(), losses.clone());
            if !keep_going(watch, it + 1, &snapshot) {
                break;
            }
        }
        if p.exact_user_solve {
            solve_users_exactly(&mut users, &items, data, p);
        }
        Ok(Als::new(p.clone(), users, items, losses))
    }
}

/// The exact solve of one user's normal equation against fixed item factors, in f64:
/// `(α₀YᵀY + λ_u I + Yᵀ(C_u − α₀I)Y) x = YᵀC_u p_u` by Cholesky. The fit's last user sweep
/// ([`AlsParams::exact_user_solve`](super::AlsParams::exact_user_solve)) and fold-in
/// ([`Als::fold_in_user`]) both solve with it, so a user folded in from their train row
/// gets the trained factor bit for bit.
pub(super) struct ExactUserSolver<'a> {
    /// The half-sweep's Gram matrix of the items ([`half_sweep_gram`]).
    gram: &'a [f32],
    items: &'a Factors,
    params: &'a AlsParams,
}

impl<'a> ExactUserSolver<'a> {
    pub(super) fn new(gram: &'a [f32], items: &'a Factors, params: &'a AlsParams) -> Self {
        ExactUserSolver {
            gram,
            items,
            params,
        }
    }

    /// Writes the factor of the row `cols`/`vals` into `out`: zero for an empty row (as
    /// the fit gives), unchanged when the system is not positive definite (λ = 0 with
    /// too few items).
    pub(super) fn solve(&self, cols: &[u32], vals: &[f32], out: &mut [f32]) {
        let dim = self.items.dim();
        if cols.is_empty() {
            out.fill(0.0);
            return;
        }
        // The row's items, and the same scaled by C − 1: A += Yᵀ (C − 1) Y in one product.
        let y = faer::Mat::<f64>::from_fn(cols.len(), dim, |r, j| {
            f64::from(self.items.row(cols[r] as usize)[j])
        });
        let alpha = f64::from(self.params.alpha);
        let unobserved = f64::from(self.params.unobserved_weight);
        let confidence = |r: usize| alpha * f64::from(vals[r].abs());
        let weighted = faer::Mat::<f64>::from_fn(cols.len(), dim, |r, j| {
            (confidence(r) - unobserved) * y[(r, j)]
        });
        let row_lambda = if self.params.uniform_regularization() {
            0.0
        } else {
            f64::from(
                self.params
                    .row_regularization(cols.len(), self.items.rows()),
            )
        };
        let mut a = faer::Mat::<f64>::from_fn(dim, dim, |i, j| {
            let g = f64::from(self.gram[i * dim + j]);
            if i == j { g + row_lambda } else { g }
        });
        faer::linalg::matmul::matmul(
            a.as_mut(),
            faer::Accum::Add,
            y.transpose(),
            weighted.as_ref(),
            1.0,
            faer::Par::Seq,
        );
        // p = 1 for a positive value, 0 otherwise (the fit's convention).
        let target = faer::Mat::<f64>::from_fn(cols.len(), 1, |r, _| {
            if vals[r] > 0.0 { confidence(r) } else { 0.0 }
        });
        let mut b = y.transpose() * &target;
        // α₀YᵀY + λI is positive definite for λ > 0 and the row's term adds (C − α₀) ≥ −α₀
        // times y yᵀ, which α₀YᵀY already holds once: the matrix stays positive definite.
        if let Ok(llt) = a.llt(faer::Side::Lower) {
            faer::linalg::solvers::Solve::solve_in_place(&llt, b.as_mut());
            for (i, x) in out.iter_mut().enumerate() {
                *x = b[(i, 0)] as f32;
            }
        }
    }
}

/// Every user's factor solved exactly against the final item factors, in parallel (rows
/// are independent: the same result at any thread count).
fn solve_users_exactly(users: &mut Factors, items: &Factors, data: &TrainData<'_>, p: &AlsParams) {
    let dim = users.dim();
    let g = half_sweep_gram(items, p);
    let solver = ExactUserSolver::new(&g, items, p);
    users
        .as_mut_slice()
        .par_chunks_mut(dim)
        .enumerate()
        .with_min_len(MIN_ROWS_PER_TASK)
        .for_each(|(u, xu)| {
            let (cols, vals) = data.matrix.row(UserId(u as u32));
            solver.solve(cols, vals, xu);
        });
}

impl Als {
    /// The factor of a user whose matrix row is `cols`/`vals`, solved exactly against the
    /// fitted item factors (implicit's `recalculate_user`) by [`ExactUserSolver`], the
    /// solve of the fit's last user sweep: a train user's row gives back their trained
    /// factor (with `exact_user_solve = false`, only up to the fit's convergence). An
    /// empty row gets a zero factor, as in the fit.
    pub fn fold_in_user(&self, cols: &[u32], vals: &[f32]) -> Factors {
        let mut out = Factors::zeros(1, self.items.dim());
        let gram = self
            .item_gram
            .get_or_init(|| half_sweep_gram(&self.items, &self.params));
        ExactUserSolver::new(gram, &self.items, &self.params).solve(cols, vals, out.row_mut(0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_seeded_per_row_and_in_range() {
        let a = init_factors(100, 8, 7, Side::Users, 0.01);
        let b = init_factors(100, 8, 7, Side::Users, 0.01);
        let c = init_factors(100, 8, 7, Side::Items, 0.01);
        let d = init_factors(100, 8, 8, Side::Users, 0.01);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert!(a.as_slice().iter().all(|&v| (0.0..0.01).contains(&v)));
        // A row's values do not depend on how many rows there are.
        let e = init_factors(5000, 8, 7, Side::Users, 0.01);
        assert_eq!(a.row(42), e.row(42));
    }

    #[test]
    fn gram_matches_a_naive_sum_and_is_symmetric() {
        let f = init_factors(CHUNK_ROWS * 2 + 17, 5, 1, Side::Items, 1.0);
        let g = gram(&f, 1.0, 0.5);
        for i in 0..5 {
            for j in 0..5 {
                let naive: f64 = (0..f.rows())
                    .map(|r| f64::from(f.row(r)[i]) * f64::from(f.row(r)[j]))
                    .sum::<f64>()
                    + if i == j { 0.5 } else { 0.0 };
                assert!((f64::from(g[i * 5 + j]) - naive).abs() < 1e-3 * naive.abs().max(1.0));
                assert_eq!(g[i * 5 + j].to_bits(), g[j * 5 + i].to_bits());
            }
        }
    }
}
