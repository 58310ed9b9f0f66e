//! [`SessionModel`]: any fitted session model, as a next-item [`SessionRecommender`] and as
//! a batch [`Recommender`] whose query is each user's last train session.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender, SessionRecommender};
use serde::{Deserialize, Serialize};

use crate::error::ParamError;
use crate::knn::{CheckedKnn, SessionKnn, SknnParams, StanParams, VsknnParams, VstanParams};
use crate::rules::{
    ArParams, CheckedRules, CheckedSpop, MarkovParams, Rules, SessionPopularity, SpopParams,
    SrParams,
};
use crate::sessions::TrainSessions;

/// The parameters of one session model, tagged by its config name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionParams {
    Sknn(SknnParams),
    Vsknn(VsknnParams),
    Stan(StanParams),
    Vstan(VstanParams),
    Sr(SrParams),
    Ar(ArParams),
    Markov(MarkovParams),
    Spop(SpopParams),
}

impl SessionParams {
    /// The config-table name: `sknn`, `vsknn`, `stan`, `vstan`, `sr`, `ar`, `markov`, `spop`.
    pub fn name(&self) -> &'static str {
        match self {
            SessionParams::Sknn(_) => "sknn",
            SessionParams::Vsknn(_) => "vsknn",
            SessionParams::Stan(_) => "stan",
            SessionParams::Vstan(_) => "vstan",
            SessionParams::Sr(_) => "sr",
            SessionParams::Ar(_) => "ar",
            SessionParams::Markov(_) => "markov",
            SessionParams::Spop(_) => "spop",
        }
    }

    pub fn check(&self) -> Result<CheckedSessionModel, ParamError> {
        let inner = match self {
            SessionParams::Sknn(p) => Checked::Knn(p.check()?),
            SessionParams::Vsknn(p) => Checked::Knn(p.check()?),
            SessionParams::Stan(p) => Checked::Knn(p.check()?),
            SessionParams::Vstan(p) => Checked::Knn(p.check()?),
            SessionParams::Sr(p) => Checked::Rules(p.check()?),
            SessionParams::Ar(p) => Checked::Rules(p.check()?),
            SessionParams::Markov(p) => Checked::Rules(p.check()?),
            SessionParams::Spop(p) => Checked::Spop(p.check()?),
        };
        Ok(CheckedSessionModel {
            params: self.clone(),
            inner,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Checked {
    Knn(CheckedKnn),
    Rules(CheckedRules),
    Spop(CheckedSpop),
}

/// Valid parameters of one session model: only these can fit.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedSessionModel {
    params: SessionParams,
    inner: Checked,
}

impl CheckedSessionModel {
    pub fn name(&self) -> &'static str {
        self.params.name()
    }

    /// The parameters as written.
    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    /// Fits on the train sessions (an index or rule mining: linear in the events).
    pub fn fit(&self, sessions: TrainSessions) -> SessionModel {
        let fitted = match &self.inner {
            Checked::Knn(p) => Fitted::Knn(SessionKnn::fit(p, sessions)),
            Checked::Rules(p) => Fitted::Rules(Rules::fit(p, sessions)),
            Checked::Spop(p) => Fitted::Spop(SessionPopularity::fit(p, sessions)),
        };
        SessionModel {
            params: self.params.clone(),
            fitted,
        }
    }
}

#[derive(Clone, Debug)]
enum Fitted {
    Knn(SessionKnn),
    Rules(Rules),
    Spop(SessionPopularity),
}

/// A fitted session model. As a [`Recommender`], each user's list comes from replaying
/// the user's last train session (or last `last_events` train events) into a session
/// state; users without train events get no scores.
#[derive(Clone, Debug)]
pub struct SessionModel {
    params: SessionParams,
    fitted: Fitted,
}

impl SessionModel {
    pub fn name(&self) -> &'static str {
        self.params.name()
    }

    /// The parameters as written (to store the model).
    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    /// The train sessions it was fitted on (to store the model).
    pub fn sessions(&self) -> &TrainSessions {
        match &self.fitted {
            Fitted::Knn(m) => m.sessions(),
            Fitted::Rules(m) => m.sessions(),
            Fitted::Spop(m) => m.sessions(),
        }
    }

    fn last_events(&self) -> Option<usize> {
        match &self.fitted {
            Fitted::Knn(m) => m.params().last_events,
            Fitted::Rules(m) => m.params().last_events,
            Fitted::Spop(m) => m.params().last_events,
        }
    }

    /// The model as a next-item session model.
    pub fn as_session(&self) -> &dyn SessionRecommender {
        match &self.fitted {
            Fitted::Knn(m) => m,
            Fitted::Rules(m) => m,
            Fitted::Spop(m) => m,
        }
    }
}

impl Recommender for SessionModel {
    fn n_items(&self) -> usize {
        self.sessions().n_items()
    }

    fn score_block(&self, users: &[UserId], _history: &UserItemMatrix, out: &mut BlockScores) {
        let lists = out.sparse();
        let sessions = self.sessions();
        let model = self.as_session();
        for (&user, list) in users.iter().zip(lists.iter_mut()) {
            let (items, times) = sessions.query(user, self.last_events());
            if items.is_empty() {
                continue;
            }
            let mut state = model.start_session(user);
            for (&item, &time) in items.iter().zip(&times) {
                state.push(item, time);
            }
            state.score(list);
        }
    }

    /// Sparse lists: a block's size does not grow with the items.
    fn block_size(&self) -> usize {
        256
    }
}

impl SessionRecommender for SessionModel {
    fn n_items(&self) -> usize {
        self.sessions().n_items()
    }

    fn start_session(&self, user: UserId) -> Box<dyn clickrec_recommend::SessionState + '_> {
        self.as_session().start_session(user)
    }
}

/// Items of a session model's scores (for tests and callers that want a plain list).
pub fn score_session(
    model: &dyn SessionRecommender,
    events: &[(ItemId, i64)],
) -> Vec<(ItemId, f32)> {
    let mut state = model.start_session(UserId(0));
    for &(item, time) in events {
        state.push(item, time);
    }
    let mut out = Vec::new();
    state.score(&mut out);
    out
}
