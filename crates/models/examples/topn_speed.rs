//! Times batch top-N for a factor model (random factors, so only the speed means anything)
//! and states it against the multiply-add count, the part no implementation can skip.
//!
//! ```text
//! cargo run --release -p clickrec-models --example topn_speed [-- USERS ITEMS FACTORS N]
//! ```
//! Defaults: 20,000 users × 341,000 items × 64 factors, top-50: the shape of the 100M-event
//! Taobao-size run (`bench/scale.sh 50`) for a slice of its users. The thread count
//! follows rayon (`RAYON_NUM_THREADS`).

use std::time::Instant;

use clickrec_core::{SplitMix64, UserId, UserItemMatrix};
use clickrec_models::Factors;
use clickrec_models::als::{Als, AlsParams};
use clickrec_recommend::{RecommendRequest, recommend};

fn arg(k: usize, default: usize) -> usize {
    std::env::args()
        .nth(k)
        .map(|a| a.parse().expect("arguments are whole numbers"))
        .unwrap_or(default)
}

fn random_factors(rows: usize, dim: usize, seed: u64) -> Factors {
    let mut rng = SplitMix64::new(seed);
    let data = (0..rows * dim).map(|_| rng.next_f32() - 0.5).collect();
    Factors::from_vec(rows, dim, data)
}

fn main() {
    let (users, items, dim, n) = (arg(1, 20_000), arg(2, 341_000), arg(3, 64), arg(4, 50));
    let params = AlsParams {
        factors: dim,
        ..AlsParams::default()
    };
    let model = Als::from_factors(
        params,
        random_factors(users, dim, 1),
        random_factors(items, dim, 2),
    )
    .expect("valid factors");
    let history = UserItemMatrix::from_triples(users, items, []).expect("empty history");
    let ids: Vec<UserId> = (0..users as u32).map(UserId).collect();
    let mut request = RecommendRequest::top(n);
    request.exclude_seen = false;
    let start = Instant::now();
    let recs = recommend(&model, &history, &ids, &request).expect("recommend");
    let secs = start.elapsed().as_secs_f64();
    let macs = users as f64 * items as f64 * dim as f64;
    println!(
        "{users} users × {items} items × {dim} factors, top-{n}: {secs:.2} s, {:.3} ms/user, \
         {:.1} GMAC/s ({} lists, {} threads)",
        secs * 1e3 / users as f64,
        macs / secs / 1e9,
        recs.len(),
        rayon::current_num_threads()
    );
}
