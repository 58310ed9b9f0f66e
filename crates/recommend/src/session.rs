//! Incremental next-item scoring: a [`SessionRecommender`] hands out one [`SessionState`]
//! per session, which takes the session's events one at a time and scores the next item
//! after each. The next-item evaluator drives any model through these two traits, so a
//! model updates its state per event instead of re-scoring the whole prefix.

use clickrec_core::{ItemId, UserId, UserItemMatrix};

use crate::recommender::{BlockScores, Recommender};

/// A model that follows a session event by event and scores its next item.
pub trait SessionRecommender: Send + Sync {
    /// Size of the item-id space the model scores.
    fn n_items(&self) -> usize;

    /// A fresh state for a new session of `user` (session models ignore the user; models
    /// that score from the user's history read it).
    fn start_session(&self, user: UserId) -> Box<dyn SessionState + '_>;
}

/// One session in progress.
pub trait SessionState: Send {
    /// Reveals the session's next event (`time` in the log's Unix seconds).
    fn push(&mut self, item: ItemId, time: i64);

    /// Scores the items that may come next, given every event pushed so far, into `out`
    /// as `(item, score)` pairs, each item at most once (`out` is cleared first). Items
    /// left out score nothing and are never recommended.
    fn score(&mut self, out: &mut Vec<(ItemId, f32)>);
}

/// Any batch [`Recommender`] as a session model that does not look at the session: each
/// state scores its user once (from `history`, the train matrix) and returns those scores
/// after every event. For popularity this is exactly the model; for user × item models it
/// is their view of the user, blind to what the session is doing.
#[derive(Debug)]
pub struct UserScoresSessions<'a, R: ?Sized> {
    model: &'a R,
    history: &'a UserItemMatrix,
}

impl<'a, R: Recommender + ?Sized> UserScoresSessions<'a, R> {
    pub fn new(model: &'a R, history: &'a UserItemMatrix) -> Self {
        UserScoresSessions { model, history }
    }
}

impl<R: Recommender + ?Sized> SessionRecommender for UserScoresSessions<'_, R> {
    fn n_items(&self) -> usize {
        self.model.n_items()
    }

    fn start_session(&self, user: UserId) -> Box<dyn SessionState + '_> {
        let mut block = BlockScores::default();
        let scored = self.model.scored_items();
        block.reset(1, scored.map_or(self.model.n_items(), <[ItemId]>::len));
        // A personal model has nothing to say about a user without history (see
        // `Recommender::needs_history`); users outside the matrix have none.
        let known = (user.0 as usize) < self.history.n_users();
        let has_history = known && !self.history.row(user).0.is_empty();
        let scores = if known && (has_history || !self.model.needs_history()) {
            self.model.score_block(&[user], self.history, &mut block);
            block.take_list(0, scored)
        } else {
            Vec::new()
        };
        Box::new(FixedScores(scores))
    }
}

/// The scores of [`UserScoresSessions`]: the same after every event.
#[derive(Debug)]
struct FixedScores(Vec<(ItemId, f32)>);

impl SessionState for FixedScores {
    fn push(&mut self, _item: ItemId, _time: i64) {}

    fn score(&mut self, out: &mut Vec<(ItemId, f32)>) {
        out.clear();
        out.extend_from_slice(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores item i with i + user, densely.
    struct Linear(usize);

    impl Recommender for Linear {
        fn n_items(&self) -> usize {
            self.0
        }
        fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            let n = self.0;
            let dense = out.dense();
            for (row, user) in users.iter().enumerate() {
                for i in 0..n {
                    dense[row * n + i] = (i + user.0 as usize) as f32;
                }
            }
        }
    }

    #[test]
    fn user_scores_ignore_the_session() {
        let history =
            UserItemMatrix::from_triples(2, 3, [(UserId(1), ItemId(0), 1.0)]).expect("matrix");
        let model = Linear(3);
        let sessions = UserScoresSessions::new(&model, &history);
        let mut state = sessions.start_session(UserId(1));
        let mut before = Vec::new();
        state.score(&mut before);
        state.push(ItemId(2), 10);
        let mut after = Vec::new();
        state.score(&mut after);
        assert_eq!(before, after);
        assert_eq!(
            before,
            vec![(ItemId(0), 1.0), (ItemId(1), 2.0), (ItemId(2), 3.0)]
        );
        let mut cold = Vec::new();
        sessions.start_session(UserId(7)).score(&mut cold);
        assert!(cold.is_empty());
    }
}
