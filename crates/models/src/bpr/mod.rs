//! Bayesian personalised ranking (Rendle et al. 2009) fitted with SGD, comparable to
//! Python `implicit` 0.7.3's CPU `BayesianPersonalizedRanking` (with
//! `learning_rate = 0.01, negative_sampling = "popularity"`, implicit's settings; the
//! defaults differ, see [`BprParams`]), but thread-count independent.
//!
//! # Model
//!
//! A user `u` and an item `i` each have a row of `factors + 1` floats; the item's last
//! column is its bias and the user's last column is the constant 1, so
//! `x_ui = w_u · h_i` is a plain dot product (scoring goes through [`Factors`]). Values
//! of the train matrix are ignored: every stored `(user, item)` is a positive, as in
//! implicit. Initial factor columns are uniform in `[−0.5, 0.5) / factors` (0 for users
//! and items without interactions), item biases 0.
//!
//! # Training
//!
//! One epoch draws as many `(u, i, j)` triples as the matrix has non-zeros: `(u, i)` a
//! positive pair drawn uniformly with replacement, `j` a negative drawn uniformly
//! (default) or by popularity (as implicit); a triple whose negative the user has (with
//! `verify_negative_samples`) or equals the positive is skipped, as implicit skips it.
//! Each kept triple takes one SGD step on `ln σ(x_ui − x_uj)` with L2 regularisation, the
//! same update as implicit's `bpr_update`.
//!
//! Unlike implicit's lock-free Hogwild threads, the epoch is stratified as in DSGD
//! (Gemulla et al. 2011): users and items are split into `blocks` blocks balanced by
//! non-zeros (items re-drawn every epoch); the positives of user block `a` with items of
//! block `b` form a stratum and take their negatives from block `b` too (drawn in
//! uniformly within the block, or in proportion to popularity); the `blocks` strata of a
//! round share no rows, so they run in parallel with no races. Every stratum samples
//! from its own stream seeded by `(seed, epoch, stratum)`, so the fitted factors are
//! bit-identical at any thread count (they do change with `blocks`). Confining a
//! triple's negative to its positive's block is the price of the parallelism; re-drawing
//! the item blocks each epoch spreads a positive's negatives over the catalogue across
//! epochs. Small strata also keep the rows a thread touches in cache, which is most of
//! the speed. See `fit.rs` for details.
//!
//! With `record_loss`, the loss recorded after each epoch is the mean of
//! `−ln σ(x_uij) + (λ/2)(‖w_u‖² + ‖h_i‖² + ‖h_j‖²)` over a fixed seeded sample of up to
//! 100 000 triples drawn once before training.

mod fit;
mod params;

pub use params::{BprParams, CheckedBpr, NegativeSampling};

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, FactorScores, Recommender};

use crate::factors::ScoredRows;
use crate::{
    Factors, FitError, FitOptions, ModelError, ModelReader, ModelWriter, TrainData, Watch,
};

/// A fitted BPR model.
#[derive(Clone, Debug)]
pub struct Bpr {
    params: CheckedBpr,
    user_factors: Factors,
    item_factors: Factors,
    /// The item rows scored when recommending (`None`: all).
    scored: Option<ScoredRows>,
    loss: Vec<f64>,
    /// The scored item factors packed for top-N, made on first use and kept.
    packed: std::sync::OnceLock<clickrec_recommend::PackedItems>,
}

impl Bpr {
    /// Fits on `data`: the same factors for the same data, parameters and
    /// `options.seed`, at any thread count.
    pub fn fit(
        params: &CheckedBpr,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
    ) -> Result<Self, FitError> {
        Self::fit_watched(params, data, options, None)
    }

    /// [`Bpr::fit`], with `watch` told of every epoch (and able to end the fit).
    pub fn fit_watched(
        params: &CheckedBpr,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
        watch: Watch<'_, Bpr>,
    ) -> Result<Self, FitError> {
        let fitted = fit::fit(params, data, options, watch)?;
        Ok(Bpr::from_fitted(params, fitted))
    }

    fn from_fitted(params: &CheckedBpr, fitted: fit::Fitted) -> Self {
        Bpr {
            params: params.clone(),
            user_factors: fitted.user_factors,
            scored: ScoredRows::of(&fitted.item_factors),
            item_factors: fitted.item_factors,
            loss: fitted.loss,
            packed: std::sync::OnceLock::new(),
        }
    }

    pub fn params(&self) -> &CheckedBpr {
        &self.params
    }

    /// `n_users × (factors + 1)`; the last column is 1 (0 for users outside the train
    /// matrix's rows, which [`Factors::score_block`] scores 0).
    pub fn user_factors(&self) -> &Factors {
        &self.user_factors
    }

    /// `n_items × (factors + 1)`; the last column is the item bias.
    pub fn item_factors(&self) -> &Factors {
        &self.item_factors
    }

    /// Loss after each epoch, when the fit recorded it (`record_loss`), else empty.
    pub fn training_loss(&self) -> &[f64] {
        &self.loss
    }

    /// The item factors recommending scores, and the items they stand for when some are
    /// left out (see [`Recommender::scored_items`]).
    pub(crate) fn item_side(&self) -> (&Factors, Option<&[ItemId]>) {
        (
            ScoredRows::or_all(&self.scored, &self.item_factors),
            self.scored.as_ref().map(ScoredRows::items),
        )
    }

    /// The `n` items most similar to `item` by cosine of item factor rows, best first.
    /// The rows include the item-bias column (as implicit's `similar_items` does), so
    /// items of similar popularity are slightly closer. `item` must be in range.
    pub fn similar_items(&self, item: ItemId, n: usize) -> Vec<(ItemId, f32)> {
        self.item_factors.most_similar(item.0 as usize, n)
    }

    /// Payload: parameters (JSON), loss per epoch (f64 bits), user factors, item factors.
    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.json(self.params.params())?;
        let bits: Vec<u64> = self.loss.iter().map(|l| l.to_bits()).collect();
        w.u64s(&bits)?;
        self.user_factors.write(w)?;
        self.item_factors.write(w)
    }

    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let params: BprParams = r.json()?;
        let params = params
            .check()
            .map_err(|e| r.corrupt(format!("invalid parameters: {e}")))?;
        let loss = r.u64s()?.into_iter().map(f64::from_bits).collect();
        let user_factors = Factors::read(r)?;
        let item_factors = Factors::read(r)?;
        let dim = params.params().factors + 1;
        if user_factors.dim() != dim || item_factors.dim() != dim {
            return Err(r.corrupt(format!(
                "BPR with {} factors needs factor rows of {dim} values, found users × {} and items × {}",
                params.params().factors,
                user_factors.dim(),
                item_factors.dim()
            )));
        }
        if user_factors.rows() as u64 > r.ids.n_users || item_factors.rows() as u64 > r.ids.n_items
        {
            return Err(r.corrupt(format!(
                "BPR factors for {} users and {} items exceed the id maps' {} users and {} items",
                user_factors.rows(),
                item_factors.rows(),
                r.ids.n_users,
                r.ids.n_items
            )));
        }
        Ok(Bpr {
            params,
            user_factors,
            scored: ScoredRows::of(&item_factors),
            item_factors,
            loss,
            packed: std::sync::OnceLock::new(),
        })
    }
}

impl Recommender for Bpr {
    fn n_items(&self) -> usize {
        self.item_factors.rows()
    }

    fn scored_items(&self) -> Option<&[ItemId]> {
        self.scored.as_ref().map(ScoredRows::items)
    }

    fn score_block(&self, users: &[UserId], _history: &UserItemMatrix, out: &mut BlockScores) {
        let items = ScoredRows::or_all(&self.scored, &self.item_factors);
        self.user_factors.score_block(items, users, out)
    }

    /// A dense block of at most ~32 MiB of scores, 16 to 1024 users.
    fn block_size(&self) -> usize {
        let width = ScoredRows::or_all(&self.scored, &self.item_factors).rows();
        ((8 << 20) / width.max(1)).clamp(16, 1024)
    }

    fn factors(&self) -> Option<FactorScores<'_>> {
        let items = ScoredRows::or_all(&self.scored, &self.item_factors);
        Some(self.user_factors.scores_against(items))
    }

    fn packed_items(&self) -> Option<&clickrec_recommend::PackedItems> {
        let f = self.factors()?;
        Some(
            self.packed
                .get_or_init(|| clickrec_recommend::PackedItems::new(&f)),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{IdFingerprint, Model, TestTrain as Data};
    use std::sync::Mutex;

    /// Two user groups (even / odd users) liking two item groups (lower / upper half):
    /// each user has a seeded half of their group's items.
    fn two_groups(n_users: u32, n_items: u32) -> Data {
        let mut rng = clickrec_core::SplitMix64::new(11);
        let half = n_items / 2;
        let mut triples = Vec::new();
        for u in 0..n_users {
            let base = if u % 2 == 0 { 0 } else { half };
            for i in base..base + half {
                if rng.below(2) == 0 {
                    triples.push((UserId(u), ItemId(i), 1.0));
                }
            }
        }
        Data::new(
            UserItemMatrix::from_triples(n_users as usize, n_items as usize, triples).unwrap(),
        )
    }

    fn params(factors: usize, iterations: usize) -> CheckedBpr {
        BprParams {
            factors,
            iterations,
            learning_rate: 0.05,
            blocks: 4,
            ..BprParams::default()
        }
        .check()
        .unwrap()
    }

    fn fit_in_pool(threads: usize, data: &Data, params: &CheckedBpr, seed: u64) -> Bpr {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let options = FitOptions {
            seed,
            ..FitOptions::default()
        };
        pool.install(|| Bpr::fit(params, &data.train(), &options).unwrap())
    }

    fn bits(f: &Factors) -> Vec<u32> {
        f.as_slice().iter().map(|v| v.to_bits()).collect()
    }

    /// Random pairs, popular items at low ids: enough items for 8 blocks.
    fn random_matrix(n_users: u32, n_items: u32, per_user: usize) -> Data {
        let mut rng = clickrec_core::SplitMix64::new(5);
        let triples: Vec<_> = (0..n_users)
            .flat_map(|u| (0..per_user).map(move |_| u))
            .map(|u| {
                let x = rng.next_f32();
                let i = (x * x * n_items as f32) as u32;
                (UserId(u), ItemId(i.min(n_items - 1)), 1.0)
            })
            .collect();
        Data::new(
            UserItemMatrix::from_triples(n_users as usize, n_items as usize, triples).unwrap(),
        )
    }

    #[test]
    fn bpr_is_identical_at_any_thread_count_and_changes_with_the_seed() {
        let data = random_matrix(300, 8 * fit::MIN_ITEMS_PER_BLOCK as u32, 20);
        for sampling in [NegativeSampling::Popularity, NegativeSampling::Uniform] {
            let params = BprParams {
                factors: 10,
                iterations: 3,
                blocks: 8,
                negative_sampling: sampling,
                ..BprParams::default()
            }
            .check()
            .unwrap();
            let one = fit_in_pool(1, &data, &params, 7);
            let three = fit_in_pool(3, &data, &params, 7);
            assert_eq!(bits(one.user_factors()), bits(three.user_factors()));
            assert_eq!(bits(one.item_factors()), bits(three.item_factors()));
            let other = fit_in_pool(3, &data, &params, 8);
            assert_ne!(bits(one.item_factors()), bits(other.item_factors()));
            // Another number of blocks is another (equally valid) fit.
            let four = BprParams {
                blocks: 4,
                ..params.params().clone()
            };
            let four = fit_in_pool(2, &data, &four.check().unwrap(), 7);
            assert_ne!(bits(one.item_factors()), bits(four.item_factors()));
            assert_eq!(one.user_factors().rows(), 300);
            assert_eq!(one.item_factors().rows(), 512);
            assert_eq!(one.item_factors().dim(), 11);
            // The user's bias column stays 1.
            assert!((0..300).all(|u| one.user_factors().row(u)[10] == 1.0));
        }
    }

    #[test]
    fn bpr_ranks_unseen_items_of_the_users_group_above_the_other_group() {
        // One block (40 items), then 4 blocks (256 items, 64 per block).
        for (n_users, n_items, blocks) in [(80u32, 40u32, 1usize), (120, 256, 4)] {
            let data = two_groups(n_users, n_items);
            let half = n_items / 2;
            for sampling in [NegativeSampling::Popularity, NegativeSampling::Uniform] {
                let params = BprParams {
                    negative_sampling: sampling,
                    blocks,
                    ..params(8, 60).params().clone()
                }
                .check()
                .unwrap();
                let model = fit_in_pool(2, &data, &params, 42);
                let (mut wins, mut pairs) = (0usize, 0usize);
                for u in 0..n_users {
                    let seen = data.matrix.row(UserId(u)).0;
                    let own = if u % 2 == 0 { 0..half } else { half..n_items };
                    let w = model.user_factors().row(u as usize);
                    let score = |i: u32| -> f32 {
                        w.iter()
                            .zip(model.item_factors().row(i as usize))
                            .map(|(a, b)| a * b)
                            .sum()
                    };
                    let unseen_own: Vec<u32> = own
                        .clone()
                        .filter(|i| seen.binary_search(i).is_err())
                        .collect();
                    let other: Vec<u32> = (0..n_items).filter(|i| !own.contains(i)).collect();
                    for &i in &unseen_own {
                        for &j in &other {
                            pairs += 1;
                            wins += usize::from(score(i) > score(j));
                        }
                    }
                }
                let auc = wins as f64 / pairs as f64;
                assert!(
                    auc > 0.95,
                    "{blocks} blocks, {sampling:?}: AUC of own-group unseen items {auc}"
                );
            }
        }
    }

    /// The progress calls of a fit: `(total)` for `start`, `done` for `advance_to`.
    #[derive(Default)]
    struct Record(Mutex<(Vec<u64>, Vec<u64>)>);

    impl clickrec_core::Progress for Record {
        fn start(&self, total: u64) {
            self.0.lock().unwrap().0.push(total);
        }
        fn advance_to(&self, done: u64) {
            self.0.lock().unwrap().1.push(done);
        }
        fn finish(&self) {}
    }

    #[test]
    fn bpr_loss_decreases_and_progress_reports_every_epoch() {
        let data = two_groups(80, 40);
        let progress = Record::default();
        let options = FitOptions {
            seed: 3,
            record_loss: true,
            progress: &progress,
            ..FitOptions::default()
        };
        let model = Bpr::fit(&params(8, 30), &data.train(), &options).unwrap();
        let loss = model.training_loss();
        assert_eq!(loss.len(), 30);
        assert!(loss.iter().all(|l| l.is_finite() && *l > 0.0));
        assert!(
            loss[29] < 0.8 * loss[0],
            "loss should fall: first {} last {}",
            loss[0],
            loss[29]
        );
        let (starts, advances) = progress.0.into_inner().unwrap();
        assert_eq!(starts, vec![30]);
        assert_eq!(advances, (1..=30).collect::<Vec<u64>>());

        // Without record_loss: no loss, progress still called.
        let progress = Record::default();
        let options = FitOptions {
            progress: &progress,
            ..FitOptions::default()
        };
        let model = Bpr::fit(&params(4, 3), &data.train(), &options).unwrap();
        assert!(model.training_loss().is_empty());
        assert_eq!(progress.0.into_inner().unwrap(), (vec![3], vec![1, 2, 3]));
    }

    #[test]
    fn bpr_refuses_an_empty_matrix_and_reports_divergence() {
        let data = Data::new(UserItemMatrix::from_triples(3, 4, []).unwrap());
        let err = Bpr::fit(&params(4, 2), &data.train(), &FitOptions::default()).unwrap_err();
        assert!(matches!(err, FitError::EmptyTrain { model: "bpr" }));

        let data = two_groups(40, 20);
        let wild = BprParams {
            learning_rate: 1000.0,
            regularization: 0.0,
            factors: 4,
            iterations: 50,
            ..BprParams::default()
        }
        .check()
        .unwrap();
        let err = Bpr::fit(&wild, &data.train(), &FitOptions::default()).unwrap_err();
        assert!(
            matches!(err, FitError::Diverged { model: "bpr", .. }),
            "{err}"
        );
    }

    #[test]
    fn bpr_save_load_round_trip_is_identical() {
        let data = two_groups(30, 20);
        let options = FitOptions {
            record_loss: true,
            ..FitOptions::default()
        };
        let bpr = Bpr::fit(&params(6, 4), &data.train(), &options).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpr.model");
        let ids = IdFingerprint::dense(30, 20);
        let model = Model::Bpr(bpr.clone());
        model.save(&path, &ids).unwrap();
        let Model::Bpr(loaded) = Model::load(&path, &ids).unwrap() else {
            panic!("loaded another kind of model");
        };
        assert_eq!(loaded.params(), bpr.params());
        assert_eq!(bits(loaded.user_factors()), bits(bpr.user_factors()));
        assert_eq!(bits(loaded.item_factors()), bits(bpr.item_factors()));
        let loss_bits = |m: &Bpr| {
            m.training_loss()
                .iter()
                .map(|l| l.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(loss_bits(&loaded), loss_bits(&bpr));
        assert_eq!(loaded.training_loss().len(), 4);
        assert_eq!(
            loaded.similar_items(ItemId(3), 5),
            bpr.similar_items(ItemId(3), 5)
        );

        // Scoring: dense dot products, block size in range.
        let recs = clickrec_recommend::recommend(
            &loaded,
            &data.matrix,
            &[UserId(0), UserId(1)],
            &clickrec_recommend::RecommendRequest::top(5),
        )
        .unwrap();
        assert_eq!(recs.len(), 2);
        assert!((16..=1024).contains(&loaded.block_size()));
    }

    #[test]
    fn similar_items_of_bpr_stay_in_the_group() {
        let data = two_groups(80, 40);
        let model = fit_in_pool(2, &data, &params(8, 60), 5);
        let similar = model.similar_items(ItemId(3), 5);
        assert_eq!(similar.len(), 5);
        assert!(
            similar.iter().all(|(i, _)| i.0 < 20 && i.0 != 3),
            "{similar:?}"
        );
    }
}
