//! Fold-in: a fitted model's view of one user from a history given after training (the
//! user's train row plus events that came since, or only those for a user the model never
//! saw), without refitting the model. This is what a server answers a user with.
//!
//! Each kind folds in the way its scores are defined:
//! - item-kNN, EASE and popularity score from the history row itself: the model as it is;
//! - ALS re-solves the user's factor exactly against the fitted item factors (implicit's
//!   `recalculate_user`); BPR takes SGD steps on the user's factor alone, item factors
//!   fixed;
//! - recent ranks the user's own events as its fit does;
//! - a session model follows the events as the session in progress.
//!
//! A [`FoldedUser`] is a [`Recommender`] for exactly one user, [`FoldedUser::USER`],
//! whose history is a one-row matrix holding `row`: the shared top-N loop then applies
//! exclude-seen, candidates and the fallback to it as it does offline.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, FactorScores, PackedItems, Recommender, SessionRecommender};

use crate::{Factors, Model};

/// A fitted model's view of one user, from a history given at serving time.
pub struct FoldedUser<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    /// Scores from the history row: the model as fitted.
    History(&'a dyn Recommender),
    /// A dot-product model's item side with the user's new factor (one row).
    Factors {
        user: Factors,
        items: &'a Factors,
        scored: Option<&'a [ItemId]>,
        /// The model's packed item side, kept for every user it folds in.
        packed: Option<&'a PackedItems>,
        n_items: usize,
    },
    /// The user's own items, ranked as the recent-items fit ranks them.
    Ranked {
        list: Vec<(ItemId, f32)>,
        n_items: usize,
    },
    /// A session model following the user's events.
    Session {
        model: &'a dyn SessionRecommender,
        events: Vec<(ItemId, i64)>,
    },
}

impl std::fmt::Debug for FoldedUser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            Inner::History(_) => "history",
            Inner::Factors { .. } => "factors",
            Inner::Ranked { .. } => "ranked",
            Inner::Session { .. } => "session",
        };
        f.debug_struct("FoldedUser").field("kind", &kind).finish()
    }
}

impl FoldedUser<'_> {
    /// The one user a folded model scores (row 0 of its one-row history).
    pub const USER: UserId = UserId(0);

    /// The user's factor, for the dot-product models (ALS, BPR).
    pub fn factor(&self) -> Option<&[f32]> {
        match &self.inner {
            Inner::Factors { user, .. } => Some(user.row(0)),
            _ => None,
        }
    }
}

impl Model {
    /// This model's view of a user whose matrix row is `row` (columns increasing, values
    /// weighted as in the train matrix) and whose events are `events` (item and Unix time,
    /// in time order: train events first, then the new ones). Items must be in the model's
    /// item space.
    pub fn fold_in(&self, row: (&[u32], &[f32]), events: &[(ItemId, i64)]) -> FoldedUser<'_> {
        let inner = match self {
            Model::Als(m) => {
                let (items, scored) = m.item_side();
                Inner::Factors {
                    user: m.fold_in_user(row.0, row.1),
                    items,
                    scored,
                    packed: m.packed_items(),
                    n_items: m.n_items(),
                }
            }
            Model::Bpr(m) => {
                let (items, scored) = m.item_side();
                Inner::Factors {
                    user: m.fold_in_user(row.0),
                    items,
                    scored,
                    packed: m.packed_items(),
                    n_items: m.n_items(),
                }
            }
            Model::Recent(m) => Inner::Ranked {
                list: m.rank_events(events),
                n_items: m.n_items(),
            },
            Model::Session(m) => Inner::Session {
                model: m.as_session(),
                events: events.to_vec(),
            },
            Model::Popularity(_)
            | Model::PopularityRecent(_)
            | Model::ItemKnn(_)
            | Model::Ease(_) => Inner::History(self),
        };
        FoldedUser { inner }
    }
}

impl Recommender for FoldedUser<'_> {
    fn n_items(&self) -> usize {
        match &self.inner {
            Inner::History(m) => m.n_items(),
            Inner::Factors { n_items, .. } | Inner::Ranked { n_items, .. } => *n_items,
            Inner::Session { model, .. } => model.n_items(),
        }
    }

    fn scored_items(&self) -> Option<&[ItemId]> {
        match &self.inner {
            Inner::History(m) => m.scored_items(),
            Inner::Factors { scored, .. } => *scored,
            Inner::Ranked { .. } | Inner::Session { .. } => None,
        }
    }

    fn score_block(&self, users: &[UserId], history: &UserItemMatrix, out: &mut BlockScores) {
        match &self.inner {
            Inner::History(m) => m.score_block(users, history, out),
            Inner::Factors { user, items, .. } => user.score_block(items, users, out),
            Inner::Ranked { list, .. } => {
                for (scores, &u) in out.sparse().iter_mut().zip(users) {
                    if u == Self::USER {
                        scores.extend_from_slice(list);
                    }
                }
            }
            Inner::Session { model, events } => {
                for (scores, &u) in out.sparse().iter_mut().zip(users) {
                    if u == Self::USER {
                        let mut state = model.start_session(u);
                        for &(item, time) in events {
                            state.push(item, time);
                        }
                        state.score(scores);
                    }
                }
            }
        }
    }

    fn needs_history(&self) -> bool {
        match &self.inner {
            Inner::History(m) => m.needs_history(),
            _ => true,
        }
    }

    fn block_size(&self) -> usize {
        1
    }

    fn ranking(&self, user: UserId) -> Option<&[(ItemId, f32)]> {
        match &self.inner {
            Inner::History(m) => m.ranking(user),
            _ => None,
        }
    }

    fn factors(&self) -> Option<FactorScores<'_>> {
        match &self.inner {
            Inner::History(m) => m.factors(),
            Inner::Factors { user, items, .. } => Some(user.scores_against(items)),
            Inner::Ranked { .. } | Inner::Session { .. } => None,
        }
    }

    fn packed_items(&self) -> Option<&PackedItems> {
        match &self.inner {
            Inner::History(m) => m.packed_items(),
            Inner::Factors { packed, .. } => *packed,
            Inner::Ranked { .. } | Inner::Session { .. } => None,
        }
    }
}
