//! Dense f32 kernels and the per-row conjugate-gradient solve of implicit ALS.
//!
//! Per row, the other side's factors of the row's items are first gathered into a
//! contiguous scratch matrix; every CG step then runs over it with two kernels: the dots
//! `y_kᵀp` of all rows, then `Σ_k t_k y_k`. Each row's solve is compiled for every SIMD
//! level and the CPU's own is picked at run time (`pulp`): vectors of its width, fused
//! multiply-adds where it has them. Every reduction runs in a fixed order, so a row's
//! result depends only on its inputs and the CPU, never on the thread that computes it.

use pulp::{Arch, Simd, WithSimd, as_arrays, as_arrays_mut};

use crate::Factors;

/// Residual norm² below which a row is taken as solved (as in implicit).
const SOLVED: f32 = 1e-20;

/// `a · b` (equal lengths): four vector running sums, added by a fixed tree, then the
/// values past the last whole vector.
#[inline(always)]
pub(super) fn dot<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (av, at) = S::as_simd_f32s(a);
    let (bv, bt) = S::as_simd_f32s(b);
    let (a4, a1) = as_arrays::<4, _>(av);
    let (b4, b1) = as_arrays::<4, _>(bv);
    let mut acc = [simd.splat_f32s(0.0); 4];
    for (x, y) in a4.iter().zip(b4) {
        for l in 0..4 {
            acc[l] = simd.mul_add_e_f32s(x[l], y[l], acc[l]);
        }
    }
    for (&x, &y) in a1.iter().zip(b1) {
        acc[0] = simd.mul_add_e_f32s(x, y, acc[0]);
    }
    let v = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
    let mut sum = simd.reduce_sum_f32s(v);
    for (x, y) in at.iter().zip(bt) {
        sum += x * y;
    }
    sum
}

/// `y += a·x` (equal lengths).
#[inline(always)]
pub(super) fn axpy<S: Simd>(simd: S, a: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    let (xv, xt) = S::as_simd_f32s(x);
    let (yv, yt) = S::as_mut_simd_f32s(y);
    let av = simd.splat_f32s(a);
    for (y, &x) in yv.iter_mut().zip(xv) {
        *y = simd.mul_add_e_f32s(av, x, *y);
    }
    for (y, x) in yt.iter_mut().zip(xt) {
        *y += a * x;
    }
}

/// `out = G v` for a symmetric row-major `dim × dim` matrix `G` (`dim = v.len()`).
#[inline(always)]
pub(super) fn sym_matvec<S: Simd>(simd: S, g: &[f32], v: &[f32], out: &mut [f32]) {
    let dim = v.len();
    debug_assert_eq!(g.len(), dim * dim);
    debug_assert_eq!(out.len(), dim);
    // G is symmetric, so G v = Σ_j v_j · (row j of G). For each block of four vectors of
    // columns the sums stay in registers while the rows stream past.
    let (ov, ot) = S::as_mut_simd_f32s(out);
    let (o4, o1) = as_arrays_mut::<4, _>(ov);
    let blocks = o4.len();
    let zero = simd.splat_f32s(0.0);
    for (b, o) in o4.iter_mut().enumerate() {
        let mut acc = [zero; 4];
        for (row, &a) in g.chunks_exact(dim).zip(v) {
            let (r4, _) = as_arrays::<4, _>(S::as_simd_f32s(row).0);
            let a = simd.splat_f32s(a);
            for l in 0..4 {
                acc[l] = simd.mul_add_e_f32s(a, r4[b][l], acc[l]);
            }
        }
        *o = acc;
    }
    for (c, o) in o1.iter_mut().enumerate() {
        let mut acc = zero;
        for (row, &a) in g.chunks_exact(dim).zip(v) {
            let (rv, _) = S::as_simd_f32s(row);
            acc = simd.mul_add_e_f32s(simd.splat_f32s(a), rv[4 * blocks + c], acc);
        }
        *o = acc;
    }
    let start = dim - ot.len();
    ot.fill(0.0);
    for (row, &a) in g.chunks_exact(dim).zip(v) {
        for (o, x) in ot.iter_mut().zip(&row[start..]) {
            *o += a * x;
        }
    }
}

/// Copies the rows `cols` of `other` into `ys`, contiguously. The scattered rows mostly
/// miss the caches: a first pass only loads one value per cache line of each row, so
/// many misses are in flight at once, then the copies find the rows in cache.
#[inline(always)]
fn gather(other: &Factors, cols: &[u32], ys: &mut [f32]) {
    let dim = other.dim();
    let mut sink = 0f32;
    for &col in cols {
        let row = other.row(col as usize);
        sink += row.iter().step_by(16).sum::<f32>() + row[dim - 1];
    }
    std::hint::black_box(sink);
    for (dst, &col) in ys.chunks_exact_mut(dim).zip(cols) {
        dst.copy_from_slice(other.row(col as usize));
    }
}

/// `out_k = y_k · v` for each row `y_k` of `ys`.
#[inline(always)]
fn row_dots<S: Simd>(simd: S, ys: &[f32], v: &[f32], out: &mut [f32]) {
    for (y, o) in ys.chunks_exact(v.len()).zip(out) {
        *o = dot(simd, y, v);
    }
}

/// `acc += Σ_k t_k y_k` over the rows `y_k` of `ys`, four rows at a time so `acc` is
/// loaded and stored a quarter as often.
#[inline(always)]
fn accumulate_rows<S: Simd>(simd: S, ys: &[f32], t: &[f32], acc: &mut [f32]) {
    let dim = acc.len();
    let blocks = ys.chunks_exact(4 * dim);
    let rest = blocks.remainder();
    let (t4, tt) = t.as_chunks::<4>();
    for (rows, a) in blocks.zip(t4) {
        let (r0, r123) = rows.split_at(dim);
        let (r1, r23) = r123.split_at(dim);
        let (r2, r3) = r23.split_at(dim);
        let split = |r| S::as_simd_f32s(r);
        let ((v0, t0), (v1, t1), (v2, t2), (v3, t3)) = (split(r0), split(r1), split(r2), split(r3));
        let s = a.map(|a| simd.splat_f32s(a));
        let (ov, ot) = S::as_mut_simd_f32s(acc);
        for ((((o, &x0), &x1), &x2), &x3) in ov.iter_mut().zip(v0).zip(v1).zip(v2).zip(v3) {
            let o01 = simd.mul_add_e_f32s(s[1], x1, simd.mul_add_e_f32s(s[0], x0, *o));
            *o = simd.mul_add_e_f32s(s[3], x3, simd.mul_add_e_f32s(s[2], x2, o01));
        }
        for ((((o, x0), x1), x2), x3) in ot.iter_mut().zip(t0).zip(t1).zip(t2).zip(t3) {
            *o += (a[0] * x0 + a[1] * x1) + (a[2] * x2 + a[3] * x3);
        }
    }
    for (row, &a) in rest.chunks_exact(dim).zip(tt) {
        axpy(simd, a, row, acc);
    }
}

/// Per-thread scratch of the row solves, grown to the longest row seen and reused.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// The row's other-side factors, gathered contiguously (`n × dim`).
    ys: Vec<f32>,
    /// `C − α₀ = alpha·|r| − unobserved_weight` per entry of the row.
    extra: Vec<f32>,
    /// Per-entry coefficients of the row's sparse sums.
    t: Vec<f32>,
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl Scratch {
    pub(super) fn new(dim: usize) -> Self {
        Scratch {
            ys: Vec::new(),
            extra: Vec::new(),
            t: Vec::new(),
            r: vec![0.0; dim],
            p: vec![0.0; dim],
            ap: vec![0.0; dim],
        }
    }
}

/// One half-sweep's fixed inputs: solve each row's factor given the other side's.
#[derive(Debug)]
pub(super) struct RowSolver<'a> {
    /// `α₀·YᵀY + λI` of the other side, row-major `dim × dim`; without `λI` when the
    /// rows have their own λ (`row_regularization`).
    pub gram: &'a [f32],
    /// The other side's factors `Y`.
    pub other: &'a Factors,
    pub alpha: f32,
    /// α₀, the weight of an unobserved pair ([`super::AlsParams::unobserved_weight`]).
    pub unobserved: f32,
    /// With frequency-scaled regularization: the parameters and the other side's row
    /// count, from which each row's λ follows; `None` when λ is in `gram`.
    pub row_regularization: Option<(&'a super::AlsParams, usize)>,
    pub cg_steps: usize,
}

impl RowSolver<'_> {
    /// λ of a row with `n` entries beyond what `gram` holds (0 when λ is in it).
    fn extra_regularization(&self, n: usize) -> f32 {
        self.row_regularization
            .map_or(0.0, |(params, others)| params.row_regularization(n, others))
    }

    /// Updates `x` towards the solution of `(YᵀC Y + λI) x = YᵀC p` for one row whose
    /// observed entries are `cols` with matrix values `vals` (unobserved pairs weighing
    /// α₀): `cg_steps` conjugate-gradient steps from the current `x`, exactly as
    /// implicit's `_least_squares_cg` when α₀ = 1 and λ is the same for every row. A row
    /// without entries gets a zero factor.
    pub(super) fn solve(&self, s: &mut Scratch, cols: &[u32], vals: &[f32], x: &mut [f32]) {
        Arch::new().dispatch(Solve {
            solver: self,
            s,
            cols,
            vals,
            x,
        })
    }

    /// [`Self::solve`] at one SIMD level.
    #[inline(always)]
    fn solve_with<S: Simd>(
        &self,
        simd: S,
        s: &mut Scratch,
        cols: &[u32],
        vals: &[f32],
        x: &mut [f32],
    ) {
        let dim = x.len();
        if cols.is_empty() {
            x.fill(0.0);
            return;
        }
        // Scratch only grows, so it is not refilled for each row.
        let n = cols.len();
        if s.ys.len() < n * dim {
            s.ys.resize(n * dim, 0.0);
        }
        if s.t.len() < n {
            s.t.resize(n, 0.0);
            s.extra.resize(n, 0.0);
        }
        let (ys, t, extra) = (&mut s.ys[..n * dim], &mut s.t[..n], &mut s.extra[..n]);
        let (r, p, ap) = (&mut s.r[..], &mut s.p[..], &mut s.ap[..]);
        gather(self.other, cols, ys);
        let row_lambda = self.extra_regularization(n);

        // r = YᵀC p − (YᵀC Y + λI) x
        //   = −(α₀YᵀY + λI) x + Σ_k (C_k p_k − (C_k − α₀) y_kᵀx) y_k.
        sym_matvec(simd, self.gram, x, r);
        r.iter_mut().for_each(|v| *v = -*v);
        if row_lambda != 0.0 {
            axpy(simd, -row_lambda, x, r);
        }
        row_dots(simd, ys, x, t);
        for ((t, extra), &val) in t.iter_mut().zip(extra.iter_mut()).zip(vals) {
            let c_minus_unobserved = self.alpha * val.abs() - self.unobserved;
            *extra = c_minus_unobserved;
            // C·p: p = 1 for a positive value, 0 otherwise (implicit's convention).
            let target = if val > 0.0 {
                self.unobserved + c_minus_unobserved
            } else {
                0.0
            };
            *t = target - c_minus_unobserved * *t;
        }
        accumulate_rows(simd, ys, t, r);
        p.copy_from_slice(r);
        let mut rs_old = dot(simd, r, r);
        if rs_old < SOLVED {
            return;
        }
        for _ in 0..self.cg_steps {
            // Ap = (α₀YᵀY + λI) p + Yᵀ(C − α₀I)Y p, without forming YᵀC Y.
            sym_matvec(simd, self.gram, p, ap);
            if row_lambda != 0.0 {
                axpy(simd, row_lambda, p, ap);
            }
            row_dots(simd, ys, p, t);
            t.iter_mut().zip(extra.iter()).for_each(|(t, e)| *t *= e);
            accumulate_rows(simd, ys, t, ap);
            let step = rs_old / dot(simd, p, ap);
            axpy(simd, step, p, x);
            axpy(simd, -step, ap, r);
            let rs_new = dot(simd, r, r);
            if rs_new < SOLVED {
                break;
            }
            let beta = rs_new / rs_old;
            for (p, r) in p.iter_mut().zip(r.iter()) {
                *p = beta * *p + r;
            }
            rs_old = rs_new;
        }
    }

    /// This row's part of the unnormalised, unregularised loss
    /// `Σ_i C_ui (p_ui − xᵀy_i)²` over all items (`C = α₀` where unobserved), with
    /// `self.gram` = `α₀YᵀY` (no λ).
    pub(super) fn row_loss(&self, s: &mut Scratch, cols: &[u32], vals: &[f32], x: &[f32]) -> f64 {
        Arch::new().dispatch(RowLoss {
            solver: self,
            s,
            cols,
            vals,
            x,
        })
    }

    /// [`Self::row_loss`] at one SIMD level.
    #[inline(always)]
    fn row_loss_with<S: Simd>(
        &self,
        simd: S,
        s: &mut Scratch,
        cols: &[u32],
        vals: &[f32],
        x: &[f32],
    ) -> f64 {
        // Unobserved pairs: xᵀα₀YᵀY x counts every item with C = α₀, p = 0; the observed
        // entries then correct it to C (p − s)² = (C − α₀)s² − 2Cps + Cp (p² = p).
        sym_matvec(simd, self.gram, x, &mut s.r);
        let mut loss = f64::from(dot(simd, &s.r, x));
        for (&col, &val) in cols.iter().zip(vals) {
            let score = f64::from(dot(simd, self.other.row(col as usize), x));
            let unobserved = f64::from(self.unobserved);
            let c_minus_unobserved = f64::from(self.alpha * val.abs()) - unobserved;
            let cp = if val > 0.0 {
                unobserved + c_minus_unobserved
            } else {
                0.0
            };
            loss += c_minus_unobserved * score * score - 2.0 * cp * score + cp;
        }
        loss
    }
}

/// One row's solve, for [`Arch::dispatch`].
struct Solve<'a, 's> {
    solver: &'a RowSolver<'s>,
    s: &'a mut Scratch,
    cols: &'a [u32],
    vals: &'a [f32],
    x: &'a mut [f32],
}

impl WithSimd for Solve<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Solve {
            solver,
            s,
            cols,
            vals,
            x,
        } = self;
        solver.solve_with(simd, s, cols, vals, x);
    }
}

/// One row's loss, for [`Arch::dispatch`].
struct RowLoss<'a, 's> {
    solver: &'a RowSolver<'s>,
    s: &'a mut Scratch,
    cols: &'a [u32],
    vals: &'a [f32],
    x: &'a [f32],
}

impl WithSimd for RowLoss<'_, '_> {
    type Output = f64;
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> f64 {
        let RowLoss {
            solver,
            s,
            cols,
            vals,
            x,
        } = self;
        solver.row_loss_with(simd, s, cols, vals, x)
    }
}
