//! User vectors for k-means: category profiles from the train log, or model factors.
//!
//! Rows are L2-normalised so that k-means compares what users do (their mix of
//! categories, their direction in factor space) rather than how much they do.

use clickrec_core::{CategoryId, EventLog};
use serde::{Deserialize, Serialize};

/// One vector per user (row-major `n_users × dim` f32); users without a vector (no train
/// events, or an all-zero row) take no part in k-means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserVectors {
    n_users: usize,
    dim: usize,
    rows: Vec<f32>,
    has_vector: Vec<bool>,
    /// For category profiles: the category of each dimension but the last ("other").
    categories: Option<Vec<CategoryId>>,
}

impl UserVectors {
    /// Category profiles: the `dims` categories with the largest behaviour-weighted event
    /// total in `log` (ties → lower id; categories with no weight are never chosen), plus
    /// one "other" dimension for the rest. Each user's row holds their weighted event
    /// totals per dimension, L2-normalised. `behavior_weights` is indexed by
    /// `Behavior::code()`. Users with no weighted events, and events of users at or
    /// beyond `n_users`, give no vector.
    pub fn category_profiles(
        log: &EventLog,
        n_users: usize,
        behavior_weights: [f32; 4],
        dims: usize,
    ) -> UserVectors {
        let weight_of = |row: usize| f64::from(log.event_weight(row, &behavior_weights));
        let n_categories = id_space(log.categories().iter().map(|c| c.0));
        let mut totals = vec![0f64; n_categories];
        for (row, c) in log.categories().iter().enumerate() {
            totals[c.0 as usize] += weight_of(row);
        }
        let mut ranked: Vec<u32> = (0..n_categories as u32)
            .filter(|&c| totals[c as usize] > 0.0)
            .collect();
        // Highest total first, ties by lower id (the sort is stable over increasing ids).
        ranked.sort_by(|&a, &b| totals[b as usize].total_cmp(&totals[a as usize]));
        ranked.truncate(dims);
        let chosen: Vec<CategoryId> = ranked.iter().map(|&c| CategoryId(c)).collect();
        let other = chosen.len();
        let dim = other + 1;
        let mut column = vec![other; n_categories];
        for (d, c) in chosen.iter().enumerate() {
            column[c.0 as usize] = d;
        }

        let mut vectors = UserVectors::none(n_users, dim, Some(chosen));
        let mut sums = vec![0f64; dim];
        for (user, range) in log.user_rows() {
            let u = user.0 as usize;
            if u >= n_users {
                continue;
            }
            sums.iter_mut().for_each(|s| *s = 0.0);
            for row in range {
                sums[column[log.categories()[row].0 as usize]] += weight_of(row);
            }
            vectors.set_normalised(u, &sums);
        }
        vectors
    }

    /// Vectors from model factors (e.g. ALS user factors), `n_users × dim` row-major,
    /// L2-normalised per row. All-zero rows, rows with non-finite values, and rows that
    /// `data` does not fully cover (when it is shorter than `n_users × dim`) give no
    /// vector; data beyond `n_users × dim` is ignored. This is where model factors enter
    /// linfa's ndarray 0.16 world: through a plain slice.
    pub fn from_factors(n_users: usize, dim: usize, data: &[f32]) -> UserVectors {
        let mut vectors = UserVectors::none(n_users, dim, None);
        if dim > 0 {
            let mut sums = vec![0f64; dim];
            for (u, source) in data.chunks_exact(dim).take(n_users).enumerate() {
                if source.iter().any(|v| !v.is_finite()) {
                    continue;
                }
                sums.iter_mut()
                    .zip(source)
                    .for_each(|(s, &v)| *s = f64::from(v));
                vectors.set_normalised(u, &sums);
            }
        }
        vectors
    }

    /// `n_users` users, none with a vector yet ([`UserVectors::set_normalised`] gives one):
    /// what both kinds of vectors start from.
    fn none(n_users: usize, dim: usize, categories: Option<Vec<CategoryId>>) -> UserVectors {
        UserVectors {
            n_users,
            dim,
            rows: vec![0f32; n_users * dim],
            has_vector: vec![false; n_users],
            categories,
        }
    }

    /// User `u`'s vector: `sums` L2-normalised; none when their norm is 0 or not finite.
    fn set_normalised(&mut self, u: usize, sums: &[f64]) {
        let dim = self.dim;
        self.has_vector[u] = normalise_into(sums, &mut self.rows[u * dim..(u + 1) * dim]);
    }

    /// Size of the user-id space (rows, with or without a vector).
    pub fn n_users(&self) -> usize {
        self.n_users
    }

    /// Dimensions of each vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All rows, `n_users × dim` row-major; rows without a vector are zero.
    pub fn rows(&self) -> &[f32] {
        &self.rows
    }

    /// The user's vector, if they have one.
    pub fn row(&self, user: usize) -> Option<&[f32]> {
        (user < self.n_users && self.has_vector[user])
            .then(|| &self.rows[user * self.dim..(user + 1) * self.dim])
    }

    /// Per user: whether they have a vector.
    pub fn has_vector(&self) -> &[bool] {
        &self.has_vector
    }

    /// Number of users with a vector.
    pub fn n_with_vector(&self) -> usize {
        self.has_vector.iter().filter(|&&h| h).count()
    }

    /// For category profiles, the category of each dimension except the last, which is
    /// "other"; `None` for factor vectors.
    pub fn categories(&self) -> Option<&[CategoryId]> {
        self.categories.as_deref()
    }
}

/// Writes `sums / ‖sums‖` into `out`; false (and `out` left zero) when the norm is zero.
fn normalise_into(sums: &[f64], out: &mut [f32]) -> bool {
    let norm = sums.iter().map(|s| s * s).sum::<f64>().sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return false;
    }
    out.iter_mut()
        .zip(sums)
        .for_each(|(o, s)| *o = (s / norm) as f32);
    true
}

/// One more than the largest id (0 when there is none): the length of a table indexed by them.
pub(crate) fn id_space(ids: impl Iterator<Item = u32>) -> usize {
    ids.map(|id| id as usize + 1).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clickrec_core::{Behavior, ItemId, UserId};

    fn close(a: &[f32], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (f64::from(*x) - y).abs() < 1e-6)
    }

    #[test]
    fn category_profile_matches_hand_computed_values() {
        // Weights pv 1, fav 2, cart 3, buy 4.
        // user 0: cat 5 pv, cat 5 buy, cat 7 cart          → cat5 = 5, cat7 = 3
        // user 2: cat 7 pv, cat 9 fav, cat 1 pv            → cat7 = 1, cat9 = 2, cat1 = 1
        // totals: cat5 = 5, cat7 = 4, cat9 = 2, cat1 = 1 → top 2 = [5, 7], other = {9, 1}
        let rows = [
            (0, 5, Behavior::Pv),
            (0, 5, Behavior::Buy),
            (0, 7, Behavior::Cart),
            (2, 7, Behavior::Pv),
            (2, 9, Behavior::Fav),
            (2, 1, Behavior::Pv),
        ];
        let log = EventLog::from_columns(
            rows.iter().map(|r| UserId(r.0)).collect(),
            vec![ItemId(0); rows.len()],
            rows.iter().map(|r| CategoryId(r.1)).collect(),
            rows.iter().map(|r| r.2).collect(),
            (0..rows.len() as i64).collect(),
        )
        .unwrap();
        let v = UserVectors::category_profiles(&log, 4, [1.0, 2.0, 3.0, 4.0], 2);
        assert_eq!(v.categories().unwrap(), &[CategoryId(5), CategoryId(7)]);
        assert_eq!(v.dim(), 3);
        assert_eq!(v.has_vector(), &[true, false, true, false]);
        let n0 = 34f64.sqrt(); // (5, 3, 0)
        assert!(close(v.row(0).unwrap(), &[5.0 / n0, 3.0 / n0, 0.0]));
        let n2 = 10f64.sqrt(); // (0, 1, 3)
        assert!(close(v.row(2).unwrap(), &[0.0, 1.0 / n2, 3.0 / n2]));
        assert_eq!(v.row(1), None);
        assert_eq!(v.n_with_vector(), 2);

        // Ties go to the lower category id: weights make cat 5 and cat 7 both 3.
        let v = UserVectors::category_profiles(&log, 4, [1.0, 2.0, 2.0, 2.0], 1);
        assert_eq!(v.categories().unwrap(), &[CategoryId(5)]);
        // More dims than categories: every weighted category, plus "other".
        let v = UserVectors::category_profiles(&log, 4, [1.0, 2.0, 3.0, 4.0], 64);
        assert_eq!(v.dim(), 5);
        assert_eq!(
            v.categories().unwrap(),
            &[CategoryId(5), CategoryId(7), CategoryId(9), CategoryId(1)]
        );
    }

    #[test]
    fn factor_rows_are_normalised_and_zero_rows_have_no_vector() {
        let data = [3.0, 4.0, 0.0, 0.0, -1.0, 0.0, f32::NAN, 1.0, 6.0];
        let v = UserVectors::from_factors(5, 2, &data);
        assert_eq!(v.has_vector(), &[true, false, true, false, false]);
        assert!(close(v.row(0).unwrap(), &[0.6, 0.8]));
        assert!(close(v.row(2).unwrap(), &[-1.0, 0.0]));
        // The NaN row, and row 4 that data (9 values, half a row left) does not cover.
        assert_eq!(v.row(3), None);
        assert_eq!(v.row(4), None);
        assert_eq!(v.rows().len(), 10);
        assert_eq!(&v.rows()[2..4], &[0.0, 0.0]);
        assert_eq!(UserVectors::from_factors(3, 0, &[]).n_with_vector(), 0);
    }
}
