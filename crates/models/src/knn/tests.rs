#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use clickrec_core::{EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{RecommendRequest, Recommender, recommend};
use proptest::prelude::*;

use super::*;
use crate::{FitError, FitOptions, IdFingerprint, Model, ModelError, TrainData};

fn matrix(n_users: usize, n_items: usize, triples: &[(u32, u32, f32)]) -> UserItemMatrix {
    UserItemMatrix::from_triples(
        n_users,
        n_items,
        triples.iter().map(|&(u, i, x)| (UserId(u), ItemId(i), x)),
    )
    .unwrap()
}

fn fit(m: &UserItemMatrix, params: ItemKnnParams) -> Result<ItemKnn, FitError> {
    let item_users = m.transpose();
    let log = EventLog::default();
    let data = TrainData {
        matrix: m,
        item_users: &item_users,
        log: &log,
        behavior_weights: [1.0, 2.0, 3.0, 4.0],
        sessions: None,
    };
    ItemKnn::fit(&params.check().unwrap(), &data, &FitOptions::default())
}

fn params(k: usize, weighting: Weighting) -> ItemKnnParams {
    ItemKnnParams {
        k,
        weighting,
        ..ItemKnnParams::default()
    }
}

/// Every item's stored neighbours, as `(neighbour, similarity)`.
fn all_neighbours(model: &ItemKnn) -> Vec<Vec<(u32, f32)>> {
    (0..model.n_items() as u32)
        .map(|i| {
            model
                .neighbours(ItemId(i))
                .iter()
                .map(|&(j, s)| (j.0, s))
                .collect()
        })
        .collect()
}

/// Brute-force cosines on the dense matrix, weighted by the formulas of implicit's
/// `tfidf_weight` / `bm25_weight` written out: `sims[i]` maps every item sharing a user
/// with `i` (itself included) to the cosine, for items with a non-zero vector.
fn brute_force(
    n_users: usize,
    n_items: usize,
    m: &UserItemMatrix,
    p: &ItemKnnParams,
) -> Vec<BTreeMap<u32, f64>> {
    let mut x = vec![vec![None::<f64>; n_items]; n_users];
    for (u, row) in x.iter_mut().enumerate() {
        let (items, values) = m.row(UserId(u as u32));
        for (&i, &v) in items.iter().zip(values) {
            row[i as usize] = Some(f64::from(v));
        }
    }
    let df = |u: usize| x[u].iter().flatten().count() as f64;
    let idf = |u: usize| (n_items as f64).ln() - df(u).ln_1p();
    let total = |i: usize| (0..n_users).filter_map(|u| x[u][i]).sum::<f64>();
    let mean = (0..n_items).map(total).sum::<f64>() / n_items as f64;
    let (k1, b) = (p.bm25_k1, p.bm25_b);
    let w: Vec<Vec<Option<f64>>> = (0..n_users)
        .map(|u| {
            (0..n_items)
                .map(|i| {
                    x[u][i].map(|v| match p.weighting {
                        Weighting::None => v,
                        Weighting::Tfidf => v.sqrt() * idf(u),
                        Weighting::Bm25 => {
                            let norm = (1.0 - b) + b * total(i) / mean;
                            v * (k1 + 1.0) / (k1 * norm + v) * idf(u)
                        }
                    })
                })
                .collect()
        })
        .collect();
    let norm = |i: usize| {
        (0..n_users)
            .filter_map(|u| w[u][i])
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt()
    };
    (0..n_items)
        .map(|i| {
            let mut sims = BTreeMap::new();
            if norm(i) == 0.0 {
                return sims;
            }
            for j in 0..n_items {
                let shared: Vec<usize> = (0..n_users)
                    .filter(|&u| w[u][i].is_some() && w[u][j].is_some())
                    .collect();
                if shared.is_empty() || norm(j) == 0.0 {
                    continue;
                }
                let dot: f64 = shared
                    .iter()
                    .map(|&u| w[u][i].unwrap() * w[u][j].unwrap())
                    .sum();
                sims.insert(j as u32, dot / (norm(i) * norm(j)));
            }
            sims
        })
        .collect()
}

/// A skewed random matrix: low item ids are popular, confidences 1-4.
fn random_matrix(seed: u64, n_users: usize, n_items: usize, nnz: usize) -> UserItemMatrix {
    let mut s = clickrec_core::SplitMix64::new(seed);
    let triples: Vec<(u32, u32, f32)> = (0..nnz)
        .map(|_| {
            let u = (s.next_u64() % n_users as u64) as u32;
            let r = s.next_f64();
            let i = ((n_items as f64) * r.powi(3)) as u32;
            let x = (1 + s.next_u64() % 4) as f32;
            (u, i, x)
        })
        .collect();
    matrix(n_users, n_items, &triples)
}

fn weighting() -> impl Strategy<Value = Weighting> {
    prop_oneof![
        Just(Weighting::None),
        Just(Weighting::Tfidf),
        Just(Weighting::Bm25)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// With `k` ≥ the number of items every co-occurring pair is kept: the stored lists
    /// are exactly the brute-force cosines, sorted best first.
    #[test]
    fn similarities_match_brute_force_cosine(
        n_users in 1usize..10,
        n_items in 1usize..10,
        raw in prop::collection::vec((0u32..100, 0u32..100, 1u8..8), 1..60),
        weighting in weighting(),
        bm25_k1 in 0.0f64..3.0,
        bm25_b in 0.0f64..=1.0,
    ) {
        let triples: Vec<(u32, u32, f32)> = raw
            .iter()
            .map(|&(u, i, x)| (u % n_users as u32, i % n_items as u32, f32::from(x) * 0.5))
            .collect();
        let m = matrix(n_users, n_items, &triples);
        let p = ItemKnnParams { k: n_items, weighting, bm25_k1, bm25_b, ..ItemKnnParams::default() };
        let model = fit(&m, p.clone()).unwrap();
        let expected = brute_force(n_users, n_items, &m, &p);
        for (i, (got, want)) in all_neighbours(&model).iter().zip(&expected).enumerate() {
            let got_ids: Vec<u32> = {
                let mut ids: Vec<u32> = got.iter().map(|g| g.0).collect();
                ids.sort_unstable();
                ids
            };
            let want_ids: Vec<u32> = want.keys().copied().collect();
            prop_assert_eq!(&got_ids, &want_ids, "neighbours of item {}", i);
            for &(j, sim) in got {
                let want = want[&j];
                prop_assert!((f64::from(sim) - want).abs() < 1e-4,
                    "sim({}, {}) = {} but brute force says {}", i, j, sim, want);
            }
            prop_assert!(got.windows(2).all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)),
                "item {} not sorted: {:?}", i, got);
        }
    }
}

#[test]
fn top_k_keeps_the_prefix_of_the_full_lists() {
    let m = random_matrix(7, 120, 60, 900);
    for weighting in [Weighting::None, Weighting::Tfidf, Weighting::Bm25] {
        let full = all_neighbours(&fit(&m, params(60, weighting)).unwrap());
        for k in [1, 2, 5, 17] {
            let top = all_neighbours(&fit(&m, params(k, weighting)).unwrap());
            for (short, long) in top.iter().zip(&full) {
                assert_eq!(short.len(), long.len().min(k));
                assert_eq!(short.as_slice(), &long[..short.len()]);
            }
        }
    }
    // k above the number of items is capped, not an error.
    let capped = fit(&m, params(1_000_000, Weighting::None)).unwrap();
    assert_eq!(
        all_neighbours(&capped),
        all_neighbours(&fit(&m, params(60, Weighting::None)).unwrap())
    );
}

#[test]
fn fit_is_identical_at_any_thread_count() {
    let m = random_matrix(11, 2_000, 700, 30_000);
    for weighting in [Weighting::None, Weighting::Bm25] {
        let at = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| all_neighbours(&fit(&m, params(20, weighting)).unwrap()))
        };
        let one = at(1);
        let three = at(3);
        assert!(one.iter().map(Vec::len).sum::<usize>() > 5_000);
        // f32 equality of every similarity, bit for bit.
        let bits = |lists: &[Vec<(u32, f32)>]| -> Vec<Vec<(u32, u32)>> {
            lists
                .iter()
                .map(|l| l.iter().map(|&(j, s)| (j, s.to_bits())).collect())
                .collect()
        };
        assert_eq!(bits(&one), bits(&three));
    }
}

/// Users 0-2 over items 0-3, all confidences 1: item vectors over users are
/// i0 = i1 = (1, 1, 0), i2 = (0, 1, 1), i3 = (0, 0, 1), so cos(0, 1) = 1,
/// cos(0, 2) = cos(1, 2) = 1/2, cos(2, 3) = 1/√2, and items 0 and 3 share no user.
fn hand_matrix() -> UserItemMatrix {
    matrix(
        3,
        4,
        &[
            (0, 0, 1.0),
            (0, 1, 1.0),
            (1, 0, 1.0),
            (1, 1, 1.0),
            (1, 2, 1.0),
            (2, 2, 1.0),
            (2, 3, 1.0),
        ],
    )
}

fn close(got: &[(u32, f32)], want: &[(u32, f32)]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.0 == w.0 && (g.1 - w.1).abs() < 1e-6)
}

#[test]
fn neighbours_and_similar_items_by_hand() {
    let model = fit(&hand_matrix(), ItemKnnParams::default()).unwrap();
    let h = std::f32::consts::FRAC_1_SQRT_2;
    let lists = all_neighbours(&model);
    // Items 0 and 1 have equal vectors: cosine 1 with each other and themselves, the
    // tie going to the lower id.
    assert!(
        close(&lists[0], &[(0, 1.0), (1, 1.0), (2, 0.5)]),
        "{lists:?}"
    );
    assert!(
        close(&lists[1], &[(0, 1.0), (1, 1.0), (2, 0.5)]),
        "{lists:?}"
    );
    assert!(
        close(&lists[2], &[(2, 1.0), (3, h), (0, 0.5), (1, 0.5)]),
        "{lists:?}"
    );
    assert!(close(&lists[3], &[(3, 1.0), (2, h)]), "{lists:?}");

    let similar = |i: u32, n: usize| -> Vec<(u32, f32)> {
        model
            .similar_items(ItemId(i), n)
            .into_iter()
            .map(|(j, s)| (j.0, s))
            .collect()
    };
    assert!(close(&similar(1, 5), &[(0, 1.0), (2, 0.5)]));
    assert!(close(&similar(2, 2), &[(3, h), (0, 0.5)]));
    assert!(similar(3, 0).is_empty());
    assert!(similar(9, 3).is_empty());
    let via_model = Model::ItemKnn(model.clone())
        .similar_items(ItemId(3), 3)
        .unwrap();
    assert_eq!(via_model.len(), 1);
    assert!(matches!(
        Model::ItemKnn(model).similar_items(ItemId(4), 3),
        Err(ModelError::ItemOutOfRange { .. })
    ));
}

/// Recommendations for the users of `history` with seen items kept, as `(item, score)`;
/// empty for a user without a list (no history).
fn scored(model: &ItemKnn, history: &UserItemMatrix, users: &[u32]) -> Vec<Vec<(u32, f32)>> {
    let mut request = RecommendRequest::top(10);
    request.exclude_seen = false;
    let ids: Vec<UserId> = users.iter().map(|&u| UserId(u)).collect();
    let recs = recommend(model, history, &ids, &request).unwrap();
    ids.iter()
        .map(|&u| {
            recs.find(u).map_or_else(Vec::new, |l| {
                l.items
                    .iter()
                    .map(|i| i.0)
                    .zip(l.scores.iter().copied())
                    .collect()
            })
        })
        .collect()
}

#[test]
fn scores_sum_neighbour_similarities_by_hand() {
    let h = std::f32::consts::FRAC_1_SQRT_2;
    // User 0 has item 0 (confidence 2) and item 3 (confidence 1); user 1 nothing; user 5
    // is outside the history's 2 rows.
    let history = matrix(2, 4, &[(0, 0, 2.0), (0, 3, 1.0)]);

    // weighted: score(j) = 2·cos(0, j) + 1·cos(3, j).
    let weighted = fit(&hand_matrix(), ItemKnnParams::default()).unwrap();
    let got = scored(&weighted, &history, &[0, 1, 5]);
    assert!(
        close(&got[0], &[(0, 2.0), (1, 2.0), (2, 1.0 + h), (3, 1.0)]),
        "{got:?}"
    );
    assert!(got[1].is_empty() && got[2].is_empty());

    // sum: score(j) = cos(0, j) + cos(3, j).
    let sum = fit(
        &hand_matrix(),
        ItemKnnParams {
            score: ScoreMode::Sum,
            ..ItemKnnParams::default()
        },
    )
    .unwrap();
    let mut got = scored(&sum, &history, &[0]);
    // Items 0, 1 and 3 tie at 1 up to rounding: compare by item.
    got[0].sort_by_key(|p| p.0);
    assert!(
        close(&got[0], &[(0, 1.0), (1, 1.0), (2, 0.5 + h), (3, 1.0)]),
        "{got:?}"
    );

    // Seen items excluded by the shared loop: only items 1 and 2 remain.
    let recs = recommend(
        &weighted,
        &history,
        &[UserId(0)],
        &RecommendRequest::top(10),
    )
    .unwrap();
    assert_eq!(recs.get(0).items, &[ItemId(1), ItemId(2)]);

    // With k = 1 every item keeps only itself (or its lower-id twin): item 1 scores
    // through item 0's single neighbour... which is item 0 itself, so nothing new.
    let tiny = fit(&hand_matrix(), params(1, Weighting::None)).unwrap();
    let got = scored(&tiny, &history, &[0]);
    assert!(close(&got[0], &[(0, 2.0), (3, 1.0)]), "{got:?}");
}

#[test]
fn save_and_load_round_trip() {
    let m = random_matrix(3, 200, 80, 1_500);
    let model = fit(
        &m,
        ItemKnnParams {
            k: 7,
            weighting: Weighting::Bm25,
            bm25_k1: 0.9,
            bm25_b: 0.4,
            score: ScoreMode::Sum,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("item_knn.model");
    let ids = IdFingerprint::dense(200, 80);
    Model::ItemKnn(model.clone()).save(&path, &ids).unwrap();
    let Model::ItemKnn(loaded) = Model::load(&path, &ids).unwrap() else {
        panic!("loaded another kind");
    };
    assert_eq!(loaded.params(), model.params());
    assert_eq!(loaded.n_items(), 80);
    assert_eq!(all_neighbours(&loaded), all_neighbours(&model));
    let users: Vec<u32> = (0..200).collect();
    assert_eq!(scored(&loaded, &m, &users), scored(&model, &m, &users));
}

#[test]
fn loading_rejects_corrupt_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("item_knn.model");
    let ids = IdFingerprint::dense(1, 2);
    let params = ItemKnnParams::default().check().unwrap();
    let cases = [
        (vec![0, 1, 2], [(0, 1.0), (2, 0.5)], "outside"),
        (vec![0, 2, 1], [(0, 1.0), (1, 0.5)], "offsets"),
        (vec![0, 2, 2], [(0, 0.5), (1, 1.0)], "sorted"),
        (vec![0, 1, 2], [(0, f32::NAN), (1, 1.0)], "finite"),
    ];
    for (offsets, entries, needle) in cases {
        let entries = entries.iter().map(|&(j, s)| (ItemId(j), s)).collect();
        let model = ItemKnn::from_parts(params.clone(), 2, Neighbours { offsets, entries });
        Model::ItemKnn(model).save(&path, &ids).unwrap();
        let err = Model::load(&path, &ids).unwrap_err();
        assert!(
            matches!(err, ModelError::Corrupt { .. }) && err.to_string().contains(needle),
            "{needle}: {err}"
        );
    }
}

#[test]
fn empty_train_matrix_is_refused() {
    let m = matrix(3, 4, &[]);
    assert!(matches!(
        fit(&m, ItemKnnParams::default()),
        Err(FitError::EmptyTrain { model: "item_knn" })
    ));
}

#[test]
fn params_are_checked_and_named() {
    let bad = [
        (
            ItemKnnParams {
                k: 0,
                ..ItemKnnParams::default()
            },
            "k",
        ),
        (
            ItemKnnParams {
                bm25_k1: -0.1,
                ..ItemKnnParams::default()
            },
            "bm25_k1",
        ),
        (
            ItemKnnParams {
                bm25_k1: f64::NAN,
                ..ItemKnnParams::default()
            },
            "bm25_k1",
        ),
        (
            ItemKnnParams {
                bm25_b: 1.5,
                ..ItemKnnParams::default()
            },
            "bm25_b",
        ),
        (
            ItemKnnParams {
                bm25_b: f64::NAN,
                ..ItemKnnParams::default()
            },
            "bm25_b",
        ),
    ];
    for (params, key) in bad {
        let err = params.check().unwrap_err();
        assert_eq!((err.model, err.param), ("item_knn", key));
        assert!(
            err.to_string()
                .starts_with(&format!("models.item_knn.{key}"))
        );
    }
    let parsed: ItemKnnParams =
        serde_json::from_str(r#"{"k": 20, "weighting": "bm25", "score": "sum"}"#).unwrap();
    assert_eq!(
        parsed,
        ItemKnnParams {
            k: 20,
            weighting: Weighting::Bm25,
            score: ScoreMode::Sum,
            ..ItemKnnParams::default()
        }
    );
    let defaults: ItemKnnParams = serde_json::from_str("{}").unwrap();
    assert_eq!(
        (defaults.k, defaults.bm25_k1, defaults.bm25_b),
        (100, 1.2, 0.75)
    );
    assert_eq!(
        (defaults.weighting, defaults.score),
        (Weighting::None, ScoreMode::Weighted)
    );
    assert!(serde_json::from_str::<ItemKnnParams>(r#"{"K": 20}"#).is_err());
    assert!(serde_json::from_str::<ItemKnnParams>(r#"{"weighting": "BM25"}"#).is_err());
}

proptest! {
    /// The integer keys of the top-k selection order `(similarity, item)` pairs exactly
    /// as the shared `TopN` does, and decode back to the same pair.
    #[test]
    fn rank_keys_order_like_the_shared_top_n(
        pairs in prop::collection::vec((prop_oneof![
            (-4i32..5).prop_map(|v| v as f32 * 0.25),
            Just(-0.0f32),
            any::<f32>().prop_filter("not NaN", |v| !v.is_nan()),
        ], 0u32..1_000), 0..60),
    ) {
        let mut pairs = pairs;
        pairs.sort_by_key(|p| p.1);
        pairs.dedup_by_key(|p| p.1);
        let mut top = clickrec_recommend::TopN::new(pairs.len());
        pairs.iter().for_each(|&(s, i)| top.push(ItemId(i), s));
        let mut expected = Vec::new();
        top.drain_sorted(&mut expected);
        let mut keys: Vec<u64> = pairs.iter().map(|&(s, i)| fit::rank_key(s, i)).collect();
        keys.sort_unstable_by(|a, b| b.cmp(a));
        let got: Vec<(ItemId, f32)> = keys.into_iter().map(fit::from_rank_key).collect();
        prop_assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            prop_assert_eq!(g.0, e.0);
            // Equal values; a -0.0 comes back as 0.0.
            prop_assert_eq!(g.1, e.1);
        }
    }
}

proptest! {
    /// Items without train events (columns left empty, as before the split compacts the
    /// item ids) change nothing: the lists over the compacted columns, mapped back, are
    /// the same items with the same scores in the same order.
    #[test]
    fn lists_do_not_depend_on_empty_item_columns(
        n_users in 1usize..8,
        raw in prop::collection::vec((0u32..100, 0u32..6, 1u8..8), 1..50),
        empty in prop::collection::vec(any::<bool>(), 12),
        k in 1usize..8,
        n in 1usize..10,
    ) {
        // The wide space has 12 columns; the events fall on the non-empty ones only.
        let kept: Vec<u32> = (0..12u32).filter(|&i| !empty[i as usize]).collect();
        prop_assume!(!kept.is_empty());
        let wide_triples: Vec<(u32, u32, f32)> = raw
            .iter()
            .map(|&(u, i, x)| (u % n_users as u32, kept[i as usize % kept.len()], f32::from(x)))
            .collect();
        let compact_of = |i: u32| kept.binary_search(&i).unwrap() as u32;
        let compact_triples: Vec<(u32, u32, f32)> =
            wide_triples.iter().map(|&(u, i, x)| (u, compact_of(i), x)).collect();
        let wide = matrix(n_users, 12, &wide_triples);
        let compact = matrix(n_users, kept.len(), &compact_triples);
        let users: Vec<UserId> = (0..n_users as u32).map(UserId).collect();
        let p = params(k, Weighting::None);
        let lists = |m: &UserItemMatrix| {
            let model = fit(m, p.clone()).unwrap();
            recommend(&model, m, &users, &RecommendRequest::top(n)).unwrap()
        };
        let (wide_lists, compact_lists) = (lists(&wide), lists(&compact));
        prop_assert_eq!(wide_lists.users(), compact_lists.users());
        for (w, c) in wide_lists.iter().zip(compact_lists.iter()) {
            let back: Vec<ItemId> = c.items.iter().map(|i| ItemId(kept[i.0 as usize])).collect();
            prop_assert_eq!(w.items, &back[..]);
            let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(w.scores), bits(c.scores));
        }
    }
}
