//! `[evaluate]` as written in a pipeline file, and its checked form [`CheckedEval`].

use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// Largest accepted `evaluate.bootstrap_samples`: beyond it the percentiles do not move
/// and the resampling only costs time.
pub const MAX_BOOTSTRAP_SAMPLES: usize = 100_000;

/// Largest number of cut-offs in `evaluate.ks`.
pub const MAX_CUT_OFFS: usize = 64;

/// The `[evaluate]` table. Every key is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Cut-offs K of every metric. Default `[5, 10, 20, 50, 100]`; each at least 1, no
    /// repeats, at most 64 of them; any order (reports list them increasing).
    pub ks: Vec<usize>,
    /// Bootstrap resamples of the test users for confidence intervals and paired
    /// comparisons. Default 1000; 0 turns the bootstrap off (no intervals).
    pub bootstrap_samples: usize,
    /// Coverage of the confidence intervals, in (0, 1). Default 0.95.
    pub confidence: f64,
    /// Seed of the bootstrap: the same seed gives the same intervals. Default 42.
    pub seed: u64,
    /// Which protocols to run: `session` (the set of a held-out session's items, scored
    /// on the recommendation lists) and `next_item` (reveal each test session's events
    /// in order and predict the next after each prefix). Default `["session"]`.
    pub protocol: Vec<EvalProtocol>,
    /// Next-item protocol: whether items already in the session's prefix may be
    /// recommended. Default true (as session-rec).
    pub next_item_prefix_items: bool,
}

/// One evaluation protocol of `evaluate.protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalProtocol {
    /// Held-out session as a set of target items, scored on the top-N lists.
    Session,
    /// session-rec's next-item prediction; see [`crate::evaluate_next_item`].
    NextItem,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            ks: vec![5, 10, 20, 50, 100],
            bootstrap_samples: 1000,
            confidence: 0.95,
            seed: 42,
            protocol: vec![EvalProtocol::Session],
            next_item_prefix_items: true,
        }
    }
}

impl EvalConfig {
    /// Checks every value; reads no data.
    pub fn check(&self) -> Result<CheckedEval, EvalError> {
        let config_error = |key: &'static str, expected: &str, found: String| EvalError::Config {
            key,
            expected: expected.to_owned(),
            found,
        };
        if self.ks.is_empty() {
            return Err(config_error(
                "evaluate.ks",
                "at least one cut-off K",
                "[]".into(),
            ));
        }
        if let Some(&k) = self.ks.iter().find(|&&k| k == 0) {
            return Err(config_error(
                "evaluate.ks",
                "cut-offs of at least 1",
                format!("{k} in {:?}", self.ks),
            ));
        }
        if self.ks.len() > MAX_CUT_OFFS {
            return Err(config_error(
                "evaluate.ks",
                "at most 64 cut-offs",
                format!("{} cut-offs", self.ks.len()),
            ));
        }
        let mut ks = self.ks.clone();
        ks.sort_unstable();
        if let Some(w) = ks.windows(2).find(|w| w[0] == w[1]) {
            return Err(config_error(
                "evaluate.ks",
                "distinct cut-offs",
                format!("{} twice in {:?}", w[0], self.ks),
            ));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(config_error(
                "evaluate.confidence",
                "a level strictly between 0 and 1, such as 0.95",
                self.confidence.to_string(),
            ));
        }
        if self.bootstrap_samples > MAX_BOOTSTRAP_SAMPLES {
            return Err(config_error(
                "evaluate.bootstrap_samples",
                "at most 100000 resamples (0 turns the bootstrap off)",
                self.bootstrap_samples.to_string(),
            ));
        }
        let mut protocol = self.protocol.clone();
        protocol.sort_unstable();
        protocol.dedup();
        if !protocol.contains(&EvalProtocol::Session) {
            return Err(config_error(
                "evaluate.protocol",
                "\"session\", optionally with \"next_item\" (the lists' set-of-items results are always reported)",
                format!("{:?}", self.protocol),
            ));
        }
        Ok(CheckedEval {
            ks,
            bootstrap_samples: self.bootstrap_samples,
            confidence: self.confidence,
            seed: self.seed,
            protocol,
            next_item_prefix_items: self.next_item_prefix_items,
        })
    }
}

/// Valid evaluation settings; only [`EvalConfig::check`] makes them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedEval {
    ks: Vec<usize>,
    bootstrap_samples: usize,
    confidence: f64,
    seed: u64,
    protocol: Vec<EvalProtocol>,
    next_item_prefix_items: bool,
}

impl CheckedEval {
    /// Whether `protocol` is among `evaluate.protocol`.
    pub fn runs(&self, protocol: EvalProtocol) -> bool {
        self.protocol.contains(&protocol)
    }

    /// Whether next-item lists may hold items of the session's prefix.
    pub fn next_item_prefix_items(&self) -> bool {
        self.next_item_prefix_items
    }

    /// The cut-offs, strictly increasing.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// Bootstrap resamples; 0 when the bootstrap is off.
    pub fn bootstrap_samples(&self) -> usize {
        self.bootstrap_samples
    }

    /// Coverage of the confidence intervals, in (0, 1).
    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    /// Seed of the bootstrap.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The cut-off that charts and summary sentences single out: 20 when evaluated,
    /// otherwise the middle one of the cut-offs.
    pub fn headline_k(&self) -> usize {
        headline_k(&self.ks)
    }
}

pub(crate) fn headline_k(ks: &[usize]) -> usize {
    if ks.contains(&20) {
        20
    } else {
        ks.get(ks.len() / 2).copied().unwrap_or(0)
    }
}

impl Default for CheckedEval {
    /// The checked defaults of [`EvalConfig::default`].
    fn default() -> Self {
        let d = EvalConfig::default();
        CheckedEval {
            ks: d.ks,
            bootstrap_samples: d.bootstrap_samples,
            confidence: d.confidence,
            seed: d.seed,
            protocol: d.protocol,
            next_item_prefix_items: d.next_item_prefix_items,
        }
    }
}
