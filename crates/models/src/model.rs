//! [`Model`]: any fitted model, for the pipeline and the CLI; `[models.*]` config tables.

use std::path::Path;

use clickrec_core::{BlockScores, FactorScores, ItemId, Recommender, UserId, UserItemMatrix};
use serde::{Deserialize, Serialize};

use crate::als::{Als, AlsParams, CheckedAls};
use crate::bpr::{Bpr, BprParams, CheckedBpr};
use crate::knn::{CheckedItemKnn, ItemKnn, ItemKnnParams};
use crate::popularity::{CheckedPopularity, Popularity, PopularityParams};
use crate::{
    FitError, FitOptions, IdFingerprint, ModelError, ModelReader, ModelWriter, ParamError,
    TrainData,
};

/// The kinds of model, named as in config tables and file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Popularity,
    ItemKnn,
    Als,
    Bpr,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Popularity,
        ModelKind::ItemKnn,
        ModelKind::Als,
        ModelKind::Bpr,
    ];

    /// Config-table and file name: `popularity`, `item_knn`, `als`, `bpr`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Popularity => "popularity",
            ModelKind::ItemKnn => "item_knn",
            ModelKind::Als => "als",
            ModelKind::Bpr => "bpr",
        }
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
    pub item_knn: Option<ItemKnnParams>,
    pub als: Option<AlsParams>,
    pub bpr: Option<BprParams>,
}

/// Valid parameters of one model: only these can fit.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckedModel {
    Popularity(CheckedPopularity),
    ItemKnn(CheckedItemKnn),
    Als(CheckedAls),
    Bpr(CheckedBpr),
}

impl ModelsConfig {
    /// Checks every configured model, in [`ModelKind::ALL`] order.
    pub fn check(&self) -> Result<Vec<CheckedModel>, ParamError> {
        let mut models = Vec::new();
        if let Some(p) = &self.popularity {
            models.push(CheckedModel::Popularity(p.check()?));
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
        Ok(models)
    }

    /// True when no model table is present.
    pub fn is_empty(&self) -> bool {
        self.popularity.is_none()
            && self.item_knn.is_none()
            && self.als.is_none()
            && self.bpr.is_none()
    }
}

impl CheckedModel {
    pub fn kind(&self) -> ModelKind {
        match self {
            CheckedModel::Popularity(_) => ModelKind::Popularity,
            CheckedModel::ItemKnn(_) => ModelKind::ItemKnn,
            CheckedModel::Als(_) => ModelKind::Als,
            CheckedModel::Bpr(_) => ModelKind::Bpr,
        }
    }

    pub fn fit(&self, data: &TrainData<'_>, options: &FitOptions<'_>) -> Result<Model, FitError> {
        Ok(match self {
            CheckedModel::Popularity(p) => Model::Popularity(Popularity::fit(p, data, options)?),
            CheckedModel::ItemKnn(p) => Model::ItemKnn(ItemKnn::fit(p, data, options)?),
            CheckedModel::Als(p) => Model::Als(Als::fit(p, data, options)?),
            CheckedModel::Bpr(p) => Model::Bpr(Bpr::fit(p, data, options)?),
        })
    }
}

/// Any fitted model.
#[derive(Clone, Debug)]
pub enum Model {
    Popularity(Popularity),
    ItemKnn(ItemKnn),
    Als(Als),
    Bpr(Bpr),
}

impl Model {
    pub fn kind(&self) -> ModelKind {
        match self {
            Model::Popularity(_) => ModelKind::Popularity,
            Model::ItemKnn(_) => ModelKind::ItemKnn,
            Model::Als(_) => ModelKind::Als,
            Model::Bpr(_) => ModelKind::Bpr,
        }
    }

    fn as_recommender(&self) -> &dyn Recommender {
        match self {
            Model::Popularity(m) => m,
            Model::ItemKnn(m) => m,
            Model::Als(m) => m,
            Model::Bpr(m) => m,
        }
    }

    /// Training loss per iteration, when the fit recorded it (ALS, BPR with `record_loss`).
    pub fn training_loss(&self) -> &[f64] {
        match self {
            Model::Als(m) => m.training_loss(),
            Model::Bpr(m) => m.training_loss(),
            Model::Popularity(_) | Model::ItemKnn(_) => &[],
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
        Ok(match self {
            Model::ItemKnn(m) => m.similar_items(item, n),
            Model::Als(m) => m.similar_items(item, n),
            Model::Bpr(m) => m.similar_items(item, n),
            Model::Popularity(_) => {
                return Err(ModelError::NoSimilarItems {
                    kind: self.kind().name(),
                });
            }
        })
    }

    /// Writes the model to `path` (through a temporary file, so a crash never leaves a
    /// half-written model under the final name).
    pub fn save(&self, path: &Path, ids: &IdFingerprint) -> Result<(), ModelError> {
        let tmp = path.with_extension("tmp");
        let mut w = ModelWriter::create(&tmp, self.kind().name(), ids)?;
        match self {
            Model::Popularity(m) => m.write(&mut w)?,
            Model::ItemKnn(m) => m.write(&mut w)?,
            Model::Als(m) => m.write(&mut w)?,
            Model::Bpr(m) => m.write(&mut w)?,
        }
        w.finish()?;
        std::fs::rename(&tmp, path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            action: "rename into place",
            source,
        })
    }

    /// Reads a model saved by [`Model::save`], refusing one fitted on other id maps.
    pub fn load(path: &Path, ids: &IdFingerprint) -> Result<Model, ModelError> {
        let mut r = ModelReader::open(path)?;
        r.check_ids(ids)?;
        let kind = ModelKind::from_name(&r.kind)
            .ok_or_else(|| r.corrupt(format!("unknown model kind {:?}", r.kind)))?;
        let model = match kind {
            ModelKind::Popularity => Model::Popularity(Popularity::read(&mut r)?),
            ModelKind::ItemKnn => Model::ItemKnn(ItemKnn::read(&mut r)?),
            ModelKind::Als => Model::Als(Als::read(&mut r)?),
            ModelKind::Bpr => Model::Bpr(Bpr::read(&mut r)?),
        };
        r.finish()?;
        Ok(model)
    }
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

    fn block_size(&self) -> usize {
        self.as_recommender().block_size()
    }

    fn ranking(&self, user: UserId) -> Option<&[(ItemId, f32)]> {
        self.as_recommender().ranking(user)
    }

    fn factors(&self) -> Option<FactorScores<'_>> {
        self.as_recommender().factors()
    }
}
