//! Fit every session model on a `SessionId<TAB>ItemId<TAB>Time` train file and run the
//! next-item protocol on a test file of the same format, without a run directory: a quick
//! loop for tuning parameters.
//!
//! ```text
//! cargo run --release -p clickrec-eval --example next_item_tsv -- TRAIN.txt TEST.txt [MODEL.json ...]
//! ```
//!
//! Each optional argument is a session model as JSON, e.g. `{"vsknn":{"k":50}}`; without
//! any, every session model runs with its defaults. Prints HitRate@20 and MRR@20 (over
//! predictions), fit and evaluation seconds and p50/p90 latency per prediction.

use std::collections::HashMap;
use std::error::Error;
use std::time::Instant;

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId};
use clickrec_eval::{EvalConfig, EvalProtocol, Metric, NextItemSessions, evaluate_next_item};
use clickrec_session::{SessionParams, TrainSessions};

/// Rows of a session file: (session, item, time), sessions and items interned.
fn read(
    path: &str,
    sessions: &mut HashMap<String, u32>,
    items: &mut HashMap<String, u32>,
) -> Result<EventLog, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let (mut users, mut item_ids, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for (line_no, line) in text.lines().enumerate().skip(1) {
        let mut fields = line.split('\t');
        let (Some(s), Some(i), Some(t)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("{path}:{}: expected 3 tab-separated fields", line_no + 1).into());
        };
        let n = sessions.len() as u32;
        users.push(UserId(*sessions.entry(s.to_owned()).or_insert(n)));
        let n = items.len() as u32;
        item_ids.push(ItemId(*items.entry(i.to_owned()).or_insert(n)));
        let t: f64 = t
            .parse()
            .map_err(|e| format!("{path}:{}: time {t:?}: {e}", line_no + 1))?;
        times.push(t.floor() as i64);
    }
    let n = users.len();
    Ok(EventLog::from_columns(
        users,
        item_ids,
        vec![CategoryId(0); n],
        vec![Behavior::Pv; n],
        times,
    )?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [train_path, test_path, models @ ..] = args.as_slice() else {
        return Err("usage: next_item_tsv TRAIN.txt TEST.txt [MODEL.json ...]".into());
    };
    let (mut sessions, mut items) = (HashMap::new(), HashMap::new());
    let train = read(train_path, &mut sessions, &mut items)?;
    let n_train_items = items.len();
    let test = read(test_path, &mut sessions, &mut items)?;
    let n_users = sessions.len();
    let n_items = items.len();
    let index: Vec<u32> = train.users().iter().map(|u| u.0).collect();
    let train_sessions = TrainSessions::from_log(&train, &index, n_users, n_items)?;
    let in_train: Vec<bool> = (0..n_items).map(|i| i < n_train_items).collect();
    let test_sessions = NextItemSessions::from_log(&test, None, &in_train);
    println!(
        "train: {} sessions, {} events; test: {} sessions, {} predictions",
        train_sessions.len(),
        train.len(),
        test_sessions.len(),
        test_sessions.predictions()
    );
    let config = EvalConfig {
        ks: vec![20],
        bootstrap_samples: 0,
        protocol: vec![EvalProtocol::Session, EvalProtocol::NextItem],
        ..EvalConfig::default()
    }
    .check()?;
    let params: Vec<SessionParams> = if models.is_empty() {
        [
            "sknn", "vsknn", "stan", "vstan", "sr", "ar", "markov", "spop",
        ]
        .iter()
        .map(|name| serde_json::from_str(&format!("{{\"{name}\":{{}}}}")))
        .collect::<Result<_, _>>()?
    } else {
        models
            .iter()
            .map(|m| serde_json::from_str(m))
            .collect::<Result<_, _>>()?
    };
    for p in params {
        let started = Instant::now();
        let model = p.check()?.fit(train_sessions.clone());
        let fit = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let eval = evaluate_next_item(p.name(), model.as_session(), &test_sessions, &config)?;
        let seconds = started.elapsed().as_secs_f64();
        let l = eval.latency();
        println!(
            "{:<8} HitRate@20 {:.4}  MRR@20 {:.4}  fit {fit:.3} s  eval {seconds:.3} s  p50 {:.3} ms  p90 {:.3} ms  {}",
            p.name(),
            eval.value(Metric::HitRate, 20).unwrap_or(0.0),
            eval.value(Metric::Mrr, 20).unwrap_or(0.0),
            l.p50_ms,
            l.p90_ms,
            serde_json::to_string(&p)?
        );
    }
    Ok(())
}
