//! Every model on logs an `EventLog` can hold but ingest would not pass: timestamps at
//! `i64::MIN`/`i64::MAX`, the years 1 and 9999, repeated times, one-event users, a single
//! item. Fitting and recommending must never panic (STAN, V-STAN and `recent` once
//! subtracted such times in i64), and every list must stay within the catalogue.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_models::{FitOptions, ModelKind, ModelsConfig, TrainData};
use clickrec_recommend::{RecommendRequest, recommend};
use proptest::prelude::*;

/// Times at and near the edges of i64 and of the years 1..9999, and a narrow band where
/// repeats are common.
fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(i64::MAX - 1),
        Just(-62_135_596_800), // 0001-01-01
        Just(253_402_300_799), // 9999-12-31 23:59:59
        Just(0),
        0i64..5,
        any::<i64>(),
    ]
}

/// `(user, item, time)` rows: few users and items, so one-event users and a single-item
/// catalogue come up often.
fn rows() -> impl Strategy<Value = Vec<(u32, u32, i64)>> {
    prop::collection::vec((0u32..4, 0u32..3, time()), 1..14)
}

fn config() -> ModelsConfig {
    serde_json::from_value(serde_json::json!({
        "popularity": {},
        "popularity_recent": { "window_days": 1.0 },
        "recent": { "max_items": 1_000_000_000u32 },
        "item_knn": { "k": 1_000_000_000u64 },
        "als": { "factors": 3, "iterations": 2 },
        "bpr": { "factors": 3, "iterations": 2 },
        "ease": {},
        "sknn": {},
        "vsknn": {},
        "stan": {},
        "vstan": {},
        "sr": {},
        "ar": {},
        "markov": {},
        "spop": {},
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_model_fits_and_recommends_on_extreme_times(rows in rows(), by_gap in any::<bool>()) {
        let n_users = rows.iter().map(|r| r.0).max().unwrap() as usize + 2; // one silent user
        let n_items = rows.iter().map(|r| r.1).max().unwrap() as usize + 1;
        let log = EventLog::from_columns(
            rows.iter().map(|r| UserId(r.0)).collect(),
            rows.iter().map(|r| ItemId(r.1)).collect(),
            vec![CategoryId(0); rows.len()],
            vec![Behavior::Pv; rows.len()],
            rows.iter().map(|r| r.2).collect(),
        )
        .unwrap();
        // Sessions as prep makes them: a new one per user and after a 30-minute gap
        // (measured in i128, as any two i64 times may be further apart than an i64 holds).
        let sessions: Vec<u32> = {
            let (users, times) = (log.users(), log.timestamps());
            let mut s = 0u32;
            (0..log.len())
                .map(|r| {
                    if r > 0 && (users[r] != users[r - 1]
                        || (by_gap && i128::from(times[r]) - i128::from(times[r - 1]) > 1800))
                    {
                        s += 1;
                    }
                    s
                })
                .collect()
        };
        let matrix = UserItemMatrix::from_triples(
            n_users,
            n_items,
            log.users().iter().zip(log.items()).map(|(&u, &i)| (u, i, 1.0)),
        )
        .unwrap();
        let item_users = matrix.transpose();
        let data = TrainData {
            matrix: &matrix,
            item_users: &item_users,
            log: &log,
            behavior_weights: [1.0; 4],
            sessions: Some(&sessions),
        };
        let checked = config().check().unwrap();
        prop_assert_eq!(checked.len(), ModelKind::ALL.len());
        let users: Vec<UserId> = (0..n_users as u32).map(UserId).collect();
        for model in &checked {
            // A fit may refuse data (e.g. BPR with no negative item to sample) but never panics.
            let Ok(fitted) = model.fit(&data, &FitOptions::default()) else {
                continue;
            };
            for request in [RecommendRequest::top(2), RecommendRequest::top(usize::MAX)] {
                let recs = recommend(&fitted, &matrix, &users, &request).unwrap();
                prop_assert!(recs.len() <= n_users);
                for list in recs.iter() {
                    prop_assert!(list.items.len() <= request.n.min(n_items), "{}", model.kind());
                    let mut items: Vec<u32> = list.items.iter().map(|i| i.0).collect();
                    items.sort_unstable();
                    items.dedup();
                    prop_assert_eq!(items.len(), list.items.len(), "{} repeats an item", model.kind());
                    prop_assert!(items.iter().all(|&i| (i as usize) < n_items));
                    prop_assert!(list.scores.iter().all(|s| !s.is_nan()), "{}: {:?}", model.kind(), list.scores);
                }
            }
        }
    }
}
