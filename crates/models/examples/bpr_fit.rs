//! Times a BPR fit on a synthetic matrix shaped like the benchmark's: ~100k users ×
//! 50k items × ~4.8M non-zeros, Zipf-like item popularity (popular items at low ids),
//! skewed user activity; 64 factors, 15 epochs, other parameters at their defaults.
//!
//! ```sh
//! cargo run --release -p clickrec-models --example bpr_fit            # all cores
//! RAYON_NUM_THREADS=1 cargo run --release -p clickrec-models --example bpr_fit
//! cargo run --release -p clickrec-models --example bpr_fit -- --loss  # record the loss
//! cargo run --release -p clickrec-models --example bpr_fit -- --blocks 16 --iterations 5 --uniform
//! cargo run --release -p clickrec-models --example bpr_fit -- --users 1000 --items 500 --draws 100000
//! ```
//!
//! With `--run DIR` it fits on a pipeline run's `train_matrix.csr` instead, then
//! recommends the top `--n` (50) unseen items to every user of `test_set.json` and prints
//! Recall@n (hits / min(targets, n), averaged over users with targets); `--recs PATH`
//! also writes the lists as `user,rank,item` dense ids. `--write-csr PATH` saves the
//! matrix fitted on (e.g. the synthetic one, to time another library on it).

use std::time::Instant;

use clickrec_core::SplitMix64;
use clickrec_core::{EventLog, ItemId, TestSet, UserId, UserItemMatrix};
use clickrec_models::bpr::{Bpr, BprParams, NegativeSampling};
use clickrec_models::{FitMonitor, FitOptions, Model, TrainData};
use clickrec_recommend::{RecommendRequest, recommend};
use std::io::Write;
use std::path::PathBuf;

/// Prints the time (and loss) after each epoch.
struct Timer {
    start: Instant,
}

impl FitMonitor for Timer {
    fn after_iteration(&self, done: usize, model: &Model) -> std::ops::ControlFlow<()> {
        let secs = self.start.elapsed().as_secs_f64();
        match model.training_loss().last() {
            Some(l) => eprintln!("epoch {done}: {secs:.2} s, loss {l:.5}"),
            None => eprintln!("epoch {done}: {secs:.2} s"),
        }
        std::ops::ControlFlow::Continue(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let record_loss = args.iter().any(|a| a == "--loss");
    let uniform = args.iter().any(|a| a == "--uniform");
    let number = |flag: &str, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        match args.iter().position(|a| a == flag) {
            Some(k) => Ok(args.get(k + 1).ok_or("a flag needs a number")?.parse()?),
            None => Ok(default),
        }
    };
    let blocks = number("--blocks", BprParams::default().blocks)?;
    let iterations = number("--iterations", 15)?;
    let factors = number("--factors", 64)?;
    let (users, items) = (number("--users", 100_000)?, number("--items", 50_000)?);
    let draws = number("--draws", 5_000_000)?;
    let text = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|k| args.get(k + 1))
    };
    let run = text("--run").map(PathBuf::from);
    let start = Instant::now();
    let matrix = match &run {
        Some(dir) => {
            let file = std::fs::File::open(dir.join("train_matrix.csr"))?;
            UserItemMatrix::read_from(&mut std::io::BufReader::new(file))?
        }
        None => synthetic(users, items, draws)?,
    };
    if let Some(path) = text("--write-csr") {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        matrix.write_to(&mut out)?;
        out.flush()?;
    }
    let item_users = matrix.transpose();
    let log = EventLog::default();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: [1.0; 4],
        sessions: None,
    };
    let top_item = (0..matrix.n_items())
        .map(|i| item_users.row(ItemId(i as u32)).0.len())
        .max()
        .unwrap_or(0);
    eprintln!(
        "matrix {} users × {} items, {} non-zeros (most popular item: {top_item} users), built in {:.1} s",
        matrix.n_users(),
        matrix.n_items(),
        matrix.nnz(),
        start.elapsed().as_secs_f64()
    );

    let params = BprParams {
        factors,
        iterations,
        blocks,
        negative_sampling: if uniform {
            NegativeSampling::Uniform
        } else {
            NegativeSampling::Popularity
        },
        ..BprParams::default()
    }
    .check()?;
    let timer = Timer {
        start: Instant::now(),
    };
    let options = FitOptions {
        seed: 42,
        record_loss,
        ..FitOptions::default()
    };
    let model = Bpr::fit_watched(
        &params,
        &data,
        &options,
        Some(&|done, model: &dyn Fn() -> Bpr| {
            timer
                .after_iteration(done, &Model::Bpr(model()))
                .is_continue()
        }),
    )?;
    let secs = timer.start.elapsed().as_secs_f64();
    println!(
        "bpr fit: {} threads, {} blocks, {:?} negatives, {} factors, {} epochs: {secs:.2} s ({:.3} s/epoch); item factors {} × {}",
        rayon::current_num_threads(),
        blocks,
        params.params().negative_sampling,
        params.params().factors,
        params.params().iterations,
        secs / params.params().iterations as f64,
        model.item_factors().rows(),
        model.item_factors().dim()
    );
    if let Some(dir) = run {
        let n = number("--n", 50)?;
        let test: TestSet = serde_json::from_slice(&std::fs::read(dir.join("test_set.json"))?)?;
        let start = Instant::now();
        let recs = recommend(&model, &matrix, test.users(), &RecommendRequest::top(n))?;
        let mut out = match text("--recs") {
            Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
            None => None,
        };
        let (mut recall, mut counted) = (0.0f64, 0usize);
        for (user, list) in test.iter().zip(recs.iter()) {
            if let Some(out) = out.as_mut() {
                for (rank, item) in list.items.iter().enumerate() {
                    writeln!(out, "{},{},{}", list.user.0, rank + 1, item.0)?;
                }
            }
            if user.targets.is_empty() {
                continue;
            }
            let hits = list
                .items
                .iter()
                .filter(|i| user.targets.binary_search(i).is_ok())
                .count();
            recall += hits as f64 / user.targets.len().min(n) as f64;
            counted += 1;
        }
        println!(
            "recommend {} users in {:.2} s; Recall@{n} {:.4} over {counted} users with targets",
            test.len(),
            start.elapsed().as_secs_f64(),
            recall / counted.max(1) as f64
        );
    }
    Ok(())
}

/// Users with heavy-tailed activity, items with a strong head at low ids.
fn synthetic(
    users: usize,
    items: usize,
    draws: usize,
) -> Result<UserItemMatrix, clickrec_core::MatrixError> {
    let mut rng = SplitMix64::new(2024);
    let weights: Vec<f64> = (0..users).map(|_| 1.0 / (0.02 + rng.next_f64())).collect();
    let mut cumulative = Vec::with_capacity(users);
    let mut acc = 0.0;
    for w in &weights {
        acc += w;
        cumulative.push(acc);
    }
    let triples = (0..draws).map(|_| {
        let x = rng.next_f64() * acc;
        let u = cumulative.partition_point(|&c| c < x).min(users - 1);
        let i = ((rng.next_f64().powi(3)) * items as f64) as usize;
        (UserId(u as u32), ItemId(i.min(items - 1) as u32), 1.0f32)
    });
    UserItemMatrix::from_triples(users, items, triples)
}
