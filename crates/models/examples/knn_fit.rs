//! Times the item-kNN fit (and top-10 scoring) on a synthetic implicit-feedback matrix.
//!
//! ```text
//! cargo run --release -p clickrec-models --example knn_fit [-- USERS ITEMS] [--quick]
//! ```
//! Default 100 000 users × 50 000 items, about 5.0M non-zeros: user activity exponential
//! (mean about 50 draws, so a long tail of heavy users), item popularity Zipf-like (item
//! `n · U³`, popular items at low ids), confidences 1-5. Prints the fit time per weighting
//! at the pool's thread count and at one thread, and the time to recommend top-10 lists
//! (seen items excluded) to every user. `--quick` fits with `weighting = "none"` only.
//!
//! Measured on the 2-core development VM (Xeon @ 2.5 GHz, shared with other builds),
//! release profile, default size (5.0M non-zeros, 4.9e8 multiply-adds): fit 2.4-2.8 s
//! wall on 2 threads for each weighting (5.2 s on 1 thread, identical neighbours), top-10
//! for all 100k users 4.7-6.6 s, about half of it in the shared top-N selection.

use std::time::Instant;

use clickrec_core::{EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_models::knn::{ItemKnn, ItemKnnParams, Weighting};
use clickrec_models::{FitOptions, TrainData};
use clickrec_recommend::{RecommendRequest, recommend};

/// CPU seconds used by the process so far (user + system), from `/proc/self/stat`; on a
/// machine shared with other jobs the wall time alone misleads.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime are fields 14 and 15, the 12th and 13th after the command name.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wall and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let out = f();
    (out, t.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

fn generate(n_users: usize, n_items: usize) -> UserItemMatrix {
    let mut rng = clickrec_core::SplitMix64::new(7);
    let mut triples = Vec::new();
    let mut row = Vec::new();
    for u in 0..n_users {
        let draws = (1.0 - 51.0 * rng.next_f64().max(1e-12).ln()) as usize;
        row.clear();
        row.extend(
            (0..draws.min(n_items / 2)).map(|_| (n_items as f64 * rng.next_f64().powi(3)) as u32),
        );
        row.sort_unstable();
        row.dedup();
        for &i in &row {
            let x = if rng.next_f64() < 0.8 {
                1.0
            } else {
                (2 + rng.next_u64() % 4) as f32
            };
            triples.push((UserId(u as u32), ItemId(i), x));
        }
    }
    UserItemMatrix::from_triples(n_users, n_items, triples).expect("ids in range")
}

fn main() -> Result<(), BoxError> {
    let flags: Vec<String> = std::env::args().skip(1).collect();
    let quick = flags.iter().any(|a| a == "--quick");
    let args: Vec<usize> = flags
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.replace('_', "").parse())
        .collect::<Result<_, _>>()?;
    let n_users = args.first().copied().unwrap_or(100_000);
    let n_items = args.get(1).copied().unwrap_or(50_000);

    let t = Instant::now();
    let matrix = generate(n_users, n_items);
    let item_users = matrix.transpose();
    let work: f64 = (0..n_users)
        .map(|u| (matrix.row(UserId(u as u32)).0.len() as f64).powi(2))
        .sum();
    println!(
        "matrix: {n_users} users × {n_items} items, {} non-zeros, {:.2e} multiply-adds (Σ user degree²), generated in {:.1?}",
        matrix.nnz(),
        work,
        t.elapsed()
    );

    let log = EventLog::default();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: [1.0, 2.0, 3.0, 4.0],
        sessions: None,
    };
    let options = FitOptions::default();
    let fit = |weighting: Weighting| -> Result<ItemKnn, BoxError> {
        let params = ItemKnnParams {
            weighting,
            ..ItemKnnParams::default()
        }
        .check()?;
        Ok(ItemKnn::fit(&params, &data, &options)?)
    };

    let threads = rayon::current_num_threads();
    let mut model = None;
    let weightings = if quick {
        &[Weighting::None][..]
    } else {
        &[Weighting::None, Weighting::Tfidf, Weighting::Bm25]
    };
    for &weighting in weightings {
        let (m, wall, cpu) = timed(|| fit(weighting));
        let m = m?;
        println!(
            "fit k=100 weighting={weighting:?}: {wall:.2} s wall, {cpu:.2} s CPU on {threads} threads, {} neighbour entries",
            m.n_neighbours()
        );
        model.get_or_insert(m);
    }
    let model = model.ok_or("no model")?;
    if !quick {
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
        let (one, wall, cpu) = timed(|| single.install(|| fit(Weighting::None)));
        let one = one?;
        println!("fit k=100 weighting=None: {wall:.2} s wall, {cpu:.2} s CPU on 1 thread");
        let same =
            (0..n_items as u32).all(|i| one.neighbours(ItemId(i)) == model.neighbours(ItemId(i)));
        println!("1-thread and {threads}-thread neighbours identical: {same}");
    }

    let users: Vec<UserId> = (0..n_users as u32).map(UserId).collect();
    let (recs, wall, cpu) =
        timed(|| recommend(&model, &matrix, &users, &RecommendRequest::top(10)));
    let recs = recs?;
    println!(
        "recommend top-10 to {} users: {wall:.2} s wall, {cpu:.2} s CPU ({} pairs)",
        recs.len(),
        recs.n_pairs()
    );
    Ok(())
}
