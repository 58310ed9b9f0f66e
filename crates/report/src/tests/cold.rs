//! Cold users apart: a log whose cold users would crown popularity if averaged in.

use std::collections::BTreeMap;

use clickrec_core::Behavior::{self, Pv};

use super::{TestSpec, config, matrix, recs, test_set};
use crate::Render;
use clickrec_eval::{EvalData, Evaluator, Metric, Population, Protocol, Variant, evaluate_model};

/// Five warm users whose personal lists hit at rank 1, ten cold users whom only the
/// popularity list (item 9) reaches.
#[test]
fn the_headline_ranks_warm_users_and_reports_cold_ones_apart() {
    let rows: Vec<Vec<u32>> = (0..5u32)
        .map(|u| if u == 0 { vec![0, 5, 9] } else { vec![u, 9] })
        .chain((5..15).map(|_| Vec::new()))
        .collect();
    let row_refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let train = matrix(15, 10, &row_refs);
    let warm: Vec<[(u32, Behavior); 1]> = (0..5).map(|u| [(u + 1, Pv)]).collect();
    let cold_events = [(9, Pv)];
    let specs: Vec<TestSpec> = (0..15u32)
        .map(|u| {
            if u < 5 {
                (u, false, &warm[u as usize][..])
            } else {
                (u, true, &cold_events[..])
            }
        })
        .collect();
    let test = test_set(&train, &specs);
    let events: Vec<u32> = rows.iter().map(|r| r.len() as u32).collect();
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &events,
        population: Population::All,
    };
    let personal_lists: Vec<(u32, Vec<u32>)> = (0..5).map(|u| (u, vec![u + 1])).collect();
    let personal = recs(
        &personal_lists
            .iter()
            .map(|(u, l)| (*u, l.as_slice()))
            .collect::<Vec<_>>(),
    );
    let popular: Vec<(u32, &[u32])> = (0..15).map(|u| (u, &[9u32, 8, 7][..])).collect();
    let popularity = recs(&popular);
    let config = config(&[1, 3], 200);

    // Averaged over every test user, the cold users make popularity look best.
    let recall = |recs, population| {
        evaluate_model("m", recs, &data.with_population(population), &config)
            .unwrap()
            .value(Variant::All, Metric::Recall, 3)
            .unwrap()
    };
    assert!(recall(&popularity, Population::All) > recall(&personal, Population::All));
    assert_eq!(recall(&personal, Population::Warm), 1.0);
    assert_eq!(recall(&popularity, Population::Warm), 0.0);
    assert_eq!(recall(&popularity, Population::Cold), 1.0);

    let mut evaluator = Evaluator::new(data, &config);
    evaluator.add("personal", &personal).unwrap();
    evaluator.add("popularity", &popularity).unwrap();
    let report = evaluator.report(
        Protocol {
            baselines: vec!["popularity".into()],
            n_recommended: 3,
            ..Protocol::default()
        },
        &BTreeMap::new(),
    );
    assert_eq!(report.population, Population::Warm);
    assert_eq!(report.variants[0].evaluated_users, 5);
    assert_eq!(report.variants[0].skipped_users, 0);
    assert_eq!(report.test_set.cold_users, 10);
    assert_eq!(
        report.best_model().map(|m| m.name.as_str()),
        Some("personal")
    );
    assert_eq!(report.best_baseline.as_deref(), Some("popularity"));
    let personal_report = report.model("personal").unwrap();
    assert_eq!(personal_report.users_without_recommendations, 0);
    // The popularity lists of cold users are test users' lists, not ignored ones.
    assert_eq!(report.model("popularity").unwrap().ignored_lists, 0);

    let cold = report.cold_users.as_ref().expect("cold users apart");
    assert_eq!((cold.users, cold.evaluated_users), (10, 10));
    let at3 = |name: &str| {
        let m = cold.models.iter().find(|m| m.name == name).unwrap();
        let at = m.at_k.iter().find(|a| a.k == 3).unwrap();
        (at.metrics.recall.mean, m.users_without_recommendations)
    };
    assert_eq!(at3("popularity"), (1.0, 0));
    assert_eq!(at3("personal"), (0.0, 10));

    // The margin, either way round.
    let ab = report
        .margin("personal", "popularity", Metric::Recall, 3)
        .unwrap();
    let ba = report
        .margin("popularity", "personal", Metric::Recall, 3)
        .unwrap();
    assert_eq!(ab.difference, 1.0);
    assert_eq!(ba.difference, -1.0);
    assert_eq!(
        (ab.ci_low, ab.ci_high),
        (ba.ci_high.map(|x| -x), ba.ci_low.map(|x| -x))
    );
    assert_eq!(ab.model_a, "personal");
    assert_eq!(ba.model_a, "popularity");

    // Five users and ten items at K = 3: both too-small warnings, in the terminal too.
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("only 5 test users")),
        "{:?}",
        report.warnings
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("the catalogue has 10 items and K = 3")),
        "{:?}",
        report.warnings
    );
    let answer = report.terminal_answer();
    assert!(answer.contains("warning: only 5 test users"), "{answer}");
    assert!(
        answer.contains("on 5 test users with train history"),
        "{answer}"
    );
    assert!(
        answer.contains("Best: personal, Recall@3 +1.0000 over popularity"),
        "{answer}"
    );
    assert!(
        answer.contains("Cold users, evaluated apart: 10"),
        "{answer}"
    );
    assert!(answer.contains("popularity 1.0000"), "{answer}");
    let first_row = answer
        .lines()
        .find(|l| l.starts_with('*'))
        .expect("the best model is marked");
    assert!(first_row.contains("personal"), "{answer}");
    assert!(report.markdown().contains("Best: personal"));
    assert!(
        report
            .markdown()
            .contains("Cold users (no train history), evaluated apart")
    );
}

/// Without cold users the evaluator is the plain evaluation.
#[test]
fn without_cold_users_the_evaluator_adds_nothing() {
    let train = matrix(2, 3, &[&[0], &[1]]);
    let test = test_set(&train, &[(0, false, &[(1, Pv)]), (1, false, &[(0, Pv)])]);
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &[1, 1],
        population: Population::All,
    };
    let lists = recs(&[(0, &[1]), (1, &[2])]);
    let config = config(&[1], 0);
    let mut evaluator = Evaluator::new(data, &config);
    evaluator.add("m", &lists).unwrap();
    let report = evaluator.report(Protocol::default(), &BTreeMap::new());
    assert!(report.cold_users.is_none());
    let plain = evaluate_model("m", &lists, &data, &config).unwrap();
    assert_eq!(
        report
            .model("m")
            .unwrap()
            .estimate(Variant::All, Metric::Recall, 1)
            .unwrap()
            .mean,
        plain.value(Variant::All, Metric::Recall, 1).unwrap()
    );
}

/// Cold users whose targets were all dropped (items never seen in train) get one short
/// line, not a row of empty values.
#[test]
fn cold_users_without_targets_are_counted_in_one_line() {
    let train = matrix(3, 3, &[&[0], &[1], &[]]);
    // Item 2 has no train event: the cold user's only target is dropped.
    let test = test_set(&train, &[(0, false, &[(1, Pv)]), (2, true, &[(2, Pv)])]);
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &[1, 1, 0],
        population: Population::All,
    };
    let config = config(&[1], 0);
    let mut evaluator = Evaluator::new(data, &config);
    evaluator.add("m", &recs(&[(0, &[1]), (2, &[0])])).unwrap();
    let report = evaluator.report(Protocol::default(), &BTreeMap::new());
    let cold = report.cold_users.as_ref().unwrap();
    assert_eq!((cold.users, cold.evaluated_users), (1, 0));
    assert!(
        report.terminal_answer().contains(
            "Cold users, evaluated apart: 1 test users without train history, none with targets."
        ),
        "{}",
        report.terminal_answer()
    );
}
