//! A bounded, open-loop load generator for `clickrec serve` (and for a peer service),
//! used by `bench/serve.sh`; and the in-process latency of session predictions.
//!
//! The requests come from a run directory's test split, so they are what the run was
//! evaluated on: the next-item sessions replayed click by click (post the click, ask for
//! the list; replayed again as new sessions while requests are left), test users asking for their list (with or without first posting one of
//! their test events, which makes the server fold it in), or test items asking for
//! similar items. Requests are sent at a fixed rate whatever the answers' speed (open
//! loop: a slow answer delays only the requests of its own sequence, and a request sent
//! late because every worker was waiting counts from when it was due, so a server
//! falling behind shows up in the percentiles); a fixed count bounds the run. One line of Markdown per request
//! kind goes to stdout; the achieved rate is of all kinds together.
//!
//! ```text
//! cargo run --release -p clickrec-serve --example load -- RUN_DIR sessions --addr 127.0.0.1:8080 --rate 1000 --requests 20000 --model vstan
//! cargo run --release -p clickrec-serve --example load -- RUN_DIR users --addr 127.0.0.1:8080 --rate 500 --requests 5000 --model als
//! cargo run --release -p clickrec-serve --example load -- RUN_DIR in-process --model vstan
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use clickrec_core::{IdMaps, ItemId};
use clickrec_eval::NextItemSessions;
use clickrec_serve::ServedRun;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Parser)]
struct Args {
    /// The run directory the server serves.
    run_dir: PathBuf,
    workload: Workload,
    /// The server, `host:port`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Requests per second, all kinds together.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Requests in all.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    #[arg(long, default_value = "vstan")]
    model: String,
    /// List length asked for.
    #[arg(long, default_value_t = 20)]
    n: usize,
    /// Requests in flight at most (each on its own connection).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// For a peer that takes a click and answers the list in one request: the path and
    /// query of that request, with `{session}` and `{item}` in it (sessions workload).
    #[arg(long)]
    one_request: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// Replay the test sessions: post each click, then ask for the session's list.
    Sessions,
    /// Test users ask for their list.
    Users,
    /// Test users post one of their test events, then ask for their (folded-in) list.
    UsersEvents,
    /// Test items ask for similar items.
    Similar,
    /// No server: the session model's prediction after each click of the replay, timed
    /// in this process (the work one session request does, without HTTP).
    InProcess,
}

/// One request: method, path and query, JSON body, and the kind it is counted under.
struct Call {
    kind: &'static str,
    post: Option<String>,
    uri: String,
}

/// The requests of one sequence (a session's clicks, or a user's two requests), sent in
/// order; sequences are spread over the workers.
type Sequence = Vec<Call>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = args.run_dir.as_path();
    let ids = clickrec_io::read_split_id_maps(dir)?;
    if args.workload == Workload::InProcess {
        return in_process(dir, &ids, &args);
    }
    let sequences = sequences(dir, &ids, &args)?;
    if sequences.is_empty() {
        bail!("{}: no test events to send", dir.display());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let latencies = runtime.block_on(drive(&args, sequences))?;
    let sent: usize = latencies.iter().map(|l| l.1.len()).sum();
    for (kind, mut times, failed, wall) in latencies {
        times.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1;
            times[i] * 1e3
        };
        println!(
            "| {kind} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {failed} |",
            args.model,
            times.len(),
            args.rate,
            sent as f64 / wall,
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0),
        );
    }
    Ok(())
}

/// The requests of the workload, cut to `args.requests` in all.
fn sequences(dir: &Path, ids: &IdMaps, args: &Args) -> anyhow::Result<Vec<Sequence>> {
    let (test, session_ids) =
        clickrec_io::read_events(&dir.join(clickrec_pipeline::TEST_EVENTS_FILE), ids)?;
    let (model, n) = (&args.model, args.n);
    let item = |i: ItemId| ids.items.external(i);
    let mut out: Vec<Sequence> = Vec::new();
    match args.workload {
        Workload::Sessions => {
            let replay = replay(dir, &test, session_ids.as_deref())?;
            let per_click = if args.one_request.is_some() { 1 } else { 2 };
            let clicks: usize = (0..replay.len()).map(|s| replay.session(s).1.len()).sum();
            // Fewer clicks than requests: the sessions again, as new sessions.
            let copies = args.requests.div_ceil((clicks * per_click).max(1)).max(1);
            for copy in 0..copies {
                for s in 0..replay.len() {
                    let (_, items, times) = replay.session(s);
                    // Sessions of another load run (another process) are not continued.
                    let session = format!("load{}-{copy}-{s}", std::process::id());
                    let mut calls = Vec::new();
                    for (&i, &t) in items.iter().zip(times) {
                        match &args.one_request {
                            Some(template) => calls.push(Call {
                                kind: "GET one request (click + list)",
                                post: None,
                                uri: template
                                    .replace("{session}", &session)
                                    .replace("{item}", item(i)),
                            }),
                            None => {
                                calls.push(Call {
                                    kind: "POST /v1/sessions/{id}/events",
                                    post: Some(format!(
                                        r#"{{"events":[{{"item_id":"{}","timestamp":{t}}}]}}"#,
                                        item(i)
                                    )),
                                    uri: format!("/v1/sessions/{session}/events"),
                                });
                                calls.push(Call {
                                    kind: "GET /v1/sessions/{id}/recommendations",
                                    post: None,
                                    uri: format!(
                                        "/v1/sessions/{session}/recommendations?model={model}&n={n}"
                                    ),
                                });
                            }
                        }
                    }
                    out.push(calls);
                }
            }
        }
        Workload::Users | Workload::UsersEvents => {
            for (user, rows) in test.user_rows() {
                let name = ids.users.external(user);
                let mut calls = Vec::new();
                if args.workload == Workload::UsersEvents {
                    let r = rows.start;
                    calls.push(Call {
                        kind: "POST /v1/users/{id}/events",
                        post: Some(format!(
                            r#"{{"events":[{{"item_id":"{}","behavior":"{}","timestamp":{}}}]}}"#,
                            item(test.items()[r]),
                            test.behaviors()[r].name(),
                            test.timestamps()[r]
                        )),
                        uri: format!("/v1/users/{name}/events"),
                    });
                }
                calls.push(Call {
                    kind: if args.workload == Workload::Users {
                        "GET /v1/users/{id}/recommendations"
                    } else {
                        "GET /v1/users/{id}/recommendations (folded in)"
                    },
                    post: None,
                    uri: format!("/v1/users/{name}/recommendations?model={model}&n={n}"),
                });
                out.push(calls);
            }
        }
        Workload::Similar => {
            for &i in test.items() {
                out.push(vec![Call {
                    kind: "GET /v1/items/{id}/similar",
                    post: None,
                    uri: format!("/v1/items/{}/similar?model={model}&n={n}", item(i)),
                }]);
            }
        }
        Workload::InProcess => {}
    }
    // Users and items: cycle through them again when there are fewer than requests (a
    // user's second round continues their history).
    let total: usize = out.iter().map(Vec::len).sum();
    if args.workload != Workload::Sessions && total > 0 && total < args.requests {
        let copies = args.requests.div_ceil(total);
        let again: Vec<Sequence> = (1..copies)
            .flat_map(|_| {
                out.iter().map(|seq| {
                    seq.iter()
                        .map(|c| Call {
                            kind: c.kind,
                            post: c.post.clone(),
                            uri: c.uri.clone(),
                        })
                        .collect()
                })
            })
            .collect();
        out.extend(again);
    }
    let mut left = args.requests;
    out.retain_mut(|seq| {
        seq.truncate(left);
        left -= seq.len();
        !seq.is_empty()
    });
    Ok(out)
}

/// The next-item sessions of the test split, as the evaluator replays them.
fn replay(
    dir: &Path,
    test: &clickrec_core::EventLog,
    sessions: Option<&[u32]>,
) -> anyhow::Result<NextItemSessions> {
    let train = clickrec_pipeline::read_matrix(dir)?;
    let mut in_train = vec![false; train.n_items()];
    for u in 0..train.n_users() {
        for &i in train.row(clickrec_core::UserId(u as u32)).0 {
            in_train[i as usize] = true;
        }
    }
    Ok(NextItemSessions::from_log(test, sessions, &in_train))
}

/// Per kind: latencies in seconds, answers other than 200, and the wall time.
type Measured = Vec<(&'static str, Vec<f64>, usize, f64)>;

async fn drive(args: &Args, sequences: Vec<Sequence>) -> anyhow::Result<Measured> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build(connector);
    // The i-th request sent is due at i / rate, whichever worker sends it: a worker takes
    // the next sequence when it has sent the last, and the next due time when it is about
    // to send, so the requests of all workers together go out at the rate.
    let workers = args.concurrency.max(1);
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(sequences)));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Measured::new()));
    let base = format!("http://{}", args.addr);
    let started = Instant::now();
    let rate = args.rate;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (client, results, base) = (client.clone(), results.clone(), base.clone());
        let (queue, next) = (queue.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let sequence = queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front();
                let Some(sequence) = sequence else { break };
                for call in sequence {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    // Behind schedule (every worker was waiting for an answer when this
                    // request was due): the wait counts. Ahead: the timer wakes up to a
                    // millisecond late, which is not the server's, so the clock starts
                    // when the request goes out.
                    let from = if Instant::now() >= due {
                        due
                    } else {
                        tokio::time::sleep_until(due.into()).await;
                        Instant::now()
                    };
                    let ok = send(&client, &base, &call).await;
                    let seconds = from.elapsed().as_secs_f64();
                    let mut r = results.lock().unwrap_or_else(PoisonError::into_inner);
                    match r.iter_mut().find(|e| e.0 == call.kind) {
                        Some(entry) => {
                            entry.1.push(seconds);
                            entry.2 += usize::from(!ok);
                        }
                        None => r.push((call.kind, vec![seconds], usize::from(!ok), 0.0)),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.context("a load worker failed")?;
    }
    let wall = started.elapsed().as_secs_f64();
    let mut measured = std::mem::take(&mut *results.lock().unwrap_or_else(PoisonError::into_inner));
    for entry in &mut measured {
        entry.3 = wall;
    }
    Ok(measured)
}

/// Sends one request and reads the whole answer; true when it was 200.
async fn send(client: &Client<HttpConnector, Full<Bytes>>, base: &str, call: &Call) -> bool {
    let builder = hyper::Request::builder().uri(format!("{base}{}", call.uri));
    let request = match &call.post {
        Some(body) => builder
            .method("POST")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone()))),
        None => builder.method("GET").body(Full::new(Bytes::new())),
    };
    let Ok(request) = request else { return false };
    match client.request(request).await {
        Ok(response) => {
            let ok = response.status() == hyper::StatusCode::OK;
            ok & response.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

/// The session model's list after each click of every replayed test session, timed.
fn in_process(dir: &Path, ids: &IdMaps, args: &Args) -> anyhow::Result<()> {
    let run = ServedRun::load(dir, Some(std::slice::from_ref(&args.model)))?;
    let model = run
        .model(&args.model)
        .and_then(|m| m.as_session())
        .with_context(|| format!("{} is not a session model", args.model))?;
    let (test, sessions) =
        clickrec_io::read_events(&dir.join(clickrec_pipeline::TEST_EVENTS_FILE), ids)?;
    let replay = replay(dir, &test, sessions.as_deref())?;
    let mut times = Vec::new();
    let started = Instant::now();
    for s in 0..replay.len() {
        let (_, items, stamps) = replay.session(s);
        let events: Vec<(ItemId, i64)> =
            items.iter().copied().zip(stamps.iter().copied()).collect();
        for j in 1..=events.len() {
            let t = Instant::now();
            let list = run.recommend_session(model, &events[..j], args.n);
            times.push(t.elapsed().as_secs_f64());
            std::hint::black_box(list);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let at =
        |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1] * 1e3;
    println!(
        "| in-process prediction (no HTTP) | {} | {} | – | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | 0 |",
        args.model,
        times.len(),
        times.len() as f64 / wall,
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
