//! The conformance suite every model passes: fit on a tiny checkerboard log, recommend,
//! exclude seen items, restrict candidates, round-trip through save/load, serve a user
//! without history, and give the same lists at any thread count.

#![allow(clippy::unwrap_used)]

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_models::{FitOptions, IdFingerprint, Model, ModelKind, ModelsConfig, TrainData};
use clickrec_recommend::{Candidates, RecommendRequest, Recommendations, Recommender, recommend};

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
        "popularity_recent": { "window_days": 100.0 },
        "recent": {},
        "item_knn": {},
        "als": { "factors": 4, "iterations": 10, "alpha": 10.0 },
        "bpr": { "factors": 4, "iterations": 200 },
        "ease": { "lambda": 10.0 },
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
        // The silent user has no history: only non-personal models list it.
        let served = USERS as usize - usize::from(model.needs_history());
        assert_eq!(recs.len(), served, "{}", model.kind());
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
        // Session popularity is not personal; sequential rules and the Markov chain score
        // what followed the last item, and in this log nothing follows a user's last
        // (highest) item.
        if !model.needs_history()
            || matches!(
                model.kind(),
                ModelKind::Recent | ModelKind::Spop | ModelKind::Sr | ModelKind::Markov
            )
        {
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
    // Saving again replaces the file in place, and no temporary file is left behind.
    let model = &models()[0];
    let path = dir.path().join(format!("{}.model", model.kind()));
    model.save(&path, &ids).unwrap();
    assert!(Model::load(&path, &ids).is_ok());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = models()
        .iter()
        .map(|m| format!("{}.model", m.kind()))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(names, expected);
}

/// A user without history gets no list from a personal model (its scores would be
/// uninformative and top-N would return items in id order), and the non-personal
/// models' list (popularity) from their own ranking; no model panics on a user outside
/// its user space.
#[test]
fn users_without_history_get_no_arbitrary_list() {
    let (_, matrix) = checkerboard();
    // A history matrix with one more user than the models were fitted on.
    let wider = UserItemMatrix::from_triples(USERS as usize + 1, ITEMS as usize, []).unwrap();
    let in_id_order: Vec<ItemId> = (0..3).map(ItemId).collect();
    let request = RecommendRequest::top(3);
    for model in models() {
        let kind = model.kind();
        let recs = recommend(&model, &matrix, &[SILENT_USER], &request).unwrap();
        if let Some(list) = recs.find(SILENT_USER) {
            assert!(!model.needs_history(), "{kind} gave a list without history");
            assert_ne!(list.items, in_id_order.as_slice(), "{kind}");
            assert_eq!(list.items.len(), 3, "{kind} serves everyone");
            let (Model::Popularity(p) | Model::PopularityRecent(p)) = &model else {
                panic!("{kind} is not a popularity model");
            };
            let ranked: Vec<ItemId> = p.ranked().iter().take(3).map(|r| r.0).collect();
            assert_eq!(list.items, ranked.as_slice(), "{kind}");
        } else {
            assert!(model.needs_history(), "{kind} served nobody");
        }
        let outside = UserId(USERS);
        let recs = recommend(&model, &wider, &[outside], &request).unwrap();
        assert_eq!(
            recs.find(outside).is_some(),
            !model.needs_history(),
            "{kind}"
        );
    }
}

/// With a popularity fallback, users without history get popularity's list from a
/// personal model, and users with history keep the model's own list.
#[test]
fn the_popularity_fallback_serves_users_without_history() {
    let (_, matrix) = checkerboard();
    let models = models();
    let popularity = models
        .iter()
        .find(|m| m.kind() == ModelKind::Popularity)
        .unwrap();
    let request = RecommendRequest::top(3);
    let users = all_users();
    for model in models.iter().filter(|m| m.needs_history()) {
        let mut lists = Recommendations::new();
        clickrec_recommend::recommend_blocks_with_fallback(
            model,
            Some(popularity),
            &matrix,
            &users,
            &request,
            |block| lists.append(block),
        )
        .unwrap();
        let own = recommend(model, &matrix, &users, &request).unwrap();
        let popular = recommend(popularity, &matrix, &users, &request).unwrap();
        assert_eq!(lists.len(), users.len(), "{}", model.kind());
        for list in lists.iter() {
            let expected = if list.user == SILENT_USER {
                popular.find(list.user)
            } else {
                own.find(list.user)
            };
            assert_eq!(
                Some(list.items),
                expected.map(|l| l.items),
                "{}",
                model.kind()
            );
        }
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
