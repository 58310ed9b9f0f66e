//! Metric values computed by hand on a small case; the arithmetic is in the comments.
//!
//! Catalogue: items 0..10. Train rows (5 users):
//!   u0 {3, 4}   u1 {1, 3}   u2 {0}   u3 {3, 5, 9}   u4 {}
//! Item popularity (train users per item): 3 → 3; 0, 1, 4, 5, 9 → 1; 2, 6, 7, 8 → 0.
//! Popularity percentile = 100 · #{items at most as popular} / 10:
//!   pop 0 → 4 items ≤ → 40;  pop 1 → 9 items ≤ → 90;  pop 3 → 10 items → 100.
//! Test users (items 2, 6, 7, 8 never in train, so dropped from targets):
//!   u0 warm: pv 1, buy 3, pv 5  → targets {1, 3, 5}, conversions {3}
//!   u1 warm: pv 3               → targets {3},       conversions {}
//!   u2 warm: buy 4              → targets {4},       conversions {4}
//!   u4 cold: pv 7               → targets {} (7 dropped): skipped everywhere
//! Lists (all scores equal, so only positions matter):
//!   u0 [3, 9, 1, 7]   u1 [0, 3]   u3 [2] (not a test user: ignored)   u2, u4: none
//! Train events per user (caller's counts): [7, 2, 1, 3, 0].
//! Cut-offs K = 1, 2, 5 (5 is longer than every list).

use clickrec_core::{Behavior, ItemId, UserId};
use clickrec_recommend::Recommendations;

use super::{close, config, matrix, recs, test_set};
use crate::{
    EvalData, EvalError, Metric, ModelEvaluation, Population, Segment, Variant, evaluate_model,
    popularity_percentiles,
};

use Behavior::{Buy, Pv};

/// 1 / log2(3), the DCG discount of rank 2.
const D2: f64 = 0.630_929_753_571_457_4;
/// 1 / log2(4) = 0.5, the discount of rank 3.
const D3: f64 = 0.5;

struct Case {
    train: clickrec_core::UserItemMatrix,
    test: clickrec_core::TestSet,
    events: Vec<u32>,
}

fn case() -> Case {
    let train = matrix(5, 10, &[&[3, 4], &[1, 3], &[0], &[3, 5, 9], &[]]);
    let test = test_set(
        &train,
        &[
            (0, false, &[(1, Pv), (3, Buy), (5, Pv)]),
            (1, false, &[(3, Pv)]),
            (2, false, &[(4, Buy)]),
            (4, true, &[(7, Pv)]),
        ],
    );
    Case {
        train,
        test,
        events: vec![7, 2, 1, 3, 0],
    }
}

fn lists() -> Recommendations {
    recs(&[(0, &[3, 9, 1, 7]), (1, &[0, 3]), (3, &[2])])
}

fn evaluate(c: &Case, r: &Recommendations) -> ModelEvaluation {
    let data = EvalData {
        test: &c.test,
        train: &c.train,
        train_events_per_user: &c.events,
        population: Population::All,
    };
    evaluate_model("hand", r, &data, &config(&[1, 2, 5], 0)).unwrap()
}

/// Asserts the seven metrics of `variant` at `k`, in `Metric::ALL` order.
#[track_caller]
fn assert_metrics(e: &ModelEvaluation, variant: Variant, k: usize, expected: [f64; 7]) {
    for (metric, want) in Metric::ALL.into_iter().zip(expected) {
        let got = e.value(variant, metric, k).unwrap();
        assert!(
            (got - want).abs() < 1e-12,
            "{variant:?} {metric}@{k}: got {got}, expected {want}"
        );
    }
}

#[test]
fn all_targets_all_items_by_hand() {
    let e = evaluate(&case(), &lists());
    // Per user (T = targets, hits = 1-based ranks of targets in the list):
    // u0: T = {1, 3, 5}, list [3, 9, 1, 7] → hits at ranks 1 (item 3) and 3 (item 1).
    //   K=1: hits 1. Recall 1/3, Capped 1/min(1,3) = 1, Precision 1/1, HitRate 1, MRR 1,
    //        NDCG (1/log2 2) / IDCG(1) = 1/1 = 1, MAP (1/1) / min(1,3) = 1.
    //   K=2: hits 1. Recall 1/3, Capped 1/2, Precision 1/2, HitRate 1, MRR 1,
    //        NDCG 1 / (1 + D2) = 0.613147…, MAP (1/1) / 2 = 0.5.
    //   K=5: hits 2 (list of 4 is shorter than K). Recall 2/3, Capped 2/min(5,3) = 2/3,
    //        Precision 2/5, HitRate 1, MRR 1, NDCG (1 + D3) / (1 + D2 + D3),
    //        MAP (1/1 + 2/3) / 3 = 5/9.
    // u1: T = {3}, list [0, 3] → hit at rank 2.
    //   K=1: 0 everywhere.
    //   K=2: Recall 1, Capped 1/min(2,1) = 1, Precision 1/2, HitRate 1, MRR 1/2,
    //        NDCG D2 / IDCG(1) = D2, MAP (1/2) / 1 = 1/2.
    //   K=5: Recall 1, Capped 1, Precision 1/5, HitRate 1, MRR 1/2, NDCG D2, MAP 1/2.
    // u2: T = {4}, no list → 0 everywhere, still evaluated.
    // Macro averages over the 3 evaluated users:
    let ndcg_u0_k2 = 1.0 / (1.0 + D2);
    let ndcg_u0_k5 = (1.0 + D3) / (1.0 + D2 + D3);
    assert_metrics(
        &e,
        Variant::All,
        1,
        [
            1.0 / 9.0,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
        ],
    );
    assert_metrics(
        &e,
        Variant::All,
        2,
        [
            (1.0 / 3.0 + 1.0) / 3.0, // 4/9
            (0.5 + 1.0) / 3.0,       // 1/2
            (0.5 + 0.5) / 3.0,       // 1/3
            2.0 / 3.0,               // two of three users hit
            (1.0 + 0.5) / 3.0,       // 1/2
            (ndcg_u0_k2 + D2) / 3.0, // 0.414692…
            (0.5 + 0.5) / 3.0,       // 1/3
        ],
    );
    assert_metrics(
        &e,
        Variant::All,
        5,
        [
            (2.0 / 3.0 + 1.0) / 3.0, // 5/9
            (2.0 / 3.0 + 1.0) / 3.0, // 5/9
            (0.4 + 0.2) / 3.0,       // 0.2
            2.0 / 3.0,
            (1.0 + 0.5) / 3.0,
            (ndcg_u0_k5 + D2) / 3.0, // 0.444949…
            (5.0 / 9.0 + 0.5) / 3.0, // 19/54
        ],
    );
    close(ndcg_u0_k5, 0.703_918_089_034_134_8);
    let all = e.variant(Variant::All);
    assert_eq!(all.evaluated_users, 3);
    assert_eq!(all.skipped_users, 1); // u4: every test item dropped
    assert_eq!(all.users_without_recommendations, 1); // u2
}

#[test]
fn conversion_variant_by_hand() {
    let e = evaluate(&case(), &lists());
    // Evaluated: u0 (T = {3}) and u2 (T = {4}); u1 and u4 have no conversions: skipped.
    // u0: list [3, 9, 1, 7], hit at rank 1.
    //   K=1: every metric 1.
    //   K=2: Recall 1, Capped 1/min(2,1) = 1, Precision 1/2, HitRate 1, MRR 1,
    //        NDCG 1/IDCG(1) = 1, MAP (1/1)/1 = 1.
    //   K=5: as K=2 but Precision 1/5.
    // u2: no list → 0. Averages over 2 users:
    assert_metrics(&e, Variant::Conversion, 1, [0.5; 7]);
    assert_metrics(
        &e,
        Variant::Conversion,
        2,
        [0.5, 0.5, 0.25, 0.5, 0.5, 0.5, 0.5],
    );
    assert_metrics(
        &e,
        Variant::Conversion,
        5,
        [0.5, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5],
    );
    let v = e.variant(Variant::Conversion);
    assert_eq!((v.evaluated_users, v.skipped_users), (2, 2));
}

#[test]
fn new_items_variant_by_hand() {
    let e = evaluate(&case(), &lists());
    // u0: train {3, 4}; T = {1, 3, 5} \ {3, 4} = {1, 5}; list [3, 9, 1, 7] without 3 =
    //     [9, 1, 7], re-ranked 1, 2, 3 → hit at rank 2 (item 1).
    //   K=1: 0.
    //   K=2: Recall 1/2, Capped 1/min(2,2) = 1/2, Precision 1/2, HitRate 1, MRR 1/2,
    //        NDCG D2 / (1 + D2) = 0.386852…, MAP (1/2) / 2 = 1/4.
    //   K=5: Recall 1/2, Capped 1/min(5,2) = 1/2, Precision 1/5, HitRate 1, MRR 1/2,
    //        NDCG D2 / IDCG(2) = D2 / (1 + D2), MAP 1/4.
    // u1: T = {3} ⊂ train {1, 3} → empty after restriction: skipped.
    // u2: train {0}, T = {4} stays; no list → 0.
    // u4: skipped. Averages over u0 and u2:
    let ndcg = D2 / (1.0 + D2);
    close(ndcg, 0.386_852_807_234_541_6);
    assert_metrics(&e, Variant::NewItems, 1, [0.0; 7]);
    assert_metrics(
        &e,
        Variant::NewItems,
        2,
        [0.25, 0.25, 0.25, 0.5, 0.25, ndcg / 2.0, 0.125],
    );
    assert_metrics(
        &e,
        Variant::NewItems,
        5,
        [0.25, 0.25, 0.1, 0.5, 0.25, ndcg / 2.0, 0.125],
    );
    let v = e.variant(Variant::NewItems);
    assert_eq!((v.evaluated_users, v.skipped_users), (2, 2));
    // Only u0 has a (filtered) list: [9, 1, 7] → percentiles 90, 90, 40.
    let k5 = v.at(5).unwrap();
    close(
        k5.popularity_percentile.unwrap(),
        (90.0 + 90.0 + 40.0) / 3.0,
    );
    close(k5.seen_share.unwrap(), 0.0); // nothing seen survives the filter
    close(k5.coverage, 3.0 / 10.0); // {9, 1, 7}

    // Conversion targets new to the user: u0's {3} is in train → skipped; u2's {4} is
    // new → evaluated, no list → every metric 0; no list at all → no popularity figure.
    let cv = e.variant(Variant::ConversionNewItems);
    assert_eq!((cv.evaluated_users, cv.skipped_users), (1, 3));
    assert_metrics(&e, Variant::ConversionNewItems, 5, [0.0; 7]);
    assert_eq!(cv.at(5).unwrap().popularity_percentile, None);
    assert_eq!(cv.at(5).unwrap().distinct_items, 0);
}

#[test]
fn counts_of_missing_and_ignored_lists() {
    let e = evaluate(&case(), &lists());
    assert_eq!(e.test_users(), 4);
    // u2 and u4 have no list; u4 is skipped everywhere but still a test user without one.
    assert_eq!(e.users_without_recommendations(), 2);
    // u3's list: u3 is not a test user.
    assert_eq!(e.ignored_lists(), 1);
}

#[test]
fn list_statistics_by_hand() {
    let e = evaluate(&case(), &lists());
    let all = e.variant(Variant::All);
    // Coverage over the evaluated users' lists (u0 [3, 9, 1, 7], u1 [0, 3]) / 10 items:
    //   top-1 {3, 0} → 0.2;  top-2 {3, 9, 0} → 0.3;  top-5 {3, 9, 1, 7, 0} → 0.5.
    let coverage: Vec<f64> = all.at_k.iter().map(|a| a.coverage).collect();
    assert_eq!(coverage, vec![0.2, 0.3, 0.5]);
    // Popularity percentiles: u0 [3, 9, 1, 7] → [100, 90, 90, 40]; u1 [0, 3] → [90, 100].
    //   K=1: (100 + 90) / 2 = 95;  K=2: ((100+90)/2 + (90+100)/2) / 2 = 95;
    //   K=5: ((100+90+90+40)/4 + 95) / 2 = (80 + 95) / 2 = 87.5.
    // Seen share: u0 train {3, 4} → [seen, -, -, -]; u1 train {1, 3} → [-, seen].
    //   K=1: (1/1 + 0/1) / 2 = 0.5;  K=2: (1/2 + 1/2) / 2 = 0.5;  K=5: (1/4 + 1/2) / 2 = 0.375.
    let pop: Vec<f64> = all
        .at_k
        .iter()
        .map(|a| a.popularity_percentile.unwrap())
        .collect();
    let seen: Vec<f64> = all.at_k.iter().map(|a| a.seen_share.unwrap()).collect();
    for (got, want) in pop.iter().zip([95.0, 95.0, 87.5]) {
        close(*got, want);
    }
    for (got, want) in seen.iter().zip([0.5, 0.5, 0.375]) {
        close(*got, want);
    }
}

#[test]
fn popularity_percentiles_share_ties() {
    let c = case();
    let p = popularity_percentiles(&c.train);
    // See the module docs: pop 0 → 40, pop 1 → 90, pop 3 → 100.
    assert_eq!(
        p,
        vec![90.0, 90.0, 40.0, 100.0, 90.0, 90.0, 40.0, 40.0, 40.0, 90.0]
    );
}

#[test]
fn breakdowns_by_hand() {
    let e = evaluate(&case(), &lists());
    let all = e.variant(Variant::All);
    // Train events [7, 2, 1, 3, 0]: u0 → 5–19, u1 and u2 → 1–4; u4 (0 events) is skipped.
    let seg = |s: Segment| all.segment(s);
    assert_eq!(seg(Segment::Events0).users, 0);
    assert!(seg(Segment::Events0).at_k.is_empty());
    assert_eq!(seg(Segment::Events1To4).users, 2);
    assert_eq!(seg(Segment::Events5To19).users, 1);
    assert_eq!(seg(Segment::Cold).users, 0);
    assert_eq!(seg(Segment::Warm).users, 3);
    // Recall@2: u0 1/3; u1 1, u2 0 → bucket 1–4: (1 + 0)/2 = 0.5; warm = overall = 4/9.
    close(seg(Segment::Events5To19).at_k[1].metrics.recall, 1.0 / 3.0);
    close(seg(Segment::Events1To4).at_k[1].metrics.recall, 0.5);
    close(seg(Segment::Warm).at_k[1].metrics.recall, 4.0 / 9.0);
    // NDCG@5 in bucket 1–4: (D2 + 0) / 2.
    close(seg(Segment::Events1To4).at_k[2].metrics.ndcg, D2 / 2.0);
}

#[test]
fn score_ties_do_not_matter() {
    let c = case();
    let tied = evaluate(&c, &lists());
    let mut distinct = Recommendations::new();
    distinct
        .push(
            UserId(0),
            [(3, 4.0), (9, 3.0), (1, 2.0), (7, 1.0)].map(|(i, s)| (ItemId(i), s)),
        )
        .unwrap();
    distinct
        .push(UserId(1), [(ItemId(0), 0.9), (ItemId(3), 0.1)])
        .unwrap();
    distinct.push(UserId(3), [(ItemId(2), f32::NAN)]).unwrap();
    let ranked = evaluate(&c, &distinct);
    for v in Variant::ALL {
        assert_eq!(tied.variant(v).at_k, ranked.variant(v).at_k);
        assert_eq!(tied.variant(v).segments, ranked.variant(v).segments);
    }
}

#[test]
fn k_larger_than_the_list_and_perfect_lists() {
    // One user, T = {0, 1}, list [1, 0] (perfect), K = 1, 10.
    let train = matrix(1, 3, &[&[0, 1, 2]]);
    let test = test_set(&train, &[(0, false, &[(0, Pv), (1, Pv)])]);
    let r = recs(&[(0, &[1, 0])]);
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &[3],
        population: Population::All,
    };
    let e = evaluate_model("perfect", &r, &data, &config(&[1, 10], 0)).unwrap();
    // K=1: hit at 1 → Recall 1/2, Capped 1, Precision 1, HitRate 1, MRR 1, NDCG 1, MAP 1.
    assert_metrics(&e, Variant::All, 1, [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    // K=10: hits at 1, 2 → Recall 1, Capped 2/min(10,2) = 1, Precision 2/10 (not padded),
    // HitRate 1, MRR 1, NDCG (1 + D2)/(1 + D2) = 1 exactly, MAP (1/1 + 2/2)/2 = 1.
    assert_metrics(&e, Variant::All, 10, [1.0, 1.0, 0.2, 1.0, 1.0, 1.0, 1.0]);
    close(e.value(Variant::All, Metric::Ndcg, 10).unwrap(), 1.0);
    // Every recommended item was seen in train: new-items variants skip the user.
    assert_eq!(e.variant(Variant::NewItems).evaluated_users, 0);
    assert!(e.variant(Variant::NewItems).at_k[0].metrics.recall.is_nan());
}

#[test]
fn items_outside_the_catalogue_are_errors() {
    let c = case();
    let r = recs(&[(0, &[3, 12])]);
    let data = EvalData {
        test: &c.test,
        train: &c.train,
        train_events_per_user: &c.events,
        population: Population::All,
    };
    let err = evaluate_model("bad", &r, &data, &config(&[5], 0)).unwrap_err();
    assert_eq!(
        err,
        EvalError::ItemOutOfRange {
            model: "bad".into(),
            user: UserId(0),
            item: ItemId(12),
            n_items: 10
        }
    );
    let short = EvalData {
        train_events_per_user: &[1, 2],
        population: Population::All,
        ..data
    };
    let err = evaluate_model("bad", &lists(), &short, &config(&[5], 0)).unwrap_err();
    assert!(matches!(err, EvalError::Inconsistent(_)), "{err}");
}

/// Repeat targets (in the user's train row): u0 {3} (train {3, 4}), u1 {3} (train
/// {1, 3}); u2's target 4 is new. u0's list has 3 at rank 1, u1's at rank 2:
/// Recall@1 = (1 + 0) / 2, Recall@2 = 1, MRR@2 = (1 + 1/2) / 2.
#[test]
fn repeat_variant_counts_only_targets_seen_in_train() {
    let c = case();
    let e = evaluate(&c, &lists());
    let v = e.variant(Variant::Repeat);
    assert_eq!(v.evaluated_users, 2);
    close(e.value(Variant::Repeat, Metric::Recall, 1).unwrap(), 0.5);
    close(e.value(Variant::Repeat, Metric::Recall, 2).unwrap(), 1.0);
    close(e.value(Variant::Repeat, Metric::Mrr, 2).unwrap(), 0.75);
    assert_eq!(Variant::headline(true), Variant::NewItems);
    assert_eq!(Variant::headline(false), Variant::All);

    let data = EvalData {
        test: &c.test,
        train: &c.train,
        train_events_per_user: &c.events,
        population: Population::All,
    };
    let report = crate::build_report(
        crate::Protocol {
            exclude_seen: true,
            baselines: vec!["hand".into()],
            ..crate::Protocol::default()
        },
        &data,
        &[e],
        &Default::default(),
        &config(&[1, 2, 5], 0),
    );
    // Targets: u0 {1, 3, 5} (3 repeat), u1 {3} (repeat), u2 {4}: 3 new, 2 repeat.
    assert_eq!(
        (report.target_kinds.new_to_user, report.target_kinds.repeat),
        (3, 2)
    );
    assert_eq!(report.headline_variant, Variant::NewItems);
    assert_eq!(report.best_baseline.as_deref(), Some("hand"));
}
