//! Online equals offline, checked on a run directory through the served API (in-process,
//! the router the server runs): `clickrec serve RUN_DIR --check-parity`, and the serving
//! tests.
//!
//! - **Lists**: every user of `recs/<model>.parquet` asks for their list; it must be the
//!   file's row: same items, same order, scores within [`SCORE_TOLERANCE`].
//! - **Session replay**: each test session of the next-item protocol is posted event by
//!   event, the session list asked for after each; HitRate@K and MRR@K over the
//!   predictions must be `metrics.json`'s `next_item` figures within
//!   [`METRIC_TOLERANCE`], with the same number of predictions.
//! - **Fold-in**: each train user's train events, posted for a new user, must give back
//!   the trained ALS factor within [`FACTOR_TOLERANCE`] and the trained user's top-20.
//!   The fit ends with the solve fold-in uses (`exact_user_solve`); a fit without it
//!   passes only when converged.
//! - **BPR fold-in** is measured, not checked ([`BprFoldIn`]).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clickrec_core::ItemId;
use clickrec_eval::NextItemSessions;
use clickrec_models::Model;
use clickrec_pipeline::{METRICS_FILE, TEST_EVENTS_FILE, TRAIN_FILE};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::api::{ApiOptions, AppState, router};
use crate::error::ServeError;
use crate::run::{Event, ServedRun};

pub const SCORE_TOLERANCE: f64 = 1e-6;
pub const METRIC_TOLERANCE: f64 = 1e-9;
pub const FACTOR_TOLERANCE: f32 = 1e-4;
/// The list length of the fold-in check.
const FOLD_IN_N: usize = 20;

/// Served lists against `recs/<model>.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListParity {
    pub model: String,
    pub users: usize,
    /// Users whose served items or order differ from the file's.
    pub differing: usize,
    pub worst_score: f64,
}

/// A replay of the test sessions against the run's next-item metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayParity {
    pub model: String,
    pub predictions: u64,
    pub offline_predictions: u64,
    /// `(k, served HitRate, offline HitRate, served MRR, offline MRR)`.
    pub at_k: Vec<(usize, f64, f64, f64, f64)>,
}

/// ALS fold-in of train rows posted as new users.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldInParity {
    pub users: usize,
    pub worst_factor: f32,
    /// Users whose folded-in top-20 differs from their trained one.
    pub differing: usize,
}

/// BPR fold-in, measured rather than checked: its SGD from a fixed seed does not give back
/// the trained factor (no exact solve exists), so what counts is how good the folded-in
/// lists are. Each test user's train events, posted for a new user: the share of the
/// user's held-out items in the top-20, for the folded-in and the trained list.
#[derive(Clone, Debug, PartialEq)]
pub struct BprFoldIn {
    pub users: usize,
    /// Mean over users of held-out items in the top-20 / held-out items (at most 20).
    pub trained_recall: f64,
    pub folded_recall: f64,
    /// Mean share of the top-20 the two lists have in common.
    pub overlap: f64,
}

/// Every check that applies to a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parity {
    pub lists: Vec<ListParity>,
    pub replays: Vec<ReplayParity>,
    pub fold_in: Option<FoldInParity>,
    /// Not a parity check: reported, not part of [`Parity::holds`].
    pub bpr_fold_in: Option<BprFoldIn>,
}

impl ListParity {
    pub fn holds(&self) -> bool {
        self.differing == 0 && self.worst_score <= SCORE_TOLERANCE
    }
}

impl ReplayParity {
    pub fn holds(&self) -> bool {
        self.predictions == self.offline_predictions
            && self.at_k.iter().all(|&(_, hit, hit_off, mrr, mrr_off)| {
                (hit - hit_off).abs() <= METRIC_TOLERANCE
                    && (mrr - mrr_off).abs() <= METRIC_TOLERANCE
            })
    }
}

impl FoldInParity {
    pub fn holds(&self) -> bool {
        self.differing == 0 && self.worst_factor <= FACTOR_TOLERANCE
    }
}

impl Parity {
    pub fn holds(&self) -> bool {
        self.lists.iter().all(ListParity::holds)
            && self.replays.iter().all(ReplayParity::holds)
            && self.fold_in.as_ref().is_none_or(FoldInParity::holds)
    }

    /// The checks as Markdown tables.
    pub fn render(&self) -> String {
        let verdict = |ok: bool| if ok { "yes" } else { "**no**" };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| model | users | lists differing | largest score difference | holds (≤ {SCORE_TOLERANCE:e}) |\n|---|---|---|---|---|"
        );
        for l in &self.lists {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1e} | {} |",
                l.model,
                l.users,
                l.differing,
                l.worst_score,
                verdict(l.holds())
            );
        }
        if !self.replays.is_empty() {
            let _ = writeln!(
                out,
                "\n| model | predictions (offline) | K | HitRate served | offline | MRR served | offline | holds (≤ {METRIC_TOLERANCE:e}) |\n|---|---|---|---|---|---|---|---|"
            );
            for r in &self.replays {
                for &(k, hit, hit_off, mrr, mrr_off) in &r.at_k {
                    let _ = writeln!(
                        out,
                        "| {} | {} ({}) | {k} | {hit:.6} | {hit_off:.6} | {mrr:.6} | {mrr_off:.6} | {} |",
                        r.model,
                        r.predictions,
                        r.offline_predictions,
                        verdict(r.holds())
                    );
                }
            }
        }
        if let Some(f) = &self.fold_in {
            let _ = writeln!(
                out,
                "\n| ALS fold-in | users | largest factor difference | top-{FOLD_IN_N} differing | holds (≤ {FACTOR_TOLERANCE:e}) |\n|---|---|---|---|---|\n| train rows posted as new users | {} | {:.1e} | {} | {} |",
                f.users,
                f.worst_factor,
                f.differing,
                verdict(f.holds())
            );
        }
        if let Some(b) = &self.bpr_fold_in {
            let _ = writeln!(
                out,
                "\n| BPR fold-in (measured, not a parity check) | test users | Recall@{FOLD_IN_N} trained | Recall@{FOLD_IN_N} folded in | top-{FOLD_IN_N} in common |\n|---|---|---|---|---|\n| train rows posted as new users | {} | {:.4} | {:.4} | {:.1}% |",
                b.users,
                b.trained_recall,
                b.folded_recall,
                100.0 * b.overlap
            );
        }
        out
    }
}

/// Runs every check that applies to `dir`'s served models: lists for each model with a
/// recs file, replays for each session model when the run evaluated next-item, fold-in
/// when ALS (or BPR) is served. `max_users` caps the users each list and fold-in check
/// asks for (evenly spread over them; all when `None`); replays cover every session.
pub fn check(
    dir: &Path,
    models: Option<&[String]>,
    max_users: Option<usize>,
) -> Result<Parity, ServeError> {
    let run = ServedRun::load(dir, models)?;
    let state = AppState::new(run, ApiOptions::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(ServeError::Server)?;
    let every = |users: usize| max_users.map_or(1, |m| users.div_ceil(m.max(1)).max(1));
    runtime.block_on(check_through(&state, &every))
}

/// `every(users)`: ask for every that-many-th of `users` users.
type Spread<'a> = &'a (dyn Fn(usize) -> usize + Sync);

async fn check_through(state: &Arc<AppState>, every: Spread<'_>) -> Result<Parity, ServeError> {
    let run = state.run();
    let app = router(state.clone());
    let dir = run.dir();
    let ids = run.ids();
    let mut parity = Parity::default();
    for model in run.model_names() {
        let path = dir.join(format!("recs/{model}.parquet"));
        if path.is_file() {
            let (recs, _) = clickrec_io::read_recommendations(&path, ids)?;
            let mut check = ListParity {
                model: model.to_owned(),
                users: 0,
                differing: 0,
                worst_score: 0.0,
            };
            for list in recs.iter().step_by(every(recs.len())) {
                let user = ids.users.external(list.user);
                let answer = get(
                    &app,
                    &format!(
                        "/v1/users/{user}/recommendations?model={model}&n={}",
                        list.items.len()
                    ),
                )
                .await?;
                let served = items(&answer);
                let same = served.len() == list.items.len()
                    && served
                        .iter()
                        .zip(list.items)
                        .all(|(s, &i)| s.0 == ids.items.external(i));
                check.differing += usize::from(!same);
                for (s, &offline) in served.iter().zip(list.scores) {
                    check.worst_score = check.worst_score.max((s.1 - f64::from(offline)).abs());
                }
                check.users += 1;
            }
            parity.lists.push(check);
        }
    }
    let metrics = std::fs::read_to_string(dir.join(METRICS_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    let offline = |model: &str| {
        metrics.as_ref().and_then(|m| {
            m["models"]
                .as_array()?
                .iter()
                .find(|entry| entry["name"] == model)?["variants"]
                .as_array()?
                .iter()
                .find(|v| v["variant"] == "next_item")
                .cloned()
        })
    };
    let sessions = run.session_model_names();
    if sessions.iter().any(|m| offline(m).is_some()) {
        let (test, session_ids) = clickrec_io::read_events(&dir.join(TEST_EVENTS_FILE), ids)?;
        let in_train: Vec<bool> = (0..run.n_items())
            .map(|i| run.in_train(ItemId(i as u32)))
            .collect();
        let replay = NextItemSessions::from_log(&test, session_ids.as_deref(), &in_train);
        for model in sessions {
            if let Some(next) = offline(model) {
                parity
                    .replays
                    .push(replay_sessions(&app, &run, &replay, model, &next).await?);
            }
        }
    }
    if let Some(als) = run.model("als") {
        parity.fold_in = Some(fold_in(&app, &run, als, every).await?);
    }
    if run.model("bpr").is_some() {
        parity.bpr_fold_in = Some(bpr_fold_in(&app, &run, every).await?);
    }
    Ok(parity)
}

async fn replay_sessions(
    app: &Router,
    run: &ServedRun,
    replay: &NextItemSessions,
    model: &str,
    next: &Value,
) -> Result<ReplayParity, ServeError> {
    let ks: Vec<usize> = next["at_k"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|at| at["k"].as_u64())
        .map(|k| k as usize)
        .collect();
    let longest = ks.iter().copied().max().unwrap_or(0);
    let (mut hits, mut rr, mut predictions) = (vec![0.0f64; ks.len()], vec![0.0; ks.len()], 0);
    for s in 0..replay.len() {
        let (_, session_items, times) = replay.session(s);
        let session = format!("parity-{model}-{s}");
        for j in 0..session_items.len().saturating_sub(1) {
            let event = json!({"events": [{
                "item_id": run.item_name(session_items[j]),
                "timestamp": times[j],
            }]});
            post(app, &format!("/v1/sessions/{session}/events"), event).await?;
            let answer = get(
                app,
                &format!("/v1/sessions/{session}/recommendations?model={model}&n={longest}"),
            )
            .await?;
            let target = run.item_name(session_items[j + 1]);
            let rank = items(&answer).iter().position(|(i, _)| i == target);
            for (ki, &k) in ks.iter().enumerate() {
                if let Some(r) = rank.filter(|&r| r < k) {
                    hits[ki] += 1.0;
                    rr[ki] += 1.0 / (r + 1) as f64;
                }
            }
            predictions += 1;
        }
    }
    let per = |sum: f64| sum / predictions.max(1) as f64;
    let at_k = next["at_k"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(ks.iter().enumerate())
        .map(|(at, (ki, &k))| {
            (
                k,
                per(hits[ki]),
                at["hit_rate"]["mean"].as_f64().unwrap_or(f64::NAN),
                per(rr[ki]),
                at["mrr"]["mean"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    Ok(ReplayParity {
        model: model.to_owned(),
        predictions,
        offline_predictions: next["predictions"].as_u64().unwrap_or(0),
        at_k,
    })
}

async fn fold_in(
    app: &Router,
    run: &ServedRun,
    als: &Model,
    every: Spread<'_>,
) -> Result<FoldInParity, ServeError> {
    let Model::Als(fitted) = als else {
        return Err(ServeError::Models {
            dir: run.dir().to_owned(),
            message: "the model served as als is not ALS".into(),
        });
    };
    let ids = run.ids();
    let (train, _) = clickrec_io::read_events(&run.dir().join(TRAIN_FILE), ids)?;
    let mut check = FoldInParity {
        users: 0,
        worst_factor: 0.0,
        differing: 0,
    };
    let names = |v: &Value| items(v).into_iter().map(|i| i.0).collect::<Vec<_>>();
    let step = every(train.user_rows().count());
    for (user, rows) in train.user_rows().step_by(step) {
        let events = train_events(&train, rows);
        if let Some(folded) = run.folded_factor(als, None, &events) {
            let trained = fitted.user_factors().row(user.0 as usize);
            for (a, b) in folded.iter().zip(trained) {
                check.worst_factor = check.worst_factor.max((a - b).abs());
            }
        }
        let name = format!("parity-new-{}", user.0);
        post_as_new_user(app, run, &name, &events).await?;
        let folded = get(
            app,
            &format!("/v1/users/{name}/recommendations?model=als&n={FOLD_IN_N}"),
        )
        .await?;
        let known = ids.users.external(user);
        let trained = get(
            app,
            &format!("/v1/users/{known}/recommendations?model=als&n={FOLD_IN_N}"),
        )
        .await?;
        check.differing += usize::from(names(&folded) != names(&trained));
        check.users += 1;
    }
    Ok(check)
}

async fn bpr_fold_in(
    app: &Router,
    run: &ServedRun,
    every: Spread<'_>,
) -> Result<BprFoldIn, ServeError> {
    let ids = run.ids();
    let (train, _) = clickrec_io::read_events(&run.dir().join(TRAIN_FILE), ids)?;
    let (test, _) = clickrec_io::read_events(&run.dir().join(TEST_EVENTS_FILE), ids)?;
    let mut held_out: std::collections::HashMap<u32, std::collections::HashSet<&str>> =
        std::collections::HashMap::new();
    for (user, rows) in test.user_rows() {
        held_out
            .entry(user.0)
            .or_default()
            .extend(rows.map(|r| run.item_name(test.items()[r])));
    }
    let mut out = BprFoldIn {
        users: 0,
        trained_recall: 0.0,
        folded_recall: 0.0,
        overlap: 0.0,
    };
    let names = |v: &Value| items(v).into_iter().map(|i| i.0).collect::<Vec<_>>();
    let step = every(held_out.len());
    let tested = train
        .user_rows()
        .filter(|(u, _)| held_out.contains_key(&u.0));
    for (user, rows) in tested.step_by(step) {
        let Some(truth) = held_out.get(&user.0) else {
            continue;
        };
        let name = format!("parity-bpr-{}", user.0);
        post_as_new_user(app, run, &name, &train_events(&train, rows)).await?;
        let uri = |u: &str| format!("/v1/users/{u}/recommendations?model=bpr&n={FOLD_IN_N}");
        let folded = names(&get(app, &uri(&name)).await?);
        let trained = names(&get(app, &uri(ids.users.external(user))).await?);
        let recall = |list: &[String]| {
            let hits = list.iter().filter(|i| truth.contains(i.as_str())).count();
            hits as f64 / truth.len().min(FOLD_IN_N) as f64
        };
        out.trained_recall += recall(&trained);
        out.folded_recall += recall(&folded);
        let common = folded.iter().filter(|i| trained.contains(i)).count();
        out.overlap += common as f64 / trained.len().max(1) as f64;
        out.users += 1;
    }
    let users = out.users.max(1) as f64;
    out.trained_recall /= users;
    out.folded_recall /= users;
    out.overlap /= users;
    Ok(out)
}

/// A user's train events, rows `rows` of the train log.
fn train_events(train: &clickrec_core::EventLog, rows: std::ops::Range<usize>) -> Vec<Event> {
    rows.map(|r| Event {
        item: train.items()[r],
        behavior: train.behaviors()[r],
        time: train.timestamps()[r],
    })
    .collect()
}

/// Posts `events` for `user` (a name the run does not know: a new user).
async fn post_as_new_user(
    app: &Router,
    run: &ServedRun,
    user: &str,
    events: &[Event],
) -> Result<Value, ServeError> {
    let body = json!({"events": events.iter().map(|e| json!({
        "item_id": run.item_name(e.item),
        "behavior": e.behavior.name(),
        "timestamp": e.time,
    })).collect::<Vec<_>>()});
    post(app, &format!("/v1/users/{user}/events"), body).await
}

fn items(answer: &Value) -> Vec<(String, f64)> {
    answer["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["item_id"].as_str().unwrap_or_default().to_owned(),
                i["score"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

async fn get(app: &Router, uri: &str) -> Result<Value, ServeError> {
    call(app, Request::get(uri).body(Body::empty())).await
}

async fn post(app: &Router, uri: &str, body: Value) -> Result<Value, ServeError> {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()));
    call(app, request).await
}

/// One request through the router; anything but 200 is an error naming the request.
async fn call(
    app: &Router,
    request: Result<Request<Body>, axum::http::Error>,
) -> Result<Value, ServeError> {
    let failed = |what: String| ServeError::Parity(what);
    let request = request.map_err(|e| failed(e.to_string()))?;
    let uri = request.uri().to_string();
    let response = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| failed(format!("{uri}: {e}")))?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| failed(format!("{uri}: {e}")))?;
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status != StatusCode::OK {
        return Err(failed(format!("{uri} answered {status}: {value}")));
    }
    Ok(value)
}
