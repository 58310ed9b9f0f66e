//! [`ServedRun`]: a finished run directory loaded for serving, and the answers it gives.
//!
//! Every answer goes through the code the pipeline's `recommend` stage and the next-item
//! evaluator use (`recommend_blocks_with_fallback`, `SessionState`, `TopN`), so a user the
//! run knows gets the row of `recs/<model>.parquet`, and a replayed test session the
//! evaluator's lists. Events given at serving time change only the user they belong to:
//! their matrix row grows as the matrix stage would weigh the events
//! ([`clickrec_prep::CheckedWeights::add_events`]) and the model folds the row in
//! ([`Model::fold_in`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clickrec_core::{Behavior, IdMaps, ItemId, UserId, UserItemMatrix};
use clickrec_io::{LockError, RunDirLock, read_events, read_split_id_maps};
use clickrec_models::{FoldedUser, Model, ModelKind};
use clickrec_pipeline::{
    Fallback, MODELS_DIR, Manifest, PipelineConfig, Stage, StageRecord, TRAIN_FILE, load_model,
    read_matrix,
};
use clickrec_prep::CheckedWeights;
use clickrec_recommend::{
    Candidates, RecommendError, RecommendRequest, Recommender, SessionRecommender, TopN,
    recommend_blocks_with_fallback,
};
use serde::Serialize;

use crate::error::ServeError;

/// What the run's pipeline chose, and the served answers follow unless a request says
/// otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RunSettings {
    /// `recommend.n`: the list length when a request gives none.
    pub n: usize,
    /// `recommend.exclude_seen` (the `recent` model always keeps seen items, as offline).
    pub exclude_seen: bool,
    /// `recommend.fallback = "popularity"`: users without history get the popularity list.
    pub fallback: bool,
    /// `evaluate.next_item_prefix_items`: a session's own items may be recommended.
    pub prefix_items: bool,
}

/// One event given at serving time, in the run's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub item: ItemId,
    pub behavior: Behavior,
    /// Unix seconds.
    pub time: i64,
}

/// Each train user's events `(item, time)` in time order, for the models that rank a
/// user's own events (`recent`).
#[derive(Debug)]
struct TrainEvents {
    offsets: Vec<usize>,
    events: Vec<(ItemId, i64)>,
}

impl TrainEvents {
    fn of(&self, user: UserId) -> &[(ItemId, i64)] {
        let u = user.0 as usize;
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.events[a..b],
            _ => &[],
        }
    }
}

/// A finished run, loaded for serving.
#[derive(Debug)]
pub struct ServedRun {
    dir: PathBuf,
    ids: IdMaps,
    users: HashMap<Box<str>, UserId>,
    items: HashMap<Box<str>, ItemId>,
    train: UserItemMatrix,
    /// Items with a train event: the next-item protocol drops session events on others.
    in_train: Vec<bool>,
    /// Loaded when `recent` is served.
    train_events: Option<TrainEvents>,
    models: Vec<Model>,
    fallback: Option<Model>,
    weights: CheckedWeights,
    settings: RunSettings,
    /// The train stage's fingerprint: which fit this is.
    fingerprint: String,
}

impl ServedRun {
    /// Loads the models of `dir` (all that the train stage wrote, or only `only`),
    /// refusing a directory a pipeline is writing, or whose stages up to `train` are
    /// missing or were changed since they ran.
    pub fn load(dir: &Path, only: Option<&[String]>) -> Result<ServedRun, ServeError> {
        let dir = dir.to_owned();
        if !dir.join(clickrec_pipeline::MANIFEST_FILE).is_file() {
            return Err(ServeError::NotARun { dir });
        }
        // Only a check, not held: a pipeline may run again later (and `/admin/reload`
        // then serves its new models).
        match RunDirLock::check_free(&dir) {
            Ok(()) => {}
            Err(LockError::Busy { pid, .. }) => return Err(ServeError::Locked { dir, pid }),
            Err(e) => {
                return Err(ServeError::Untrusted {
                    dir,
                    why: e.to_string(),
                });
            }
        }
        let manifest = Manifest::load(&dir)?;
        let trusted = |stage| {
            manifest
                .trusted(&dir, stage)
                .map_err(|why| ServeError::Untrusted {
                    dir: dir.clone(),
                    why,
                })
        };
        trusted(Stage::Split)?;
        trusted(Stage::Matrix)?;
        let train_record = trusted(Stage::Train)?;
        let config: PipelineConfig =
            serde_json::from_value(manifest.config.clone()).map_err(|e| ServeError::Config {
                dir: dir.clone(),
                message: e.to_string(),
            })?;
        let prep = config.prep.check().map_err(|e| ServeError::Config {
            dir: dir.clone(),
            message: e.to_string(),
        })?;
        let trained = trained_models(train_record, &dir)?;
        let fingerprint = train_record.fingerprint.clone();
        let kinds = match only {
            None => trained,
            Some(names) => pick(&dir, names, &trained)?,
        };
        let ids = read_split_id_maps(&dir)?;
        let train = read_matrix(&dir)?;
        let mut in_train = vec![false; train.n_items()];
        for u in 0..train.n_users() {
            for &item in train.row(UserId(u as u32)).0 {
                in_train[item as usize] = true;
            }
        }
        let models = kinds
            .iter()
            .map(|&kind| load_model(&dir, &ids, kind))
            .collect::<Result<Vec<_>, _>>()?;
        let settings = RunSettings {
            n: config.recommend.n,
            exclude_seen: config.recommend.exclude_seen,
            fallback: config.recommend.fallback() == Fallback::Popularity,
            prefix_items: config.evaluate.next_item_prefix_items,
        };
        let fallback = if settings.fallback {
            Some(load_model(&dir, &ids, ModelKind::Popularity)?)
        } else {
            None
        };
        let train_events = if kinds.contains(&ModelKind::Recent) {
            Some(read_train_events(&dir, &ids, train.n_users())?)
        } else {
            None
        };
        let users = ids
            .users
            .externals()
            .enumerate()
            .map(|(i, e)| (e.into(), UserId(i as u32)))
            .collect();
        let items = ids
            .items
            .externals()
            .enumerate()
            .map(|(i, e)| (e.into(), ItemId(i as u32)))
            .collect();
        Ok(ServedRun {
            dir,
            ids,
            users,
            items,
            train,
            in_train,
            train_events,
            models,
            fallback,
            weights: *prep.weights(),
            settings,
            fingerprint,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run's id maps (external user and item ids).
    pub fn ids(&self) -> &IdMaps {
        &self.ids
    }

    pub fn settings(&self) -> RunSettings {
        self.settings
    }

    /// The train stage's fingerprint: two loads with the same one serve the same fit.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The served models' names, in `ModelKind::ALL` order.
    pub fn model_names(&self) -> Vec<&'static str> {
        self.models.iter().map(|m| m.kind().name()).collect()
    }

    /// The served session models' names (those the session endpoints answer with).
    pub fn session_model_names(&self) -> Vec<&'static str> {
        self.models
            .iter()
            .filter(|m| m.as_session().is_some())
            .map(|m| m.kind().name())
            .collect()
    }

    /// A served model by name.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.kind().name() == name)
    }

    pub fn user(&self, external: &str) -> Option<UserId> {
        self.users.get(external).copied()
    }

    pub fn item(&self, external: &str) -> Option<ItemId> {
        self.items.get(external).copied()
    }

    pub fn item_name(&self, item: ItemId) -> &str {
        self.ids.items.external(item)
    }

    /// Whether `item` has a train event (the next-item protocol replays only those).
    pub fn in_train(&self, item: ItemId) -> bool {
        self.in_train.get(item.0 as usize).copied().unwrap_or(false)
    }

    pub fn n_items(&self) -> usize {
        self.train.n_items()
    }

    /// The exclude-seen setting of `model`'s lists when a request does not say.
    pub fn default_exclude_seen(&self, model: &Model) -> bool {
        self.settings.exclude_seen && model.kind() != ModelKind::Recent
    }

    /// `user`'s top-`n` from `model`, as the recommend stage computes it: from the train
    /// row for a known user with no events since, else from the train row (if any) plus
    /// `added`, folded in. A user with no history gets the fallback list when the run has
    /// one, else an empty list.
    pub fn recommend_user(
        &self,
        model: &Model,
        user: Option<UserId>,
        added: &[Event],
        n: usize,
        exclude_seen: bool,
    ) -> Result<Vec<(ItemId, f32)>, RecommendError> {
        let request = RecommendRequest {
            n: n.min(self.n_items()),
            candidates: Candidates::All,
            exclude_seen,
        };
        match (user, added.is_empty()) {
            (Some(u), true) => self.one_list(model, &self.train, u, &request),
            _ => {
                let (cols, vals, events) = self.history(model, user, added);
                let history = UserItemMatrix::from_csr_parts(
                    1,
                    self.n_items(),
                    vec![0, cols.len()],
                    cols.clone(),
                    vals.clone(),
                )
                .map_err(|_| RecommendError::ItemSpace {
                    expected: self.n_items(),
                    found: cols.iter().max().map_or(0, |&c| c as usize + 1),
                })?;
                let folded = model.fold_in((&cols, &vals), &events);
                self.one_list(&folded, &history, FoldedUser::USER, &request)
            }
        }
    }

    /// The factor `model` (ALS or BPR) folds in for `user` with `added`, for checks.
    pub fn folded_factor(
        &self,
        model: &Model,
        user: Option<UserId>,
        added: &[Event],
    ) -> Option<Vec<f32>> {
        let (cols, vals, events) = self.history(model, user, added);
        model
            .fold_in((&cols, &vals), &events)
            .factor()
            .map(<[f32]>::to_vec)
    }

    /// The user's matrix row with `added`, and the events the model ranks (recent: train
    /// events and `added`; a session model: `added`, the session in progress).
    fn history(
        &self,
        model: &Model,
        user: Option<UserId>,
        added: &[Event],
    ) -> (Vec<u32>, Vec<f32>, Vec<(ItemId, i64)>) {
        let row = user.map_or((&[][..], &[][..]), |u| self.train.row(u));
        let (cols, vals) = self
            .weights
            .add_events(row, added.iter().map(|e| (e.item, e.behavior)));
        let mut events = Vec::new();
        match model.kind() {
            ModelKind::Recent => {
                if let (Some(u), Some(train)) = (user, &self.train_events) {
                    events.extend_from_slice(train.of(u));
                }
                events.extend(added.iter().map(|e| (e.item, e.time)));
                events.sort_by_key(|e| e.1);
            }
            _ if model.as_session().is_some() => {
                events.extend(added.iter().map(|e| (e.item, e.time)));
            }
            _ => {}
        }
        (cols, vals, events)
    }

    fn one_list(
        &self,
        model: &dyn Recommender,
        history: &UserItemMatrix,
        user: UserId,
        request: &RecommendRequest,
    ) -> Result<Vec<(ItemId, f32)>, RecommendError> {
        let fallback = self.fallback.as_ref().map(|m| m as &dyn Recommender);
        let mut out = Vec::new();
        recommend_blocks_with_fallback(model, fallback, history, &[user], request, |block| {
            for list in block.iter() {
                out.extend(list.items.iter().copied().zip(list.scores.iter().copied()));
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The top-`n` next items of a session whose events so far are `events` (time order),
    /// as the next-item evaluator ranks them after the last of them.
    pub fn recommend_session(
        &self,
        model: &dyn SessionRecommender,
        events: &[(ItemId, i64)],
        n: usize,
    ) -> Vec<(ItemId, f32)> {
        // Session models do not look at the user.
        let mut state = model.start_session(UserId(0));
        for &(item, time) in events {
            state.push(item, time);
        }
        let mut scores = Vec::new();
        state.score(&mut scores);
        let mut top = TopN::new(n.min(self.n_items()));
        for (item, score) in scores {
            if self.settings.prefix_items || !events.iter().any(|e| e.0 == item) {
                top.push(item, score);
            }
        }
        let mut list = Vec::new();
        top.drain_sorted(&mut list);
        list
    }
}

/// The models the train stage wrote (`models/<kind>.model`), in `ModelKind::ALL` order.
fn trained_models(record: &StageRecord, dir: &Path) -> Result<Vec<ModelKind>, ServeError> {
    let mut kinds: Vec<ModelKind> = record
        .artifacts
        .iter()
        .filter_map(|a| {
            let path = a.path();
            let in_models = path.parent() == Some(Path::new(MODELS_DIR));
            let is_model = path.extension().is_some_and(|e| e == "model");
            let stem = path.file_stem()?.to_str()?;
            (in_models && is_model)
                .then(|| ModelKind::from_name(stem))
                .flatten()
        })
        .collect();
    kinds.sort();
    if kinds.is_empty() {
        return Err(ServeError::Models {
            dir: dir.to_owned(),
            message: "the run fitted no model ([models.*] tables): nothing to serve".into(),
        });
    }
    Ok(kinds)
}

/// The models named in `--models`, each of which the run must have fitted.
fn pick(dir: &Path, names: &[String], trained: &[ModelKind]) -> Result<Vec<ModelKind>, ServeError> {
    let available = || {
        trained
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut kinds = Vec::new();
    for name in names {
        match ModelKind::from_name(name).filter(|k| trained.contains(k)) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(_) => {}
            None => {
                return Err(ServeError::Models {
                    dir: dir.to_owned(),
                    message: format!(
                        "--models names {name:?}, which this run did not fit; it has: {}",
                        available()
                    ),
                });
            }
        }
    }
    kinds.sort();
    Ok(kinds)
}

fn read_train_events(dir: &Path, ids: &IdMaps, n_users: usize) -> Result<TrainEvents, ServeError> {
    let (log, _) = read_events(&dir.join(TRAIN_FILE), ids)?;
    let mut offsets = vec![0usize; n_users + 1];
    for user in log.users() {
        if let Some(o) = offsets.get_mut(user.0 as usize + 1) {
            *o += 1;
        }
    }
    for u in 1..offsets.len() {
        offsets[u] += offsets[u - 1];
    }
    // The log is sorted by user, then time: each user's events are one run, in order.
    let events = log
        .items()
        .iter()
        .copied()
        .zip(log.timestamps().iter().copied())
        .collect();
    Ok(TrainEvents { offsets, events })
}
