//! Online equals offline, on the shipped sample ([`clickrec_serve::parity`]: every test
//! user's served list is their row of `recs/<model>.parquet`; replaying the test sessions
//! through the session endpoints gives the run's next-item HitRate and MRR; folding in a
//! user's train row from nothing gives back their ALS factor and list), also for the
//! sessions pipeline's run. Then bad input, bounded state and a reload under load. The
//! requests go through the router in-process (`tower::oneshot`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clickrec_serve::{ApiOptions, AppState, ServedRun, router};
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
[models.als]
factors = 16
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
        run_pipeline(&file, &[], tmp.path(), &out);
        (tmp, out)
    })
    .1
}

/// Runs the pipeline `file` with `overrides` into `out` (relative paths from `base`).
fn run_pipeline(file: &Path, overrides: &[String], base: &Path, out: &Path) {
    let plan = clickrec_pipeline::PipelineConfig::load(file, overrides)
        .unwrap()
        .plan(file, base, Some(out))
        .unwrap();
    clickrec_pipeline::run(
        &plan,
        clickrec_pipeline::RunOptions::default(),
        &clickrec_pipeline::NoBars,
        &mut |_| {},
    )
    .unwrap();
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

#[test]
fn served_lists_session_replays_and_fold_in_equal_the_run() {
    let parity = clickrec_serve::parity::check(run_dir(), None, None).unwrap();
    eprintln!("{}", parity.render());
    let listed: Vec<&str> = parity.lists.iter().map(|l| l.model.as_str()).collect();
    assert_eq!(
        listed,
        [
            "popularity",
            "recent",
            "item_knn",
            "als",
            "bpr",
            "ease",
            "vstan",
            "sr"
        ]
    );
    assert!(parity.lists.iter().all(|l| l.users > 100), "{parity:?}");
    let replayed: Vec<&str> = parity.replays.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(replayed, ["vstan", "sr"]);
    assert!(
        parity
            .replays
            .iter()
            .all(|r| r.predictions > 100 && r.at_k.len() == 2)
    );
    assert!(parity.fold_in.as_ref().is_some_and(|f| f.users > 500));
    // BPR folded in from the train row is measured: its lists must be as good as a
    // trained user's within a margin (a broken fold-in scores like a random list).
    let bpr = parity.bpr_fold_in.clone().unwrap();
    assert!(bpr.users > 500, "{bpr:?}");
    assert!(bpr.folded_recall >= 0.8 * bpr.trained_recall, "{bpr:?}");
    assert!(parity.holds(), "{}", parity.render());
}

/// `pipelines/sessions-rsc15.toml` as shipped, on session files in its format made from
/// the sample (a session: a user's events with no 30-minute gap; test: the sessions
/// starting in the sample's last day): every session model served answers each route,
/// and the replay gives the run's next-item metrics.
#[test]
fn the_sessions_pipeline_run_is_served_as_it_was_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sample = std::fs::read_to_string(root.join("data/sample.csv")).unwrap();
    let cutoff = 1_512_230_400; // 2017-12-03 00:00 +08:00
    let (mut train, mut test) = (String::from("SessionId\tItemId\tTime\n"), String::new());
    test.push_str(&train);
    let (mut session, mut last, mut starts_in_test) = (0u64, (String::new(), 0i64), false);
    for line in sample.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let (user, item, time) = (f[0], f[1], f[4].parse::<i64>().unwrap());
        if last.0 != user || time - last.1 > 1800 {
            session += 1;
            starts_in_test = time >= cutoff;
        }
        last = (user.to_owned(), time);
        let out = if starts_in_test {
            &mut test
        } else {
            &mut train
        };
        if starts_in_test || time < cutoff {
            out.push_str(&format!("{session}\t{item}\t{time}\n"));
        }
    }
    std::fs::write(tmp.path().join("train.txt"), train).unwrap();
    std::fs::write(tmp.path().join("test.txt"), test).unwrap();
    let out = tmp.path().join("run");
    let overrides = [
        format!("input.path={}", tmp.path().join("train.txt").display()),
        format!("split.test_path={}", tmp.path().join("test.txt").display()),
        "evaluate.bootstrap_samples=10".to_owned(),
    ];
    let file = root.join("pipelines/sessions-rsc15.toml");
    run_pipeline(&file, &overrides, &root, &out);
    let parity = clickrec_serve::parity::check(&out, None, None).unwrap();
    eprintln!("{}", parity.render());
    let replayed: Vec<&str> = parity.replays.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(
        replayed,
        [
            "sknn", "vsknn", "stan", "vstan", "sr", "ar", "markov", "spop"
        ]
    );
    assert!(parity.replays.iter().all(|r| r.predictions > 100));
    assert!(parity.holds(), "{}", parity.render());
    // Every route answers on this run too.
    let state = AppState::new(ServedRun::load(&out, None).unwrap(), ApiOptions::default());
    let app = router(state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let item = sample
            .lines()
            .next()
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_owned();
        let event = json!({"events": [{"item_id": item, "timestamp": cutoff}]});
        for (method, uri, body) in [
            (
                "POST",
                "/v1/sessions/live/events".to_owned(),
                Some(event.clone()),
            ),
            (
                "GET",
                "/v1/sessions/live/recommendations?model=vstan&n=5".to_owned(),
                None,
            ),
            ("POST", "/v1/users/u1/events".to_owned(), Some(event)),
            (
                "GET",
                "/v1/users/u1/recommendations?model=popularity&n=5".to_owned(),
                None,
            ),
            (
                "GET",
                "/v1/users/1/recommendations?model=sknn&n=5".to_owned(),
                None,
            ),
            ("GET", "/healthz".to_owned(), None),
            ("GET", "/readyz".to_owned(), None),
            ("GET", "/metrics".to_owned(), None),
            ("POST", "/admin/reload".to_owned(), None),
        ] {
            let (status, answer) = call(&app, method, &uri, body).await;
            assert_eq!(status, StatusCode::OK, "{method} {uri}: {answer}");
        }
        let (_, answer) = call(
            &app,
            "GET",
            "/v1/sessions/live/recommendations?model=vstan&n=5",
            None,
        )
        .await;
        assert_eq!(items(&answer).len(), 5, "{answer}");
    });
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
