//! Online equals offline, on the shipped sample: every test user's served list is their
//! row of `recs/<model>.parquet`; replaying the test sessions through the session
//! endpoints gives the run's next-item HitRate and MRR; folding in a user's train row from
//! nothing gives back their ALS factor and list. Then bad input, bounded state and a
//! reload under load. The requests go through the router in-process (`tower::oneshot`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clickrec_core::UserId;
use clickrec_serve::{ApiOptions, AppState, Event, ServedRun, router};
use serde_json::{Value, json};
use tower::ServiceExt;

const PIPELINE: &str = r#"
[run]
seed = 42

[input]
path = "SAMPLE"
format = "taobao"

[split]
kind = "session_cutoff"

[models.popularity]
[models.recent]
[models.item_knn]
k = 50
# Converged (a CG step per factor, many sweeps): the fit's last user sweep saw the item
# factors of the sweep before, so only a converged fit's user factors are what folding
# in gives against the final item factors (60 sweeps: 5.6e-3 apart, 200: 2.7e-4, 500: 7e-6).
[models.als]
factors = 16
iterations = 500
cg_steps = 16
regularization = 1.0
[models.bpr]
factors = 16
iterations = 10
[models.ease]
[models.vstan]
[models.sr]

[recommend]
n = 50

[evaluate]
ks = [5, 20]
bootstrap_samples = 10
protocol = ["session", "next_item"]
"#;

/// One run of the pipeline above on `data/sample.csv`, shared by the tests.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let sample = root.join("data/sample.csv").canonicalize().unwrap();
        let file = tmp.path().join("pipeline.toml");
        std::fs::write(&file, PIPELINE.replace("SAMPLE", sample.to_str().unwrap())).unwrap();
        let out = tmp.path().join("run");
        let plan = clickrec_pipeline::PipelineConfig::load(&file, &[])
            .unwrap()
            .plan(&file, tmp.path(), Some(&out))
            .unwrap();
        clickrec_pipeline::run(
            &plan,
            clickrec_pipeline::RunOptions::default(),
            &clickrec_pipeline::NoBars,
            &mut |_| {},
        )
        .unwrap();
        (tmp, out)
    })
    .1
}

fn app(options: ApiOptions) -> (Arc<AppState>, axum::Router) {
    let state = AppState::new(ServedRun::load(run_dir(), None).unwrap(), options);
    (state.clone(), router(state))
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = Request::builder().method(method).uri(uri);
    let request = match body {
        Some(b) => request
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

fn items(answer: &Value) -> Vec<(String, f64)> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item_id"].as_str().unwrap().to_owned(),
                i["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_test_users_served_list_is_their_row_of_the_recs_file() {
    let (_, app) = app(ApiOptions::default());
    let ids = clickrec_io::read_split_id_maps(run_dir()).unwrap();
    let mut checked = 0;
    for model in [
        "popularity",
        "recent",
        "item_knn",
        "als",
        "bpr",
        "ease",
        "vstan",
        "sr",
    ] {
        let path = run_dir().join(format!("recs/{model}.parquet"));
        let (recs, _) = clickrec_io::read_recommendations(&path, &ids).unwrap();
        assert!(recs.len() > 100, "{model}: {} users", recs.len());
        for list in recs.iter() {
            let user = ids.users.external(list.user);
            let (status, answer) = call(
                &app,
                "GET",
                &format!("/v1/users/{user}/recommendations?model={model}&n=50"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let served = items(&answer);
            let offline: Vec<(String, f64)> = list
                .items
                .iter()
                .zip(list.scores)
                .map(|(&i, &s)| (ids.items.external(i).to_owned(), f64::from(s)))
                .collect();
            assert_eq!(served.len(), offline.len(), "{model} user {user}");
            for (a, b) in served.iter().zip(&offline) {
                assert_eq!(a.0, b.0, "{model} user {user}");
                assert!(
                    (a.1 - b.1).abs() <= 1e-6,
                    "{model} user {user}: {} vs {}",
                    a.1,
                    b.1
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 800);
}

#[tokio::test]
async fn replaying_the_test_sessions_gives_the_runs_next_item_metrics() {
    let (_, app) = app(ApiOptions::default());
    let dir = run_dir();
    let ids = clickrec_io::read_split_id_maps(dir).unwrap();
    let inputs = clickrec_pipeline::EvalInputs::read(dir).unwrap();
    let (test, sessions) =
        clickrec_io::read_events(&dir.join(clickrec_pipeline::TEST_EVENTS_FILE), &ids).unwrap();
    let mut in_train = vec![false; inputs.train.n_items()];
    for u in 0..inputs.train.n_users() {
        for &i in inputs.train.row(UserId(u as u32)).0 {
            in_train[i as usize] = true;
        }
    }
    let replay = clickrec_eval::NextItemSessions::from_log(&test, sessions.as_deref(), &in_train);
    assert!(replay.len() > 50);
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    for model in ["vstan", "sr"] {
        let (mut hits, mut rr, mut predictions) = ([0.0f64; 2], [0.0f64; 2], 0u64);
        for s in 0..replay.len() {
            let (_, session_items, times) = replay.session(s);
            let session = format!("{model}-{s}");
            for j in 0..session_items.len() - 1 {
                let event = json!({"events": [{
                    "item_id": ids.items.external(session_items[j]),
                    "timestamp": times[j],
                }]});
                let (status, _) = call(
                    &app,
                    "POST",
                    &format!("/v1/sessions/{session}/events"),
                    Some(event),
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                let (status, answer) = call(
                    &app,
                    "GET",
                    &format!("/v1/sessions/{session}/recommendations?model={model}&n=20"),
                    None,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                let target = ids.items.external(session_items[j + 1]);
                let rank = items(&answer).iter().position(|(i, _)| i == target);
                for (ki, k) in [5, 20].into_iter().enumerate() {
                    if let Some(r) = rank.filter(|&r| r < k) {
                        hits[ki] += 1.0;
                        rr[ki] += 1.0 / (r + 1) as f64;
                    }
                }
                predictions += 1;
            }
        }
        let entry = metrics["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == model)
            .unwrap();
        let next = entry["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["variant"] == "next_item")
            .unwrap();
        assert_eq!(next["predictions"].as_u64().unwrap(), predictions);
        for (ki, at) in next["at_k"].as_array().unwrap().iter().enumerate() {
            let (hit, mrr) = (hits[ki] / predictions as f64, rr[ki] / predictions as f64);
            let offline = (
                at["hit_rate"]["mean"].as_f64().unwrap(),
                at["mrr"]["mean"].as_f64().unwrap(),
            );
            assert!(
                (hit - offline.0).abs() <= 1e-9,
                "{model} HitRate@{}: {hit} vs {}",
                at["k"],
                offline.0
            );
            assert!(
                (mrr - offline.1).abs() <= 1e-9,
                "{model} MRR@{}: {mrr} vs {}",
                at["k"],
                offline.1
            );
        }
    }
}

#[tokio::test]
async fn folding_in_a_train_row_from_nothing_gives_back_the_als_factor_and_list() {
    let (_, app) = app(ApiOptions::default());
    let dir = run_dir();
    let ids = clickrec_io::read_split_id_maps(dir).unwrap();
    let run = ServedRun::load(dir, None).unwrap();
    let (train, _) =
        clickrec_io::read_events(&dir.join(clickrec_pipeline::TRAIN_FILE), &ids).unwrap();
    let als = run.model("als").unwrap();
    let clickrec_models::Model::Als(fitted) = als else {
        panic!("als")
    };
    let mut worst = 0f32;
    let mut users = 0;
    for (user, rows) in train.user_rows().step_by(25) {
        let events: Vec<Event> = rows
            .clone()
            .map(|r| Event {
                item: train.items()[r],
                behavior: train.behaviors()[r],
                time: train.timestamps()[r],
            })
            .collect();
        let folded = run.folded_factor(als, None, &events).unwrap();
        for (a, b) in folded
            .iter()
            .zip(fitted.user_factors().row(user.0 as usize))
        {
            worst = worst.max((a - b).abs());
        }
        // The same through the API: a new user posting the train events gets the list.
        let name = format!("new-{}", user.0);
        let body = json!({"events": rows.clone().map(|r| json!({
            "item_id": ids.items.external(train.items()[r]),
            "behavior": train.behaviors()[r].name(),
            "timestamp": train.timestamps()[r],
        })).collect::<Vec<_>>()});
        let (status, _) = call(
            &app,
            "POST",
            &format!("/v1/users/{name}/events"),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, folded_list) = call(
            &app,
            "GET",
            &format!("/v1/users/{name}/recommendations?model=als&n=20"),
            None,
        )
        .await;
        let known = ids.users.external(user);
        let (_, trained_list) = call(
            &app,
            "GET",
            &format!("/v1/users/{known}/recommendations?model=als&n=20"),
            None,
        )
        .await;
        let names = |v: &Value| items(v).into_iter().map(|i| i.0).collect::<Vec<_>>();
        assert_eq!(names(&folded_list), names(&trained_list), "user {known}");
        users += 1;
    }
    assert!(users > 20);
    eprintln!("fold-in: {users} users, largest factor difference {worst:e}");
    assert!(worst <= 1e-4, "largest factor difference {worst}");
}

#[tokio::test]
async fn posted_events_change_that_users_list_only() {
    let (_, app) = app(ApiOptions::default());
    let ids = clickrec_io::read_split_id_maps(run_dir()).unwrap();
    let item = ids.items.external(clickrec_core::ItemId(7)).to_owned();
    let (_, before) = call(
        &app,
        "GET",
        "/v1/users/newcomer/recommendations?model=item_knn&n=10",
        None,
    )
    .await;
    let (_, popular) = call(
        &app,
        "GET",
        "/v1/users/other/recommendations?model=popularity&n=10",
        None,
    )
    .await;
    assert_eq!(
        items(&before),
        items(&popular),
        "an unknown user gets the fallback list"
    );
    let body =
        json!({"events": [{"item_id": item, "behavior": "cart", "timestamp": 1_512_300_000}]});
    let (status, answer) = call(&app, "POST", "/v1/users/newcomer/events", Some(body)).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let (_, after) = call(
        &app,
        "GET",
        "/v1/users/newcomer/recommendations?model=item_knn&n=10",
        None,
    )
    .await;
    assert_ne!(items(&after), items(&before));
    assert!(
        items(&after).iter().all(|(i, _)| *i != item),
        "seen items are excluded"
    );
    let (_, kept) = call(
        &app,
        "GET",
        "/v1/users/newcomer/recommendations?model=item_knn&n=10&exclude_seen=false",
        None,
    )
    .await;
    assert!(items(&kept).len() == 10);
    let (_, still) = call(
        &app,
        "GET",
        "/v1/users/other/recommendations?model=item_knn&n=10",
        None,
    )
    .await;
    assert_eq!(items(&still), items(&popular));
}

#[tokio::test]
async fn bad_input_gets_a_json_error_naming_the_value() {
    let options = ApiOptions {
        max_body_bytes: 2048,
        unknown_users: clickrec_serve::UnknownUsers::NotFound,
        ..ApiOptions::default()
    };
    let (_, app) = app(options);
    let cases = [
        (
            "GET",
            "/v1/users/1/recommendations?model=nope",
            None,
            StatusCode::BAD_REQUEST,
            "nope",
        ),
        (
            "GET",
            "/v1/users/1/recommendations",
            None,
            StatusCode::BAD_REQUEST,
            "models",
        ),
        (
            "GET",
            "/v1/users/1/recommendations?model=als&n=5000",
            None,
            StatusCode::BAD_REQUEST,
            "5000",
        ),
        (
            "GET",
            "/v1/users/1/recommendations?model=als&n=abc",
            None,
            StatusCode::BAD_REQUEST,
            "n: invalid digit",
        ),
        (
            "GET",
            "/v1/users/nobody/recommendations?model=als",
            None,
            StatusCode::NOT_FOUND,
            "nobody",
        ),
        (
            "GET",
            "/v1/sessions/s/recommendations?model=als",
            None,
            StatusCode::BAD_REQUEST,
            "vstan",
        ),
        (
            "GET",
            "/v1/items/no-such-item/similar?model=als",
            None,
            StatusCode::NOT_FOUND,
            "no-such-item",
        ),
        (
            "POST",
            "/v1/users/u/events",
            Some(json!({"events": [{"item_id": "no-such-item"}]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-such-item",
        ),
        (
            "POST",
            "/v1/users/u/events",
            Some(json!({"events": [{"item_id": "x", "behavior": "like"}]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "like",
        ),
        (
            "POST",
            "/v1/users/u/events",
            Some(json!({"evnts": []})),
            StatusCode::BAD_REQUEST,
            "evnts",
        ),
        (
            "POST",
            "/v1/users/u/events",
            Some(json!({"events": [{"item_id": "x".repeat(4000)}]})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "limit",
        ),
        (
            "GET",
            "/v2/nothing",
            None,
            StatusCode::NOT_FOUND,
            "/v2/nothing",
        ),
    ];
    for (method, uri, body, status, named) in cases {
        let (got, answer) = call(&app, method, uri, body).await;
        assert_eq!(got, status, "{method} {uri}: {answer}");
        assert!(answer["error"].is_string(), "{uri}: {answer}");
        assert!(answer.to_string().contains(named), "{uri}: {answer}");
    }
    let ids = clickrec_io::read_split_id_maps(run_dir()).unwrap();
    let item = ids.items.external(clickrec_core::ItemId(1));
    let (got, answer) = call(
        &app,
        "GET",
        &format!("/v1/items/{item}/similar?model=recent"),
        None,
    )
    .await;
    assert_eq!(got, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["models"].to_string().contains("item_knn"),
        "{answer}"
    );
    // Not JSON at all.
    let request = Request::post("/v1/sessions/s/events")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn state_stays_within_its_bounds_and_counts_evictions() {
    let mut options = ApiOptions::default();
    options.sessions.capacity = std::num::NonZeroUsize::new(3).unwrap();
    options.sessions.max_events = 2;
    let (state, app) = app(options);
    let ids = clickrec_io::read_split_id_maps(run_dir()).unwrap();
    let item = ids.items.external(clickrec_core::ItemId(3)).to_owned();
    for s in 0..10 {
        let body = json!({"events": [{"item_id": item}, {"item_id": item}, {"item_id": item}]});
        let (status, answer) = call(
            &app,
            "POST",
            &format!("/v1/sessions/s{s}/events"),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["events_held"], 2);
    }
    let (_, text) = call(&app, "GET", "/metrics", None).await;
    let text = text.as_str().unwrap();
    assert!(text.contains("clickrec_sessions_held 3"), "{text}");
    assert!(
        text.contains(r#"clickrec_evictions_total{store="sessions",cause="capacity"} 7"#),
        "{text}"
    );
    assert!(
        text.contains(r#"clickrec_evictions_total{store="sessions",cause="events"} 10"#),
        "{text}"
    );
    state.expire();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_a_reload_are_all_answered() {
    let (state, app) = app(ApiOptions::default());
    let (_, before) = call(&app, "GET", "/readyz", None).await;
    let load = tokio::spawn({
        let app = app.clone();
        async move {
            let mut answered = 0;
            for _ in 0..300 {
                let (status, _) = call(
                    &app,
                    "GET",
                    "/v1/users/1/recommendations?model=als&n=10",
                    None,
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                answered += 1;
            }
            answered
        }
    });
    for _ in 0..3 {
        let (status, answer) = call(&app, "POST", "/admin/reload", None).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(load.await.unwrap(), 300);
    let (_, after) = call(&app, "GET", "/readyz", None).await;
    assert_eq!(before["fingerprint"], after["fingerprint"]);
    // A directory that cannot be served leaves the old run in place.
    let (status, answer) = call(
        &app,
        "POST",
        "/admin/reload",
        Some(json!({"run_dir": "/nonexistent"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(state.run().dir(), run_dir());
}
