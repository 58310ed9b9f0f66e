//! The fitted session-kNN model and its per-session state.
//!
//! **Index.** Sessions get a recency rank (by end time, then session number; higher is
//! more recent). Each item keeps the ranks of its distinct sessions in decreasing order,
//! so the `m` most recent sessions of an item are a prefix of its list.
//!
//! **Candidates.** As in session-rec, the candidates are the `sample_size` most recent
//! sessions that share any item with the current session. The state keeps that sample
//! (ranks, decreasing) and, when the session brings a new distinct item, merges it with
//! the first `sample_size` entries of the item's list: the most recent `m` of a union lie
//! in the union of the parts' most recent `m`. So a prediction touches only candidate
//! sessions, never a whole item list (the idea of VMIS-kNN, Kersbergen et al. 2022).

use clickrec_core::{ItemId, UserId};
use clickrec_recommend::{SessionRecommender, SessionState};
use rustc_hash::FxHashMap;

use super::params::{CheckedKnn, Similarity};
use crate::sessions::TrainSessions;

/// Largest exponent of STAN's neighbour-recency weight `exp(−Δt/λ)`: e^40 ≈ 2.4·10^17,
/// far above any weight of a neighbour less than 40·λ (200 days at the default λ) in the
/// future, far below f32's limit (≈ e^88) even summed over many neighbours.
const MAX_RECENCY_EXPONENT: f64 = 40.0;

/// A fitted session-kNN model (SKNN, V-SKNN, STAN or V-STAN, as its params say).
#[derive(Clone, Debug)]
pub struct SessionKnn {
    params: CheckedKnn,
    sessions: TrainSessions,
    /// Rank → session.
    session_at: Vec<u32>,
    /// Per item, the ranks of its distinct sessions, decreasing.
    item_offsets: Vec<usize>,
    item_ranks: Vec<u32>,
    /// Per session, its distinct items in order of first occurrence, with the 1-based
    /// position of each item's last occurrence.
    distinct_offsets: Vec<usize>,
    distinct: Vec<(ItemId, u32)>,
    /// ln(sessions / events of the item), 0 for items without events.
    idf: Vec<f64>,
}

impl SessionKnn {
    /// Builds the index over `sessions`.
    pub fn fit(params: &CheckedKnn, sessions: TrainSessions) -> Self {
        let n = sessions.len();
        let n_items = sessions.n_items();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&s| (sessions.end_time(s as usize), s));
        let mut rank_of = vec![0u32; n];
        for (rank, &s) in order.iter().enumerate() {
            rank_of[s as usize] = rank as u32;
        }
        let mut distinct_offsets = Vec::with_capacity(n + 1);
        distinct_offsets.push(0);
        let mut distinct: Vec<(ItemId, u32)> = Vec::with_capacity(sessions.columns().1.len());
        let mut item_counts = vec![0u64; n_items];
        let mut events = vec![0u64; n_items];
        for s in 0..n {
            let start = distinct.len();
            for (p, &item) in sessions.items(s).iter().enumerate() {
                events[item.0 as usize] += 1;
                match distinct[start..].iter_mut().find(|d| d.0 == item) {
                    Some(d) => d.1 = p as u32 + 1,
                    None => {
                        distinct.push((item, p as u32 + 1));
                        item_counts[item.0 as usize] += 1;
                    }
                }
            }
            distinct_offsets.push(distinct.len());
        }
        let mut item_offsets = vec![0usize; n_items + 1];
        for (i, &c) in item_counts.iter().enumerate() {
            item_offsets[i + 1] = item_offsets[i] + c as usize;
        }
        let mut fill = item_offsets.clone();
        let mut item_ranks = vec![0u32; item_offsets[n_items]];
        // Visiting sessions from the most recent fills each list in decreasing rank.
        for &s in order.iter().rev() {
            let s = s as usize;
            for &(item, _) in &distinct[distinct_offsets[s]..distinct_offsets[s + 1]] {
                let slot = &mut fill[item.0 as usize];
                item_ranks[*slot] = rank_of[s];
                *slot += 1;
            }
        }
        let idf = events
            .iter()
            .map(|&e| {
                if e == 0 {
                    0.0
                } else {
                    (n as f64 / e as f64).ln()
                }
            })
            .collect();
        SessionKnn {
            params: params.clone(),
            sessions,
            session_at: order,
            item_offsets,
            item_ranks,
            distinct_offsets,
            distinct,
            idf,
        }
    }

    pub fn params(&self) -> &CheckedKnn {
        &self.params
    }

    pub fn sessions(&self) -> &TrainSessions {
        &self.sessions
    }

    fn ranks_of_item(&self, item: ItemId) -> &[u32] {
        let i = item.0 as usize;
        if i + 1 >= self.item_offsets.len() {
            return &[];
        }
        &self.item_ranks[self.item_offsets[i]..self.item_offsets[i + 1]]
    }

    fn distinct_of(&self, s: usize) -> &[(ItemId, u32)] {
        &self.distinct[self.distinct_offsets[s]..self.distinct_offsets[s + 1]]
    }
}

/// One session in progress for a [`SessionKnn`].
#[derive(Debug)]
pub struct KnnState<'a> {
    model: &'a SessionKnn,
    items: Vec<ItemId>,
    last_time: i64,
    /// Distinct items so far, increasing.
    seen: Vec<ItemId>,
    /// Candidate sessions' ranks, decreasing.
    sample: Vec<u32>,
    merged: Vec<u32>,
    /// (item, weight, last 1-based position in the session), increasing by item.
    weights: Vec<(ItemId, f64, usize)>,
    /// √(Σ weight²) over `weights`.
    norm: f64,
    neighbours: Vec<(f64, u32)>,
    scores: FxHashMap<ItemId, f64>,
}

impl<'a> KnnState<'a> {
    pub fn new(model: &'a SessionKnn) -> Self {
        KnnState {
            model,
            items: Vec::new(),
            last_time: 0,
            seen: Vec::new(),
            sample: Vec::new(),
            merged: Vec::new(),
            weights: Vec::new(),
            norm: 0.0,
            neighbours: Vec::new(),
            scores: FxHashMap::default(),
        }
    }

    /// Adds the sessions of a new distinct item to the candidate sample.
    fn add_candidates(&mut self, item: ItemId) {
        let m = self.model.params.sample_size;
        let list = self.model.ranks_of_item(item);
        let list = if m == 0 {
            list
        } else {
            &list[..list.len().min(m)]
        };
        self.merged.clear();
        let (mut a, mut b) = (0, 0);
        let cap = if m == 0 { usize::MAX } else { m };
        while self.merged.len() < cap && (a < self.sample.len() || b < list.len()) {
            let next = match (self.sample.get(a), list.get(b)) {
                (Some(&x), Some(&y)) if x == y => {
                    a += 1;
                    b += 1;
                    x
                }
                (Some(&x), Some(&y)) if x > y => {
                    a += 1;
                    x
                }
                (Some(&x), None) => {
                    a += 1;
                    x
                }
                (_, Some(&y)) => {
                    b += 1;
                    y
                }
                (None, None) => break,
            };
            self.merged.push(next);
        }
        std::mem::swap(&mut self.sample, &mut self.merged);
    }

    /// Weight of each distinct current item: the weight of its last occurrence.
    fn update_weights(&mut self) {
        let len = self.items.len();
        self.weights.clear();
        for (p, &item) in self.items.iter().enumerate() {
            let w = self.model.params.position.weight(p + 1, len);
            match self.weights.binary_search_by_key(&item, |e| e.0) {
                Ok(at) => {
                    self.weights[at].1 = w;
                    self.weights[at].2 = p + 1;
                }
                Err(at) => self.weights.insert(at, (item, w, p + 1)),
            }
        }
        self.norm = self.weights.iter().map(|e| e.1 * e.1).sum::<f64>().sqrt();
    }

    fn weight_of(&self, item: ItemId) -> Option<&(ItemId, f64, usize)> {
        self.weights
            .binary_search_by_key(&item, |e| e.0)
            .ok()
            .map(|at| &self.weights[at])
    }

    fn similarity(&self, s: usize) -> f64 {
        let p = &self.model.params;
        let neighbour = self.model.distinct_of(s);
        let mut shared = 0usize;
        let mut sum = 0.0;
        for &(item, _) in neighbour {
            if let Some(&(_, w, _)) = self.weight_of(item) {
                shared += 1;
                sum += w;
            }
        }
        if shared == 0 {
            return 0.0;
        }
        let (cur, nb, inter) = (
            self.weights.len() as f64,
            neighbour.len() as f64,
            shared as f64,
        );
        let mut sim = match p.similarity {
            Similarity::Vec => sum / cur,
            Similarity::Cosine => sum / (self.norm * nb.sqrt()),
            Similarity::Jaccard => inter / (cur + nb - inter),
            Similarity::Binary => 2.0 * inter / (2.0 * inter + cur + nb),
        };
        if let Some(lambda) = p.recency_s {
            // In f64: two i64 times may be further apart than an i64 holds. A neighbour
            // that ends after the current session (another user's later session) has
            // dt < 0 and a weight above 1; the cap keeps that weight, and the scores
            // summed from it, finite in f32 whatever the timestamps.
            let dt = self.last_time as f64 - self.model.sessions.end_time(s) as f64;
            sim *= (-dt / lambda).min(MAX_RECENCY_EXPONENT).exp();
        }
        sim
    }
}

impl SessionState for KnnState<'_> {
    fn push(&mut self, item: ItemId, time: i64) {
        self.items.push(item);
        self.last_time = time;
        if let Err(at) = self.seen.binary_search(&item) {
            self.seen.insert(at, item);
            self.add_candidates(item);
        }
    }

    fn score(&mut self, out: &mut Vec<(ItemId, f32)>) {
        out.clear();
        if self.items.is_empty() {
            return;
        }
        self.update_weights();
        let model = self.model;
        let p = &model.params;
        let mut neighbours = std::mem::take(&mut self.neighbours);
        neighbours.clear();
        for &rank in &self.sample {
            let s = model.session_at[rank as usize] as usize;
            let sim = self.similarity(s);
            if sim > 0.0 {
                neighbours.push((sim, rank));
            }
        }
        // Best first: higher similarity, then the more recent session.
        let better = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1));
        clickrec_recommend::keep_best(&mut neighbours, p.k, better);
        self.scores.clear();
        let len = self.items.len();
        for &(sim, rank) in &neighbours {
            let s = model.session_at[rank as usize] as usize;
            let distinct = model.distinct_of(s);
            // The most recent current event the neighbour shares, as a step back from the end.
            let last_shared = distinct
                .iter()
                .filter_map(|&(item, _)| self.weight_of(item).map(|e| e.2))
                .max()
                .unwrap_or(len);
            let vote = sim * p.matched.weight(len - last_shared + 1);
            // The neighbour's last position of any item the current session holds.
            let anchor = distinct
                .iter()
                .filter(|&&(item, _)| self.weight_of(item).is_some())
                .map(|&(_, pos)| pos)
                .max()
                .unwrap_or(0);
            for &(item, pos) in distinct {
                let mut v = vote;
                if let Some(lambda) = p.neighbour_position {
                    v *= (-(f64::from(pos.abs_diff(anchor))) / lambda).exp();
                }
                if p.idf > 0.0 {
                    v += v * model.idf[item.0 as usize] * p.idf;
                }
                *self.scores.entry(item).or_insert(0.0) += v;
            }
        }
        self.neighbours = neighbours;
        out.extend(self.scores.iter().map(|(&item, &s)| (item, s as f32)));
    }
}

impl SessionRecommender for SessionKnn {
    fn n_items(&self) -> usize {
        self.sessions.n_items()
    }

    fn start_session(&self, _user: UserId) -> Box<dyn SessionState + '_> {
        Box::new(KnnState::new(self))
    }
}
