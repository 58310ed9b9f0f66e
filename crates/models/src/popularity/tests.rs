#![allow(clippy::unwrap_used)]

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{RecommendRequest, Recommender, recommend};

use super::*;
use crate::{FitError, FitOptions, IdFingerprint, Model, TrainData};

const DAY: i64 = 86_400;
const WEIGHTS: [f32; 4] = [1.0, 2.0, 3.0, 4.0];

/// `(user, item, behaviour, time)` events over `n_items` items.
struct Fixture {
    log: EventLog,
    matrix: UserItemMatrix,
}

impl Fixture {
    fn new(n_users: usize, n_items: usize, events: &[(u32, u32, Behavior, i64)]) -> Self {
        let log = EventLog::from_columns(
            events.iter().map(|e| UserId(e.0)).collect(),
            events.iter().map(|e| ItemId(e.1)).collect(),
            vec![CategoryId(0); events.len()],
            events.iter().map(|e| e.2).collect(),
            events.iter().map(|e| e.3).collect(),
        )
        .unwrap();
        let matrix = UserItemMatrix::from_triples(
            n_users,
            n_items,
            events
                .iter()
                .map(|e| (UserId(e.0), ItemId(e.1), WEIGHTS[usize::from(e.2.code())])),
        )
        .unwrap();
        Fixture { log, matrix }
    }

    fn fit(&self, params: PopularityParams) -> Result<Popularity, FitError> {
        let item_users = self.matrix.transpose();
        let data = TrainData {
            matrix: &self.matrix,
            item_users: &item_users,
            log: &self.log,
            behavior_weights: WEIGHTS,
            sessions: None,
        };
        Popularity::fit(&params.check().unwrap(), &data, &FitOptions::default())
    }
}

/// Items 0..6; item 5 never seen. Latest event at day 10.
fn fixture() -> Fixture {
    use Behavior::*;
    Fixture::new(
        4,
        6,
        &[
            (0, 0, Pv, DAY),       // old
            (0, 0, Buy, 2 * DAY),  // old
            (1, 0, Pv, 3 * DAY),   // old
            (1, 1, Pv, 9 * DAY),   // recent
            (2, 1, Cart, 9 * DAY), // recent
            (2, 2, Fav, 9 * DAY),  // recent
            (3, 2, Pv, 8 * DAY),   // exactly at the 2-day cutoff: counts
            (3, 3, Fav, 10 * DAY), // recent, the latest event
            (0, 4, Pv, 7 * DAY),   // just before the 2-day cutoff
        ],
    )
}

fn items(list: &[(ItemId, f32)]) -> Vec<u32> {
    list.iter().map(|p| p.0.0).collect()
}

#[test]
fn all_time_scores_sum_behaviour_weights() {
    let model = fixture().fit(PopularityParams::default()).unwrap();
    // item 0: pv + buy + pv = 6; item 1: pv + cart = 4; item 2: fav + pv = 3;
    // item 3: fav = 2; item 4: pv = 1; item 5: nothing.
    assert_eq!(model.scores(), &[6.0, 4.0, 3.0, 2.0, 1.0, 0.0]);
    assert_eq!(items(model.ranked()), vec![0, 1, 2, 3, 4]);
}

#[test]
fn window_counts_only_recent_events() {
    let model = fixture()
        .fit(PopularityParams {
            window_days: Some(2.0),
        })
        .unwrap();
    // Cutoff day 8: item 0's events (days 1-3) and item 4's (day 7) drop out; item 2's
    // pv at exactly day 8 counts.
    assert_eq!(model.scores(), &[0.0, 4.0, 3.0, 2.0, 0.0, 0.0]);
    assert_eq!(items(model.ranked()), vec![1, 2, 3]);

    // Half a day: only day-10 events.
    let model = fixture()
        .fit(PopularityParams {
            window_days: Some(0.5),
        })
        .unwrap();
    assert_eq!(model.scores(), &[0.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
}

#[test]
fn recommendations_skip_seen_items_break_ties_by_id_and_omit_unscored_items() {
    use Behavior::*;
    // Items 1 and 3 tie at 2 (one fav, two pv), item 2 scores 4, item 0 1; item 4 none.
    let f = Fixture::new(
        4,
        5,
        &[
            (0, 3, Pv, 1),
            (1, 3, Pv, 2),
            (1, 2, Buy, 3),
            (2, 1, Fav, 4),
            (2, 0, Pv, 5),
        ],
    );
    let model = f.fit(PopularityParams::default()).unwrap();
    let users = [UserId(0), UserId(1), UserId(3), UserId(7)];
    // Users 3 (no history) and 7 (outside the matrix's rows) get the global list.
    let history = UserItemMatrix::from_triples(
        8,
        5,
        f.matrix
            .csr()
            .iter()
            .map(|(&v, (u, i))| (UserId(u), ItemId(i), v)),
    )
    .unwrap();
    let recs = recommend(&model, &history, &users, &RecommendRequest::top(10)).unwrap();
    let got: Vec<Vec<u32>> = recs
        .iter()
        .map(|l| l.items.iter().map(|i| i.0).collect())
        .collect();
    assert_eq!(
        got,
        vec![
            vec![2, 1, 0],
            vec![1, 0],
            vec![2, 1, 3, 0],
            vec![2, 1, 3, 0]
        ]
    );
    assert_eq!(recs.get(2).scores, &[4.0, 2.0, 2.0, 1.0]);
}

#[test]
fn dense_and_sparse_scoring_rank_alike() {
    let f = fixture();
    let dense = f.fit(PopularityParams::default()).unwrap();
    // 5 of 6 items scored: dense rows.
    assert!(dense.dense_row.is_some());
    let mut sparse = dense.clone();
    sparse.dense_row = None;
    let users: Vec<UserId> = (0..4).map(UserId).collect();
    for n in [1, 3, 6] {
        let request = RecommendRequest::top(n);
        assert_eq!(
            recommend(&dense, &f.matrix, &users, &request).unwrap(),
            recommend(&sparse, &f.matrix, &users, &request).unwrap()
        );
    }
    // A short window scores 1 item of 6: sparse lists.
    let short = f
        .fit(PopularityParams {
            window_days: Some(0.5),
        })
        .unwrap();
    assert!(short.dense_row.is_none());
}

#[test]
fn empty_train_log_and_foreign_items_are_refused() {
    let f = Fixture::new(1, 2, &[]);
    assert!(matches!(
        f.fit(PopularityParams::default()),
        Err(FitError::EmptyTrain {
            model: "popularity"
        })
    ));
    let mut f = fixture();
    f.matrix = UserItemMatrix::from_triples(4, 3, []).unwrap();
    let err = f.fit(PopularityParams::default()).unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
}

#[test]
fn params_are_checked_and_named() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = PopularityParams {
            window_days: Some(bad),
        }
        .check()
        .unwrap_err();
        assert_eq!((err.model, err.param), ("popularity", "window_days"));
        assert!(err.to_string().starts_with("models.popularity.window_days"));
    }
    let params: PopularityParams = serde_json::from_str(r#"{"window_days": 1.5}"#).unwrap();
    assert_eq!(
        params.check().unwrap().window_seconds(),
        Some(1.5 * 86_400.0)
    );
    assert_eq!(
        serde_json::from_str::<PopularityParams>("{}").unwrap(),
        PopularityParams::default()
    );
    assert!(serde_json::from_str::<PopularityParams>(r#"{"window": 1}"#).is_err());
}

#[test]
fn save_and_load_round_trip() {
    let model = fixture()
        .fit(PopularityParams {
            window_days: Some(2.0),
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("popularity.model");
    let ids = IdFingerprint::dense(4, 6);
    Model::Popularity(model.clone()).save(&path, &ids).unwrap();
    let Model::Popularity(loaded) = Model::load(&path, &ids).unwrap() else {
        panic!("loaded another kind");
    };
    assert_eq!(loaded.params(), model.params());
    assert_eq!(loaded.scores(), model.scores());
    assert_eq!(loaded.ranked(), model.ranked());
    assert_eq!(loaded.n_items(), 6);
}

#[test]
fn lists_do_not_depend_on_items_without_events() {
    use Behavior::*;
    // Items 1, 3, 4 and 6 of 8 have events, with ties; the compacted space numbers them
    // 0..4 in the same order. Mapped back, every list is the same.
    let events = [
        (0, 6, Pv, 1),
        (1, 3, Pv, 2),
        (1, 1, Pv, 3),
        (2, 4, Fav, 4),
        (2, 6, Pv, 5),
        (3, 1, Pv, 6),
    ];
    let kept = [1u32, 3, 4, 6];
    let compact_events: Vec<_> = events
        .iter()
        .map(|&(u, i, b, t)| (u, kept.iter().position(|&k| k == i).unwrap() as u32, b, t))
        .collect();
    let (wide, compact) = (
        Fixture::new(4, 8, &events),
        Fixture::new(4, kept.len(), &compact_events),
    );
    let users: Vec<UserId> = (0..4).map(UserId).collect();
    let lists = |f: &Fixture| {
        let model = f.fit(PopularityParams::default()).unwrap();
        recommend(&model, &f.matrix, &users, &RecommendRequest::top(3)).unwrap()
    };
    let (w, c) = (lists(&wide), lists(&compact));
    for (w, c) in w.iter().zip(c.iter()) {
        let back: Vec<ItemId> = c.items.iter().map(|i| ItemId(kept[i.0 as usize])).collect();
        assert_eq!(w.items, &back[..]);
        assert_eq!(w.scores, c.scores);
    }
    // Items 1, 4 and 6 tie at 2 (pv + pv, fav, pv + pv); user 3 saw item 1.
    assert_eq!(w.get(3).items, &[ItemId(4), ItemId(6), ItemId(3)]);
}
