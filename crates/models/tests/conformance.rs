//! The conformance suite every model passes: fit on a tiny checkerboard log, recommend,
//! exclude seen items, restrict candidates, round-trip through save/load, serve a user
//! without history, and give the same lists at any thread count.

#![allow(clippy::unwrap_used)]

use clickrec_core::{
    Behavior, Candidates, CategoryId, EventLog, ItemId, RecommendRequest, Recommendations, UserId,
    UserItemMatrix, recommend,
};
use clickrec_models::{FitOptions, IdFingerprint, Model, ModelKind, ModelsConfig, TrainData};

const USERS: u32 = 12;
const ITEMS: u32 = 12;
/// The last user has no events at all.
const SILENT_USER: UserId = UserId(USERS - 1);

/// Users like items of their own parity (a checkerboard), each leaving out one item of
/// its parity, which a personal model should recommend first.
fn checkerboard() -> (EventLog, UserItemMatrix) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for u in 0..USERS - 1 {
        let held_out = 2 * ((u / 2) % (ITEMS / 2)) + u % 2;
        for i in (0..ITEMS).filter(|i| i % 2 == u % 2 && *i != held_out) {
            columns.0.push(UserId(u));
            columns.1.push(ItemId(i));
            columns.2.push(CategoryId(i % 2));
            columns.3.push(if i % 3 == 0 {
                Behavior::Buy
            } else {
                Behavior::Pv
            });
            columns.4.push(i64::from(u * 100 + i));
        }
    }
    let log =
        EventLog::from_columns(columns.0, columns.1, columns.2, columns.3, columns.4).unwrap();
    let matrix = UserItemMatrix::from_triples(
        USERS as usize,
        ITEMS as usize,
        log.users()
            .iter()
            .zip(log.items())
            .map(|(&u, &i)| (u, i, 1.0)),
    )
    .unwrap();
    (log, matrix)
}

fn models() -> Vec<Model> {
    let config: ModelsConfig = serde_json::from_value(serde_json::json!({
        "popularity": {},
        "item_knn": {},
        "als": { "factors": 4, "iterations": 10, "alpha": 10.0 },
        "bpr": { "factors": 4, "iterations": 200 },
        "sknn": {},
        "vsknn": {},
        "stan": {},
        "vstan": {},
        "sr": {},
        "ar": {},
        "markov": {},
        "spop": {},
    }))
    .unwrap();
    let (log, matrix) = checkerboard();
    let item_users = matrix.transpose();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: [1.0, 2.0, 3.0, 4.0],
        sessions: None,
    };
    let checked = config.check().unwrap();
    assert_eq!(checked.len(), ModelKind::ALL.len());
    checked
        .iter()
        .map(|c| c.fit(&data, &FitOptions::default()).unwrap())
        .collect()
}

fn all_users() -> Vec<UserId> {
    (0..USERS).map(UserId).collect()
}

fn lists(model: &Model, request: &RecommendRequest) -> Recommendations {
    recommend(model, &checkerboard().1, &all_users(), request).unwrap()
}

#[test]
fn recommendations_leave_out_seen_items_and_respect_n() {
    let (_, matrix) = checkerboard();
    for model in models() {
        let recs = lists(&model, &RecommendRequest::top(3));
        assert_eq!(recs.len(), USERS as usize, "{}", model.kind());
        for list in recs.iter() {
            assert!(list.items.len() <= 3, "{}", model.kind());
            let seen = matrix.row(list.user).0;
            for item in list.items {
                assert!(
                    seen.binary_search(&item.0).is_err(),
                    "{} recommended seen item {item} to {}",
                    model.kind(),
                    list.user
                );
            }
            assert!(
                list.scores.windows(2).all(|w| w[0] >= w[1]),
                "{}: scores must not increase down the list",
                model.kind()
            );
        }
    }
}

#[test]
fn personal_models_recommend_the_held_out_item_of_the_users_own_parity() {
    for model in models() {
        // Popularity and session popularity are not personal; sequential rules and the
        // Markov chain score what followed the last item, and in this log nothing
        // follows a user's last (highest) item.
        if matches!(
            model.kind(),
            ModelKind::Popularity | ModelKind::Spop | ModelKind::Sr | ModelKind::Markov
        ) {
            continue;
        }
        let recs = lists(&model, &RecommendRequest::top(1));
        for list in recs.iter().filter(|l| l.user != SILENT_USER) {
            let top = list
                .items
                .first()
                .unwrap_or_else(|| panic!("{}: no recommendation for {}", model.kind(), list.user));
            assert_eq!(
                top.0 % 2,
                list.user.0 % 2,
                "{} recommended {top} to {}",
                model.kind(),
                list.user
            );
        }
    }
}

#[test]
fn candidate_restrictions_hold_for_every_model() {
    for model in models() {
        let mut only = RecommendRequest::top(5);
        only.exclude_seen = false;
        only.candidates = Candidates::Only(vec![ItemId(1), ItemId(4), ItemId(7)]);
        for list in lists(&model, &only).iter() {
            assert!(
                list.items.iter().all(|i| [1, 4, 7].contains(&i.0)),
                "{}",
                model.kind()
            );
        }
        let mut exclude = RecommendRequest::top(ITEMS as usize);
        exclude.exclude_seen = false;
        exclude.candidates = Candidates::Exclude(vec![ItemId(0), ItemId(3)]);
        for list in lists(&model, &exclude).iter() {
            assert!(
                list.items.iter().all(|i| i.0 != 0 && i.0 != 3),
                "{}",
                model.kind()
            );
        }
    }
}

#[test]
fn save_and_load_round_trip_and_refuse_other_id_maps() {
    let dir = tempfile::tempdir().unwrap();
    let ids = IdFingerprint::dense(USERS as usize, ITEMS as usize);
    for model in models() {
        let path = dir.path().join(format!("{}.model", model.kind()));
        model.save(&path, &ids).unwrap();
        let loaded = Model::load(&path, &ids).unwrap();
        assert_eq!(loaded.kind(), model.kind());
        let request = RecommendRequest::top(5);
        assert_eq!(
            lists(&loaded, &request),
            lists(&model, &request),
            "{}",
            model.kind()
        );
        let other = IdFingerprint::dense(USERS as usize + 1, ITEMS as usize);
        let err = Model::load(&path, &other).unwrap_err().to_string();
        assert!(err.contains("other id maps"), "{err}");
    }
}

#[test]
fn users_without_history_or_outside_the_model_get_lists_without_panicking() {
    let (_, matrix) = checkerboard();
    // A history matrix with one more user than the models were fitted on.
    let wider = UserItemMatrix::from_triples(USERS as usize + 1, ITEMS as usize, []).unwrap();
    for model in models() {
        let recs = recommend(&model, &matrix, &[SILENT_USER], &RecommendRequest::top(3)).unwrap();
        assert_eq!(recs.len(), 1);
        if model.kind() == ModelKind::Popularity {
            assert_eq!(recs.get(0).items.len(), 3, "popularity serves everyone");
        }
        let outside = UserId(USERS);
        let recs = recommend(&model, &wider, &[outside], &RecommendRequest::top(3)).unwrap();
        assert_eq!(recs.get(0).user, outside, "{}", model.kind());
    }
}

#[test]
fn lists_are_identical_at_any_thread_count() {
    let fit_and_recommend = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                models()
                    .iter()
                    .map(|m| lists(m, &RecommendRequest::top(5)))
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(fit_and_recommend(1), fit_and_recommend(3));
}
