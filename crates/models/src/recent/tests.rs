#![allow(clippy::unwrap_used)]

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{RecommendRequest, recommend};

use super::*;
use crate::{FitOptions, IdFingerprint, Model, TrainData};

const HOUR: i64 = 3600;

fn fit_on(
    events: &[(u32, u32, i64)],
    n_users: usize,
    params: RecentParams,
) -> (Recent, UserItemMatrix) {
    let log = EventLog::from_columns(
        events.iter().map(|e| UserId(e.0)).collect(),
        events.iter().map(|e| ItemId(e.1)).collect(),
        vec![CategoryId(0); events.len()],
        vec![Behavior::Pv; events.len()],
        events.iter().map(|e| e.2).collect(),
    )
    .unwrap();
    let matrix = UserItemMatrix::from_triples(
        n_users,
        6,
        events.iter().map(|e| (UserId(e.0), ItemId(e.1), 1.0)),
    )
    .unwrap();
    let item_users = matrix.transpose();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: [1.0; 4],
        sessions: None,
    };
    let model = Recent::fit(&params.check().unwrap(), &data, &FitOptions::default()).unwrap();
    (model, matrix)
}

#[test]
fn latest_and_frequent_items_rank_first() {
    // User 0: item 1 three times two days ago, item 2 once just now, item 3 once a
    // day ago. With a 24 h half-life: item 1 scores 3 × 0.25 = 0.75, item 2 scores 1,
    // item 3 scores 0.5. User 1 has no events.
    let events = [
        (0, 1, 0),
        (0, 1, HOUR),
        (0, 1, 2 * HOUR),
        (0, 3, 26 * HOUR),
        (0, 2, 50 * HOUR),
    ];
    let (model, matrix) = fit_on(&events, 2, RecentParams::default());
    let (items, scores) = model.list(UserId(0));
    assert_eq!(items, &[2, 1, 3]);
    assert!((scores[0] - 1.0).abs() < 1e-6);
    let request = RecommendRequest {
        exclude_seen: false,
        ..RecommendRequest::top(2)
    };
    let recs = recommend(&model, &matrix, &[UserId(0), UserId(1)], &request).unwrap();
    assert_eq!(recs.find(UserId(0)).unwrap().items, &[ItemId(2), ItemId(1)]);
    assert!(recs.find(UserId(1)).is_none(), "no history, no list");
    // Only seen items: nothing is left when seen items are excluded.
    let recs = recommend(&model, &matrix, &[UserId(0)], &RecommendRequest::top(2)).unwrap();
    assert!(recs.get(0).items.is_empty());
}

#[test]
fn max_items_caps_each_list() {
    let events = [(0, 1, 0), (0, 2, 10), (0, 3, 20)];
    let params = RecentParams {
        max_items: 2,
        ..RecentParams::default()
    };
    let (model, _) = fit_on(&events, 1, params);
    assert_eq!(model.list(UserId(0)).0, &[3, 2]);
    assert_eq!(model.list(UserId(7)).0, &[] as &[u32]);
}

#[test]
fn bad_parameters_name_the_key() {
    for (params, key) in [
        (
            RecentParams {
                half_life_hours: 0.0,
                ..RecentParams::default()
            },
            "half_life_hours",
        ),
        (
            RecentParams {
                half_life_hours: f64::NAN,
                ..RecentParams::default()
            },
            "half_life_hours",
        ),
        (
            RecentParams {
                max_items: 0,
                ..RecentParams::default()
            },
            "max_items",
        ),
    ] {
        let e = params.check().unwrap_err();
        assert_eq!((e.model, e.param), ("recent", key));
    }
}

#[test]
fn save_and_load_round_trip() {
    let events = [(0, 1, 0), (0, 2, 10), (2, 5, 20)];
    let (model, _) = fit_on(&events, 3, RecentParams::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recent.model");
    let ids = IdFingerprint::dense(3, 6);
    Model::Recent(model.clone()).save(&path, &ids).unwrap();
    let Model::Recent(back) = Model::load(&path, &ids).unwrap() else {
        panic!("another kind");
    };
    for u in 0..4 {
        assert_eq!(back.list(UserId(u)), model.list(UserId(u)));
    }
}
