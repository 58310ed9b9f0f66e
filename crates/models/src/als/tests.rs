#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use clickrec_core::{EventLog, ItemId, ItemUserMatrix, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, RecommendRequest, Recommender, recommend};

use super::cg::{RowSolver, Scratch};
use super::fit::{ExactUserSolver, half_sweep_gram};
use super::*;
use crate::{FitError, FitOptions, IdFingerprint, Model, ModelReader, ModelWriter, TrainData};

struct Data {
    matrix: UserItemMatrix,
    item_users: ItemUserMatrix,
    log: EventLog,
}

impl Data {
    fn new(n_users: usize, n_items: usize, triples: &[(u32, u32, f32)]) -> Self {
        let matrix = UserItemMatrix::from_triples(
            n_users,
            n_items,
            triples.iter().map(|&(u, i, w)| (UserId(u), ItemId(i), w)),
        )
        .unwrap();
        let item_users = matrix.transpose();
        Data {
            matrix,
            item_users,
            log: EventLog::default(),
        }
    }

    fn train(&self) -> TrainData<'_> {
        TrainData {
            matrix: &self.matrix,
            item_users: &self.item_users,
            log: &self.log,
            behavior_weights: [1.0, 2.0, 3.0, 4.0],
            sessions: None,
        }
    }
}

/// A deterministic pseudo-random matrix with a few repeated values.
fn random_data(n_users: u32, n_items: u32, per_user: u32) -> Data {
    let mut state = 12345u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut triples = Vec::new();
    for u in 0..n_users {
        for _ in 0..per_user {
            let i = (next() % u64::from(n_items)) as u32;
            triples.push((u, i, 1.0 + (next() % 4) as f32));
        }
    }
    // An empty user and (likely) empty items, to exercise zero rows.
    Data::new(n_users as usize + 1, n_items as usize + 2, &triples)
}

/// Two groups: users 0..10 like items 0..10, users 10..20 like items 10..20; user `u`
/// has not seen item `u` (its own group's unseen item).
fn block_data() -> Data {
    let mut triples = Vec::new();
    for u in 0..20u32 {
        let group = u / 10;
        for i in group * 10..group * 10 + 10 {
            if i != u {
                triples.push((u, i, 1.0 + ((u + i) % 3) as f32));
            }
        }
    }
    Data::new(20, 20, &triples)
}

fn params(factors: usize, iterations: usize) -> CheckedAls {
    AlsParams {
        factors,
        iterations,
        ..AlsParams::default()
    }
    .check()
    .unwrap()
}

/// [`params`] with the revisit's terms: unobserved pairs weighing 0.1, λ scaled by the
/// row's frequency.
fn revisited(factors: usize, iterations: usize) -> CheckedAls {
    AlsParams {
        unobserved_weight: 0.1,
        regularization_exp: 1.0,
        ..params(factors, iterations).params().clone()
    }
    .check()
    .unwrap()
}

fn options(record_loss: bool) -> FitOptions<'static> {
    FitOptions {
        seed: 7,
        record_loss,
        progress: &clickrec_core::NoProgress,
        ..FitOptions::default()
    }
}

fn bits(f: &Factors) -> Vec<u32> {
    f.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// Solves the symmetric positive definite `a x = b` by Cholesky, in f64.
#[allow(clippy::needless_range_loop)] // index-based reads closest to the textbook
fn cholesky_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for j in 0..n {
        for k in 0..j {
            let ljk = a[j][k];
            for i in j..n {
                a[i][j] -= a[i][k] * ljk;
            }
        }
        let d = a[j][j].sqrt();
        for i in j..n {
            a[i][j] /= d;
        }
    }
    for i in 0..n {
        for k in 0..i {
            b[i] -= a[i][k] * b[k];
        }
        b[i] /= a[i][i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            b[i] -= a[k][i] * b[k];
        }
        b[i] /= a[i][i];
    }
    b
}

#[test]
fn cg_with_factors_steps_and_the_exact_solver_match_a_textbook_least_squares_solve() {
    let (dim, n_items) = (4, 6);
    let y: Vec<f32> = (0..n_items * dim)
        .map(|k| ((k * 7 + 3) % 11) as f32 / 11.0 - 0.3)
        .collect();
    let items = Factors::from_vec(n_items, dim, y);
    let cols = [0u32, 2, 3, 5];
    let vals = [1.0f32, 3.0, 0.5, -1.0];
    // implicit's objective, then the revisit's: unobserved weight and frequency-scaled λ.
    for (unobserved_weight, regularization_exp) in [(1.0f32, 0.0f32), (0.2, 0.0), (0.3, 1.0)] {
        let p = AlsParams {
            factors: dim,
            regularization: 0.1,
            alpha: 2.0,
            unobserved_weight,
            regularization_exp,
            ..AlsParams::default()
        };
        // (YᵀC Y + λ_u I) x = YᵀC p, with C = alpha·|r| observed, α₀ otherwise, and
        // λ_u = λ·(n_u + α₀·items)^ν.
        let lambda = f64::from(p.regularization)
            * (cols.len() as f64 + f64::from(unobserved_weight) * n_items as f64)
                .powf(f64::from(regularization_exp));
        let mut a = vec![vec![0f64; dim]; dim];
        let mut b = vec![0f64; dim];
        for i in 0..n_items {
            let yi = items.row(i);
            let (c, target) = match cols.iter().position(|&c| c as usize == i) {
                Some(k) => (
                    f64::from(p.alpha * vals[k].abs()),
                    if vals[k] > 0.0 { 1.0 } else { 0.0 },
                ),
                None => (f64::from(unobserved_weight), 0.0),
            };
            for r in 0..dim {
                b[r] += c * target * f64::from(yi[r]);
                for s in 0..dim {
                    a[r][s] += c * f64::from(yi[r]) * f64::from(yi[s]);
                }
            }
        }
        for (r, row) in a.iter_mut().enumerate() {
            row[r] += lambda;
        }
        let exact = cholesky_solve(a, b);

        let g = half_sweep_gram(&items, &p);
        let solver = RowSolver {
            gram: &g,
            other: &items,
            alpha: p.alpha,
            unobserved: unobserved_weight,
            row_regularization: (!p.uniform_regularization()).then_some((&p, n_items)),
            cg_steps: dim,
        };
        let mut x = vec![0.01f32, 0.002, 0.005, 0.0];
        solver.solve(&mut Scratch::new(dim), &cols, &vals, &mut x);
        let mut cholesky = vec![0f32; dim];
        ExactUserSolver::new(&g, &items, &p).solve(&cols, &vals, &mut cholesky);
        for ((cg, exact_solver), want) in x.iter().zip(&cholesky).zip(&exact) {
            assert!(
                (f64::from(*cg) - want).abs() < 1e-4,
                "α₀ {unobserved_weight}, ν {regularization_exp}: cg {x:?} vs textbook {exact:?}"
            );
            assert!(
                (f64::from(*exact_solver) - want).abs() < 1e-5,
                "α₀ {unobserved_weight}, ν {regularization_exp}: cholesky {cholesky:?} vs textbook {exact:?}"
            );
        }

        // An empty row gets a zero factor.
        let mut x = vec![1.0f32; dim];
        solver.solve(&mut Scratch::new(dim), &[], &[], &mut x);
        assert_eq!(x, vec![0.0; dim]);
    }
}

#[test]
fn fit_is_bit_identical_at_any_thread_count() {
    let data = random_data(700, 300, 12);
    // 20 factors: one full block of 16 lanes plus a tail in every kernel.
    for p in [params(20, 4), revisited(20, 4)] {
        let fit = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| Als::fit(&p, &data.train(), &options(true)).unwrap())
        };
        let (one, three) = (fit(1), fit(3));
        assert_eq!(bits(one.user_factors()), bits(three.user_factors()));
        assert_eq!(bits(one.item_factors()), bits(three.item_factors()));
        let loss_bits = |m: &Als| {
            m.training_loss()
                .iter()
                .map(|l| l.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(loss_bits(&one), loss_bits(&three));
        assert_eq!(one.training_loss().len(), 4);
        // The empty user and items have zero factors.
        assert!(one.user_factors().row(700).iter().all(|&v| v == 0.0));
        assert!(one.item_factors().row(301).iter().all(|&v| v == 0.0));
    }
}

/// Scores every item id, the zero rows of untrained items included.
struct FullScoring<'a>(&'a Als);

impl Recommender for FullScoring<'_> {
    fn n_items(&self) -> usize {
        self.0.n_items()
    }
    fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
        self.0
            .user_factors()
            .score_block(self.0.item_factors(), users, out)
    }
}

#[test]
fn untrained_items_are_not_scored_and_the_rest_rank_as_with_full_scoring() {
    let data = random_data(200, 100, 5);
    let model = Als::fit(&params(8, 3), &data.train(), &options(false)).unwrap();
    let mut trained: Vec<ItemId> = (0..200)
        .flat_map(|u| data.matrix.row(UserId(u)).0.to_vec())
        .map(ItemId)
        .collect();
    trained.sort_unstable();
    trained.dedup();
    assert!(
        trained.len() < model.n_items(),
        "the data has untrained items"
    );
    assert_eq!(model.scored_items(), Some(&trained[..]));

    let users: Vec<UserId> = (0..201).map(UserId).collect();
    let n = 10;
    let lists = recommend(&model, &data.matrix, &users, &RecommendRequest::top(n)).unwrap();
    let untrained = model.n_items() - trained.len();
    let full = recommend(
        &FullScoring(&model),
        &data.matrix,
        &users,
        &RecommendRequest::top(n + untrained),
    )
    .unwrap();
    for (list, full) in lists.iter().zip(full.iter()) {
        let expected: Vec<ItemId> = full
            .items
            .iter()
            .copied()
            .filter(|i| trained.binary_search(i).is_ok())
            .take(n)
            .collect();
        assert_eq!(list.items, &expected[..], "user {}", list.user);
    }
}

/// The progress calls of a fit: `(total)` for `start`, `done` for `advance_to`.
#[derive(Default)]
struct Recorded(Mutex<(Vec<u64>, Vec<u64>)>);

impl clickrec_core::Progress for Recorded {
    fn start(&self, total: u64) {
        self.0.lock().unwrap().0.push(total);
    }
    fn advance_to(&self, done: u64) {
        self.0.lock().unwrap().1.push(done);
    }
    fn finish(&self) {}
}

#[test]
fn training_loss_decreases_and_is_reported() {
    let data = random_data(200, 60, 8);
    let progress = Recorded::default();
    let opts = FitOptions {
        seed: 3,
        record_loss: true,
        progress: &progress,
        ..FitOptions::default()
    };
    let model = Als::fit(&params(8, 8), &data.train(), &opts).unwrap();
    let loss = model.training_loss();
    assert_eq!(loss.len(), 8);
    for w in loss.windows(2) {
        assert!(w[1] <= w[0] * (1.0 + 1e-6), "loss went up: {loss:?}");
    }
    assert!(loss[7] < loss[0] * 0.99, "loss barely moved: {loss:?}");
    let reported = progress.0.into_inner().unwrap();
    assert_eq!(reported, (vec![8], (1..=8).collect::<Vec<u64>>()));

    // Without record_loss: no loss, but every iteration is still reported.
    let progress = Recorded::default();
    let opts = FitOptions {
        progress: &progress,
        ..options(false)
    };
    let model = Als::fit(&params(8, 3), &data.train(), &opts).unwrap();
    assert!(model.training_loss().is_empty());
    let reported = progress.0.into_inner().unwrap();
    assert_eq!(reported, (vec![3], vec![1, 2, 3]));
}

#[test]
fn loss_matches_a_direct_sum_over_all_pairs() {
    let data = random_data(30, 12, 4);
    for (unobserved_weight, regularization_exp) in [(1.0f32, 0.0f32), (0.25, 0.5)] {
        // The loss is recorded after each sweep, before the last exact user solve.
        let cg_only = AlsParams {
            factors: 5,
            iterations: 2,
            exact_user_solve: false,
            unobserved_weight,
            regularization_exp,
            ..AlsParams::default()
        };
        let model = Als::fit(&cg_only.check().unwrap(), &data.train(), &options(true)).unwrap();
        let (users, items) = (model.user_factors(), model.item_factors());
        let (alpha, reg, w0) = (1.0f64, 0.01f64, f64::from(unobserved_weight));
        let lambda = |n: usize, others: usize| {
            reg * (n as f64 + w0 * others as f64).powf(f64::from(regularization_exp))
        };
        let sq = |row: &[f32]| {
            row.iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
        };
        let (mut loss, mut total_c) = (0.0f64, 0.0f64);
        let mut item_counts = vec![0usize; items.rows()];
        for u in 0..users.rows() {
            let (cols, vals) = data.matrix.row(UserId(u as u32));
            for i in 0..items.rows() {
                let s: f64 = users
                    .row(u)
                    .iter()
                    .zip(items.row(i))
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let (c, p) = match cols.iter().position(|&c| c as usize == i) {
                    Some(k) => (alpha * f64::from(vals[k]), 1.0),
                    None => (w0, 0.0),
                };
                loss += c * (p - s) * (p - s);
                total_c += c;
            }
            cols.iter().for_each(|&i| item_counts[i as usize] += 1);
            loss += lambda(cols.len(), items.rows()) * sq(users.row(u));
        }
        for (i, &n) in item_counts.iter().enumerate() {
            loss += lambda(n, users.rows()) * sq(items.row(i));
        }
        let expected = loss / total_c;
        let got = model.training_loss()[1];
        assert!(
            (got - expected).abs() < 1e-5 * expected,
            "α₀ {unobserved_weight}, ν {regularization_exp}: {got} vs {expected}"
        );
    }
}

#[test]
fn impossible_params_name_their_key() {
    let cases: Vec<(&str, AlsParams)> = vec![
        (
            "regularization_exp",
            AlsParams {
                regularization_exp: 2.5,
                ..AlsParams::default()
            },
        ),
        (
            "unobserved_weight",
            AlsParams {
                unobserved_weight: 0.0,
                ..AlsParams::default()
            },
        ),
        (
            "factors",
            AlsParams {
                factors: 0,
                ..AlsParams::default()
            },
        ),
        (
            "regularization",
            AlsParams {
                regularization: -0.1,
                ..AlsParams::default()
            },
        ),
        (
            "regularization",
            AlsParams {
                regularization: f32::NAN,
                ..AlsParams::default()
            },
        ),
        (
            "alpha",
            AlsParams {
                alpha: -1.0,
                ..AlsParams::default()
            },
        ),
        (
            "alpha",
            AlsParams {
                alpha: f32::INFINITY,
                ..AlsParams::default()
            },
        ),
        (
            "iterations",
            AlsParams {
                iterations: 0,
                ..AlsParams::default()
            },
        ),
        (
            "iterations",
            AlsParams {
                iterations: 1_000_000_000,
                ..AlsParams::default()
            },
        ),
        (
            "cg_steps",
            AlsParams {
                cg_steps: 0,
                ..AlsParams::default()
            },
        ),
        (
            "cg_steps",
            AlsParams {
                cg_steps: 1_000_000_000,
                ..AlsParams::default()
            },
        ),
        (
            "init_scale",
            AlsParams {
                init_scale: 0.0,
                ..AlsParams::default()
            },
        ),
        (
            "init_scale",
            AlsParams {
                init_scale: f32::NAN,
                ..AlsParams::default()
            },
        ),
    ];
    for (key, p) in cases {
        let err = p.check().unwrap_err();
        assert_eq!((err.model, err.param), ("als", key), "{err}");
    }
    let ok = AlsParams::default().check().unwrap();
    assert_eq!(ok.params(), &AlsParams::default());
    assert_eq!(AlsParams::default().factors, 64);
    // Config tables: defaults for missing keys, unknown keys refused.
    let p: AlsParams = serde_json::from_str(r#"{"factors": 8}"#).unwrap();
    assert_eq!(
        p,
        AlsParams {
            factors: 8,
            ..AlsParams::default()
        }
    );
    assert!(serde_json::from_str::<AlsParams>(r#"{"factor": 8}"#).is_err());
}

#[test]
fn empty_or_mismatched_train_data_is_refused() {
    let empty = Data::new(3, 4, &[]);
    assert!(matches!(
        Als::fit(&params(4, 1), &empty.train(), &options(false)),
        Err(FitError::EmptyTrain { model: "als" })
    ));
    let a = Data::new(3, 4, &[(0, 1, 1.0)]);
    let b = Data::new(3, 5, &[(0, 1, 1.0)]);
    let mixed = TrainData {
        item_users: &b.item_users,
        ..a.train()
    };
    assert!(matches!(
        Als::fit(&params(4, 1), &mixed, &options(false)),
        Err(FitError::Data { model: "als", .. })
    ));
}

#[test]
fn diverging_fit_is_an_error() {
    // Values so large that confidences overflow f32.
    let data = Data::new(2, 2, &[(0, 0, 3e38), (1, 1, 3e38), (0, 1, 1.0)]);
    let p = AlsParams {
        factors: 2,
        alpha: 10.0,
        iterations: 2,
        ..AlsParams::default()
    }
    .check()
    .unwrap();
    assert!(matches!(
        Als::fit(&p, &data.train(), &options(false)),
        Err(FitError::Diverged { model: "als", .. })
    ));
}

#[test]
fn save_load_round_trip_keeps_factors_and_recommendations() {
    let data = random_data(50, 30, 6);
    let model = Als::fit(&params(12, 3), &data.train(), &options(true)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("als.model");
    let ids = IdFingerprint::dense(data.matrix.n_users(), data.matrix.n_items());

    let mut w = ModelWriter::create(&path, "als", &ids).unwrap();
    model.write(&mut w).unwrap();
    w.finish().unwrap();
    let mut r = ModelReader::open(&path).unwrap();
    let loaded = Als::read(&mut r).unwrap();
    r.finish().unwrap();

    assert_eq!(loaded.params(), model.params());
    assert_eq!(loaded.user_factors(), model.user_factors());
    assert_eq!(loaded.item_factors(), model.item_factors());
    assert_eq!(loaded.training_loss(), model.training_loss());
    let users: Vec<UserId> = (0..data.matrix.n_users() as u32).map(UserId).collect();
    let request = RecommendRequest::top(5);
    assert_eq!(
        recommend(&loaded, &data.matrix, &users, &request).unwrap(),
        recommend(&model, &data.matrix, &users, &request).unwrap()
    );

    // Through Model::save / Model::load as the pipeline does.
    let path2 = dir.path().join("als2.model");
    Model::Als(model.clone()).save(&path2, &ids).unwrap();
    let Model::Als(again) = Model::load(&path2, &ids).unwrap() else {
        panic!("not ALS");
    };
    assert_eq!(again.item_factors(), model.item_factors());

    // A header whose item count disagrees with the factors is refused.
    let other = IdFingerprint::dense(data.matrix.n_users(), data.matrix.n_items() + 1);
    let path3 = dir.path().join("als3.model");
    let mut w = ModelWriter::create(&path3, "als", &other).unwrap();
    model.write(&mut w).unwrap();
    w.finish().unwrap();
    let mut r = ModelReader::open(&path3).unwrap();
    assert!(matches!(Als::read(&mut r), Err(ModelError::Corrupt { .. })));
}

#[test]
fn block_toy_recommends_the_unseen_item_of_the_users_group() {
    let data = block_data();
    let model = Als::fit(&params(8, 15), &data.train(), &options(false)).unwrap();
    let users: Vec<UserId> = (0..20).map(UserId).collect();
    let recs = recommend(&model, &data.matrix, &users, &RecommendRequest::top(3)).unwrap();
    for u in 0..20 {
        let list = recs.get(u);
        assert_eq!(list.items[0], ItemId(u as u32), "user {u}: {list:?}");
    }
    // Similar items of item 3 are its own group's.
    let similar = model.similar_items(ItemId(3), 5);
    assert_eq!(similar.len(), 5);
    assert!(
        similar.iter().all(|(i, _)| i.0 < 10 && i.0 != 3),
        "{similar:?}"
    );
    assert_eq!(model.n_items(), 20);
    assert_eq!(model.block_size(), 1024);
}

#[test]
fn folding_in_a_train_row_gives_back_the_trained_factor_bit_for_bit() {
    let data = random_data(40, 25, 6);
    for p in [params(8, 3), revisited(8, 3)] {
        let model = Als::fit(&p, &data.train(), &options(false)).unwrap();
        for u in 0..40 {
            let (cols, vals) = data.matrix.row(UserId(u));
            let folded = model.fold_in_user(cols, vals);
            let trained = model.user_factors().row(u as usize);
            assert_eq!(
                folded
                    .row(0)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                trained.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "user {u}"
            );
        }
    }
    // Without the exact solve, the fit's own CG factors are only near it.
    let cg_only = AlsParams {
        factors: 8,
        iterations: 3,
        exact_user_solve: false,
        ..AlsParams::default()
    };
    let model = Als::fit(&cg_only.check().unwrap(), &data.train(), &options(false)).unwrap();
    let (cols, vals) = data.matrix.row(UserId(0));
    assert_ne!(
        model.fold_in_user(cols, vals).row(0),
        model.user_factors().row(0)
    );
}
