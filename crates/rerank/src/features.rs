//! Features per (user, candidate) and their standardisation.

use serde::{Deserialize, Serialize};

use crate::History;
use crate::candidates::UserCandidates;
use crate::history::UserHistory;

/// Features after the per-generator ones, in order.
pub const BASE_FEATURES: [&str; 10] = [
    "item_popularity",
    "item_popularity_recent",
    "category_share",
    "user_pv",
    "user_fav",
    "user_cart",
    "user_buy",
    "hours_since_last",
    "never_interacted",
    "user_activity",
];

/// Feature names in column order: `{g}_score`, `{g}_rank`, `{g}_missing` per generator,
/// then [`BASE_FEATURES`].
pub fn feature_names(generator_names: &[&str]) -> Vec<String> {
    let mut names = Vec::with_capacity(3 * generator_names.len() + BASE_FEATURES.len());
    for g in generator_names {
        names.push(format!("{g}_score"));
        names.push(format!("{g}_rank"));
        names.push(format!("{g}_missing"));
    }
    names.extend(BASE_FEATURES.iter().map(|s| (*s).to_owned()));
    names
}

/// Number of feature columns for `n_generators` generators.
pub(crate) fn n_features(n_generators: usize) -> usize {
    3 * n_generators + BASE_FEATURES.len()
}

fn ln1p(x: f64) -> f32 {
    x.ln_1p() as f32
}

/// Appends the feature row of candidate `k` (see [`feature_names`]); `m` is the list length
/// per generator, so a missing item ranks `m + 1`.
pub(crate) fn write_row(
    candidates: &UserCandidates,
    k: usize,
    m: usize,
    user: &UserHistory,
    history: &History<'_>,
    out: &mut Vec<f32>,
) {
    for g in 0..candidates.n_generators() {
        match candidates.hit(k, g) {
            Some(hit) => out.extend([hit.score, hit.rank as f32, 0.0]),
            None => out.extend([0.0, (m as f64 + 1.0) as f32, 1.0]),
        }
    }
    let item = candidates.items[k];
    out.push(history.popularity(item));
    out.push(history.popularity_recent(item));
    out.push(user.category_share(history.category(item)) as f32);
    match user.item(item) {
        Some(stats) => {
            out.extend(stats.counts.map(|c| ln1p(f64::from(c))));
            // In f64: two i64 times may be further apart than an i64 holds.
            let hours = (history.now() as f64 - stats.last as f64).max(0.0) / 3600.0;
            out.push(ln1p(hours));
            out.push(0.0);
        }
        None => out.extend([0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    }
    out.push(ln1p(user.events as f64));
}

/// Per-feature mean and standard deviation of the training rows: `(x − mean) / std`.
/// A constant feature gets std 1 (it then standardises to 0 and carries no weight).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStandardizer")]
pub struct Standardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Standardizer {
    /// Fits on row-major `rows` of `n_features` columns (f64 sums, in row order).
    pub fn fit(rows: &[f32], n_features: usize) -> Standardizer {
        Self::fit_blocks(std::slice::from_ref(&rows), n_features)
    }

    /// Fits on several blocks of rows as if they were concatenated.
    pub(crate) fn fit_blocks<R: AsRef<[f32]>>(blocks: &[R], n_features: usize) -> Standardizer {
        let mut mean = vec![0f64; n_features];
        let mut n = 0usize;
        let rows = || {
            blocks
                .iter()
                .flat_map(|b| b.as_ref().chunks_exact(n_features.max(1)))
        };
        for row in rows() {
            n += 1;
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, &x)| *m += f64::from(x));
        }
        if n == 0 {
            return Standardizer {
                mean,
                std: vec![1.0; n_features],
            };
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0f64; n_features];
        for row in rows() {
            var.iter_mut()
                .zip(row)
                .zip(&mean)
                .for_each(|((v, &x), m)| *v += (f64::from(x) - m).powi(2));
        }
        let std = var
            .iter()
            .zip(&mean)
            .map(|(v, m)| {
                let s = (v / n as f64).sqrt();
                // Rounding leaves a constant column a tiny non-zero spread: treat as constant.
                if s.is_finite() && s > 1e-9 * m.abs().max(1.0) {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, std }
    }

    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    pub fn std(&self) -> &[f64] {
        &self.std
    }

    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Appends the standardised `row` to `out`.
    pub fn transform_into(&self, row: &[f32], out: &mut Vec<f64>) {
        out.extend(
            row.iter()
                .zip(&self.mean)
                .zip(&self.std)
                .map(|((&x, m), s)| (f64::from(x) - m) / s),
        );
    }
}

/// The serialized form, checked before it becomes a [`Standardizer`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl TryFrom<RawStandardizer> for Standardizer {
    type Error = String;

    fn try_from(raw: RawStandardizer) -> Result<Self, String> {
        if raw.mean.len() != raw.std.len() {
            return Err(format!(
                "standardizer has {} means but {} standard deviations",
                raw.mean.len(),
                raw.std.len()
            ));
        }
        if let Some(k) = raw.mean.iter().position(|m| !m.is_finite()) {
            return Err(format!("standardizer mean {k} is not finite"));
        }
        if let Some(k) = raw.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(format!("standardizer std {k} is not a finite value > 0"));
        }
        Ok(Standardizer {
            mean: raw.mean,
            std: raw.std,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_follow_generators_then_base_features() {
        let names = feature_names(&["als", "pop"]);
        assert_eq!(names.len(), n_features(2));
        assert_eq!(
            &names[..7],
            &[
                "als_score",
                "als_rank",
                "als_missing",
                "pop_score",
                "pop_rank",
                "pop_missing",
                "item_popularity"
            ]
        );
        assert_eq!(names.last().unwrap(), "user_activity");
    }

    #[test]
    fn standardizer_uses_population_std_and_maps_constant_columns_to_zero() {
        // Columns: (1, 3) → mean 2, std 1; constant 0.1 → std 1; (0, 4) → mean 2, std 2.
        let rows = [1.0, 0.1, 0.0, 3.0, 0.1, 4.0];
        let s = Standardizer::fit(&rows, 3);
        assert_eq!(s.mean()[0], 2.0);
        assert_eq!(s.std(), &[1.0, 1.0, 2.0]);
        let mut out = Vec::new();
        s.transform_into(&[3.0, 0.1, 0.0], &mut out);
        assert_eq!(out[0], 1.0);
        assert!(out[1].abs() < 1e-12);
        assert_eq!(out[2], -1.0);
        // Blocks give the same fit as one concatenated slice.
        assert_eq!(Standardizer::fit_blocks(&[&rows[..3], &rows[3..]], 3), s);
        // No rows: identity.
        let empty = Standardizer::fit(&[], 2);
        assert_eq!(
            (empty.mean(), empty.std()),
            (&[0.0, 0.0][..], &[1.0, 1.0][..])
        );
    }

    #[test]
    fn loaded_standardizers_are_checked() {
        let ok: Standardizer = serde_json::from_str(r#"{"mean":[1.0],"std":[2.0]}"#).unwrap();
        assert_eq!(ok.std(), &[2.0]);
        let err = serde_json::from_str::<Standardizer>(r#"{"mean":[1.0],"std":[0.0]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("std 0"), "{err}");
        assert!(serde_json::from_str::<Standardizer>(r#"{"mean":[1.0],"std":[]}"#).is_err());
    }
}
