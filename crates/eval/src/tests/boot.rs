//! The bootstrap: intervals contain the mean, seeds reproduce, a model compared with
//! itself differs by exactly 0, and nothing depends on the number of threads.

use std::collections::BTreeMap;

use super::{Synthetic, config, synthetic};
use crate::{
    CheckedEval, EvalData, EvalError, Metric, ModelEvaluation, Population, Protocol, Report,
    Variant, Verdict, build_report, compare_models, evaluate_model,
};

fn data(s: &Synthetic) -> EvalData<'_> {
    EvalData {
        test: &s.test,
        train: &s.train,
        train_events_per_user: &s.events,
        population: Population::All,
    }
}

fn evaluate_all(s: &Synthetic, config: &CheckedEval) -> Vec<ModelEvaluation> {
    s.models
        .iter()
        .map(|(name, recs)| evaluate_model(name, recs, &data(s), config).unwrap())
        .collect()
}

fn report(s: &Synthetic, config: &CheckedEval) -> Report {
    let models = evaluate_all(s, config);
    build_report(
        Protocol::default(),
        &data(s),
        &models,
        &BTreeMap::new(),
        config,
    )
}

#[test]
fn intervals_contain_the_mean() {
    for (users, seed) in [(300, 1), (40, 2), (5, 3)] {
        let s = synthetic(users, 50, 20, seed);
        let r = report(&s, &config(&[1, 5, 20], 200));
        for m in &r.models {
            for v in &m.variants {
                for a in &v.at_k {
                    for metric in Metric::ALL {
                        let e = a.metrics.get(metric);
                        if v.evaluated_users == 0 {
                            continue;
                        }
                        let (lo, hi) = (e.ci_low.unwrap(), e.ci_high.unwrap());
                        assert!(
                            lo <= e.mean && e.mean <= hi,
                            "{} {:?} {metric}@{}: {} not in [{lo}, {hi}]",
                            m.name,
                            v.variant,
                            a.k,
                            e.mean
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn same_seed_same_report_other_seed_other_intervals() {
    let s = synthetic(200, 40, 10, 4);
    let a = report(&s, &config(&[5, 10], 100)).to_json();
    let b = report(&s, &config(&[5, 10], 100)).to_json();
    assert_eq!(a, b);
    let mut other = crate::EvalConfig {
        ks: vec![5, 10],
        bootstrap_samples: 100,
        ..crate::EvalConfig::default()
    };
    other.seed = 7;
    let c = report(&s, &other.check().unwrap()).to_json();
    assert_ne!(a, c);
}

#[test]
fn a_model_compared_with_itself_differs_by_zero() {
    let s = synthetic(150, 30, 10, 5);
    let config = config(&[5, 10], 300);
    let models = evaluate_all(&s, &config);
    for metric in Metric::ALL {
        let c = compare_models(&models[0], &models[0], metric, 10, Variant::All, &config).unwrap();
        assert_eq!(c.difference, 0.0);
        assert_eq!((c.ci_low, c.ci_high), (Some(0.0), Some(0.0)));
        assert_eq!(c.share_at_most_zero, Some(1.0));
        assert_eq!(c.verdict, Verdict::NoSignificantDifference);
        assert!(
            c.sentence.contains("do not differ significantly"),
            "{}",
            c.sentence
        );
    }
}

#[test]
fn a_clear_winner_is_found_and_worded() {
    let s = synthetic(400, 60, 10, 6);
    let config = config(&[5, 10, 20], 300);
    let r = report(&s, &config);
    let c = r
        .compare("oracle", "random", Metric::Recall, 10, Variant::All)
        .unwrap();
    assert_eq!(c.verdict, Verdict::ABetter);
    assert!(c.ci_low.unwrap() > 0.0);
    assert_eq!(c.share_at_most_zero, Some(0.0));
    assert!(
        c.sentence
            .starts_with("oracle beats random on Recall@10 by "),
        "{}",
        c.sentence
    );
    let reversed = r
        .compare("random", "oracle", Metric::Recall, 10, Variant::All)
        .unwrap();
    assert_eq!(reversed.verdict, Verdict::BBetter);
    assert!(
        reversed.sentence.starts_with("oracle beats random"),
        "{}",
        reversed.sentence
    );
    // Every pair on Recall and NDCG at every K.
    assert_eq!(r.comparisons.len(), 2 * 3);
}

#[test]
fn report_comparisons_equal_compare_models() {
    let s = synthetic(250, 40, 15, 8);
    let config = config(&[5, 10], 150);
    let models = evaluate_all(&s, &config);
    let r = build_report(
        Protocol::default(),
        &data(&s),
        &models,
        &BTreeMap::new(),
        &config,
    );
    for variant in Variant::ALL {
        for metric in Metric::ALL {
            let direct =
                compare_models(&models[0], &models[1], metric, 5, variant, &config).unwrap();
            let stored = r.compare("oracle", "random", metric, 5, variant).unwrap();
            assert_eq!(direct, stored);
        }
    }
    assert!(matches!(
        r.compare("oracle", "nope", Metric::Recall, 5, Variant::All),
        Err(EvalError::UnknownModel(_))
    ));
    assert!(matches!(
        r.compare("oracle", "random", Metric::Recall, 7, Variant::All),
        Err(EvalError::UnknownK { k: 7, .. })
    ));
}

#[test]
fn deterministic_across_thread_pools() {
    // More test users than one chunk, so chunks run in parallel.
    let s = synthetic(5000, 300, 30, 9);
    let config = config(&[5, 20], 64);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| report(&s, &config).to_json())
    };
    let one = run(1);
    assert_eq!(one, run(3));
    assert_eq!(one, run(2));
}

#[test]
fn no_bootstrap_gives_means_without_intervals() {
    let s = synthetic(100, 30, 10, 10);
    let r = report(&s, &config(&[5], 0));
    let e = r.models[0]
        .estimate(Variant::All, Metric::Recall, 5)
        .unwrap();
    assert_eq!((e.ci_low, e.ci_high), (None, None));
    let c = &r.comparisons[0];
    assert_eq!(c.verdict, Verdict::NotEstimated);
    assert_eq!(c.ci_low, None);
}

#[test]
fn models_scored_on_other_users_are_not_compared() {
    let s = synthetic(100, 30, 10, 11);
    let other = synthetic(120, 30, 10, 12);
    let config = config(&[5], 50);
    let a = evaluate_model("a", &s.models[0].1, &data(&s), &config).unwrap();
    let b = evaluate_model("b", &other.models[0].1, &data(&other), &config).unwrap();
    assert!(matches!(
        compare_models(&a, &b, Metric::Recall, 5, Variant::All, &config),
        Err(EvalError::NotComparable { .. })
    ));
    let r = build_report(
        Protocol::default(),
        &data(&s),
        &[a, b],
        &BTreeMap::new(),
        &config,
    );
    // The other-users warning, and the one for a report without a simple baseline.
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(r.warnings[1].contains("no simple baseline"));
    assert!(r.comparisons.is_empty());
    assert!(r.models[0].bootstrapped && !r.models[1].bootstrapped);
    assert!(matches!(
        r.compare("a", "b", Metric::Recall, 5, Variant::All),
        Err(EvalError::NotComparable { .. })
    ));
}

#[test]
fn block_wise_draws_are_uniform_with_replacement() {
    use crate::bootstrap::draw_counts;
    // 5000 users: four full blocks of 1024 and a short one of 904.
    let n = 5000;
    let (mut counts, mut per_block) = (vec![0u32; n], Vec::new());
    // Membership masks 0..32 (five variants) in turn: each mask holds 1/32 of the users.
    let membership: Vec<u8> = (0..n).map(|i| (i % 32) as u8).collect();
    let mut by_mask_total = [0u64; 32];
    let mut totals = vec![0u64; n];
    let mut zeros = 0usize;
    let resamples = 400;
    for r in 0..resamples {
        counts.fill(0);
        let by_mask = draw_counts(
            &mut clickrec_core::SplitMix64::stream(3, r),
            &mut counts,
            &membership,
            &mut per_block,
        );
        assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), n);
        // The per-mask totals are the counts summed over the users with that mask.
        for (mask, &total) in by_mask.iter().enumerate() {
            let direct: u64 = counts
                .iter()
                .zip(&membership)
                .filter(|(_, m)| usize::from(**m) == mask)
                .map(|(&c, _)| u64::from(c))
                .sum();
            assert_eq!(total, direct);
            by_mask_total[mask] += total;
        }
        zeros += counts.iter().filter(|&&c| c == 0).count();
        totals
            .iter_mut()
            .zip(&counts)
            .for_each(|(t, &c)| *t += u64::from(c));
    }
    // Every user is drawn once per resample on average, in both blocks …
    let mean = |cells: &[u64]| {
        cells.iter().sum::<u64>() as f64 / (cells.len() * resamples as usize) as f64
    };
    assert!((mean(&totals[..4096]) - 1.0).abs() < 0.01);
    assert!((mean(&totals[4096..]) - 1.0).abs() < 0.01);
    // … and left out with probability (1 − 1/n)ⁿ ≈ e⁻¹.
    let share = zeros as f64 / (n * resamples as usize) as f64;
    assert!((share - (-1f64).exp()).abs() < 0.005, "{share}");
    for total in by_mask_total {
        let expected = (n * resamples as usize) as f64 / 32.0;
        assert!((total as f64 / expected - 1.0).abs() < 0.02);
    }
}

#[test]
fn batched_resamples_equal_one_at_a_time() {
    use crate::bootstrap::{Job, resample_means, resample_means_unbatched};
    let s = synthetic(700, 50, 20, 13);
    let config = config(&[1, 5, 20], 0);
    let models = evaluate_all(&s, &config);
    let refs: Vec<&ModelEvaluation> = models.iter().collect();
    let membership = data(&s).membership();
    // 19 resamples: two full batches of 8 and a partial one.
    let batched = resample_means(&refs, &membership, &Variant::ALL, 19, 5);
    let job = Job::new(&refs, &membership, &Variant::ALL, 5);
    let single = resample_means_unbatched(&job, 19);
    assert_eq!(batched.len(), 2);
    for (a, b) in batched.iter().zip(&single) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
        }
    }
}

/// A comparison turned around keeps zero bounds at +0, so they print as 0.0000.
#[test]
fn reversed_comparisons_keep_zero_positive() {
    let c = crate::PairedComparison::new(
        ("a", "b"),
        (crate::Metric::Recall, 1, crate::Variant::All),
        (0.0, 0.0),
        Some(vec![0.0; 20]),
        0.95,
    )
    .reversed();
    assert_eq!((c.model_a.as_str(), c.model_b.as_str()), ("b", "a"));
    for x in [c.difference, c.ci_low.unwrap(), c.ci_high.unwrap()] {
        assert!(x == 0.0 && x.is_sign_positive(), "{x}");
    }
}
