//! Confidence weights and the user-item matrix built from a (train) log.

use clickrec_core::{Behavior, EventLog, MatrixError, UserItemMatrix};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, config_error};
use crate::rows::{par_chunks, user_runs};

/// `[prep.weights]`: how much each event says about a user's interest in an item.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeightsConfig {
    /// Confidence of a page view. Default 1.
    pub pv: f64,
    /// Of a favourite. Default 2.
    pub fav: f64,
    /// Of an add-to-cart. Default 3.
    pub cart: f64,
    /// Of a purchase. Default 4.
    pub buy: f64,
    /// Exponential decay: an event `half_life_s` seconds older than the newest event of
    /// the weighted log counts half. Absent (the default): no decay. Must be > 0.
    pub half_life_s: Option<f64>,
    /// Store `ln(1 + summed weight)`, damping heavy repeat viewers. Default false.
    pub log_scale: bool,
}

impl Default for WeightsConfig {
    fn default() -> Self {
        WeightsConfig {
            pv: 1.0,
            fav: 2.0,
            cart: 3.0,
            buy: 4.0,
            half_life_s: None,
            log_scale: false,
        }
    }
}

impl WeightsConfig {
    /// Weights must be finite and ≥ 0 (0 ignores a behaviour), and not all 0.
    pub fn check(&self) -> Result<CheckedWeights, ConfigError> {
        let keys = [
            ("prep.weights.pv", self.pv),
            ("prep.weights.fav", self.fav),
            ("prep.weights.cart", self.cart),
            ("prep.weights.buy", self.buy),
        ];
        for (key, w) in keys {
            if !(w.is_finite() && w >= 0.0) {
                return Err(config_error(
                    key,
                    "a finite weight ≥ 0 (0 ignores the behaviour)",
                    w,
                ));
            }
        }
        if keys.iter().all(|(_, w)| *w == 0.0) {
            return Err(config_error(
                "prep.weights",
                "at least one behaviour weight > 0",
                "all weights 0",
            ));
        }
        if let Some(h) = self.half_life_s
            && !(h.is_finite() && h > 0.0)
        {
            return Err(config_error(
                "prep.weights.half_life_s",
                "a half-life > 0 seconds (leave the key out for no decay)",
                h,
            ));
        }
        Ok(CheckedWeights {
            by_behavior: [self.pv, self.fav, self.cart, self.buy],
            half_life_s: self.half_life_s,
            log_scale: self.log_scale,
        })
    }
}

/// Valid weighting parameters; see [`WeightsConfig`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckedWeights {
    by_behavior: [f64; 4],
    half_life_s: Option<f64>,
    log_scale: bool,
}

impl Default for CheckedWeights {
    fn default() -> Self {
        WeightsConfig::default()
            .check()
            .expect("the default weights are valid")
    }
}

impl CheckedWeights {
    /// The base confidence of one event of `behavior`.
    pub fn weight(&self, behavior: Behavior) -> f64 {
        self.by_behavior[usize::from(behavior.code())]
    }
    /// A user's matrix row after more events: `row` (columns increasing, as
    /// [`build_matrix`] wrote it) with each of `events` added at its behaviour's weight,
    /// summed per item as `build_matrix` sums (before `log_scale`). New events are taken
    /// as no older than the train's newest, so the decay leaves them at full weight and
    /// the train values as they are. From an empty row, a user's train events in time
    /// order give exactly their train row.
    pub fn add_events(
        &self,
        row: (&[u32], &[f32]),
        events: impl IntoIterator<Item = (clickrec_core::ItemId, Behavior)>,
    ) -> (Vec<u32>, Vec<f32>) {
        let (cols, vals) = row;
        let mut sums: Vec<(u32, f64)> = cols
            .iter()
            .zip(vals)
            .map(|(&c, &v)| {
                let v = f64::from(v);
                (c, if self.log_scale { v.exp_m1() } else { v })
            })
            .collect();
        sums.extend(
            events
                .into_iter()
                .filter(|&(_, b)| self.weight(b) > 0.0)
                .map(|(item, b)| (item.0, self.weight(b))),
        );
        // Stable: per item the train value first, then the new events in their order.
        sums.sort_by_key(|s| s.0);
        let mut out = (Vec::new(), Vec::new());
        for group in sums.chunk_by(|a, b| a.0 == b.0) {
            let mut total = 0f64;
            for &(_, w) in group {
                total += w;
            }
            out.0.push(group[0].0);
            out.1
                .push(if self.log_scale { total.ln_1p() } else { total } as f32);
        }
        out
    }

    /// The base confidence of one event per behaviour code (pv, fav, cart, buy), the
    /// models' behaviour weights in `f32`.
    pub fn per_behavior(&self) -> [f32; 4] {
        self.by_behavior.map(|w| w as f32)
    }
    pub fn half_life_s(&self) -> Option<f64> {
        self.half_life_s
    }
    pub fn log_scale(&self) -> bool {
        self.log_scale
    }
}

/// Sums event confidences per (user, item) into a CSR matrix of `n_users × n_items`
/// (the id-map sizes, so row and column indices are the log's dense ids).
///
/// An event counts `weight(behaviour) × w × 0.5^((t_ref − t) / half_life)`, where `w` is
/// the event's own weight (the input's weight column; 1 without one), `t_ref` is
/// the newest timestamp in `log`; sums run in time order in f64, then `ln(1 + sum)` when
/// log scaling is on, stored as f32. Events of a behaviour weighted 0 add no entry.
pub fn build_matrix(
    log: &EventLog,
    n_users: usize,
    n_items: usize,
    weights: &CheckedWeights,
) -> Result<UserItemMatrix, MatrixError> {
    if let Some(u) = log.users().last()
        && u.0 as usize >= n_users
    {
        return Err(MatrixError::IdOutOfRange {
            kind: "user",
            id: u.0,
            len: n_users,
        });
    }
    if let Some(i) = log.items().iter().find(|i| i.0 as usize >= n_items) {
        return Err(MatrixError::IdOutOfRange {
            kind: "item",
            id: i.0,
            len: n_items,
        });
    }
    let t_ref = log.timestamps().iter().copied().max().unwrap_or(0);
    let (users, items, behaviors, times) =
        (log.users(), log.items(), log.behaviors(), log.timestamps());
    let row_weights = log.weights();
    let event_weight = |r: usize| -> f64 {
        let base = weights.weight(behaviors[r]) * row_weights.map_or(1.0, |w| f64::from(w[r]));
        match weights.half_life_s {
            Some(h) if base > 0.0 => {
                let age = t_ref.saturating_sub(times[r]) as f64;
                base * (-age / h).exp2()
            }
            _ => base,
        }
    };
    let parts = par_chunks(users, |rows| {
        let mut row_lens: Vec<(u32, usize)> = Vec::new();
        let mut indices: Vec<u32> = Vec::with_capacity(rows.len());
        let mut data: Vec<f32> = Vec::with_capacity(rows.len());
        let mut pairs: Vec<(u32, f64)> = Vec::new();
        let mut keys: Vec<u64> = Vec::new();
        for run in user_runs(users, rows) {
            let start = indices.len();
            let mut push = |item: u32, sum: f64| {
                indices.push(item);
                data.push(if weights.log_scale { sum.ln_1p() } else { sum } as f32);
            };
            // Sums run over equal items in row (= time) order, so each has one value.
            if run.len() <= u32::MAX as usize {
                // Packed (item, row offset) keys: one fast unstable sort, order still fixed.
                keys.clear();
                keys.extend(
                    run.clone()
                        .filter(|&r| weights.weight(behaviors[r]) > 0.0)
                        .map(|r| (u64::from(items[r].0) << 32) | (r - run.start) as u64),
                );
                keys.sort_unstable();
                let mut k = 0;
                while k < keys.len() {
                    let item = (keys[k] >> 32) as u32;
                    let mut sum = 0f64;
                    while k < keys.len() && (keys[k] >> 32) as u32 == item {
                        sum += event_weight(run.start + (keys[k] & 0xFFFF_FFFF) as usize);
                        k += 1;
                    }
                    push(item, sum);
                }
            } else {
                pairs.clear();
                pairs.extend(
                    run.clone()
                        .filter(|&r| weights.weight(behaviors[r]) > 0.0)
                        .map(|r| (items[r].0, event_weight(r))),
                );
                pairs.sort_by_key(|p| p.0);
                for group in pairs.chunk_by(|a, b| a.0 == b.0) {
                    push(group[0].0, group.iter().map(|p| p.1).sum());
                }
            }
            row_lens.push((users[run.start].0, indices.len() - start));
        }
        (row_lens, indices, data)
    });
    let nnz = parts.iter().map(|p| p.1.len()).sum();
    let mut row_len = vec![0usize; n_users];
    let mut indices = Vec::with_capacity(nnz);
    let mut data = Vec::with_capacity(nnz);
    for (lens, i, d) in parts {
        for (u, len) in lens {
            row_len[u as usize] = len;
        }
        indices.extend_from_slice(&i);
        data.extend_from_slice(&d);
    }
    let mut indptr = Vec::with_capacity(n_users + 1);
    indptr.push(0);
    let mut total = 0;
    for len in row_len {
        total += len;
        indptr.push(total);
    }
    UserItemMatrix::from_csr_parts(n_users, n_items, indptr, indices, data)
}
