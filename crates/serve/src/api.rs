//! The HTTP API: routes, request checks and JSON answers. Every bad input gets a JSON
//! error that names the offending value, never a panic; see the crate docs for the routes.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use clickrec_core::{Behavior, ItemId};
use clickrec_models::Model;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::metrics::Metrics;
use crate::run::{Event, ServedRun};
use crate::state::{HeldEvent, Limits, Store};

/// What an event on an item the run does not know does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownItems {
    /// The request fails with 422, naming the item; nothing of it is kept.
    Reject,
    /// The event is left out and counted (`clickrec_skipped_events_total`).
    Skip,
}

/// What a user the run does not know, with no events posted, gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownUsers {
    /// The run's fallback list (popularity), as the recommend stage gives users without
    /// history; an empty list when the run has no fallback.
    Fallback,
    /// 404.
    NotFound,
}

/// The limits and choices of the API.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// The longest list a request may ask for.
    pub max_n: usize,
    /// The largest request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// When set, every route but `/healthz` and `/readyz` needs `Authorization: Bearer …`.
    pub token: Option<String>,
    pub unknown_items: UnknownItems,
    pub unknown_users: UnknownUsers,
    pub sessions: Limits,
    pub users: Limits,
    /// `--models`: what a reload loads too.
    pub models: Option<Vec<String>>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        let limits = |capacity| Limits {
            capacity: NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            max_events: 1000,
            ttl: Some(std::time::Duration::from_secs(30 * 60)),
        };
        ApiOptions {
            max_n: 1000,
            max_body_bytes: 1 << 20,
            token: None,
            unknown_items: UnknownItems::Reject,
            unknown_users: UnknownUsers::Fallback,
            sessions: limits(100_000),
            users: Limits {
                ttl: None,
                ..limits(100_000)
            },
            models: None,
        }
    }
}

/// Everything the handlers share: the run being served (swapped whole on reload), the
/// held state and the metrics.
#[derive(Debug)]
pub struct AppState {
    run: RwLock<Arc<ServedRun>>,
    sessions: Store,
    users: Store,
    metrics: Metrics,
    options: ApiOptions,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl AppState {
    pub fn new(run: ServedRun, options: ApiOptions) -> Arc<AppState> {
        let metrics = Metrics::default();
        Arc::new(AppState {
            run: RwLock::new(Arc::new(run)),
            sessions: Store::new(options.sessions, metrics.evictions_of("sessions")),
            users: Store::new(options.users, metrics.evictions_of("users")),
            metrics,
            options,
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// The run requests are answered from now.
    pub fn run(&self) -> Arc<ServedRun> {
        self.run
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Drops the sessions and users untouched for their TTL.
    pub fn expire(&self) {
        self.sessions.expire();
        self.users.expire();
    }

    /// Loads `dir` (the served run's directory when `None`) and swaps it in whole:
    /// requests in flight finish on the old run, later ones get the new. On failure the
    /// old run stays.
    pub async fn reload(&self, dir: Option<PathBuf>) -> Result<Arc<ServedRun>, String> {
        let _one = self.reloading.lock().await;
        let dir = dir.unwrap_or_else(|| self.run().dir().to_owned());
        let models = self.options.models.clone();
        let loaded =
            tokio::task::spawn_blocking(move || ServedRun::load(&dir, models.as_deref())).await;
        let result = match loaded {
            Ok(Ok(run)) => {
                let run = Arc::new(run);
                *self
                    .run
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = run.clone();
                Ok(run)
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("the reload stopped: {e}")),
        };
        self.metrics.record_reload(result.is_ok());
        result
    }
}

/// A JSON error answer: `{"error": message, …fields}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>, fields: Value) -> Self {
        let mut body = json!({ "error": message.into() });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        ApiError { status, body }
    }

    fn bad_request(message: impl Into<String>, fields: Value) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, fields)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request("bad query string", json!({ "detail": e.body_text() }))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body over the size limit (--max-body-bytes)",
                json!({ "detail": e.body_text() }),
            );
        }
        ApiError::bad_request("malformed JSON body", json!({ "detail": e.body_text() }))
    }
}

type ApiResult = Result<Response, ApiError>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    model: Option<String>,
    n: Option<usize>,
    exclude_seen: Option<bool>,
}

/// An id as JSON gives it: a string, or a whole number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsonId {
    Text(String),
    Number(i64),
}

impl JsonId {
    fn into_string(self) -> String {
        match self {
            JsonId::Text(s) => s,
            JsonId::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn {
    item_id: JsonId,
    /// `pv`, `fav`, `cart` or `buy`; default `pv`.
    behavior: Option<String>,
    /// Unix seconds; default: the time the server receives it.
    timestamp: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsBody {
    events: Vec<EventIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReloadBody {
    run_dir: Option<PathBuf>,
}

/// The model a request names, or a 400 that lists those that would do.
fn model_of<'a>(
    run: &'a ServedRun,
    name: Option<&str>,
    sessions_only: bool,
) -> Result<&'a Model, ApiError> {
    let served = if sessions_only {
        run.session_model_names()
    } else {
        run.model_names()
    };
    let what = if sessions_only {
        "session model"
    } else {
        "model"
    };
    let Some(name) = name else {
        return Err(ApiError::bad_request(
            format!("no model given: add ?model=NAME, one of the {what}s served"),
            json!({ "models": served }),
        ));
    };
    match run.model(name) {
        Some(m) if !sessions_only || m.as_session().is_some() => Ok(m),
        _ => Err(ApiError::bad_request(
            format!("unknown {what} {name:?}"),
            json!({ "model": name, "models": served }),
        )),
    }
}

/// The list length a request asks for (the run's `recommend.n` by default), within 1 ..= max.
fn n_of(state: &AppState, run: &ServedRun, n: Option<usize>) -> Result<usize, ApiError> {
    let n = n.unwrap_or(run.settings().n);
    if n == 0 || n > state.options.max_n {
        return Err(ApiError::bad_request(
            format!("n must be from 1 to {} (--max-n)", state.options.max_n),
            json!({ "n": n, "max_n": state.options.max_n }),
        ));
    }
    Ok(n)
}

/// A list answer: `{field: id, "model", "items": [{"item_id", "score"}]}`.
fn list_answer(
    run: &ServedRun,
    (field, id): (&str, String),
    model: &Model,
    list: &[(ItemId, f32)],
) -> Response {
    let items: Vec<Value> = list
        .iter()
        .map(|&(item, score)| json!({ "item_id": run.item_name(item), "score": score }))
        .collect();
    axum::Json(json!({ field: id, "model": model.kind().name(), "items": items })).into_response()
}

/// Checks posted events against the run: unknown items fail the request or are skipped
/// (by `--unknown-items`), an unknown behaviour fails it. Returns the events to keep and
/// how many were skipped.
fn check_events(
    state: &AppState,
    run: &ServedRun,
    body: EventsBody,
) -> Result<(Vec<HeldEvent>, u64), ApiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut kept = Vec::with_capacity(body.events.len());
    let mut skipped = 0;
    for (index, event) in body.events.into_iter().enumerate() {
        let item = event.item_id.into_string();
        let behavior = match event.behavior.as_deref() {
            None => Behavior::Pv,
            Some(name) => name.parse().map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("events[{index}]: unknown behavior {name:?} (pv, fav, cart or buy)"),
                    json!({ "index": index, "behavior": name }),
                )
            })?,
        };
        if run.item(&item).is_none() {
            match state.options.unknown_items {
                UnknownItems::Reject => {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!("events[{index}]: item {item:?} is not in the run's catalogue"),
                        json!({ "index": index, "item_id": item }),
                    ));
                }
                UnknownItems::Skip => {
                    skipped += 1;
                    continue;
                }
            }
        }
        kept.push(HeldEvent {
            item: item.into(),
            behavior,
            time: event.timestamp.unwrap_or(now),
        });
    }
    state.metrics.record_skipped("unknown_item", skipped);
    Ok((kept, skipped))
}

/// Held events in `run`'s ids (items a reload dropped from the catalogue are left out).
fn resolve(run: &ServedRun, held: &[HeldEvent]) -> Vec<Event> {
    held.iter()
        .filter_map(|e| {
            Some(Event {
                item: run.item(&e.item)?,
                behavior: e.behavior,
                time: e.time,
            })
        })
        .collect()
}

async fn user_recommendations(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let run = state.run();
    let model = model_of(&run, query.model.as_deref(), false)?;
    let n = n_of(&state, &run, query.n)?;
    let user = run.user(&user_id);
    let added = resolve(&run, &state.users.events(&user_id));
    if user.is_none() && added.is_empty() && state.options.unknown_users == UnknownUsers::NotFound {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown user {user_id:?}: not in the run and no events posted"),
            json!({ "user_id": user_id }),
        ));
    }
    let exclude_seen = query
        .exclude_seen
        .unwrap_or_else(|| run.default_exclude_seen(model));
    let list = run
        .recommend_user(model, user, &added, n, exclude_seen)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), json!({})))?;
    Ok(list_answer(&run, ("user_id", user_id), model, &list))
}

/// Checks and stores posted events for `id` in `store`; the answer names it by `field`.
fn post_events(
    state: &AppState,
    store: &Store,
    (field, id): (&str, String),
    body: Result<axum::Json<EventsBody>, JsonRejection>,
) -> ApiResult {
    let axum::Json(body) = body?;
    let (kept, skipped) = check_events(state, &state.run(), body)?;
    let accepted = kept.len();
    let held = store.append(&id, kept);
    Ok(axum::Json(json!({
        field: id,
        "accepted": accepted,
        "skipped": skipped,
        "events_held": held,
    }))
    .into_response())
}

/// The `POST …/{id}/events` route of users or sessions: the two differ only in the store
/// the events go to (`store`) and the id's name in the answer (`field`).
fn events_route(
    field: &'static str,
    store: fn(&AppState) -> &Store,
) -> MethodRouter<Arc<AppState>> {
    post(
        move |State(state): State<Arc<AppState>>,
              Path(id): Path<String>,
              body: Result<axum::Json<EventsBody>, JsonRejection>| async move {
            post_events(&state, store(&state), (field, id), body)
        },
    )
}

async fn session_recommendations(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let run = state.run();
    let model = model_of(&run, query.model.as_deref(), true)?;
    let n = n_of(&state, &run, query.n)?;
    if query.exclude_seen.is_some() {
        return Err(ApiError::bad_request(
            "exclude_seen is for user lists; a session's own items follow the run's evaluate.next_item_prefix_items",
            json!({ "prefix_items": run.settings().prefix_items }),
        ));
    }
    // As the next-item protocol replays a session: events on items without a train
    // event are left out.
    let events: Vec<(ItemId, i64)> = resolve(&run, &state.sessions.events(&session_id))
        .into_iter()
        .filter(|e| run.in_train(e.item))
        .map(|e| (e.item, e.time))
        .collect();
    let list = match model.as_session() {
        Some(session_model) => run.recommend_session(session_model, &events, n),
        None => Vec::new(),
    };
    Ok(list_answer(&run, ("session_id", session_id), model, &list))
}

async fn similar_items(
    State(state): State<Arc<AppState>>,
    Path(item_id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let run = state.run();
    let model = model_of(&run, query.model.as_deref(), false)?;
    let n = n_of(&state, &run, query.n)?;
    let Some(item) = run.item(&item_id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown item {item_id:?}: not in the run's catalogue"),
            json!({ "item_id": item_id }),
        ));
    };
    let list = model.similar_items(item, n).map_err(|e| {
        let with_similar: Vec<&str> = run
            .model_names()
            .into_iter()
            .filter(|name| {
                run.model(name)
                    .is_some_and(|m| m.similar_items(item, 1).is_ok())
            })
            .collect();
        ApiError::bad_request(
            e.to_string(),
            json!({ "model": model.kind().name(), "models": with_similar }),
        )
    })?;
    Ok(list_answer(&run, ("item_id", item_id), model, &list))
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let run = state.run();
    axum::Json(json!({
        "status": "ready",
        "run_dir": run.dir().display().to_string(),
        "fingerprint": run.fingerprint(),
        "models": run.model_names(),
        "session_models": run.session_model_names(),
        "settings": run.settings(),
    }))
    .into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state
        .metrics
        .render(state.sessions.len(), state.users.len());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn reload(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult {
    let request: ReloadBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReloadBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("malformed JSON body", json!({ "detail": e.to_string() }))
        })?
    };
    match state.reload(request.run_dir).await {
        Ok(run) => Ok(axum::Json(json!({
            "reloaded": run.dir().display().to_string(),
            "fingerprint": run.fingerprint(),
            "models": run.model_names(),
        }))
        .into_response()),
        Err(message) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("reload failed, still serving the run before: {message}"),
            json!({ "run_dir": state.run().dir().display().to_string() }),
        )),
    }
}

async fn not_found(State(state): State<Arc<AppState>>, request: Request) -> ApiError {
    state.metrics.record_request("unmatched", 404, 0.0);
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {} {}", request.method(), request.uri().path()),
        json!({}),
    )
}

/// Counts and times every request by its route, and checks the bearer token.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let open = matches!(route.as_str(), "/healthz" | "/readyz");
    let response = match &state.options.token {
        Some(token) if !open && !authorized(request.headers(), token) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (Authorization: Bearer TOKEN)",
            json!({}),
        )
        .into_response(),
        _ => next.run(request).await,
    };
    state.metrics.record_request(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given == token)
}

/// The API's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.options.max_body_bytes;
    Router::new()
        .route(
            "/v1/users/{user_id}/recommendations",
            get(user_recommendations),
        )
        .route(
            "/v1/users/{user_id}/events",
            events_route("user_id", |state| &state.users),
        )
        .route(
            "/v1/sessions/{session_id}/events",
            events_route("session_id", |state| &state.sessions),
        )
        .route(
            "/v1/sessions/{session_id}/recommendations",
            get(session_recommendations),
        )
        .route("/v1/items/{item_id}/similar", get(similar_items))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/reload", post(reload))
        // On the routes only, where the matched route is known; the fallback counts itself.
        .route_layer(middleware::from_fn_with_state(state.clone(), observe))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
