#![allow(clippy::unwrap_used)]

use clickrec_core::SplitMix64;
use clickrec_recommend::{RecommendRequest, recommend};

use super::*;
use crate::{IdFingerprint, Model, TestTrain as Data};

/// Each user has each item with probability `density`, with a random confidence (which
/// EASE must ignore); the last `untrained` items have no events.
fn random_data(n_users: u32, n_items: u32, untrained: u32, density: f32, seed: u64) -> Data {
    let mut rng = SplitMix64::new(seed);
    let mut triples = Vec::new();
    for u in 0..n_users {
        for i in 0..n_items - untrained {
            if rng.next_f32() < density {
                triples.push((UserId(u), ItemId(i), 1.0 + 4.0 * rng.next_f32()));
            }
        }
    }
    Data::new(UserItemMatrix::from_triples(n_users as usize, n_items as usize, triples).unwrap())
}

fn params(lambda: f64) -> CheckedEase {
    EaseParams {
        lambda,
        ..EaseParams::default()
    }
    .check()
    .unwrap()
}

/// The inverse of a dense matrix by Gauss–Jordan elimination with partial pivoting, in
/// f64: the reference the Cholesky path is checked against.
fn gauss_jordan_inverse(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|r| (0..n).map(|c| f64::from(u8::from(r == c))).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for c in 0..n {
            a[col][c] /= d;
            inv[col][c] /= d;
        }
        for r in (0..n).filter(|&r| r != col) {
            let f = a[r][col];
            if f != 0.0 {
                for c in 0..n {
                    a[r][c] -= f * a[col][c];
                    inv[r][c] -= f * inv[col][c];
                }
            }
        }
    }
    inv
}

/// `B` of the trained items by the textbook formula, in f64.
fn reference_weights(data: &Data, items: &[ItemId], lambda: f64) -> Vec<Vec<f64>> {
    let n = items.len();
    let mut gram = vec![vec![0.0f64; n]; n];
    for u in 0..data.matrix.n_users() {
        let row = data.matrix.row(UserId(u as u32)).0;
        for (a, ia) in items.iter().enumerate() {
            for (b, ib) in items.iter().enumerate() {
                if row.contains(&ia.0) && row.contains(&ib.0) {
                    gram[a][b] += 1.0;
                }
            }
        }
    }
    (0..n).for_each(|d| gram[d][d] += lambda);
    let p = gauss_jordan_inverse(gram);
    (0..n)
        .map(|a| {
            (0..n)
                .map(|b| if a == b { 0.0 } else { -p[a][b] / p[b][b] })
                .collect()
        })
        .collect()
}

#[test]
fn ease_weights_match_a_dense_reference_solve() {
    for (n_users, n_items, untrained, lambda) in [(40u32, 14u32, 3u32, 2.0), (300, 90, 5, 20.0)] {
        let data = random_data(n_users, n_items, untrained, 0.2, 7);
        let model = Ease::fit(&params(lambda), &data.train(), &FitOptions::default()).unwrap();
        let trained: Vec<ItemId> = (0..n_items - untrained).map(ItemId).collect();
        assert_eq!(model.items(), trained.as_slice());
        let expected = reference_weights(&data, &trained, lambda);
        let scale = expected
            .iter()
            .flatten()
            .fold(0.0f64, |m, w| m.max(w.abs()));
        assert!(scale > 1e-3, "weights must not be trivially small: {scale}");
        for (a, row) in expected.iter().enumerate() {
            for (b, &w) in row.iter().enumerate() {
                let got = f64::from(model.weight(trained[a], trained[b]));
                assert!(
                    (got - w).abs() <= 1e-4 * scale,
                    "{n_items} items: B[{a}][{b}] = {got}, reference {w}"
                );
            }
        }
        // Untrained items weigh nothing and are never scored.
        let untrained_item = ItemId(n_items - 1);
        assert_eq!(model.weight(trained[0], untrained_item), 0.0);
        assert!(model.similar_items(untrained_item, 3).is_empty());
    }
}

#[test]
fn ease_scores_are_the_binary_history_times_b() {
    let data = random_data(60, 20, 2, 0.25, 3);
    let model = Ease::fit(&params(5.0), &data.train(), &FitOptions::default()).unwrap();
    let mut request = RecommendRequest::top(18);
    request.exclude_seen = false;
    let users: Vec<UserId> = (0..60).map(UserId).collect();
    let recs = recommend(&model, &data.matrix, &users, &request).unwrap();
    for list in recs.iter() {
        let seen = data.matrix.row(list.user).0;
        assert_eq!(list.items.len(), 18, "every trained item is listed");
        for (item, &score) in list.items.iter().zip(list.scores) {
            let expected: f32 = seen.iter().map(|&a| model.weight(ItemId(a), *item)).sum();
            assert!((score - expected).abs() < 1e-5, "{score} vs {expected}");
        }
    }
}

#[test]
fn ease_refuses_more_items_than_max_items_naming_the_count_and_memory() {
    let data = random_data(50, 30, 0, 0.3, 1);
    let small = EaseParams {
        max_items: 29,
        ..EaseParams::default()
    }
    .check()
    .unwrap();
    let err = Ease::fit(&small, &data.train(), &FitOptions::default()).unwrap_err();
    let FitError::Data { model, reason } = &err else {
        panic!("expected a data error, got {err}");
    };
    assert_eq!(*model, "ease");
    assert!(reason.contains("30 items have train events"), "{reason}");
    assert!(reason.contains("max_items = 29"), "{reason}");
    // 30² × 4 bytes = 3600 bytes: 0.0 GiB; the unit is named.
    assert!(reason.contains("GiB"), "{reason}");
    assert!(
        EaseParams::default().check().is_ok()
            && Ease::fit(&params(1.0), &data.train(), &FitOptions::default()).is_ok()
    );
    assert_eq!(fit::dense_bytes(20_000), 1_600_000_000);
    assert!((fit::gib(fit::dense_bytes(20_000)) - 1.49).abs() < 0.01);

    let empty = Data::new(UserItemMatrix::from_triples(3, 4, []).unwrap());
    let err = Ease::fit(&params(1.0), &empty.train(), &FitOptions::default()).unwrap_err();
    assert!(matches!(err, FitError::EmptyTrain { model: "ease" }));
}

#[test]
fn ease_is_identical_at_any_thread_count() {
    // Large enough for faer to split the factorisation and products into parallel tasks.
    let data = random_data(2000, 700, 10, 0.02, 5);
    let fit_in = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Ease::fit(&params(10.0), &data.train(), &FitOptions::default()).unwrap())
    };
    let bits = |m: &Ease| m.weights.iter().map(|w| w.to_bits()).collect::<Vec<_>>();
    let one = fit_in(1);
    assert_eq!(bits(&one), bits(&fit_in(3)));
}

#[test]
fn ease_round_trips_through_the_model_file_and_lists_similar_items() {
    let data = random_data(80, 25, 3, 0.2, 11);
    let ease = Ease::fit(&params(3.0), &data.train(), &FitOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ease.model");
    let ids = IdFingerprint::dense(80, 25);
    Model::Ease(ease.clone()).save(&path, &ids).unwrap();
    let Model::Ease(loaded) = Model::load(&path, &ids).unwrap() else {
        panic!("loaded another kind of model");
    };
    assert_eq!(loaded.params(), ease.params());
    assert_eq!(loaded.items(), ease.items());
    assert_eq!(loaded.weights, ease.weights);
    let similar = loaded.similar_items(ItemId(4), 5);
    assert_eq!(similar.len(), 5);
    assert!(similar.iter().all(|(i, _)| i.0 != 4 && i.0 < 22));
    assert!(similar.windows(2).all(|w| w[0].1 >= w[1].1));
    assert_eq!(similar[0].1, ease.weight(ItemId(4), similar[0].0));
    let best = (0..22)
        .filter(|&j| j != 4)
        .map(|j| ease.weight(ItemId(4), ItemId(j)))
        .fold(f32::NEG_INFINITY, f32::max);
    assert_eq!(similar[0].1, best);
}

#[test]
fn ease_gives_no_list_to_a_user_without_trained_items() {
    // Item 3 has events only in the history matrix, not in training.
    let data = random_data(20, 4, 1, 0.6, 2);
    let model = Ease::fit(&params(1.0), &data.train(), &FitOptions::default()).unwrap();
    let history = UserItemMatrix::from_triples(
        2,
        4,
        [(UserId(0), ItemId(3), 1.0), (UserId(1), ItemId(0), 1.0)],
    )
    .unwrap();
    let recs = recommend(
        &model,
        &history,
        &[UserId(0), UserId(1)],
        &RecommendRequest::top(3),
    )
    .unwrap();
    let lists: Vec<_> = recs.iter().map(|l| (l.user, l.items.len())).collect();
    assert!(lists.contains(&(UserId(1), 2)), "{lists:?}");
    assert!(
        !lists.iter().any(|&(u, n)| u == UserId(0) && n > 0),
        "{lists:?}"
    );
}
