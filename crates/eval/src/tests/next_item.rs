//! The next-item protocol: the incremental loop against plain re-scoring of each prefix
//! with a full sort, thread-count independence, and the report's `next_item` entry.

use std::collections::BTreeMap;

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId};
use clickrec_recommend::SessionRecommender;
use clickrec_session::knn::VsknnParams;
use clickrec_session::rules::SrParams;
use clickrec_session::{SessionModel, SessionParams, TrainSessions};
use proptest::prelude::*;

use crate::{
    EvalConfig, EvalProtocol, Metric, NextItemSessions, evaluate_next_item, next_item_reports,
};

type Sessions = Vec<Vec<u32>>;

fn log(sessions: &Sessions, t0: i64) -> (EventLog, Vec<u32>) {
    let (mut users, mut items, mut times, mut index) = (vec![], vec![], vec![], vec![]);
    for (s, events) in sessions.iter().enumerate() {
        for (p, &item) in events.iter().enumerate() {
            users.push(UserId(s as u32));
            items.push(ItemId(item));
            times.push(t0 + 100 * s as i64 + p as i64);
            index.push(s as u32);
        }
    }
    let n = users.len();
    let log = EventLog::from_columns(
        users,
        items,
        vec![CategoryId(0); n],
        vec![Behavior::Pv; n],
        times,
    )
    .unwrap();
    (log, index)
}

fn model(train: &Sessions, n_items: usize, sr: bool) -> SessionModel {
    let (log, index) = log(train, 0);
    let sessions = TrainSessions::from_log(&log, &index, train.len(), n_items).unwrap();
    let params = if sr {
        SessionParams::Sr(SrParams::default())
    } else {
        SessionParams::Vsknn(VsknnParams {
            k: 3,
            sample_size: 5,
            ..VsknnParams::default()
        })
    };
    params.check().unwrap().fit(sessions)
}

/// Per K: (hit sum, reciprocal-rank sum, remaining-recall sum, predictions), computed by
/// re-scoring every prefix from a fresh state and sorting all scores.
fn rescored(
    model: &dyn SessionRecommender,
    test: &Sessions,
    in_train: &[bool],
    ks: &[usize],
    prefix_items: bool,
) -> BTreeMap<usize, (f64, f64, f64, u64)> {
    let mut out: BTreeMap<usize, (f64, f64, f64, u64)> = BTreeMap::new();
    for session in test {
        let kept: Vec<ItemId> = session
            .iter()
            .filter(|&&i| in_train[i as usize])
            .map(|&i| ItemId(i))
            .collect();
        if kept.len() < 2 {
            continue;
        }
        for j in 0..kept.len() - 1 {
            let mut state = model.start_session(UserId(0));
            for (p, &item) in kept[..=j].iter().enumerate() {
                state.push(item, 10_000 + p as i64);
            }
            let mut scores = Vec::new();
            state.score(&mut scores);
            scores.retain(|(i, s)| !s.is_nan() && (prefix_items || !kept[..=j].contains(i)));
            scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut remaining: Vec<ItemId> = kept[j + 1..].to_vec();
            remaining.sort_unstable();
            remaining.dedup();
            for &k in ks {
                let top: Vec<ItemId> = scores.iter().take(k).map(|s| s.0).collect();
                let e = out.entry(k).or_default();
                if let Some(r) = top.iter().position(|&i| i == kept[j + 1]) {
                    e.0 += 1.0;
                    e.1 += 1.0 / (r + 1) as f64;
                }
                e.2 += top.iter().filter(|i| remaining.contains(i)).count() as f64
                    / remaining.len() as f64;
                e.3 += 1;
            }
        }
    }
    out
}

fn sessions_strategy(n_items: u32, max: usize) -> impl Strategy<Value = Sessions> {
    prop::collection::vec(prop::collection::vec(0..n_items, 1..6), 1..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_loop_matches_rescoring_every_prefix(
        train in sessions_strategy(8, 20),
        test in sessions_strategy(10, 12),
        sr in any::<bool>(),
        prefix_items in any::<bool>(),
    ) {
        let n_items = 10;
        let model = model(&train, n_items, sr);
        let mut in_train = vec![false; n_items];
        train.iter().flatten().for_each(|&i| in_train[i as usize] = true);
        let (test_log, _) = log(&test, 10_000);
        let sessions = NextItemSessions::from_log(&test_log, None, &in_train);
        let config = EvalConfig {
            ks: vec![1, 3, 5],
            bootstrap_samples: 0,
            protocol: vec![EvalProtocol::Session, EvalProtocol::NextItem],
            next_item_prefix_items: prefix_items,
            ..EvalConfig::default()
        }
        .check()
        .unwrap();
        let eval = evaluate_next_item("m", model.as_session(), &sessions, &config).unwrap();
        let want = rescored(model.as_session(), &test, &in_train, config.ks(), prefix_items);
        prop_assert_eq!(eval.predictions(), want.get(&1).map_or(0, |w| w.3));
        for (&k, &(hits, rr, recall, n)) in &want {
            let n = n as f64;
            let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
            prop_assert!(close(eval.value(Metric::HitRate, k).unwrap(), hits / n));
            prop_assert!(close(eval.value(Metric::Mrr, k).unwrap(), rr / n));
            prop_assert!(close(eval.value(Metric::Recall, k).unwrap(), recall / n));
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let train: Sessions = (0..200)
        .map(|s| {
            (0..1 + s % 5)
                .map(|p| ((s * 7 + p * 3) % 40) as u32)
                .collect()
        })
        .collect();
    let test: Sessions = (0..300)
        .map(|s| {
            (0..2 + s % 4)
                .map(|p| ((s * 5 + p * 11) % 40) as u32)
                .collect()
        })
        .collect();
    let model = model(&train, 40, false);
    let in_train = vec![true; 40];
    let (test_log, _) = log(&test, 10_000);
    let sessions = NextItemSessions::from_log(&test_log, None, &in_train);
    let config = EvalConfig {
        ks: vec![5, 20],
        bootstrap_samples: 200,
        protocol: vec![EvalProtocol::Session, EvalProtocol::NextItem],
        ..EvalConfig::default()
    }
    .check()
    .unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let a = evaluate_next_item("a", model.as_session(), &sessions, &config).unwrap();
            let sr = self::model(&train, 40, true);
            let b = evaluate_next_item("b", sr.as_session(), &sessions, &config).unwrap();
            let (reports, summary) = next_item_reports(&[a, b], &sessions, &config);
            serde_json::to_string(&(reports, summary)).unwrap()
        })
    };
    let one = run(1);
    assert_eq!(one, run(4));
    assert!(one.contains("\"hit_rate\"") && one.contains("\"next_item\""));
    assert!(one.contains("\"predictions\""));
}

#[test]
fn short_sessions_and_unknown_items_are_counted() {
    let in_train = vec![true, true, false];
    let test: Sessions = vec![vec![0, 2], vec![0, 1, 2, 1], vec![1]];
    let (test_log, _) = log(&test, 0);
    let sessions = NextItemSessions::from_log(&test_log, None, &in_train);
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions.predictions(), 2);
    assert_eq!(sessions.dropped_events, 2);
    assert_eq!(sessions.short_sessions, 2);
    // With a session column, one user's rows split into sessions.
    let (log, _) = log(&vec![vec![0, 1, 0, 1]], 0);
    let split = NextItemSessions::from_log(&log, Some(&[4, 4, 5, 5]), &[true, true]);
    assert_eq!((split.len(), split.predictions()), (2, 2));
}
