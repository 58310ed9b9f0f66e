//! The fitted re-ranker: standardised features → logit, and re-ranked lists per block.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{Recommendations, TopN};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::candidates::{UserCandidates, check_generators, check_user_order, generator_lists};
use crate::features::{feature_names, write_row};
use crate::history::UserHistory;
use crate::{CheckedRerank, Generator, History, RerankError, Standardizer};

/// Users per block: candidates and features of one block are alive at a time.
pub(crate) const BLOCK_USERS: usize = 1024;

/// A logistic regression over standardised candidate features. Its score is the logit
/// `intercept + Σ wⱼ·(xⱼ − meanⱼ)/stdⱼ`, monotone in the probability that the user
/// interacts with the candidate, so ranking by it ranks by that probability.
///
/// Saved as JSON by the pipeline; loading checks that the parts fit together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RerankerParts")]
pub struct Reranker(RerankerParts);

/// The parts of a [`Reranker`], as serialized: unchecked until they become one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RerankerParts {
    /// Generator names, in the order their features come.
    generators: Vec<String>,
    /// List length per generator at training time (a missing item ranks this + 1).
    candidates_per_generator: usize,
    feature_names: Vec<String>,
    standardizer: Standardizer,
    /// One per feature, on the standardised scale.
    coefficients: Vec<f64>,
    intercept: f64,
}

impl Reranker {
    /// Assembles a re-ranker, checking that the parts fit together.
    pub(crate) fn new(
        generators: Vec<String>,
        candidates_per_generator: usize,
        standardizer: Standardizer,
        coefficients: Vec<f64>,
        intercept: f64,
    ) -> Result<Self, RerankError> {
        let names: Vec<&str> = generators.iter().map(String::as_str).collect();
        RerankerParts {
            feature_names: feature_names(&names),
            generators,
            candidates_per_generator,
            standardizer,
            coefficients,
            intercept,
        }
        .try_into()
    }

    /// Feature names in column order (see [`feature_names`]).
    pub fn feature_names(&self) -> &[String] {
        &self.0.feature_names
    }

    /// The generators the re-ranker learned from, in feature order.
    pub fn generator_names(&self) -> &[String] {
        &self.0.generators
    }

    pub fn candidates_per_generator(&self) -> usize {
        self.0.candidates_per_generator
    }

    pub fn standardizer(&self) -> &Standardizer {
        &self.0.standardizer
    }

    /// Coefficients on the standardised features, one per feature.
    pub fn coefficients(&self) -> &[f64] {
        &self.0.coefficients
    }

    pub fn intercept(&self) -> f64 {
        self.0.intercept
    }

    /// `(feature name, coefficient)` in column order, for reports.
    pub fn coefficients_table(&self) -> Vec<(String, f64)> {
        self.0
            .feature_names
            .iter()
            .cloned()
            .zip(self.0.coefficients.iter().copied())
            .collect()
    }

    /// The logit of one raw (unstandardised) feature row.
    pub fn score(&self, features: &[f32]) -> f64 {
        let s = &self.0.standardizer;
        features
            .iter()
            .zip(s.mean())
            .zip(s.std())
            .zip(&self.0.coefficients)
            .fold(self.0.intercept, |acc, (((&x, m), sd), w)| {
                acc + w * ((f64::from(x) - m) / sd)
            })
    }

    /// Re-ranked top-`n` lists for `users` (strictly increasing), handed to `on_block`
    /// block by block in user order, so memory stays bounded by one block.
    ///
    /// Per block: each generator's top-M (`params.candidates_per_generator`, which must be
    /// the training value), the users' recent items unless `exclude_seen`, features, and
    /// the top-`n` by score (ties → lower item id). Users of a block are scored in
    /// parallel; each list depends only on its user, so any thread count gives the same
    /// lists. `generators` must be the trained ones, same names, same order.
    #[allow(clippy::too_many_arguments)]
    pub fn recommend_blocks<E: From<RerankError>>(
        &self,
        generators: &[Generator<'_>],
        history: &History<'_>,
        matrix: &UserItemMatrix,
        users: &[UserId],
        n: usize,
        exclude_seen: bool,
        params: &CheckedRerank,
        mut on_block: impl FnMut(Recommendations) -> Result<(), E>,
    ) -> Result<(), E> {
        self.check_generators(generators)?;
        check_generators(generators, history, matrix)?;
        let p = params.params();
        if p.candidates_per_generator != self.0.candidates_per_generator {
            return Err(RerankError::CandidatesMismatch {
                trained: self.0.candidates_per_generator,
                found: p.candidates_per_generator,
            }
            .into());
        }
        check_user_order(users)?;
        let m = p.candidates_per_generator;
        for block in users.chunks(BLOCK_USERS) {
            let lists = generator_lists(generators, matrix, block, m, exclude_seen)?;
            let ranked: Vec<Vec<(ItemId, f32)>> = block
                .par_iter()
                .map_init(
                    || Scratch::new(n),
                    |s, &user| {
                        s.candidates
                            .build(user, &lists, history, p.recent_items, exclude_seen);
                        history.user(user, &mut s.history);
                        for k in 0..s.candidates.len() {
                            s.row.clear();
                            write_row(&s.candidates, k, m, &s.history, history, &mut s.row);
                            s.top.push(s.candidates.items[k], self.score(&s.row) as f32);
                        }
                        let mut list = Vec::new();
                        s.top.drain_sorted(&mut list);
                        list
                    },
                )
                .collect();
            let mut recs = Recommendations::new();
            for (&user, list) in block.iter().zip(ranked) {
                recs.push(user, list).map_err(RerankError::from)?;
            }
            on_block(recs)?;
        }
        Ok(())
    }

    /// Re-ranked lists, collected; see [`Reranker::recommend_blocks`].
    #[allow(clippy::too_many_arguments)]
    pub fn recommend(
        &self,
        generators: &[Generator<'_>],
        history: &History<'_>,
        matrix: &UserItemMatrix,
        users: &[UserId],
        n: usize,
        exclude_seen: bool,
        params: &CheckedRerank,
    ) -> Result<Recommendations, RerankError> {
        let mut all = Recommendations::new();
        self.recommend_blocks(
            generators,
            history,
            matrix,
            users,
            n,
            exclude_seen,
            params,
            |block| all.append(block).map_err(RerankError::from),
        )?;
        Ok(all)
    }

    fn check_generators(&self, generators: &[Generator<'_>]) -> Result<(), RerankError> {
        if generators.len() != self.0.generators.len()
            || generators
                .iter()
                .zip(&self.0.generators)
                .any(|(g, name)| g.name != name)
        {
            return Err(RerankError::GeneratorMismatch {
                expected: self.0.generators.clone(),
                found: generators.iter().map(|g| g.name.to_owned()).collect(),
            });
        }
        Ok(())
    }
}

/// Per-thread buffers of the scoring loop.
#[derive(Debug)]
struct Scratch {
    candidates: UserCandidates,
    history: UserHistory,
    row: Vec<f32>,
    top: TopN,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch {
            candidates: UserCandidates::default(),
            history: UserHistory::default(),
            row: Vec::new(),
            top: TopN::new(n),
        }
    }
}

impl TryFrom<RerankerParts> for Reranker {
    type Error = RerankError;

    fn try_from(raw: RerankerParts) -> Result<Self, RerankError> {
        let bad = |m: String| Err(RerankError::Inconsistent(m));
        let names: Vec<&str> = raw.generators.iter().map(String::as_str).collect();
        if raw.feature_names != feature_names(&names) {
            return bad(format!(
                "feature names do not follow from the generators {:?}",
                raw.generators
            ));
        }
        let n = raw.feature_names.len();
        if raw.coefficients.len() != n || raw.standardizer.n_features() != n {
            return bad(format!(
                "{n} features but {} coefficients and a standardizer of {}",
                raw.coefficients.len(),
                raw.standardizer.n_features()
            ));
        }
        if let Some(k) = raw.coefficients.iter().position(|w| !w.is_finite()) {
            return bad(format!(
                "coefficient of {} is not finite",
                raw.feature_names[k]
            ));
        }
        if !raw.intercept.is_finite() {
            return bad("intercept is not finite".to_owned());
        }
        if raw.candidates_per_generator == 0 {
            return bad("candidates_per_generator is 0".to_owned());
        }
        Ok(Reranker(raw))
    }
}
