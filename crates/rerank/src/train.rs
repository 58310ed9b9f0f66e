//! Training: labelled candidates of the validation users, negative sampling, and the
//! logistic regression (linfa-logistic) on standardised features.

use std::time::Instant;

use clickrec_core::{Progress, SplitMix64, TestSet, UserId, UserItemMatrix};
use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ShapeBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::candidates::{UserCandidates, check_generators, generator_lists};
use crate::features::{n_features, write_row};
use crate::history::UserHistory;
use crate::model::BLOCK_USERS;
use crate::{CheckedRerank, Generator, History, RerankError, Reranker, Standardizer};

/// Stream tags, so the user sample and the negative samples never share random numbers.
const TAG_USERS: u64 = 0x7573_6572_7300_0001;
const TAG_NEGATIVES: u64 = 0x6e65_6761_7469_7665;

/// What training saw, for the pipeline's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Validation users trained on (with at least one target; sampled to
    /// `max_training_users`).
    pub users: usize,
    /// Validation users left out because they have no target at all.
    pub users_without_targets: usize,
    /// Training users none of whose targets is a candidate: they contribute no rows.
    pub users_without_positive: usize,
    /// Validation targets of the training users.
    pub targets: u64,
    /// Candidates of the training users, before negative sampling.
    pub candidate_rows: u64,
    /// Positive rows (candidate is a validation target), all kept.
    pub positives: u64,
    /// Negative rows kept by the sampling.
    pub negatives_kept: u64,
    /// Share of the training users' validation targets that are candidates: the ceiling
    /// of any re-ranking's recall.
    pub candidate_recall: f64,
    pub mean_candidates_per_user: f64,
    pub seconds: f64,
}

/// A standardised training set and the fit's settings, as an external fitter gets them.
#[derive(Debug)]
pub struct LogisticProblem<'a> {
    /// `labels.len() × features`, row-major, each column standardised.
    pub x: &'a [f32],
    pub features: usize,
    pub labels: &'a [bool],
    /// linfa's L2 weight: `½·l2·|w|²` on the *summed* log-loss.
    pub l2: f64,
    pub max_iterations: u64,
}

/// Another engine's logistic regression, for training sets it should take.
pub trait LogisticFitter {
    /// Whether `rows × features` go to this fitter rather than to linfa here.
    fn takes(&self, rows: usize, features: usize) -> bool;
    /// Fits `problem`; returns the coefficients and the intercept of the logit of `true`.
    fn fit(&self, problem: &LogisticProblem<'_>) -> Result<(Vec<f64>, f64), String>;
}

/// Learns which candidates come first, from the validation users' held-out targets.
///
/// `generators` must be fit on the validation-train events only and `history`/`matrix`
/// built from those events; `validation` holds the targets. Nothing else is read, so no
/// test information can reach the re-ranker. Each validation user (sampled, seeded, to
/// `max_training_users`) contributes all positive candidates and up to
/// `negatives_per_positive` × as many negatives, drawn from a PRNG seeded by
/// (`seed`, user): the result is the same at any thread count.
///
/// Reports to `progress` in training users: the total at the start, the users done after
/// each block has its candidates and features, and `finish` once the logistic fit that
/// follows is done. The fit goes to `external` when it takes the rows.
#[allow(clippy::too_many_arguments)]
pub fn train(
    generators: &[Generator<'_>],
    history: &History<'_>,
    matrix: &UserItemMatrix,
    validation: &TestSet,
    params: &CheckedRerank,
    exclude_seen: bool,
    seed: u64,
    progress: &dyn Progress,
    external: Option<&dyn LogisticFitter>,
) -> Result<(Reranker, TrainReport), RerankError> {
    let start = Instant::now();
    check_generators(generators, history, matrix)?;
    let p = params.params();
    let m = p.candidates_per_generator;
    let nf = n_features(generators.len());
    let with_targets: Vec<UserId> = validation
        .iter()
        .filter(|u| !u.targets.is_empty())
        .map(|u| u.user)
        .collect();
    let users = sample_users(&with_targets, p.max_training_users, seed);
    let mut report = TrainReport {
        users: users.len(),
        users_without_targets: validation.len() - with_targets.len(),
        users_without_positive: 0,
        targets: 0,
        candidate_rows: 0,
        positives: 0,
        negatives_kept: 0,
        candidate_recall: 0.0,
        mean_candidates_per_user: 0.0,
        seconds: 0.0,
    };
    // Rows stay in blocks (user order) until they are standardised into the f64 matrix.
    let mut blocks: Vec<Vec<f32>> = Vec::new();
    let mut labels: Vec<bool> = Vec::new();
    let mut users_done = 0;
    progress.start(users.len() as u64);
    for block in users.chunks(BLOCK_USERS) {
        let lists = generator_lists(generators, matrix, block, m, exclude_seen)?;
        let rows: Vec<UserRows> = block
            .par_iter()
            .map_init(
                || (UserCandidates::default(), UserHistory::default()),
                |(candidates, user_history), &user| {
                    let targets = validation.find(user).map_or(&[][..], |t| t.targets);
                    candidates.build(user, &lists, history, p.recent_items, exclude_seen);
                    let is_target: Vec<bool> = candidates
                        .items
                        .iter()
                        .map(|i| targets.binary_search(i).is_ok())
                        .collect();
                    let keep = sample_rows(
                        &is_target,
                        p.negatives_per_positive,
                        mix(seed, TAG_NEGATIVES, u64::from(user.0)),
                    );
                    history.user(user, user_history);
                    let mut features = Vec::with_capacity(keep.len() * nf);
                    for &k in &keep {
                        write_row(candidates, k, m, user_history, history, &mut features);
                    }
                    UserRows {
                        features,
                        labels: keep.iter().map(|&k| is_target[k]).collect(),
                        candidates: candidates.len(),
                        positives: is_target.iter().filter(|&&t| t).count(),
                        targets: targets.len(),
                    }
                },
            )
            .collect();
        let mut block_rows = Vec::new();
        for r in rows {
            report.targets += r.targets as u64;
            report.candidate_rows += r.candidates as u64;
            report.positives += r.positives as u64;
            report.negatives_kept += (r.labels.len() - r.positives) as u64;
            report.users_without_positive += usize::from(r.positives == 0);
            block_rows.extend_from_slice(&r.features);
            labels.extend_from_slice(&r.labels);
        }
        blocks.push(block_rows);
        users_done += block.len();
        progress.advance_to(users_done as u64);
    }
    if report.users > 0 {
        report.mean_candidates_per_user = report.candidate_rows as f64 / report.users as f64;
    }
    if report.targets > 0 {
        report.candidate_recall = report.positives as f64 / report.targets as f64;
    }
    if report.positives == 0 {
        return Err(RerankError::NoPositives {
            users: report.users,
            targets: report.targets,
        });
    }
    if report.negatives_kept == 0 {
        return Err(RerankError::NoNegatives {
            positives: report.positives,
        });
    }
    let standardizer = Standardizer::fit_blocks(&blocks, nf);
    let nf_rows = (labels.len(), standardizer.n_features());
    let (coefficients, intercept) = match external {
        Some(fitter) if fitter.takes(nf_rows.0, nf_rows.1) => {
            fit_external(fitter, blocks, &labels, &standardizer, params)?
        }
        _ => fit_logistic(blocks, labels, &standardizer, params)?,
    };
    let reranker = Reranker::new(
        generators.iter().map(|g| g.name.to_owned()).collect(),
        m,
        standardizer,
        coefficients,
        intercept,
    )?;
    report.seconds = start.elapsed().as_secs_f64();
    progress.finish();
    Ok((reranker, report))
}

/// One training user's kept rows and counts.
struct UserRows {
    features: Vec<f32>,
    labels: Vec<bool>,
    candidates: usize,
    /// Candidates that are targets (all kept).
    positives: usize,
    targets: usize,
}

/// Standardises the rows into one column-major f64 matrix and fits; returns the
/// coefficients and intercept for the logit of "is a target".
///
/// Column-major because linfa-logistic's gradient multiplies by `xᵀ`: with `x` in
/// Fortran order that is a contiguous matrix-vector product (measured 14 s instead of 91 s
/// for 227k rows × 16 features, 200 iterations, on the shared 2-core machine).
fn fit_logistic(
    blocks: Vec<Vec<f32>>,
    labels: Vec<bool>,
    standardizer: &Standardizer,
    params: &CheckedRerank,
) -> Result<(Vec<f64>, f64), RerankError> {
    let nf = standardizer.n_features();
    let n_rows = labels.len();
    let mut x = Vec::with_capacity(n_rows * nf);
    for j in 0..nf {
        let (mean, std) = (standardizer.mean()[j], standardizer.std()[j]);
        for block in &blocks {
            x.extend(
                block
                    .chunks_exact(nf)
                    .map(|row| (f64::from(row[j]) - mean) / std),
            );
        }
    }
    drop(blocks);
    let x = Array2::from_shape_vec((n_rows, nf).f(), x)
        .map_err(|e| RerankError::Fit(format!("feature matrix: {e}")))?;
    let dataset = DatasetBase::new(x, Array1::from(labels));
    let p = params.params();
    let fitted = LogisticRegression::<f64>::default()
        .alpha(p.l2)
        .max_iterations(p.max_iterations)
        .with_intercept(true)
        .fit(&dataset)
        .map_err(|e| RerankError::Fit(e.to_string()))?;
    // linfa labels the more frequent class "positive" (its probability is what the
    // parameters model); flip so the score is always the logit of `true`.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let coefficients = fitted.params().iter().map(|w| sign * w).collect();
    Ok((coefficients, sign * fitted.intercept()))
}

/// [`fit_logistic`]'s fit by `fitter`, on the same standardised rows (row-major, f32).
fn fit_external(
    fitter: &dyn LogisticFitter,
    blocks: Vec<Vec<f32>>,
    labels: &[bool],
    standardizer: &Standardizer,
    params: &CheckedRerank,
) -> Result<(Vec<f64>, f64), RerankError> {
    let nf = standardizer.n_features();
    let mut x = Vec::with_capacity(labels.len() * nf);
    for row in blocks.iter().flat_map(|b| b.chunks_exact(nf)) {
        x.extend(row.iter().enumerate().map(|(j, &v)| {
            ((f64::from(v) - standardizer.mean()[j]) / standardizer.std()[j]) as f32
        }));
    }
    drop(blocks);
    let p = params.params();
    fitter
        .fit(&LogisticProblem {
            x: &x,
            features: nf,
            labels,
            l2: p.l2,
            max_iterations: p.max_iterations,
        })
        .map_err(RerankError::Fit)
}

/// A seed for `(seed, tag, value)`: each user draws from its own stream.
pub(crate) fn mix(seed: u64, tag: u64, value: u64) -> u64 {
    let stream = SplitMix64::new(seed ^ tag).next_u64();
    SplitMix64::new(stream ^ value).next_u64()
}

/// At most `max` of `users` (0 = all): those with the smallest (seeded hash, user),
/// returned increasing. Which users are kept depends only on the seed and the ids.
pub(crate) fn sample_users(users: &[UserId], max: usize, seed: u64) -> Vec<UserId> {
    if max == 0 || users.len() <= max {
        return users.to_vec();
    }
    let mut keyed: Vec<(u64, UserId)> = users
        .iter()
        .map(|&u| (mix(seed, TAG_USERS, u64::from(u.0)), u))
        .collect();
    clickrec_recommend::retain_best(&mut keyed, max, Ord::cmp);
    let mut kept: Vec<UserId> = keyed[..max].iter().map(|&(_, u)| u).collect();
    kept.sort_unstable();
    kept
}

/// Indices (increasing) of the rows kept for one user: every positive, and
/// `min(negatives, ratio × positives)` negatives drawn without replacement by a partial
/// Fisher–Yates shuffle seeded with `seed`. Nothing when there is no positive.
pub(crate) fn sample_rows(labels: &[bool], ratio: usize, seed: u64) -> Vec<usize> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return Vec::new();
    }
    let mut negatives: Vec<usize> = (0..labels.len()).filter(|&k| !labels[k]).collect();
    let keep = negatives.len().min(ratio.saturating_mul(positives));
    let mut rng = SplitMix64::new(seed);
    for i in 0..keep {
        let j = i + rng.below(negatives.len() - i);
        negatives.swap(i, j);
    }
    negatives.truncate(keep);
    negatives.extend((0..labels.len()).filter(|&k| labels[k]));
    negatives.sort_unstable();
    negatives
}
