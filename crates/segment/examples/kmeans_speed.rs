//! Times k-means on seeded clustered data: our `fit_segments` (linfa k-means++ seeding +
//! our Lloyd) and, for comparison, linfa-clustering's own `KMeans::fit`.
//!
//! ```text
//! cargo run --release -p clickrec-segment --example kmeans_speed -- USERS DIMS K [ours|linfa|both]
//! ```
//!
//! Data: K blobs, centres uniform in [0, 1)^DIMS, points = centre + uniform noise of
//! ±0.5, L2-normalised like real user vectors. Parameters are the `[segment]` defaults
//! (max 100 iterations, tolerance 1e-4), seed 42.

use std::time::Instant;

use clickrec_core::SplitMix64;
use clickrec_segment::{SegmentParams, UserVectors, fit_segments};
use linfa::DatasetBase;
use linfa::prelude::Fit;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::ArrayView2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(match args.get(i) {
            Some(a) => a.parse()?,
            None => default,
        })
    };
    let (users, dims, k) = (arg(0, 1_000_000)?, arg(1, 64)?, arg(2, 20)?);
    let mode = args.get(3).map(String::as_str).unwrap_or("both");
    println!(
        "users {users}, dims {dims}, k {k}, rayon threads {}",
        rayon::current_num_threads()
    );

    let started = Instant::now();
    let mut rng = SplitMix64::new(42);
    let centres: Vec<f32> = (0..k * dims).map(|_| rng.next_f32()).collect();
    let mut data = Vec::with_capacity(users * dims);
    for _ in 0..users {
        let c = (rng.next_u64() % k as u64) as usize;
        data.extend(
            centres[c * dims..(c + 1) * dims]
                .iter()
                .map(|&x| x + rng.next_f32() - 0.5),
        );
    }
    let vectors = UserVectors::from_factors(users, dims, &data);
    drop(data);
    println!("data: {:.2} s", started.elapsed().as_secs_f64());

    let params = SegmentParams {
        k,
        ..SegmentParams::default()
    };
    if mode == "ours" || mode == "both" {
        let checked = params.check()?;
        let started = Instant::now();
        let seg = fit_segments(&vectors, &checked, 42, None)?;
        println!(
            "fit_segments (linfa k-means++ seeding + our Lloyd): {:.2} s, {} iterations, inertia {:.4}",
            started.elapsed().as_secs_f64(),
            seg.iterations,
            seg.inertia
        );
    }
    if mode == "ours" || mode == "both" {
        // The seeding part alone, as `fit_segments` runs it (one linfa iteration).
        let records = ArrayView2::from_shape((users, dims), vectors.rows())?;
        let dataset = DatasetBase::from(records);
        let started = Instant::now();
        KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(42))
            .n_runs(1)
            .max_n_iterations(1)
            .tolerance(1.0)
            .init_method(KMeansInit::KMeansPlusPlus)
            .fit(&dataset)?;
        println!(
            "  of which linfa seeding (k-means++ and one linfa iteration), timed alone: {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    if mode == "linfa" || mode == "both" {
        let records = ArrayView2::from_shape((users, dims), vectors.rows())?;
        let dataset = DatasetBase::from(records);
        let started = Instant::now();
        let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(42))
            .n_runs(1)
            .max_n_iterations(params.max_iterations)
            .tolerance(params.tolerance as f32)
            .init_method(KMeansInit::KMeansPlusPlus)
            .fit(&dataset)?;
        println!(
            "linfa KMeans::fit (k-means++, n_runs 1): {:.2} s, inertia {:.4} (linfa's mean × users)",
            started.elapsed().as_secs_f64(),
            f64::from(model.inertia()) * users as f64
        );
    }
    Ok(())
}
