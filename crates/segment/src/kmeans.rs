//! k-means over user vectors: linfa's k-means++ seeding, then our own Lloyd iterations.
//!
//! Why not linfa's `KMeans::fit` all the way: its Lloyd step measures each distance with
//! a scalar ndarray loop and updates centroids as "m_k-means" (the old centroid counts as
//! one more member), and it reports neither iterations nor assignments. Our Lloyd step
//! uses the same rule as the textbook (centroid = mean of its members; an empty segment
//! keeps its centroid), a vectorisable distance loop, and rayon over fixed chunks of rows
//! whose partial sums are combined in chunk order, so the result is the same at any
//! thread count. See the crate docs for measured times.

use std::borrow::Cow;

use clickrec_core::UserId;
use linfa::DatasetBase;
use linfa::prelude::Fit;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::ArrayView2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{CheckedSegment, SegmentError, UserVectors};

/// Rows per parallel work unit. Fixed, so partial sums never depend on the thread count.
const CHUNK_ROWS: usize = 4096;

/// Users assigned to k segments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segmentation {
    /// Number of segments.
    pub k: usize,
    /// Dimensions of the vectors (and centroids).
    pub dim: usize,
    /// Per user: the segment, or `None` for users without a vector.
    pub assignment: Vec<Option<u32>>,
    /// `k × dim` row-major.
    pub centroids: Vec<f32>,
    /// Sum over users with a vector of the squared distance to their centroid, in f64.
    pub inertia: f64,
    /// Lloyd iterations run (assignment + update steps) after seeding.
    pub iterations: u64,
}

impl Segmentation {
    /// The user's segment; `None` without a vector or outside the fitted user range.
    pub fn segment_of(&self, user: UserId) -> Option<u32> {
        self.assignment.get(user.0 as usize).copied().flatten()
    }

    /// Users per segment.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.k];
        for &s in self.assignment.iter().flatten() {
            sizes[s as usize] += 1;
        }
        sizes
    }

    /// Users without a vector (and so without a segment).
    pub fn users_without_vector(&self) -> usize {
        self.assignment.iter().filter(|a| a.is_none()).count()
    }

    /// Centroid of segment `s` (panics if `s >= k`).
    pub fn centroid(&self, s: usize) -> &[f32] {
        &self.centroids[s * self.dim..(s + 1) * self.dim]
    }
}

/// Another engine's k-means: given the points (`n × dim`, row-major), `dim` and `k`, the
/// `k × dim` centroids, or a message saying why not.
pub type CentroidFit<'a> = &'a dyn Fn(&[f32], usize, usize) -> Result<Vec<f32>, String>;

/// Fits `params.k` segments on the users of `vectors` that have a vector: k-means++
/// seeding by linfa-clustering (seeded by `seed`), then Lloyd iterations until no user
/// changes segment, the centroids move less than `tolerance`, or `max_iterations`.
/// Identical for the same seed at any thread count. With `centres`, that engine fits the
/// centroids instead and each user joins the nearest (`iterations` is then 0).
pub fn fit_segments(
    vectors: &UserVectors,
    params: &CheckedSegment,
    seed: u64,
    centres: Option<CentroidFit<'_>>,
) -> Result<Segmentation, SegmentError> {
    let points = Points::of(vectors);
    fit_points(&points, vectors, params, seed, centres)
}

/// Inertia for each k of `ks` (same vectors, parameters, seed and engine), to help choose k.
pub fn inertia_sweep(
    vectors: &UserVectors,
    ks: &[usize],
    params: &CheckedSegment,
    seed: u64,
    centres: Option<CentroidFit<'_>>,
) -> Result<Vec<(usize, f64)>, SegmentError> {
    let points = Points::of(vectors);
    ks.iter()
        .map(|&k| {
            let params = params
                .with_k(k)
                .ok_or_else(|| SegmentError::param("sweep", "k values of at least 1", k))?;
            Ok((
                k,
                fit_points(&points, vectors, &params, seed, centres)?.inertia,
            ))
        })
        .collect()
}

/// The users with a vector, as one contiguous row-major block.
struct Points<'a> {
    data: Cow<'a, [f32]>,
    /// User index of each row.
    users: Vec<u32>,
}

impl<'a> Points<'a> {
    fn of(vectors: &'a UserVectors) -> Points<'a> {
        let users: Vec<u32> = (0..vectors.n_users() as u32)
            .filter(|&u| vectors.has_vector()[u as usize])
            .collect();
        let data = if users.len() == vectors.n_users() {
            Cow::Borrowed(vectors.rows())
        } else {
            let mut data = Vec::with_capacity(users.len() * vectors.dim());
            for &u in &users {
                data.extend_from_slice(vectors.row(u as usize).unwrap_or_default());
            }
            Cow::Owned(data)
        };
        Points { data, users }
    }
}

fn fit_points(
    points: &Points<'_>,
    vectors: &UserVectors,
    params: &CheckedSegment,
    seed: u64,
    centres: Option<CentroidFit<'_>>,
) -> Result<Segmentation, SegmentError> {
    let p = params.params();
    let (k, dim, n) = (p.k, vectors.dim(), points.users.len());
    if k > n || dim == 0 {
        return Err(SegmentError::TooFewUsers { k, users: n });
    }
    let fit = match centres {
        Some(fit) => {
            let centroids = fit(&points.data, dim, k).map_err(SegmentError::KMeans)?;
            if centroids.len() != k * dim {
                return Err(SegmentError::KMeans(format!(
                    "{} centroid values for k = {k} × {dim} dimensions",
                    centroids.len()
                )));
            }
            // No iteration: only the assignment pass against the given centroids.
            lloyd(&points.data, dim, centroids, 0, p.tolerance)
        }
        None => {
            let init = kmeans_plus_plus(&points.data, n, dim, k, seed)?;
            lloyd(&points.data, dim, init, p.max_iterations, p.tolerance)
        }
    };
    let mut assignment = vec![None; vectors.n_users()];
    for (&u, &s) in points.users.iter().zip(&fit.assignment) {
        assignment[u as usize] = Some(s);
    }
    Ok(Segmentation {
        k,
        dim,
        assignment,
        centroids: fit.centroids,
        inertia: fit.inertia,
        iterations: fit.iterations,
    })
}

/// linfa-clustering's k-means++ seeding. linfa exposes the seeding only through `fit`, so
/// this runs one linfa iteration (seeding plus one m_k-means update) and starts from its
/// centroids.
fn kmeans_plus_plus(
    data: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    seed: u64,
) -> Result<Vec<f32>, SegmentError> {
    let records =
        ArrayView2::from_shape((n, dim), data).map_err(|e| SegmentError::KMeans(e.to_string()))?;
    let dataset = DatasetBase::from(records);
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .n_runs(1)
        .max_n_iterations(1)
        .tolerance(1.0)
        .init_method(KMeansInit::KMeansPlusPlus)
        .fit(&dataset)
        .map_err(|e| SegmentError::KMeans(e.to_string()))?;
    Ok(model.centroids().iter().copied().collect())
}

/// Result of [`lloyd`].
#[derive(Debug)]
pub(crate) struct Lloyd {
    pub assignment: Vec<u32>,
    pub centroids: Vec<f32>,
    pub iterations: u64,
    /// Of the returned assignment against the returned centroids, in f64.
    pub inertia: f64,
}

/// One chunk's contribution to the update step.
struct Partial {
    sums: Vec<f64>,
    counts: Vec<u64>,
    changed: u64,
}

/// Lloyd's algorithm from `centroids` (`k × dim`) over `points` (`n × dim`): assign each
/// point to its nearest centroid (ties → lower index), move each centroid to the mean of
/// its points (an empty one stays), until no point moves, the centroids move less than
/// `tolerance` (Frobenius norm), or `max_iterations`. A last assignment pass makes the
/// assignment and inertia match the returned centroids.
pub(crate) fn lloyd(
    points: &[f32],
    dim: usize,
    mut centroids: Vec<f32>,
    max_iterations: u64,
    tolerance: f64,
) -> Lloyd {
    let k = centroids.len() / dim.max(1);
    let n = points.len() / dim.max(1);
    let mut assignment = vec![u32::MAX; n];
    let mut iterations = 0;
    while iterations < max_iterations && dim > 0 {
        let partials: Vec<Partial> = points
            .par_chunks(CHUNK_ROWS * dim)
            .zip(assignment.par_chunks_mut(CHUNK_ROWS))
            .map(|(rows, assigned)| {
                let mut part = Partial {
                    sums: vec![0.0; k * dim],
                    counts: vec![0; k],
                    changed: 0,
                };
                for (x, a) in rows.chunks_exact(dim).zip(assigned) {
                    let (best, _) = nearest(x, &centroids, dim);
                    if best != *a {
                        part.changed += 1;
                        *a = best;
                    }
                    let b = best as usize;
                    part.counts[b] += 1;
                    part.sums[b * dim..(b + 1) * dim]
                        .iter_mut()
                        .zip(x)
                        .for_each(|(s, &v)| *s += f64::from(v));
                }
                part
            })
            .collect();
        let mut sums = vec![0f64; k * dim];
        let mut counts = vec![0u64; k];
        let mut changed = 0;
        for part in &partials {
            sums.iter_mut().zip(&part.sums).for_each(|(s, p)| *s += p);
            counts
                .iter_mut()
                .zip(&part.counts)
                .for_each(|(c, p)| *c += p);
            changed += part.changed;
        }
        iterations += 1;
        let mut shift = 0f64;
        for (j, &count) in counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let c = &mut centroids[j * dim..(j + 1) * dim];
            for (c, s) in c.iter_mut().zip(&sums[j * dim..(j + 1) * dim]) {
                let new = (s / count as f64) as f32;
                let d = f64::from(new) - f64::from(*c);
                shift += d * d;
                *c = new;
            }
        }
        if changed == 0 || shift.sqrt() < tolerance {
            break;
        }
    }
    let inertia = if dim == 0 {
        0.0
    } else {
        let parts: Vec<f64> = points
            .par_chunks(CHUNK_ROWS * dim)
            .zip(assignment.par_chunks_mut(CHUNK_ROWS))
            .map(|(rows, assigned)| {
                let mut inertia = 0f64;
                for (x, a) in rows.chunks_exact(dim).zip(assigned) {
                    let (best, _) = nearest(x, &centroids, dim);
                    *a = best;
                    let c = &centroids[best as usize * dim..(best as usize + 1) * dim];
                    inertia += x
                        .iter()
                        .zip(c)
                        .map(|(&x, &c)| (f64::from(x) - f64::from(c)).powi(2))
                        .sum::<f64>();
                }
                inertia
            })
            .collect();
        parts.iter().sum()
    };
    Lloyd {
        assignment,
        centroids,
        iterations,
        inertia,
    }
}

/// Index of the nearest centroid (ties → lower index) and its squared distance.
#[inline]
fn nearest(x: &[f32], centroids: &[f32], dim: usize) -> (u32, f32) {
    let mut best = (0u32, f32::INFINITY);
    for (j, c) in centroids.chunks_exact(dim).enumerate() {
        let d = squared_distance(x, c);
        if d < best.1 {
            best = (j as u32, d);
        }
    }
    best
}

/// Squared Euclidean distance with eight independent lanes, so the loop vectorises.
#[inline]
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let (a8, a_rest) = a.as_chunks::<8>();
    let (b8, b_rest) = b.as_chunks::<8>();
    let mut lanes = [0f32; 8];
    for (x, y) in a8.iter().zip(b8) {
        for l in 0..8 {
            let d = x[l] - y[l];
            lanes[l] += d * d;
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += (x - y) * (x - y);
    }
    sum
}
