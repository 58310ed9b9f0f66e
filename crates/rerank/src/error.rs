//! Errors of parameter checking, candidate generation, training and re-ranking.

use clickrec_core::{Behavior, UserId};
use clickrec_recommend::RecommendError;
use thiserror::Error;

/// Why the re-ranker could not be checked, trained, loaded or applied.
#[derive(Debug, Error, PartialEq)]
pub enum RerankError {
    /// A `[rerank]` key with an impossible value, named by its config key.
    #[error("rerank.{key}: expected {expected}, found {found}")]
    Param {
        /// Key inside `[rerank]`, e.g. `l2`.
        key: &'static str,
        expected: &'static str,
        found: String,
    },
    /// A behaviour weight that would make every weighted feature meaningless.
    #[error("behaviour weight of {behavior}: expected a finite value ≥ 0, found {weight}")]
    BehaviorWeight { behavior: Behavior, weight: f32 },
    /// Re-ranking needs something to re-rank.
    #[error("rerank.generators: the re-ranker needs at least one candidate generator")]
    NoGenerators,
    /// Generator names become feature names, so they must be usable and distinct.
    #[error("generator name {name:?} is {problem}")]
    GeneratorName { name: String, problem: &'static str },
    /// The generators given at recommend time are not the ones the re-ranker learned.
    #[error(
        "generators {found:?} do not match the re-ranker's {expected:?}: pass the same generators in the same order"
    )]
    GeneratorMismatch {
        expected: Vec<String>,
        found: Vec<String>,
    },
    /// Rank features depend on the list length the re-ranker was trained with.
    #[error(
        "rerank.candidates_per_generator is {found} but the re-ranker was trained with {trained}"
    )]
    CandidatesMismatch { trained: usize, found: usize },
    /// A generator and the history matrix disagree on the item space.
    #[error("generator {generator:?} scores {found} items but the history matrix has {expected}")]
    ItemSpace {
        generator: String,
        expected: usize,
        found: usize,
    },
    /// The history (event log) and the matrix are not of the same id space.
    #[error("history does not fit the matrix: {kind} id {id} is outside its {len} {kind}s")]
    HistoryShape {
        kind: &'static str,
        id: u32,
        len: usize,
    },
    /// A candidate generator refused the request.
    #[error("candidate generator {generator:?} failed: {source}")]
    Generator {
        generator: String,
        #[source]
        source: RecommendError,
    },
    /// Users to re-rank must be strictly increasing (lists are streamed in user order).
    #[error("users must be strictly increasing: user {user} follows {previous}")]
    UserOrder { previous: UserId, user: UserId },
    /// Building the re-ranked lists failed.
    #[error("re-ranked lists: {0}")]
    Lists(#[from] RecommendError),
    /// Training found no validation target among the candidates: nothing to learn.
    #[error(
        "no validation target appears among the candidates of the {users} training users \
         ({targets} targets): nothing to learn from; raise rerank.candidates_per_generator or \
         rerank.recent_items, or check the validation split"
    )]
    NoPositives { users: usize, targets: u64 },
    /// Every training candidate was a target: the classes cannot be told apart.
    #[error(
        "all {positives} training candidates are validation targets: no negatives to learn from"
    )]
    NoNegatives { positives: u64 },
    /// linfa-logistic failed (its message).
    #[error("logistic regression failed: {0}")]
    Fit(String),
    /// A loaded or fitted re-ranker whose parts do not fit together.
    #[error("re-ranker is inconsistent: {0}")]
    Inconsistent(String),
}

impl RerankError {
    pub(crate) fn param(key: &'static str, expected: &'static str, found: impl ToString) -> Self {
        RerankError::Param {
            key,
            expected,
            found: found.to_string(),
        }
    }
}
