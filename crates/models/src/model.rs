//! [`Model`]: any fitted model, for the pipeline and the CLI; `[models.*]` config tables.

use std::ops::ControlFlow;
use std::path::Path;

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, FactorScores, Recommender};
use serde::{Deserialize, Serialize};

use clickrec_recommend::SessionRecommender;
use clickrec_session::knn::{SknnParams, StanParams, VsknnParams, VstanParams};
use clickrec_session::rules::{ArParams, MarkovParams, SpopParams, SrParams};
use clickrec_session::{
    CheckedSessionModel, SessionModel, SessionParams, SessionParts, TrainSessions,
};

use crate::als::{Als, AlsParams, CheckedAls};
use crate::bpr::{Bpr, BprParams, CheckedBpr};
use crate::ease::{CheckedEase, Ease, EaseParams};
use crate::knn::{CheckedItemKnn, ItemKnn, ItemKnnParams};
use crate::popularity::{CheckedPopularity, Popularity, PopularityParams, RecentPopularityParams};
use crate::recent::{CheckedRecent, Recent, RecentParams};
use crate::{
    FitError, FitOptions, IdFingerprint, ModelError, ModelReader, ModelWriter, ParamError,
    TrainData,
};

/// Watches an iterative fit (ALS, BPR) and may end it: early stopping on a validation
/// metric. The state after iteration t never depends on the planned iteration count, so
/// a fit stopped at t equals a fit of t iterations.
pub trait FitMonitor: Sync {
    /// Called after each iteration with the model as it stands; `Break` ends the fit there.
    fn after_iteration(&self, done: usize, model: &Model) -> ControlFlow<()>;
}

/// The kinds of model, named as in config tables and file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Popularity,
    PopularityRecent,
    Recent,
    ItemKnn,
    Als,
    Bpr,
    Ease,
    Sknn,
    Vsknn,
    Stan,
    Vstan,
    Sr,
    Ar,
    Markov,
    Spop,
}

impl ModelKind {
    pub const ALL: [ModelKind; 15] = [
        ModelKind::Popularity,
        ModelKind::PopularityRecent,
        ModelKind::Recent,
        ModelKind::ItemKnn,
        ModelKind::Als,
        ModelKind::Bpr,
        ModelKind::Ease,
        ModelKind::Sknn,
        ModelKind::Vsknn,
        ModelKind::Stan,
        ModelKind::Vstan,
        ModelKind::Sr,
        ModelKind::Ar,
        ModelKind::Markov,
        ModelKind::Spop,
    ];

    /// Config-table and file name: `popularity`, `popularity_recent`, `recent`,
    /// `item_knn`, `als`, `bpr`, `ease`, and the session models `sknn`, `vsknn`, `stan`, `vstan`,
    /// `sr`, `ar`, `markov`, `spop`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Popularity => "popularity",
            ModelKind::PopularityRecent => "popularity_recent",
            ModelKind::Recent => "recent",
            ModelKind::ItemKnn => "item_knn",
            ModelKind::Als => "als",
            ModelKind::Bpr => "bpr",
            ModelKind::Ease => "ease",
            ModelKind::Sknn => "sknn",
            ModelKind::Vsknn => "vsknn",
            ModelKind::Stan => "stan",
            ModelKind::Vstan => "vstan",
            ModelKind::Sr => "sr",
            ModelKind::Ar => "ar",
            ModelKind::Markov => "markov",
            ModelKind::Spop => "spop",
        }
    }

    /// The simple baselines every headline table should hold (popularity all time and
    /// recent, the user's own recent items), so a weak model cannot shine next to a
    /// weaker one.
    pub fn is_baseline(self) -> bool {
        matches!(
            self,
            ModelKind::Popularity | ModelKind::PopularityRecent | ModelKind::Recent
        )
    }

    pub fn from_name(name: &str) -> Option<Self> {
        ModelKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[models.*]`: one table per model to fit; a present table (even empty) turns the model
/// on with its documented defaults for keys left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    pub popularity: Option<PopularityParams>,
    pub popularity_recent: Option<RecentPopularityParams>,
    pub recent: Option<RecentParams>,
    pub item_knn: Option<ItemKnnParams>,
    pub als: Option<AlsParams>,
    pub bpr: Option<BprParams>,
    pub ease: Option<EaseParams>,
    pub sknn: Option<SknnParams>,
    pub vsknn: Option<VsknnParams>,
    pub stan: Option<StanParams>,
    pub vstan: Option<VstanParams>,
    pub sr: Option<SrParams>,
    pub ar: Option<ArParams>,
    pub markov: Option<MarkovParams>,
    pub spop: Option<SpopParams>,
}

/// Valid parameters of one model: only these can fit.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckedModel {
    Popularity(CheckedPopularity),
    PopularityRecent(CheckedPopularity),
    Recent(CheckedRecent),
    ItemKnn(CheckedItemKnn),
    Als(CheckedAls),
    Bpr(CheckedBpr),
    Ease(CheckedEase),
    Session(CheckedSessionModel),
}

impl ModelsConfig {
    /// The session-model tables present, in [`ModelKind::ALL`] order.
    fn session_params(&self) -> Vec<SessionParams> {
        let mut out = Vec::new();
        out.extend(self.sknn.clone().map(SessionParams::Sknn));
        out.extend(self.vsknn.clone().map(SessionParams::Vsknn));
        out.extend(self.stan.clone().map(SessionParams::Stan));
        out.extend(self.vstan.clone().map(SessionParams::Vstan));
        out.extend(self.sr.clone().map(SessionParams::Sr));
        out.extend(self.ar.clone().map(SessionParams::Ar));
        out.extend(self.markov.clone().map(SessionParams::Markov));
        out.extend(self.spop.clone().map(SessionParams::Spop));
        out
    }

    /// Checks every configured model, in [`ModelKind::ALL`] order.
    pub fn check(&self) -> Result<Vec<CheckedModel>, ParamError> {
        let mut models = Vec::new();
        if let Some(p) = &self.popularity {
            models.push(CheckedModel::Popularity(p.check()?));
        }
        if let Some(p) = &self.popularity_recent {
            models.push(CheckedModel::PopularityRecent(p.check()?));
        }
        if let Some(p) = &self.recent {
            models.push(CheckedModel::Recent(p.check()?));
        }
        if let Some(p) = &self.item_knn {
            models.push(CheckedModel::ItemKnn(p.check()?));
        }
        if let Some(p) = &self.als {
            models.push(CheckedModel::Als(p.check()?));
        }
        if let Some(p) = &self.bpr {
            models.push(CheckedModel::Bpr(p.check()?));
        }
        if let Some(p) = &self.ease {
            models.push(CheckedModel::Ease(p.check()?));
        }
        for p in self.session_params() {
            models.push(CheckedModel::Session(p.check()?));
        }
        Ok(models)
    }

    /// True when no model table is present.
    pub fn is_empty(&self) -> bool {
        self.popularity.is_none()
            && self.popularity_recent.is_none()
            && self.recent.is_none()
            && self.item_knn.is_none()
            && self.als.is_none()
            && self.bpr.is_none()
            && self.ease.is_none()
            && self.session_params().is_empty()
    }
}

impl CheckedModel {
    pub fn kind(&self) -> ModelKind {
        match self {
            CheckedModel::Popularity(_) => ModelKind::Popularity,
            CheckedModel::PopularityRecent(_) => ModelKind::PopularityRecent,
            CheckedModel::Recent(_) => ModelKind::Recent,
            CheckedModel::ItemKnn(_) => ModelKind::ItemKnn,
            CheckedModel::Als(_) => ModelKind::Als,
            CheckedModel::Bpr(_) => ModelKind::Bpr,
            CheckedModel::Ease(_) => ModelKind::Ease,
            CheckedModel::Session(p) => session_kind(p.name()),
        }
    }

    pub fn fit(&self, data: &TrainData<'_>, options: &FitOptions<'_>) -> Result<Model, FitError> {
        self.fit_watched(data, options, None)
    }

    /// [`CheckedModel::fit`], with `monitor` seeing the model after each iteration of an
    /// iterative fit (ALS, BPR) and able to end it; other models fit as without.
    pub fn fit_watched(
        &self,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
        monitor: Option<&dyn FitMonitor>,
    ) -> Result<Model, FitError> {
        Ok(match self {
            CheckedModel::Popularity(p) => Model::Popularity(Popularity::fit(p, data, options)?),
            CheckedModel::PopularityRecent(p) => {
                Model::PopularityRecent(Popularity::fit(p, data, options)?)
            }
            CheckedModel::Recent(p) => Model::Recent(Recent::fit(p, data, options)?),
            CheckedModel::ItemKnn(p) => Model::ItemKnn(ItemKnn::fit(p, data, options)?),
            CheckedModel::Als(p) => {
                let watch = monitor.map(|m| {
                    move |done: usize, model: &dyn Fn() -> Als| {
                        m.after_iteration(done, &Model::Als(model())).is_continue()
                    }
                });
                let watch = watch.as_ref().map(|w| w as _);
                Model::Als(Als::fit_watched(p, data, options, watch)?)
            }
            CheckedModel::Bpr(p) => {
                let watch = monitor.map(|m| {
                    move |done: usize, model: &dyn Fn() -> Bpr| {
                        m.after_iteration(done, &Model::Bpr(model())).is_continue()
                    }
                });
                let watch = watch.as_ref().map(|w| w as _);
                Model::Bpr(Bpr::fit_watched(p, data, options, watch)?)
            }
            CheckedModel::Ease(p) => Model::Ease(Ease::fit(p, data, options)?),
            CheckedModel::Session(p) => {
                Model::Session(Box::new(p.fit(train_sessions(p.name(), data)?)))
            }
        })
    }
}

/// The kind of a session model by its name (names are shared with `clickrec-session`).
fn session_kind(name: &str) -> ModelKind {
    ModelKind::from_name(name).unwrap_or(ModelKind::Spop)
}

/// The train sessions of `data`: its session column, or one session per user.
fn train_sessions(model: &'static str, data: &TrainData<'_>) -> Result<TrainSessions, FitError> {
    let users: Vec<u32>;
    let sessions = match data.sessions {
        Some(s) => s,
        None => {
            users = data.log.users().iter().map(|u| u.0).collect();
            &users
        }
    };
    TrainSessions::from_log(data.log, sessions, data.n_users(), data.n_items()).map_err(|e| {
        FitError::Data {
            model,
            reason: e.to_string(),
        }
    })
}

/// Any fitted model.
#[derive(Clone, Debug)]
pub enum Model {
    Popularity(Popularity),
    /// Popularity over a recent window (`[models.popularity_recent]`).
    PopularityRecent(Popularity),
    Recent(Recent),
    ItemKnn(ItemKnn),
    Als(Als),
    Bpr(Bpr),
    Ease(Ease),
    Session(Box<SessionModel>),
}

impl Model {
    pub fn kind(&self) -> ModelKind {
        match self {
            Model::Popularity(_) => ModelKind::Popularity,
            Model::PopularityRecent(_) => ModelKind::PopularityRecent,
            Model::Recent(_) => ModelKind::Recent,
            Model::ItemKnn(_) => ModelKind::ItemKnn,
            Model::Als(_) => ModelKind::Als,
            Model::Bpr(_) => ModelKind::Bpr,
            Model::Ease(_) => ModelKind::Ease,
            Model::Session(m) => session_kind(m.name()),
        }
    }

    /// The model as a next-item session model, when it is one.
    pub fn as_session(&self) -> Option<&dyn SessionRecommender> {
        match self {
            Model::Session(m) => Some(m.as_session()),
            _ => None,
        }
    }

    fn as_recommender(&self) -> &dyn Recommender {
        match self {
            Model::Popularity(m) | Model::PopularityRecent(m) => m,
            Model::Recent(m) => m,
            Model::ItemKnn(m) => m,
            Model::Als(m) => m,
            Model::Bpr(m) => m,
            Model::Ease(m) => m,
            Model::Session(m) => m.as_ref(),
        }
    }

    /// Training loss per iteration, when the fit recorded it (ALS, BPR with `record_loss`).
    pub fn training_loss(&self) -> &[f64] {
        match self {
            Model::Als(m) => m.training_loss(),
            Model::Bpr(m) => m.training_loss(),
            Model::Popularity(_)
            | Model::PopularityRecent(_)
            | Model::Recent(_)
            | Model::ItemKnn(_)
            | Model::Ease(_)
            | Model::Session(_) => &[],
        }
    }

    /// The `n` items most similar to `item`, best first.
    pub fn similar_items(&self, item: ItemId, n: usize) -> Result<Vec<(ItemId, f32)>, ModelError> {
        let n_items = self.n_items();
        if item.0 as usize >= n_items {
            return Err(ModelError::ItemOutOfRange {
                item: item.0,
                n_items,
            });
        }
        // No item has more neighbours than the catalogue: a larger `n` sizes nothing.
        let n = n.min(n_items);
        Ok(match self {
            Model::ItemKnn(m) => m.similar_items(item, n),
            Model::Als(m) => m.similar_items(item, n),
            Model::Bpr(m) => m.similar_items(item, n),
            Model::Ease(m) => m.similar_items(item, n),
            Model::Popularity(_)
            | Model::PopularityRecent(_)
            | Model::Recent(_)
            | Model::Session(_) => {
                return Err(ModelError::NoSimilarItems {
                    kind: self.kind().name(),
                });
            }
        })
    }

    /// Writes the model to `path` atomically ([`ModelWriter`]: a unique temporary file,
    /// fsync of file and folder, rename), so a crash never leaves a half-written model
    /// under the final name and two writers never share a temporary file.
    pub fn save(&self, path: &Path, ids: &IdFingerprint) -> Result<(), ModelError> {
        let mut w = ModelWriter::create(path, self.kind().name(), ids)?;
        match self {
            Model::Popularity(m) | Model::PopularityRecent(m) => m.write(&mut w)?,
            Model::Recent(m) => m.write(&mut w)?,
            Model::ItemKnn(m) => m.write(&mut w)?,
            Model::Als(m) => m.write(&mut w)?,
            Model::Bpr(m) => m.write(&mut w)?,
            Model::Ease(m) => m.write(&mut w)?,
            Model::Session(m) => write_session(m, &mut w)?,
        }
        w.finish()
    }

    /// Reads a model saved by [`Model::save`], refusing one fitted on other id maps.
    pub fn load(path: &Path, ids: &IdFingerprint) -> Result<Model, ModelError> {
        let mut r = ModelReader::open(path)?;
        r.check_ids(ids)?;
        let kind = ModelKind::from_name(&r.kind)
            .ok_or_else(|| r.corrupt(format!("unknown model kind {:?}", r.kind)))?;
        let model = match kind {
            ModelKind::Popularity => Model::Popularity(Popularity::read(&mut r)?),
            ModelKind::PopularityRecent => Model::PopularityRecent(Popularity::read(&mut r)?),
            ModelKind::Recent => Model::Recent(Recent::read(&mut r)?),
            ModelKind::ItemKnn => Model::ItemKnn(ItemKnn::read(&mut r)?),
            ModelKind::Als => Model::Als(Als::read(&mut r)?),
            ModelKind::Bpr => Model::Bpr(Bpr::read(&mut r)?),
            ModelKind::Ease => Model::Ease(Ease::read(&mut r)?),
            _ => Model::Session(Box::new(read_session(&mut r)?)),
        };
        r.finish()?;
        Ok(model)
    }
}

/// A session model's file payload: its parameters (JSON) and its train sessions; loading
/// refits the index from them (linear in the events, milliseconds to seconds).
fn write_session(m: &SessionModel, w: &mut ModelWriter) -> Result<(), ModelError> {
    let sessions = m.sessions();
    let (offsets, items, times, users) = sessions.columns();
    w.json(m.params())?;
    w.u64(sessions.n_users() as u64)?;
    w.u64(sessions.n_items() as u64)?;
    w.u64s(&offsets.iter().map(|&o| o as u64).collect::<Vec<_>>())?;
    w.u32s(&items.iter().map(|i| i.0).collect::<Vec<_>>())?;
    w.u64s(&times.iter().map(|&t| t as u64).collect::<Vec<_>>())?;
    w.u32s(&users.iter().map(|u| u.0).collect::<Vec<_>>())
}

fn read_session(r: &mut ModelReader) -> Result<SessionModel, ModelError> {
    let params: SessionParams = r.json()?;
    let checked = params
        .check()
        .map_err(|e| r.corrupt(format!("stored parameters: {e}")))?;
    // Fields are read in the order written, as `write_session` wrote them.
    let parts = SessionParts {
        n_users: r.u64()? as usize,
        n_items: r.u64()? as usize,
        offsets: r.u64s()?.into_iter().map(|o| o as usize).collect(),
        items: r.u32s()?.into_iter().map(ItemId).collect(),
        times: r.u64s()?.into_iter().map(|t| t as i64).collect(),
        users: r.u32s()?.into_iter().map(UserId).collect(),
    };
    let sessions = TrainSessions::from_parts(parts).map_err(|e| r.corrupt(e.to_string()))?;
    Ok(checked.fit(sessions))
}

impl Recommender for Model {
    fn n_items(&self) -> usize {
        self.as_recommender().n_items()
    }

    fn scored_items(&self) -> Option<&[ItemId]> {
        self.as_recommender().scored_items()
    }

    fn score_block(&self, users: &[UserId], history: &UserItemMatrix, out: &mut BlockScores) {
        self.as_recommender().score_block(users, history, out)
    }

    fn needs_history(&self) -> bool {
        self.as_recommender().needs_history()
    }

    fn block_size(&self) -> usize {
        self.as_recommender().block_size()
    }

    fn ranking(&self, user: UserId) -> Option<&[(ItemId, f32)]> {
        self.as_recommender().ranking(user)
    }

    fn factors(&self) -> Option<FactorScores<'_>> {
        self.as_recommender().factors()
    }

    fn packed_items(&self) -> Option<&clickrec_recommend::PackedItems> {
        self.as_recommender().packed_items()
    }
}
