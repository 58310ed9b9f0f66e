//! What fitting reads, how it reports progress, and how a watcher can stop it early.

use clickrec_core::{EventLog, ItemUserMatrix, NoProgress, Progress, UserItemMatrix};

use crate::FitError;

/// Training data handed to every model's `fit`.
#[derive(Clone, Copy, Debug)]
pub struct TrainData<'a> {
    /// Behaviour-weighted confidences, users × items (the pipeline's `train_matrix.csr`).
    pub matrix: &'a UserItemMatrix,
    /// Its transpose, items × users, for item-side steps.
    pub item_users: &'a ItemUserMatrix,
    /// The train events, sorted by (user, time), for time-aware models (recent popularity).
    pub log: &'a EventLog,
    /// Confidence of one event per behaviour, indexed by `Behavior::code()` (pv, fav,
    /// cart, buy), as used to build `matrix`.
    pub behavior_weights: [f32; 4],
    /// Session index of each event of `log` (the prep stage's `session` column), for the
    /// session models; `None`: each user's events form one session.
    pub sessions: Option<&'a [u32]>,
}

impl TrainData<'_> {
    pub fn n_users(&self) -> usize {
        self.matrix.n_users()
    }

    pub fn n_items(&self) -> usize {
        self.matrix.n_items()
    }
}

/// A train matrix with its transpose and an empty log, for the models' unit tests.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct TestTrain {
    pub(crate) matrix: UserItemMatrix,
    pub(crate) item_users: ItemUserMatrix,
    log: EventLog,
}

#[cfg(test)]
impl TestTrain {
    pub(crate) fn new(matrix: UserItemMatrix) -> Self {
        TestTrain {
            item_users: matrix.transpose(),
            matrix,
            log: EventLog::default(),
        }
    }

    /// The [`TrainData`], every behaviour weighing 1.
    pub(crate) fn train(&self) -> TrainData<'_> {
        TrainData {
            matrix: &self.matrix,
            item_users: &self.item_users,
            log: &self.log,
            behavior_weights: [1.0; 4],
            sessions: None,
        }
    }
}

/// What an iterative fit (ALS, BPR) calls after each iteration: the iterations done and
/// a maker of the model as it stands (called only when someone watches); `false` ends the
/// fit there. [`crate::CheckedModel::fit_watched`] makes one of a [`crate::FitMonitor`].
pub type Watch<'a, M> = Option<&'a (dyn Fn(usize, &dyn Fn() -> M) -> bool + Sync)>;

/// Whether the fit goes on after `done` iterations.
pub(crate) fn keep_going<M>(watch: Watch<'_, M>, done: usize, snapshot: &dyn Fn() -> M) -> bool {
    watch.is_none_or(|watch| watch(done, snapshot))
}

/// Run-wide fitting options (not model parameters).
#[derive(Clone, Copy)]
pub struct FitOptions<'a> {
    /// Every random choice of a fit derives from this seed.
    pub seed: u64,
    /// Compute and record the training loss per iteration (costs time).
    pub record_loss: bool,
    /// Iterations done of the planned count (`start`, then `advance_to` after each).
    pub progress: &'a dyn Progress,
    /// Bytes a fit's dense buffers may take (factors, Gram matrices, accumulators): a fit
    /// needing more is refused before allocating ([`clickrec_core::check_memory`]).
    pub memory_limit: u64,
}

impl FitOptions<'_> {
    /// Refuses `model`'s dense buffers of `bytes` above [`FitOptions::memory_limit`],
    /// before they are allocated; `what` names them and the sizes they follow from.
    pub(crate) fn check_memory(
        &self,
        model: &'static str,
        bytes: u128,
        what: impl FnOnce() -> String,
    ) -> Result<(), FitError> {
        clickrec_core::check_memory(bytes, self.memory_limit, what).map_err(|source| {
            FitError::Memory {
                model,
                source: Box::new(source),
            }
        })
    }
}

impl std::fmt::Debug for FitOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitOptions")
            .field("seed", &self.seed)
            .field("record_loss", &self.record_loss)
            .field("memory_limit", &self.memory_limit)
            .finish_non_exhaustive()
    }
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            seed: 42,
            record_loss: false,
            progress: &NoProgress,
            memory_limit: clickrec_core::default_memory_limit(),
        }
    }
}
