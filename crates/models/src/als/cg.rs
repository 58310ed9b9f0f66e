//! Dense f32 kernels and the per-row conjugate-gradient solve of implicit ALS.
//!
//! Per row, the other side's factors of the row's items are first gathered into a
//! contiguous scratch matrix; every CG step then runs over it with two kernels: the dots
//! `y_kᵀp` of all rows, then `Σ_k t_k y_k`. The kernels work on contiguous slices
//! (fixed-size chunks and zipped iterators, so LLVM vectorises them without bounds
//! checks), and every reduction runs in a fixed order: a row's result depends only on its
//! inputs, never on the thread that computes it.

use crate::Factors;

/// Values per block of the vector kernels.
const LANES: usize = 16;

/// Residual norm² below which a row is taken as solved (as in implicit).
const SOLVED: f32 = 1e-20;

/// `a · b` (equal lengths): [`LANES`] running sums over blocks, reduced by a fixed tree.
#[inline(always)]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0f32;
    for (x, y) in at.iter().zip(bt) {
        tail += x * y;
    }
    // Fold the four 4-lane vectors into one, then its lanes.
    let mut s = [0f32; 4];
    for l in 0..4 {
        s[l] = (acc[l] + acc[l + 4]) + (acc[l + 8] + acc[l + 12]);
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + tail
}

/// `y += a·x` (equal lengths). A plain zip loop: LLVM's loop vectoriser handles it.
#[inline(always)]
pub(super) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    for (yv, xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

/// Columns of `out` kept in registers by [`sym_matvec`].
const MATVEC_COLS: usize = 32;

/// `out = G v` for a symmetric row-major `dim × dim` matrix `G` (`dim = v.len()`).
#[inline(never)]
pub(super) fn sym_matvec(g: &[f32], v: &[f32], out: &mut [f32]) {
    let dim = v.len();
    debug_assert_eq!(g.len(), dim * dim);
    debug_assert_eq!(out.len(), dim);
    // G is symmetric, so G v = Σ_j v_j · (row j of G). For each block of 32 columns the
    // sums stay in registers while the rows stream past.
    let (blocks, tail) = out.as_chunks_mut::<MATVEC_COLS>();
    for (b, o) in blocks.iter_mut().enumerate() {
        let mut acc = [0f32; MATVEC_COLS];
        for (row, &a) in g.chunks_exact(dim).zip(v) {
            let Some((seg, _)) = row[b * MATVEC_COLS..].split_first_chunk::<MATVEC_COLS>() else {
                unreachable!("a column block lies inside the row")
            };
            for l in 0..MATVEC_COLS {
                acc[l] += a * seg[l];
            }
        }
        *o = acc;
    }
    let start = dim - tail.len();
    tail.fill(0.0);
    for (row, &a) in g.chunks_exact(dim).zip(v) {
        axpy(a, &row[start..], tail);
    }
}

/// Copies the rows `cols` of `other` into `ys`, contiguously. The scattered rows mostly
/// miss the caches: a first pass only loads one value per cache line of each row, so
/// many misses are in flight at once, then the copies find the rows in cache.
#[inline(never)]
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
#[inline(never)]
fn row_dots(ys: &[f32], v: &[f32], out: &mut [f32]) {
    for (y, o) in ys.chunks_exact(v.len()).zip(out) {
        *o = dot(y, v);
    }
}

/// `acc += Σ_k t_k y_k` over the rows `y_k` of `ys`, four rows at a time so `acc` is
/// loaded and stored a quarter as often.
#[inline(never)]
fn accumulate_rows(ys: &[f32], t: &[f32], acc: &mut [f32]) {
    let dim = acc.len();
    let blocks = ys.chunks_exact(4 * dim);
    let rest = blocks.remainder();
    let (t4, tt) = t.as_chunks::<4>();
    for (rows, a) in blocks.zip(t4) {
        let (r0, r123) = rows.split_at(dim);
        let (r1, r23) = r123.split_at(dim);
        let (r2, r3) = r23.split_at(dim);
        for ((((o, x0), x1), x2), x3) in acc.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *o += (a[0] * x0 + a[1] * x1) + (a[2] * x2 + a[3] * x3);
        }
    }
    for (row, &a) in rest.chunks_exact(dim).zip(tt) {
        axpy(a, row, acc);
    }
}

/// Per-thread scratch of the row solves, grown to the longest row seen and reused.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// The row's other-side factors, gathered contiguously (`n × dim`).
    ys: Vec<f32>,
    /// `C − 1 = alpha·|r| − 1` per entry of the row.
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
    /// `YᵀY + λI` of the other side, row-major `dim × dim`.
    pub gram: &'a [f32],
    /// The other side's factors `Y`.
    pub other: &'a Factors,
    pub alpha: f32,
    pub cg_steps: usize,
}

impl RowSolver<'_> {
    /// Updates `x` towards the solution of `(YᵀC Y + λI) x = YᵀC p` for one row whose
    /// observed entries are `cols` with matrix values `vals`: `cg_steps` conjugate-gradient
    /// steps from the current `x`, exactly as implicit's `_least_squares_cg`. A row
    /// without entries gets a zero factor.
    pub(super) fn solve(&self, s: &mut Scratch, cols: &[u32], vals: &[f32], x: &mut [f32]) {
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

        // r = YᵀC p − (YᵀC Y + λI) x
        //   = −(YᵀY + λI) x + Σ_k (C_k p_k − (C_k − 1) y_kᵀx) y_k.
        sym_matvec(self.gram, x, r);
        r.iter_mut().for_each(|v| *v = -*v);
        row_dots(ys, x, t);
        for ((t, extra), &val) in t.iter_mut().zip(extra.iter_mut()).zip(vals) {
            let c_minus_1 = self.alpha * val.abs() - 1.0;
            *extra = c_minus_1;
            // C·p: p = 1 for a positive value, 0 otherwise (implicit's convention).
            let target = if val > 0.0 { 1.0 + c_minus_1 } else { 0.0 };
            *t = target - c_minus_1 * *t;
        }
        accumulate_rows(ys, t, r);
        p.copy_from_slice(r);
        let mut rs_old = dot(r, r);
        if rs_old < SOLVED {
            return;
        }
        for _ in 0..self.cg_steps {
            // Ap = (YᵀY + λI) p + Yᵀ(C − I)Y p, without forming YᵀC Y.
            sym_matvec(self.gram, p, ap);
            row_dots(ys, p, t);
            t.iter_mut().zip(extra.iter()).for_each(|(t, e)| *t *= e);
            accumulate_rows(ys, t, ap);
            let step = rs_old / dot(p, ap);
            axpy(step, p, x);
            axpy(-step, ap, r);
            let rs_new = dot(r, r);
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
    /// `Σ_i C_ui (p_ui − xᵀy_i)²` over all items, with `self.gram` = `YᵀY` (no λ).
    pub(super) fn row_loss(&self, s: &mut Scratch, cols: &[u32], vals: &[f32], x: &[f32]) -> f64 {
        // Unobserved pairs: xᵀYᵀY x counts every item with C = 1, p = 0; the observed
        // entries then correct it to C (p − s)² = (C − 1)s² − 2Cps + Cp (p² = p).
        sym_matvec(self.gram, x, &mut s.r);
        let mut loss = f64::from(dot(&s.r, x));
        for (&col, &val) in cols.iter().zip(vals) {
            let score = f64::from(dot(self.other.row(col as usize), x));
            let c_minus_1 = f64::from(self.alpha * val.abs()) - 1.0;
            let cp = if val > 0.0 { 1.0 + c_minus_1 } else { 0.0 };
            loss += c_minus_1 * score * score - 2.0 * cp * score + cp;
        }
        loss
    }
}
