//! Times an implicit-ALS fit on a synthetic click matrix shaped like the benchmark data:
//! 100k users × 50k items, about 4.8M pairs, power-law item popularity, 64 factors,
//! 15 iterations.
//!
//! ```text
//! cargo run --release -p clickrec-models --example als_fit [-- USERS ITEMS PAIRS_PER_USER ITERATIONS]
//! ```
//! The thread count follows rayon (`RAYON_NUM_THREADS`, default all cores). `ALS_LOSS=1`
//! also records the training loss; `ALS_WRITE_MATRIX=PATH` writes the matrix in the
//! clickrec CSR format, e.g. to time Python `implicit` on the same data.

use std::sync::Mutex;
use std::time::Instant;

use clickrec_core::SplitMix64;
use clickrec_core::{EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_models::als::{Als, AlsParams};
use clickrec_models::{FitMonitor, FitOptions, Model, TrainData};

/// Uniform in `(0, 1]`.
fn unit(rng: &mut SplitMix64) -> f64 {
    1.0 - rng.next_f64()
}

/// Prints the time (and loss) of each iteration.
struct Timer(Mutex<Instant>);

impl FitMonitor for Timer {
    fn after_iteration(&self, done: usize, model: &Model) -> std::ops::ControlFlow<()> {
        if let Ok(mut last) = self.0.lock() {
            let loss = model
                .training_loss()
                .last()
                .map(|l| format!(", loss {l:.6}"))
                .unwrap_or_default();
            eprintln!(
                "iteration {done}: {:.3} s{loss}",
                last.elapsed().as_secs_f64()
            );
            *last = Instant::now();
        }
        std::ops::ControlFlow::Continue(())
    }
}

fn arg(k: usize, default: usize) -> usize {
    std::env::args()
        .nth(k)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n_users = arg(1, 100_000);
    let n_items = arg(2, 50_000);
    let per_user = arg(3, 49) as f64;
    let iterations = arg(4, 15);
    let record_loss = std::env::var_os("ALS_LOSS").is_some();

    let start = Instant::now();
    let mut rng = SplitMix64::new(0x1234_5678_9ABC_DEF1);
    let mut triples = Vec::new();
    for u in 0..n_users {
        // Exponentially distributed activity with the given mean, at least one pair.
        let n = 1 + (-unit(&mut rng).ln() * (per_user - 1.0)) as usize;
        for _ in 0..n {
            // Popularity rank with P(rank < k) = sqrt(k / n_items): a power law; ranks are
            // scattered over the id space as real ids are.
            let rank = ((unit(&mut rng) * unit(&mut rng).sqrt()).min(1.0).powi(2) * n_items as f64)
                as usize;
            let rank = rank.min(n_items - 1);
            let item = (rank * 7919 + 13) % n_items;
            let weight = match rng.next_u64() % 20 {
                0 => 4.0,
                1 => 3.0,
                2 | 3 => 2.0,
                _ => 1.0,
            };
            triples.push((UserId(u as u32), ItemId(item as u32), weight));
        }
    }
    let matrix = UserItemMatrix::from_triples(n_users, n_items, triples)?;
    if let Some(path) = std::env::var_os("ALS_WRITE_MATRIX") {
        // The same matrix for a peer (bench/peers reads this CSR format).
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        matrix.write_to(&mut out)?;
    }
    let item_users = matrix.transpose();
    let log = EventLog::default();
    eprintln!(
        "matrix: {n_users} users × {n_items} items, {} pairs, built in {:.2} s",
        matrix.nnz(),
        start.elapsed().as_secs_f64()
    );

    let params = AlsParams {
        factors: 64,
        iterations,
        ..AlsParams::default()
    }
    .check()?;
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: [1.0, 2.0, 3.0, 4.0],
        sessions: None,
    };
    let timer = Timer(Mutex::new(Instant::now()));
    let options = FitOptions {
        seed: 42,
        record_loss,
        ..FitOptions::default()
    };
    let start = Instant::now();
    let model = Als::fit_watched(
        &params,
        &data,
        &options,
        Some(&|done, model: &dyn Fn() -> Als| {
            timer
                .after_iteration(done, &Model::Als(model()))
                .is_continue()
        }),
    )?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ALS fit: {} factors × {iterations} iterations on {} threads: {secs:.2} s total, {:.3} s per iteration",
        model.user_factors().dim(),
        rayon::current_num_threads(),
        secs / iterations as f64
    );
    Ok(())
}
