//! Batch top-50 of a factor model through `clickrec_recommend::recommend` (packing, the fused
//! kernel, the threshold test and the heap): random factors, 64 of them, no history
//! filter. Throughput is in multiply-adds (users × items × factors), to set against the
//! FMA peak: 2 AVX2 FMA units × 8 lanes per core per cycle.
//!
//! `RAYON_NUM_THREADS` sets the threads (1 for one core, 2 for the benchmark machine).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use clickrec_core::{SplitMix64, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, FactorScores, RecommendRequest, Recommender, recommend};

const USERS: usize = 4096;
const ITEMS: usize = 50_000;
const DIM: usize = 64;
const N: usize = 50;

/// A dot-product model over random factors.
struct Random {
    users: Vec<f32>,
    items: Vec<f32>,
}

impl Recommender for Random {
    fn n_items(&self) -> usize {
        ITEMS
    }
    fn score_block(&self, _: &[UserId], _: &UserItemMatrix, _: &mut BlockScores) {
        unreachable!("scored through its factors")
    }
    fn needs_history(&self) -> bool {
        false
    }
    fn factors(&self) -> Option<FactorScores<'_>> {
        Some(FactorScores {
            dim: DIM,
            users: &self.users,
            items: &self.items,
        })
    }
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.next_f32() - 0.5).collect()
}

fn top_n(c: &mut Criterion) {
    let model = Random {
        users: values(USERS * DIM, 1),
        items: values(ITEMS * DIM, 2),
    };
    let history = UserItemMatrix::from_triples(USERS, ITEMS, []).expect("an empty history");
    let users: Vec<UserId> = (0..USERS as u32).map(UserId).collect();
    let mut request = RecommendRequest::top(N);
    request.exclude_seen = false;
    let mut group = c.benchmark_group("factor_top_n");
    group.sample_size(10);
    group.throughput(Throughput::Elements((USERS * ITEMS * DIM) as u64));
    group.bench_function(
        format!(
            "{USERS}x{ITEMS}x{DIM}_top{N}_{}threads",
            rayon::current_num_threads()
        ),
        |b| b.iter(|| recommend(&model, &history, &users, &request).expect("lists")),
    );
    group.finish();
}

criterion_group!(benches, top_n);
criterion_main!(benches);
