//! Tests across modules: features against hand-computed values, sampling, training
//! (learning, standardisation, determinism) and the re-ranked lists.
#![allow(clippy::unwrap_used)]

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, TestSet, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender};
use proptest::prelude::*;

use crate::candidates::{UserCandidates, generator_lists};
use crate::features::write_row;
use crate::history::UserHistory;
use crate::train::{sample_rows, sample_users};
use crate::*;

/// [`train`] without progress or an external fitter.
fn train_quietly(
    generators: &[Generator<'_>],
    history: &History<'_>,
    matrix: &UserItemMatrix,
    validation: &TestSet,
    params: &CheckedRerank,
    exclude_seen: bool,
    seed: u64,
) -> Result<(Reranker, TrainReport), RerankError> {
    let progress = &clickrec_core::NoProgress;
    train(
        generators,
        history,
        matrix,
        validation,
        params,
        exclude_seen,
        seed,
        progress,
        None,
    )
}

const DAY: i64 = 86_400;
const WEIGHTS: [f32; 4] = [1.0, 2.0, 3.0, 4.0];

/// The same sparse scores for everyone: item 0 → 3, item 3 → 2, item 4 → 1.
#[derive(Debug)]
struct FixedSparse;

impl Recommender for FixedSparse {
    fn n_items(&self) -> usize {
        6
    }
    /// The same scores for everyone, history or not.
    fn needs_history(&self) -> bool {
        false
    }
    fn score_block(&self, _: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
        for list in out.sparse() {
            list.extend([(ItemId(0), 3.0), (ItemId(3), 2.0), (ItemId(4), 1.0)]);
        }
    }
}

/// Dense scores item × 0.5 for everyone: item 5 first.
#[derive(Debug)]
struct ByItem;

impl Recommender for ByItem {
    fn n_items(&self) -> usize {
        6
    }
    /// The same scores for everyone, history or not.
    fn needs_history(&self) -> bool {
        false
    }
    fn score_block(&self, _: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
        for row in out.dense().chunks_mut(6) {
            row.iter_mut()
                .enumerate()
                .for_each(|(i, s)| *s = i as f32 * 0.5);
        }
    }
}

fn log_from(rows: &[(u32, u32, u32, Behavior, i64)]) -> EventLog {
    EventLog::from_columns(
        rows.iter().map(|r| UserId(r.0)).collect(),
        rows.iter().map(|r| ItemId(r.1)).collect(),
        rows.iter().map(|r| CategoryId(r.2)).collect(),
        rows.iter().map(|r| r.3).collect(),
        rows.iter().map(|r| r.4).collect(),
    )
    .unwrap()
}

fn matrix_from(log: &EventLog, n_users: usize, n_items: usize) -> UserItemMatrix {
    UserItemMatrix::from_triples(
        n_users,
        n_items,
        (0..log.len()).map(|r| {
            (
                log.users()[r],
                log.items()[r],
                WEIGHTS[usize::from(log.behaviors()[r].code())],
            )
        }),
    )
    .unwrap()
}

/// Items 0, 1 in category 0; 2, 3 in 1; 4 in 2; item 5 never occurs. User 3 has no events.
fn tiny_log() -> EventLog {
    use Behavior::*;
    log_from(&[
        (0, 0, 0, Pv, 0),
        (0, 0, 0, Cart, DAY),
        (0, 2, 1, Pv, 2 * DAY),
        (1, 1, 0, Pv, 0),
        (1, 3, 1, Buy, 9 * DAY),
        (1, 0, 0, Pv, 10 * DAY),
        (2, 4, 2, Fav, 5 * DAY),
    ])
}

/// Candidates and raw feature rows of `user`, as training and re-ranking compute them.
fn rows_for(
    user: u32,
    generators: &[Generator<'_>],
    history: &History<'_>,
    matrix: &UserItemMatrix,
    m: usize,
    recent: usize,
    exclude_seen: bool,
) -> Vec<(u32, Vec<f32>)> {
    let user = UserId(user);
    let lists = generator_lists(generators, matrix, &[user], m, exclude_seen).unwrap();
    let mut candidates = UserCandidates::default();
    candidates.build(user, &lists, history, recent, exclude_seen);
    let mut user_history = UserHistory::default();
    history.user(user, &mut user_history);
    (0..candidates.len())
        .map(|k| {
            let mut row = Vec::new();
            write_row(&candidates, k, m, &user_history, history, &mut row);
            (candidates.items[k].0, row)
        })
        .collect()
}

fn assert_rows(got: &[(u32, Vec<f32>)], expected: &[(u32, Vec<f32>)]) {
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        expected.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let names = feature_names(&["pop", "half"]);
    for ((item, g), (_, e)) in got.iter().zip(expected) {
        assert_eq!(g.len(), e.len());
        for (k, (a, b)) in g.iter().zip(e).enumerate() {
            assert!(
                (a - b).abs() < 1e-6,
                "item {item}, {}: {a} vs {b}",
                names[k]
            );
        }
    }
}

#[test]
fn features_match_hand_computed_values() {
    let log = tiny_log();
    let matrix = matrix_from(&log, 4, 6);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    assert_eq!(history.now(), 10 * DAY);
    let (pop, half) = (FixedSparse, ByItem);
    let generators = [
        Generator {
            name: "pop",
            model: &pop,
        },
        Generator {
            name: "half",
            model: &half,
        },
    ];
    let ln = |x: f32| x.ln();
    // User 0: pop lists 0 (3.0), 3 (2.0); half lists 5 (2.5), 4 (2.0); recent: 2, 0.
    // Weighted history: category 0 = 1 + 3, category 1 = 1 → shares 0.8 / 0.2.
    // Popularity: item 0 = 1 + 3 + 1, recent (last 7 days) only user 1's pv at day 10.
    let got = rows_for(0, &generators, &history, &matrix, 2, 2, false);
    #[rustfmt::skip]
    let expected = vec![
        (0, vec![3.0, 1.0, 0.0, 0.0, 3.0, 1.0, ln(6.0), ln(2.0), 0.8, ln(2.0), 0.0, ln(2.0), 0.0, ln(1.0 + 216.0), 0.0, ln(4.0)]),
        (2, vec![0.0, 3.0, 1.0, 0.0, 3.0, 1.0, ln(2.0), 0.0, 0.2, ln(2.0), 0.0, 0.0, 0.0, ln(1.0 + 192.0), 0.0, ln(4.0)]),
        (3, vec![2.0, 2.0, 0.0, 0.0, 3.0, 1.0, ln(5.0), ln(5.0), 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, ln(4.0)]),
        (4, vec![0.0, 3.0, 1.0, 2.0, 2.0, 0.0, ln(3.0), ln(3.0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, ln(4.0)]),
        (5, vec![0.0, 3.0, 1.0, 2.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, ln(4.0)]),
    ];
    assert_rows(&got, &expected);

    // Excluding seen items: pop skips 0 and 2, so lists 3, 4; no recent items.
    let got = rows_for(0, &generators, &history, &matrix, 2, 2, true);
    #[rustfmt::skip]
    let expected = vec![
        (3, vec![2.0, 1.0, 0.0, 0.0, 3.0, 1.0, ln(5.0), ln(5.0), 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, ln(4.0)]),
        (4, vec![1.0, 2.0, 0.0, 2.0, 2.0, 0.0, ln(3.0), ln(3.0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, ln(4.0)]),
        (5, vec![0.0, 3.0, 1.0, 2.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, ln(4.0)]),
    ];
    assert_rows(&got, &expected);

    // User 1: buy of item 3 a day before now; its latest distinct items are 0, 3 (then 1).
    let got = rows_for(1, &generators, &history, &matrix, 1, 3, false);
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 1, 3, 5]
    );
    let item3 = &got[2].1;
    assert!((item3[12] - ln(2.0)).abs() < 1e-6, "user_buy");
    assert!(
        (item3[13] - ln(25.0)).abs() < 1e-6,
        "24 hours since the buy"
    );
    assert!(
        (item3[8] - 4.0 / 6.0).abs() < 1e-6,
        "category 1 share: 4 of 1 + 4 + 1"
    );
    assert_eq!(
        &item3[..6],
        &[0.0, 2.0, 1.0, 0.0, 2.0, 1.0],
        "M = 1 → missing rank 2"
    );

    // User 3 has no events: only the generators' items, no user features.
    let got = rows_for(3, &generators, &history, &matrix, 2, 2, false);
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 3, 4, 5]
    );
    for (_, row) in &got {
        assert_eq!(&row[8..], &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }
}

#[test]
fn history_rejects_other_id_spaces_and_bad_weights() {
    let log = tiny_log();
    let small = matrix_from(&log, 4, 6);
    let too_few_items = UserItemMatrix::from_triples(4, 4, []).unwrap();
    let err = History::new(&log, &too_few_items, WEIGHTS, 7.0).unwrap_err();
    assert!(
        matches!(err, RerankError::HistoryShape { kind: "item", .. }),
        "{err}"
    );
    let too_few_users = UserItemMatrix::from_triples(2, 6, []).unwrap();
    let err = History::new(&log, &too_few_users, WEIGHTS, 7.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "history does not fit the matrix: user id 2 is outside its 2 users"
    );
    let err = History::new(&log, &small, [1.0, f32::NAN, 1.0, 1.0], 7.0).unwrap_err();
    assert!(matches!(
        err,
        RerankError::BehaviorWeight {
            behavior: Behavior::Fav,
            ..
        }
    ));
    let err = History::new(&log, &small, WEIGHTS, -1.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rerank.recent_days: expected a finite value > 0, found -1"
    );
}

proptest! {
    #[test]
    fn negative_sampling_keeps_all_positives_and_at_most_ratio_negatives(
        labels in prop::collection::vec(prop::bool::weighted(0.2), 0..80),
        ratio in 1usize..5,
        seed in any::<u64>(),
    ) {
        let kept = sample_rows(&labels, ratio, seed);
        let positives = labels.iter().filter(|&&l| l).count();
        let negatives = labels.len() - positives;
        prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
        prop_assert_eq!(kept.iter().filter(|&&k| labels[k]).count(), positives);
        let kept_negatives = kept.iter().filter(|&&k| !labels[k]).count();
        let expected = if positives == 0 { 0 } else { negatives.min(ratio * positives) };
        prop_assert_eq!(kept_negatives, expected);
        prop_assert_eq!(sample_rows(&labels, ratio, seed), kept);
    }
}

#[test]
fn negative_sampling_depends_on_the_seed() {
    let labels: Vec<bool> = (0..100).map(|k| k == 0).collect();
    let draws: Vec<Vec<usize>> = (0..4).map(|s| sample_rows(&labels, 3, s)).collect();
    assert!(draws.iter().all(|d| d.len() == 4 && d[0] == 0));
    assert!(draws.windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn user_sample_is_seeded_sorted_and_bounded() {
    let users: Vec<UserId> = (0..1000).map(|u| UserId(u * 2)).collect();
    let a = sample_users(&users, 100, 7);
    assert_eq!(a.len(), 100);
    assert!(a.windows(2).all(|w| w[0] < w[1]));
    assert!(a.iter().all(|u| users.binary_search(u).is_ok()));
    assert_eq!(sample_users(&users, 100, 7), a);
    assert_ne!(sample_users(&users, 100, 8), a);
    assert_eq!(sample_users(&users, 0, 7), users);
    assert_eq!(sample_users(&users, 5000, 7), users);
}

// ---- training on a synthetic shop ------------------------------------------------------

const N_ITEMS: usize = 10;

fn target_of(user: u32) -> u32 {
    (user * 7 + 3) % N_ITEMS as u32
}

/// Knows each user's validation target: scores it 1, everything else 0 (`noisy`: other
/// items get small seeded scores, and every fourth user's target scores 0).
#[derive(Debug)]
struct Oracle {
    noisy: bool,
}

impl Recommender for Oracle {
    fn n_items(&self) -> usize {
        N_ITEMS
    }
    fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
        for (row, user) in out.dense().chunks_mut(N_ITEMS).zip(users) {
            if self.noisy {
                for (i, s) in row.iter_mut().enumerate() {
                    *s = ((user.0 as usize * 31 + i * 17) % 13) as f32 / 13.0;
                }
                if user.0 % 4 != 0 {
                    row[target_of(user.0) as usize] = 1.0;
                }
            } else {
                row[target_of(user.0) as usize] = 1.0;
            }
        }
    }
}

/// The same for everyone: lower items first (a popularity list that is usually wrong).
#[derive(Debug)]
struct Descending;

impl Recommender for Descending {
    fn n_items(&self) -> usize {
        N_ITEMS
    }
    fn score_block(&self, _: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
        for row in out.dense().chunks_mut(N_ITEMS) {
            row.iter_mut()
                .enumerate()
                .for_each(|(i, s)| *s = (N_ITEMS - i) as f32);
        }
    }
}

/// `n_users` users with two train events each, and one validation target each.
fn shop(n_users: u32) -> (EventLog, UserItemMatrix, TestSet) {
    let mut rows = Vec::new();
    for u in 0..n_users {
        let t = i64::from(u) * 3600;
        rows.push((u, u % 10, u % 3, Behavior::Pv, t));
        rows.push((u, (u + 1) % 10, (u + 1) % 3, Behavior::Cart, t + 60));
    }
    let log = log_from(&rows);
    let matrix = matrix_from(&log, n_users as usize, N_ITEMS);
    let mut builder = TestSet::builder(&[true; N_ITEMS]);
    for u in 0..n_users {
        builder
            .push_user(UserId(u), false, [(ItemId(target_of(u)), Behavior::Pv)])
            .unwrap();
    }
    (log, matrix, builder.finish())
}

fn params(m: usize, ratio: usize) -> CheckedRerank {
    RerankParams {
        candidates_per_generator: m,
        recent_items: 2,
        negatives_per_positive: ratio,
        ..RerankParams::default()
    }
    .check()
    .unwrap()
}

/// Most tests' generators: the oracle (named "oracle") and the descending list ("desc").
fn oracle_and_desc<'a>(oracle: &'a Oracle, descending: &'a Descending) -> [Generator<'a>; 2] {
    [
        Generator {
            name: "oracle",
            model: oracle,
        },
        Generator {
            name: "desc",
            model: descending,
        },
    ]
}

fn coefficient(reranker: &Reranker, name: &str) -> f64 {
    reranker
        .coefficients_table()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
}

#[test]
fn a_separating_feature_is_learned_and_puts_the_target_first() {
    let (log, matrix, validation) = shop(60);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: false }, Descending);
    let generators = oracle_and_desc(&oracle, &descending);
    let params = params(4, 10);
    /// The positions reported, after the total.
    #[derive(Default)]
    struct Calls(std::sync::Mutex<Vec<u64>>);
    impl clickrec_core::Progress for Calls {
        fn start(&self, total: u64) {
            self.0.lock().unwrap().push(total);
        }
        fn advance_to(&self, done: u64) {
            self.0.lock().unwrap().push(done);
        }
        fn finish(&self) {}
    }
    let calls = Calls::default();
    let (reranker, report) = train(
        &generators,
        &history,
        &matrix,
        &validation,
        &params,
        false,
        1,
        &calls,
        None,
    )
    .unwrap();
    let calls = calls.0.into_inner().unwrap();
    assert_eq!(calls.first(), Some(&60), "the total comes first");
    assert_eq!(calls.last(), Some(&60), "progress ends at every user");
    assert_eq!(report.users, 60);
    assert_eq!(report.positives, 60);
    assert_eq!(report.users_without_positive, 0);
    assert_eq!(report.candidate_recall, 1.0);
    assert!(
        coefficient(&reranker, "oracle_score") > 0.0,
        "{:?}",
        reranker.coefficients_table()
    );
    assert!(coefficient(&reranker, "oracle_rank") < 0.0);

    let users: Vec<UserId> = (0..60).map(UserId).collect();
    let recs = reranker
        .recommend(&generators, &history, &matrix, &users, 3, false, &params)
        .unwrap();
    let mut first_by_desc = 0;
    for list in recs.iter() {
        assert_eq!(
            list.items[0],
            ItemId(target_of(list.user.0)),
            "user {}",
            list.user
        );
        assert!(list.scores.windows(2).all(|w| w[0] >= w[1]));
        first_by_desc += usize::from(target_of(list.user.0) == 0);
    }
    // The popularity list alone would have it right for few users.
    assert!(first_by_desc < 10);
}

/// What an external fitter was given: rows, features, l2, iterations, column means.
type Given = (usize, usize, f64, u64, Vec<f64>);

/// An external fitter that takes sets of at least `min_rows` rows and answers fixed
/// coefficients, recording what it was given.
struct Recording {
    min_rows: usize,
    given: std::sync::Mutex<Vec<Given>>,
}

impl crate::LogisticFitter for Recording {
    fn takes(&self, rows: usize, _features: usize) -> bool {
        rows >= self.min_rows
    }
    fn fit(&self, problem: &crate::LogisticProblem<'_>) -> Result<(Vec<f64>, f64), String> {
        let crate::LogisticProblem {
            x,
            features,
            labels,
            l2,
            max_iterations,
        } = *problem;
        // Column means of what it was given: standardised rows have mean 0.
        let means = (0..features)
            .map(|j| {
                x.iter()
                    .skip(j)
                    .step_by(features)
                    .map(|&v| f64::from(v))
                    .sum::<f64>()
                    / labels.len() as f64
            })
            .collect();
        self.given
            .lock()
            .unwrap()
            .push((labels.len(), features, l2, max_iterations, means));
        Ok(((0..features).map(|j| j as f64).collect(), -1.5))
    }
}

#[test]
fn an_external_fitter_that_takes_the_rows_fits_them_standardised() {
    let (log, matrix, validation) = shop(60);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: false }, Descending);
    let generators = oracle_and_desc(&oracle, &descending);
    let params = params(4, 10);
    let run = |fitter: &Recording| {
        train(
            &generators,
            &history,
            &matrix,
            &validation,
            &params,
            false,
            1,
            &clickrec_core::NoProgress,
            Some(fitter),
        )
        .unwrap()
    };
    let taking = Recording {
        min_rows: 0,
        given: Default::default(),
    };
    let (reranker, report) = run(&taking);
    let given = taking.given.into_inner().unwrap();
    assert_eq!(given.len(), 1);
    let (rows, features, l2, iterations, means) = &given[0];
    assert_eq!(
        *rows as u64,
        report.positives + report.negatives_kept,
        "every kept row"
    );
    assert_eq!(*features, reranker.coefficients().len());
    assert_eq!(
        (*l2, *iterations),
        (params.params().l2, params.params().max_iterations)
    );
    assert!(means.iter().all(|m| m.abs() < 1e-4), "{means:?}");
    let expected: Vec<f64> = (0..*features).map(|j| j as f64).collect();
    assert_eq!(reranker.coefficients(), expected, "its answer is the model");
    assert_eq!(reranker.intercept(), -1.5);

    // A fitter that does not take the rows leaves the fit to linfa.
    let declining = Recording {
        min_rows: usize::MAX,
        given: Default::default(),
    };
    let (local, _) = run(&declining);
    assert!(declining.given.into_inner().unwrap().is_empty());
    assert!(coefficient(&local, "oracle_score") > 0.0);
}

#[test]
fn standardizer_is_fitted_on_the_kept_training_rows_only() {
    let (log, matrix, validation) = shop(40);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: false }, Descending);
    let generators = oracle_and_desc(&oracle, &descending);
    // One negative per positive: the oracle scores 1 on exactly half the kept rows, while
    // over all candidates (about 7 per user) it would be about 1/7.
    let (reranker, report) = train_quietly(
        &generators,
        &history,
        &matrix,
        &validation,
        &params(4, 1),
        false,
        3,
    )
    .unwrap();
    assert_eq!((report.positives, report.negatives_kept), (40, 40));
    assert!(report.mean_candidates_per_user > 4.0);
    let k = reranker
        .feature_names()
        .iter()
        .position(|n| n == "oracle_score")
        .unwrap();
    assert_eq!(reranker.standardizer().mean()[k], 0.5);
    assert_eq!(reranker.standardizer().std()[k], 0.5);
}

#[test]
fn training_and_reranking_do_not_depend_on_the_thread_count() {
    let (log, matrix, validation) = shop(300);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: true }, Descending);
    let generators = oracle_and_desc(&oracle, &descending);
    let params = RerankParams {
        max_training_users: 200,
        ..params(5, 2).params().clone()
    }
    .check()
    .unwrap();
    let users: Vec<UserId> = (0..300).map(UserId).collect();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let (reranker, mut report) = train_quietly(
                    &generators,
                    &history,
                    &matrix,
                    &validation,
                    &params,
                    false,
                    11,
                )
                .unwrap();
                report.seconds = 0.0;
                let recs = reranker
                    .recommend(&generators, &history, &matrix, &users, 5, false, &params)
                    .unwrap();
                (reranker, report, recs)
            })
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.1.users, 200);
    assert!(
        one.1.users_without_positive > 0,
        "noisy oracle misses some targets"
    );
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
    assert_eq!(one.2, two.2);
    // Another seed samples other users and negatives, so it learns another model.
    let (other, _) = train_quietly(
        &generators,
        &history,
        &matrix,
        &validation,
        &params,
        false,
        12,
    )
    .unwrap();
    assert_ne!(other, one.0);
}

#[test]
fn streamed_blocks_match_the_collected_lists_and_respect_exclude_seen() {
    let (log, matrix, validation) = shop(50);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: true }, Descending);
    let generators = oracle_and_desc(&oracle, &descending);
    let params = params(3, 5);
    let (reranker, _) = train_quietly(
        &generators,
        &history,
        &matrix,
        &validation,
        &params,
        true,
        5,
    )
    .unwrap();
    let users: Vec<UserId> = (0..50).step_by(3).map(UserId).collect();
    let mut streamed = clickrec_recommend::Recommendations::new();
    reranker
        .recommend_blocks(
            &generators,
            &history,
            &matrix,
            &users,
            4,
            true,
            &params,
            |b| streamed.append(b).map_err(RerankError::from),
        )
        .unwrap();
    let collected = reranker
        .recommend(&generators, &history, &matrix, &users, 4, true, &params)
        .unwrap();
    assert_eq!(streamed, collected);
    assert_eq!(collected.users(), &users[..]);
    for list in collected.iter() {
        let seen = matrix.row(list.user).0;
        assert!(
            list.items.iter().all(|i| !seen.contains(&i.0)),
            "user {}",
            list.user
        );
        assert!(!list.items.is_empty() && list.items.len() <= 4);
    }
    let err = reranker
        .recommend(
            &generators,
            &history,
            &matrix,
            &[UserId(2), UserId(1)],
            4,
            true,
            &params,
        )
        .unwrap_err();
    assert!(matches!(err, RerankError::UserOrder { .. }));
}

#[test]
fn generators_must_match_the_trained_ones() {
    let (log, matrix, validation) = shop(30);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: false }, Descending);
    let trained = oracle_and_desc(&oracle, &descending);
    let params = params(4, 10);
    let (reranker, _) =
        train_quietly(&trained, &history, &matrix, &validation, &params, false, 1).unwrap();
    let users = [UserId(0)];
    let swapped = [trained[1], trained[0]];
    let err = reranker
        .recommend(&swapped, &history, &matrix, &users, 3, false, &params)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "generators [\"desc\", \"oracle\"] do not match the re-ranker's [\"oracle\", \"desc\"]: \
         pass the same generators in the same order"
    );
    let err = reranker
        .recommend(&trained[..1], &history, &matrix, &users, 3, false, &params)
        .unwrap_err();
    assert!(matches!(err, RerankError::GeneratorMismatch { .. }));
    let err = reranker
        .recommend(
            &trained,
            &history,
            &matrix,
            &users,
            3,
            false,
            &self::params(5, 10),
        )
        .unwrap_err();
    assert_eq!(
        err,
        RerankError::CandidatesMismatch {
            trained: 4,
            found: 5
        }
    );

    let twice = [trained[0], trained[0]];
    let err = train_quietly(&twice, &history, &matrix, &validation, &params, false, 1).unwrap_err();
    assert_eq!(err.to_string(), "generator name \"oracle\" is listed twice");
    let err = train_quietly(&[], &history, &matrix, &validation, &params, false, 1).unwrap_err();
    assert_eq!(err, RerankError::NoGenerators);
    let other_space = FixedSparse;
    let err = train_quietly(
        &[Generator {
            name: "pop",
            model: &other_space,
        }],
        &history,
        &matrix,
        &validation,
        &params,
        false,
        1,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        RerankError::ItemSpace {
            expected: 10,
            found: 6,
            ..
        }
    ));
}

#[test]
fn training_without_any_positive_says_so() {
    let (log, matrix, _) = shop(20);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let descending = Descending;
    let generators = [Generator {
        name: "desc",
        model: &descending,
    }];
    // Targets are items 8 and 9 only; `desc` lists 0..3 and recent items are off.
    let mut builder = TestSet::builder(&[true; N_ITEMS]);
    for u in 0..20 {
        builder
            .push_user(UserId(u), false, [(ItemId(8 + u % 2), Behavior::Pv)])
            .unwrap();
    }
    let validation = builder.finish();
    let params = RerankParams {
        candidates_per_generator: 3,
        recent_items: 0,
        ..RerankParams::default()
    }
    .check()
    .unwrap();
    let err = train_quietly(
        &generators,
        &history,
        &matrix,
        &validation,
        &params,
        false,
        1,
    )
    .unwrap_err();
    assert_eq!(
        err,
        RerankError::NoPositives {
            users: 20,
            targets: 20
        }
    );
    assert!(
        err.to_string()
            .starts_with("no validation target appears among the candidates")
    );
}

#[test]
fn saved_rerankers_round_trip_and_are_checked_on_load() {
    let (log, matrix, validation) = shop(30);
    let history = History::new(&log, &matrix, WEIGHTS, 7.0).unwrap();
    let (oracle, descending) = (Oracle { noisy: false }, Descending);
    let generators = oracle_and_desc(&oracle, &descending);
    let (reranker, _) = train_quietly(
        &generators,
        &history,
        &matrix,
        &validation,
        &params(4, 10),
        false,
        1,
    )
    .unwrap();
    let json = serde_json::to_string(&reranker).unwrap();
    let back: Reranker = serde_json::from_str(&json).unwrap();
    // serde_json (without `float_roundtrip`) may parse a float one ulp off.
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
    };
    assert_eq!(back.feature_names(), reranker.feature_names());
    assert_eq!(back.generator_names(), reranker.generator_names());
    assert_eq!(back.candidates_per_generator(), 4);
    assert!(close(back.coefficients(), reranker.coefficients()));
    assert!(close(
        back.standardizer().mean(),
        reranker.standardizer().mean()
    ));
    assert!(close(
        back.standardizer().std(),
        reranker.standardizer().std()
    ));
    assert!(close(&[back.intercept()], &[reranker.intercept()]));
    let renamed = json.replace("\"oracle_score\"", "\"oracle_points\"");
    let err = serde_json::from_str::<Reranker>(&renamed)
        .unwrap_err()
        .to_string();
    assert!(err.contains("feature names do not follow"), "{err}");
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["coefficients"].as_array_mut().unwrap().pop();
    let err = serde_json::from_str::<Reranker>(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("16 features but 15 coefficients"), "{err}");
    // The score is the logit: intercept plus weighted standardised features.
    let row = vec![1.0f32; reranker.feature_names().len()];
    let s = reranker.standardizer();
    let expected = reranker.intercept()
        + (0..row.len())
            .map(|j| reranker.coefficients()[j] * (1.0 - s.mean()[j]) / s.std()[j])
            .sum::<f64>();
    assert!((reranker.score(&row) - expected).abs() < 1e-9);
}
