//! Rule models that score the next item from the session's last item: sequential rules
//! (SR), association rules (AR) and the first-order Markov chain; and session popularity
//! (SPOP), which scores the session's own items first.

use clickrec_core::{ItemId, UserId};
use clickrec_recommend::{SessionRecommender, SessionState};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::ParamError;
use crate::knn::Decay;
use crate::sessions::TrainSessions;

/// `[models.sr]`: sequential rules (Kamehkhosh, Jannach, Ludewig: "A comparison of
/// frequent pattern techniques and a deep learning method for session-based
/// recommendation", RecSys TempRec workshop 2017). Item b following a within `steps`
/// events of a session adds weight(distance) to the rule a → b; the session's last item
/// a scores each b by the rule's weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SrParams {
    /// Largest distance between a and b. Default 10.
    pub steps: usize,
    /// Weight of a distance d: `div` 1/d (default), `same`, `linear`, `log`, `quadratic`.
    pub weighting: Decay,
    /// Rules kept per item a, the heaviest; 0 keeps all. Default 20.
    pub pruning: usize,
    /// Batch lists: query with the user's last N train events instead of the last session.
    pub last_events: Option<usize>,
}

impl Default for SrParams {
    fn default() -> Self {
        SrParams {
            steps: 10,
            weighting: Decay::Div,
            pruning: 20,
            last_events: None,
        }
    }
}

/// `[models.ar]`: association rules (Agrawal, Imieliński, Swami, SIGMOD 1993, as a
/// session-based baseline in Ludewig & Jannach, UMUAI 2018): every pair of events of a
/// session counts for both a → b and b → a; the session's last item scores by the counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArParams {
    /// Rules kept per item, the heaviest; 0 keeps all. Default 20.
    pub pruning: usize,
    pub last_events: Option<usize>,
}

impl Default for ArParams {
    fn default() -> Self {
        ArParams {
            pruning: 20,
            last_events: None,
        }
    }
}

/// `[models.markov]`: first-order Markov chain (as a baseline in Ludewig & Jannach, UMUAI
/// 2018): the counts of a → b over consecutive events; the session's last item scores by
/// them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarkovParams {
    /// Transitions kept per item, the most frequent; 0 (default) keeps all.
    pub pruning: usize,
    pub last_events: Option<usize>,
}

/// `[models.spop]`: session popularity (Ludewig & Jannach, UMUAI 2018): an item scores
/// its count in the session plus p/(p + 1), p its train events, for the `top_n` most
/// popular items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpopParams {
    /// Popular items that get the p/(p + 1) term. Default 100.
    pub top_n: usize,
    pub last_events: Option<usize>,
}

impl Default for SpopParams {
    fn default() -> Self {
        SpopParams {
            top_n: 100,
            last_events: None,
        }
    }
}

/// Which rules a [`Rules`] model mines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Sequential { steps: usize, weighting: Decay },
    Association,
    Markov,
}

/// Checked rule parameters; only the params' `check()` makes them.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedRules {
    pub(crate) model: &'static str,
    pub(crate) kind: RuleKind,
    pub(crate) pruning: usize,
    pub(crate) last_events: Option<usize>,
}

fn check_last_events(model: &'static str, last_events: Option<usize>) -> Result<(), ParamError> {
    if last_events == Some(0) {
        return Err(ParamError::new(
            model,
            "last_events",
            "at least 1 event (leave it out to query with the last session)",
            0,
        ));
    }
    Ok(())
}

impl SrParams {
    pub fn check(&self) -> Result<CheckedRules, ParamError> {
        if self.steps == 0 {
            return Err(ParamError::new("sr", "steps", "at least 1", 0));
        }
        check_last_events("sr", self.last_events)?;
        Ok(CheckedRules {
            model: "sr",
            kind: RuleKind::Sequential {
                steps: self.steps,
                weighting: self.weighting,
            },
            pruning: self.pruning,
            last_events: self.last_events,
        })
    }
}

impl ArParams {
    pub fn check(&self) -> Result<CheckedRules, ParamError> {
        check_last_events("ar", self.last_events)?;
        Ok(CheckedRules {
            model: "ar",
            kind: RuleKind::Association,
            pruning: self.pruning,
            last_events: self.last_events,
        })
    }
}

impl MarkovParams {
    pub fn check(&self) -> Result<CheckedRules, ParamError> {
        check_last_events("markov", self.last_events)?;
        Ok(CheckedRules {
            model: "markov",
            kind: RuleKind::Markov,
            pruning: self.pruning,
            last_events: self.last_events,
        })
    }
}

/// Checked SPOP parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedSpop {
    pub(crate) top_n: usize,
    pub(crate) last_events: Option<usize>,
}

impl SpopParams {
    pub fn check(&self) -> Result<CheckedSpop, ParamError> {
        if self.top_n == 0 {
            return Err(ParamError::new("spop", "top_n", "at least 1 item", 0));
        }
        check_last_events("spop", self.last_events)?;
        Ok(CheckedSpop {
            top_n: self.top_n,
            last_events: self.last_events,
        })
    }
}

/// Fitted rules a → b, CSR by a, each row heaviest first (ties: lower b first).
#[derive(Clone, Debug)]
pub struct Rules {
    params: CheckedRules,
    sessions: TrainSessions,
    offsets: Vec<usize>,
    rules: Vec<(ItemId, f32)>,
}

impl Rules {
    pub fn fit(params: &CheckedRules, sessions: TrainSessions) -> Self {
        let n_items = sessions.n_items();
        let mut rows: Vec<FxHashMap<ItemId, f64>> = vec![FxHashMap::default(); n_items];
        for s in 0..sessions.len() {
            let items = sessions.items(s);
            for (j, &b) in items.iter().enumerate() {
                match params.kind {
                    RuleKind::Sequential { steps, weighting } => {
                        for d in 1..=steps.min(j) {
                            *rows[items[j - d].0 as usize].entry(b).or_insert(0.0) +=
                                weighting.step(d);
                        }
                    }
                    RuleKind::Association => {
                        for &a in &items[..j] {
                            *rows[a.0 as usize].entry(b).or_insert(0.0) += 1.0;
                            *rows[b.0 as usize].entry(a).or_insert(0.0) += 1.0;
                        }
                    }
                    RuleKind::Markov => {
                        if j > 0 {
                            *rows[items[j - 1].0 as usize].entry(b).or_insert(0.0) += 1.0;
                        }
                    }
                }
            }
        }
        let mut offsets = Vec::with_capacity(n_items + 1);
        offsets.push(0);
        let mut rules = Vec::new();
        for row in rows {
            let mut row: Vec<(ItemId, f64)> = row.into_iter().collect();
            row.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            if params.pruning > 0 {
                row.truncate(params.pruning);
            }
            rules.extend(row.into_iter().map(|(b, w)| (b, w as f32)));
            offsets.push(rules.len());
        }
        Rules {
            params: params.clone(),
            sessions,
            offsets,
            rules,
        }
    }

    pub fn params(&self) -> &CheckedRules {
        &self.params
    }

    pub fn sessions(&self) -> &TrainSessions {
        &self.sessions
    }

    /// The rules a → b of `a`, heaviest first.
    pub fn rules_of(&self, a: ItemId) -> &[(ItemId, f32)] {
        let a = a.0 as usize;
        if a + 1 >= self.offsets.len() {
            return &[];
        }
        &self.rules[self.offsets[a]..self.offsets[a + 1]]
    }
}

/// A session of a [`Rules`] model: only its last item matters.
#[derive(Debug)]
struct LastItem<'a> {
    model: &'a Rules,
    last: Option<ItemId>,
}

impl SessionState for LastItem<'_> {
    fn push(&mut self, item: ItemId, _time: i64) {
        self.last = Some(item);
    }

    fn score(&mut self, out: &mut Vec<(ItemId, f32)>) {
        out.clear();
        if let Some(a) = self.last {
            out.extend_from_slice(self.model.rules_of(a));
        }
    }
}

impl SessionRecommender for Rules {
    fn n_items(&self) -> usize {
        self.sessions.n_items()
    }

    fn start_session(&self, _user: UserId) -> Box<dyn SessionState + '_> {
        Box::new(LastItem {
            model: self,
            last: None,
        })
    }
}

/// Fitted session popularity.
#[derive(Clone, Debug)]
pub struct SessionPopularity {
    params: CheckedSpop,
    sessions: TrainSessions,
    /// p/(p + 1) per item (0 outside the top).
    prior: Vec<f32>,
    /// The top items with their p/(p + 1).
    top: Vec<(ItemId, f32)>,
}

impl SessionPopularity {
    pub fn fit(params: &CheckedSpop, sessions: TrainSessions) -> Self {
        let mut counts = vec![0u64; sessions.n_items()];
        for (_, item) in sessions.events() {
            counts[item.0 as usize] += 1;
        }
        let mut top: Vec<(ItemId, u64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| (ItemId(i as u32), c))
            .collect();
        top.sort_unstable_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        top.truncate(params.top_n);
        let top: Vec<(ItemId, f32)> = top
            .into_iter()
            .map(|(i, c)| (i, (c as f64 / (c as f64 + 1.0)) as f32))
            .collect();
        let mut prior = vec![0.0; sessions.n_items()];
        for &(i, p) in &top {
            prior[i.0 as usize] = p;
        }
        SessionPopularity {
            params: params.clone(),
            sessions,
            prior,
            top,
        }
    }

    pub fn params(&self) -> &CheckedSpop {
        &self.params
    }

    pub fn sessions(&self) -> &TrainSessions {
        &self.sessions
    }
}

#[derive(Debug)]
struct SpopState<'a> {
    model: &'a SessionPopularity,
    /// Counts of the session's items.
    counts: Vec<(ItemId, u32)>,
}

impl SessionState for SpopState<'_> {
    fn push(&mut self, item: ItemId, _time: i64) {
        match self.counts.iter_mut().find(|c| c.0 == item) {
            Some(c) => c.1 += 1,
            None => self.counts.push((item, 1)),
        }
    }

    fn score(&mut self, out: &mut Vec<(ItemId, f32)>) {
        out.clear();
        out.extend(
            self.model
                .top
                .iter()
                .filter(|(i, _)| !self.counts.iter().any(|c| c.0 == *i))
                .copied(),
        );
        for &(item, count) in &self.counts {
            let prior = self
                .model
                .prior
                .get(item.0 as usize)
                .copied()
                .unwrap_or(0.0);
            out.push((item, count as f32 + prior));
        }
    }
}

impl SessionRecommender for SessionPopularity {
    fn n_items(&self) -> usize {
        self.sessions.n_items()
    }

    fn start_session(&self, _user: UserId) -> Box<dyn SessionState + '_> {
        Box::new(SpopState {
            model: self,
            counts: Vec::new(),
        })
    }
}
