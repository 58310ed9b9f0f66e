//! Candidate generation: the union of each generator's top-M and the user's recent items.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{Candidates, RecommendRequest, Recommendations, Recommender, recommend};

use crate::{History, RerankError};

/// A named candidate generator: any fitted model. The name becomes part of the feature
/// names (`{name}_score`, ...), so a re-ranker only accepts the generators it learned.
#[derive(Clone, Copy)]
pub struct Generator<'a> {
    pub name: &'a str,
    pub model: &'a dyn Recommender,
}

impl std::fmt::Debug for Generator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("name", &self.name)
            .field("n_items", &self.model.n_items())
            .finish()
    }
}

/// Checks that the generators can produce features: at least one, names non-empty and
/// distinct, and every model, the history and the matrix share one item space.
pub(crate) fn check_generators(
    generators: &[Generator<'_>],
    history: &History<'_>,
    matrix: &UserItemMatrix,
) -> Result<(), RerankError> {
    if generators.is_empty() {
        return Err(RerankError::NoGenerators);
    }
    for (k, g) in generators.iter().enumerate() {
        if g.name.trim().is_empty() {
            return Err(RerankError::GeneratorName {
                name: g.name.to_owned(),
                problem: "empty",
            });
        }
        if generators[..k].iter().any(|o| o.name == g.name) {
            return Err(RerankError::GeneratorName {
                name: g.name.to_owned(),
                problem: "listed twice",
            });
        }
        if g.model.n_items() != matrix.n_items() {
            return Err(RerankError::ItemSpace {
                generator: g.name.to_owned(),
                expected: matrix.n_items(),
                found: g.model.n_items(),
            });
        }
    }
    if history.n_items() != matrix.n_items() || history.n_users() != matrix.n_users() {
        return Err(RerankError::Inconsistent(format!(
            "history is {} users × {} items but the matrix is {} × {}",
            history.n_users(),
            history.n_items(),
            matrix.n_users(),
            matrix.n_items()
        )));
    }
    Ok(())
}

/// Users must strictly increase, as in `clickrec_recommend::recommend`.
pub(crate) fn check_user_order(users: &[UserId]) -> Result<(), RerankError> {
    match users.windows(2).find(|w| w[0] >= w[1]) {
        Some(pair) => Err(RerankError::UserOrder {
            previous: pair[0],
            user: pair[1],
        }),
        None => Ok(()),
    }
}

/// Each generator's top-`m` for a block of users (increasing), one list per generator.
/// Scoring runs in parallel inside `clickrec_recommend::recommend`.
pub(crate) fn generator_lists(
    generators: &[Generator<'_>],
    matrix: &UserItemMatrix,
    users: &[UserId],
    m: usize,
    exclude_seen: bool,
) -> Result<Vec<Recommendations>, RerankError> {
    let request = RecommendRequest {
        n: m,
        candidates: Candidates::All,
        exclude_seen,
    };
    generators
        .iter()
        .map(|g| {
            recommend(g.model, matrix, users, &request).map_err(|source| RerankError::Generator {
                generator: g.name.to_owned(),
                source,
            })
        })
        .collect()
}

/// Where a generator put a candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Hit {
    /// 1-based position in the generator's list.
    pub(crate) rank: u32,
    pub(crate) score: f32,
}

/// One user's candidates: items increasing, and per (candidate, generator) the hit.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserCandidates {
    pub(crate) items: Vec<ItemId>,
    /// `items.len() × n_generators`, row-major.
    hits: Vec<Option<Hit>>,
    n_generators: usize,
}

impl UserCandidates {
    /// Fills the candidates of `user` from the block's generator `lists` and, unless seen
    /// items are excluded, the user's `recent_items` latest distinct items.
    pub(crate) fn build(
        &mut self,
        user: UserId,
        lists: &[Recommendations],
        history: &History<'_>,
        recent_items: usize,
        exclude_seen: bool,
    ) {
        self.items.clear();
        self.n_generators = lists.len();
        for list in lists.iter().filter_map(|l| l.find(user)) {
            self.items.extend_from_slice(list.items);
        }
        if !exclude_seen {
            history.recent_items(user, recent_items, &mut self.items);
        }
        self.items.sort_unstable();
        self.items.dedup();
        self.hits.clear();
        self.hits.resize(self.items.len() * lists.len(), None);
        for (g, list) in lists.iter().enumerate() {
            let Some(list) = list.find(user) else {
                continue;
            };
            for (rank, (&item, &score)) in list.items.iter().zip(list.scores).enumerate() {
                // An infinite score cannot be standardised: treat it as missing.
                if let (Ok(k), true) = (self.items.binary_search(&item), score.is_finite()) {
                    self.hits[k * lists.len() + g] = Some(Hit {
                        rank: rank as u32 + 1,
                        score,
                    });
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Generator `g`'s hit on candidate `k`, if it listed it.
    pub(crate) fn hit(&self, k: usize, g: usize) -> Option<Hit> {
        self.hits[k * self.n_generators + g]
    }

    pub(crate) fn n_generators(&self) -> usize {
        self.n_generators
    }
}
