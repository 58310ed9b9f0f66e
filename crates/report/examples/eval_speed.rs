//! Times the evaluator on a synthetic catalogue: the metric pass per model, then the
//! report (bootstrap intervals and paired comparisons) and its renderings.
//!
//! ```text
//! cargo run --release -p clickrec-report --example eval_speed
//! cargo run --release -p clickrec-report --example eval_speed -- --users 200000 --samples 200
//! ```
//!
//! Options: `--users N` (default 1 000 000), `--items N` (100 000), `--len N` (list length,
//! 100), `--samples N` (bootstrap resamples, 1000), `--models N` (2 or more, default 2).

use std::collections::BTreeMap;
use std::time::Instant;

use clickrec_core::{Behavior, ItemId, TestSet, UserId, UserItemMatrix};
use clickrec_eval::{EvalConfig, EvalData, Population, Protocol, build_report, evaluate_model};
use clickrec_recommend::Recommendations;
use clickrec_report::Render;

/// Core's SplitMix64, with the draws synthetic data needs.
struct Rng(clickrec_core::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// A popularity-skewed item: low ids are popular (density ∝ 1/√x-ish).
    fn item(&mut self, n_items: usize) -> u32 {
        let u = self.0.next_f64();
        ((u * u * u) * n_items as f64) as u32
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n_users = arg("--users", 1_000_000);
    let n_items = arg("--items", 100_000);
    let len = arg("--len", 100);
    let samples = arg("--samples", 1000);
    let n_models = arg("--models", 2).max(2);
    println!(
        "eval_speed: {n_users} users × top-{len}, {n_items} items, {n_models} models, {samples} resamples, {} threads",
        rayon::current_num_threads()
    );
    let t = Instant::now();
    let mut rng = Rng(clickrec_core::SplitMix64::new(7));

    // Train rows: 1–24 skewed items per user.
    let mut indptr = vec![0usize];
    let mut indices: Vec<u32> = Vec::new();
    let mut row: Vec<u32> = Vec::new();
    let mut events = Vec::with_capacity(n_users);
    for _ in 0..n_users {
        row.clear();
        let n = 1 + rng.below(24) as usize;
        row.extend((0..n).map(|_| rng.item(n_items)));
        row.sort_unstable();
        row.dedup();
        indices.extend_from_slice(&row);
        indptr.push(indices.len());
        events.push((n as u32) * (1 + rng.below(6) as u32));
    }
    let data_len = indices.len();
    let train =
        UserItemMatrix::from_csr_parts(n_users, n_items, indptr, indices, vec![1.0; data_len])?;
    let mut seen = vec![false; n_items];
    train
        .csr()
        .indices()
        .iter()
        .for_each(|&i| seen[i as usize] = true);

    // Test sets: 90 % of users, 1–6 events, a fifth of them cart/buy.
    let mut builder = TestSet::builder(&seen);
    for u in 0..n_users {
        if rng.below(10) == 0 {
            continue;
        }
        let n = 1 + rng.below(6);
        let test_events: Vec<(ItemId, Behavior)> = (0..n)
            .map(|_| {
                let behavior = match rng.below(10) {
                    0 => Behavior::Buy,
                    1 => Behavior::Cart,
                    _ => Behavior::Pv,
                };
                (ItemId(rng.item(n_items)), behavior)
            })
            .collect();
        builder.push_user(UserId(u as u32), false, test_events)?;
    }
    let test = builder.finish();

    // Model 0: the most popular items not in the user's train row. Models 1..: a noisy
    // oracle holding a growing share of each user's targets at random ranks.
    let mut popular: Vec<(u32, u32)> = {
        let mut counts = vec![0u32; n_items];
        train
            .csr()
            .indices()
            .iter()
            .for_each(|&i| counts[i as usize] += 1);
        counts
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, i as u32))
            .collect()
    };
    popular.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let popular: Vec<u32> = popular.iter().take(len + 64).map(|p| p.1).collect();
    let mut models: Vec<(String, Recommendations)> = Vec::new();
    let mut stamp = vec![u32::MAX; n_items];
    let mut list: Vec<u32> = Vec::with_capacity(len);
    for m in 0..n_models {
        let mut recs = Recommendations::new();
        for u in 0..n_users {
            let user = UserId(u as u32);
            list.clear();
            let stamp_id = u as u32;
            for &i in train.row(user).0 {
                stamp[i as usize] = stamp_id;
            }
            if m == 0 {
                list.extend(
                    popular
                        .iter()
                        .copied()
                        .filter(|&i| stamp[i as usize] != stamp_id)
                        .take(len),
                );
            } else {
                let mut fill = Vec::with_capacity(len);
                while fill.len() < len {
                    let i = rng.item(n_items);
                    if stamp[i as usize] != stamp_id {
                        stamp[i as usize] = stamp_id;
                        fill.push(i);
                    }
                }
                list.extend(fill);
                if let Some(t) = test.find(user) {
                    for target in t.targets {
                        let i = target.0;
                        if rng.below(10) < 2 + m as u64 && !list.contains(&i) {
                            let at = rng.below(len as u64) as usize;
                            list[at] = i;
                        }
                    }
                }
            }
            recs.push(user, list.iter().map(|&i| (ItemId(i), 0.0)))?;
        }
        let name = if m == 0 {
            "popularity".to_owned()
        } else {
            format!("oracle-{m}")
        };
        models.push((name, recs));
    }
    println!(
        "generated in {:.2} s: {} train pairs, {} test users, {} targets, {} lists of {len} per model",
        t.elapsed().as_secs_f64(),
        train.nnz(),
        test.len(),
        test.counts().targets,
        models[0].1.len()
    );

    let config = EvalConfig {
        bootstrap_samples: samples,
        ..EvalConfig::default()
    }
    .check()?;
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &events,
        population: Population::All,
    };
    let mut evaluations = Vec::new();
    let mut metric_seconds = 0.0;
    for (name, recs) in &models {
        let t = Instant::now();
        evaluations.push(evaluate_model(name, recs, &data, &config)?);
        let s = t.elapsed().as_secs_f64();
        metric_seconds += s;
        println!("metric pass {name}: {s:.2} s ({} pairs)", recs.n_pairs());
    }
    println!(
        "metric pass, all models: {metric_seconds:.2} s ({:.2} s per model)",
        metric_seconds / models.len() as f64
    );
    let t = Instant::now();
    let protocol = Protocol {
        split: "synthetic".into(),
        exclude_seen: true,
        n_recommended: len,
        ..Protocol::default()
    };
    let report = build_report(protocol, &data, &evaluations, &BTreeMap::new(), &config);
    println!(
        "report with bootstrap ({samples} resamples, {} models, 5 variants, {} comparisons): {:.2} s",
        models.len(),
        report.comparisons.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let sizes = (
        report.to_json().len(),
        report.markdown().len(),
        report.html().len(),
    );
    println!(
        "rendering json/md/html ({} / {} / {} bytes): {:.3} s",
        sizes.0,
        sizes.1,
        sizes.2,
        t.elapsed().as_secs_f64()
    );
    print!("\n{}", report.terminal_table());
    Ok(())
}
