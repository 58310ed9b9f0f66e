//! Times prep + split + matrix on a generated Taobao-shaped log held in memory.
//!
//! ```text
//! cargo run --release -p clickrec-prep --example prep_bench -- 100000000 [--steps]
//! ```
//! Prints wall time per stage and the peak RSS of the process (VmHWM). The log is made
//! here, not read from disk, so the numbers cover exactly the work from an ingested
//! `EventLog` to the CSR matrix (dedup with a 30 s repeat window, outlier users, 5-core,
//! sessions, last-session split, decayed log-scaled weights, matrix and transpose).
//! `--steps` times the cleaning steps one by one instead.
//!
//! Measured on the 2-core, 24 GiB development VM (Xeon @ 2.5 GHz), shared with other
//! builds, release profile: 100M events (1.0M users, 4M items) → 62M-entry CSR +
//! transpose in 21 s, peak RSS 4.6 GiB including the 2.0 GiB generated log; 10M events
//! in about 2 s.

use std::time::Instant;

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId};
use clickrec_prep::{PrepConfig, SplitConfig, build_matrix, prepare, split};

/// About `events` events: users with exponentially distributed activity (mean 100),
/// sessions of short gaps separated by hours, Zipf-like item popularity, repeat views.
fn generate(events: usize) -> EventLog {
    let n_items = (events / 25).max(10) as u64;
    let mut rng = clickrec_core::SplitMix64::new(42);
    let (mut users, mut items, mut cats, mut behaviors, mut times) = (
        Vec::with_capacity(events),
        Vec::with_capacity(events),
        Vec::with_capacity(events),
        Vec::with_capacity(events),
        Vec::with_capacity(events),
    );
    let start = 1_511_539_200i64;
    let mut user = 0u32;
    while users.len() < events {
        let n = (1.0 - 99.0 * rng.next_f64().max(1e-12).ln()) as usize;
        let n = n.min(events - users.len());
        let mut t = start + (rng.next_u64() % (9 * 86_400)) as i64 / 4;
        let mut item = 0u64;
        for _ in 0..n {
            t += if rng.next_f64() < 0.08 {
                3_600 + (rng.next_u64() % 40_000) as i64
            } else {
                (rng.next_u64() % 120) as i64
            };
            if item == 0 || rng.next_f64() > 0.3 {
                item = (n_items as f64 * rng.next_f64().powi(3)) as u64;
            }
            let b = rng.next_f64();
            let behavior = if b < 0.895 {
                Behavior::Pv
            } else if b < 0.925 {
                Behavior::Fav
            } else if b < 0.98 {
                Behavior::Cart
            } else {
                Behavior::Buy
            };
            users.push(UserId(user));
            items.push(ItemId(item as u32));
            cats.push(CategoryId((item % 9_000) as u32));
            behaviors.push(behavior);
            times.push(t);
        }
        user += 1;
    }
    EventLog::from_columns(users, items, cats, behaviors, times).expect("equal columns")
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps = args.iter().any(|a| a == "--steps");
    let events: usize = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|a| a.replace('_', "").parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let t = Instant::now();
    let log = generate(events);
    let n_users = log.users().last().map_or(0, |u| u.0 as usize + 1);
    let n_items = log
        .items()
        .iter()
        .map(|i| i.0 as usize + 1)
        .max()
        .unwrap_or(0);
    println!(
        "generated {} events, {n_users} users, {n_items} item ids in {:.1?} (peak RSS {} MiB)",
        log.len(),
        t.elapsed(),
        peak_rss_mib()
    );

    let prep: PrepConfig = toml::from_str(
        "[dedup]\nrepeat_window_s = 30\n[outlier_users]\nmax_events_per_day = 3000\n\
         [kcore]\nmin_items_per_user = 5\nmin_users_per_item = 5\n\
         [weights]\nhalf_life_s = 604800\nlog_scale = true\n",
    )?;
    let prep = prep.check()?;
    let split_config = SplitConfig::default().check()?;

    if steps {
        use clickrec_prep::{LogStats, dedup, k_core, remove_outlier_users, sessionize};
        let t = Instant::now();
        let (log, _) = dedup(log, prep.dedup().expect("on"));
        println!("dedup {:.1?}", t.elapsed());
        let t = Instant::now();
        let (log, _) = remove_outlier_users(log, prep.outlier_users().expect("on"));
        println!("outliers {:.1?}", t.elapsed());
        let t = Instant::now();
        let (log, _) = k_core(log, prep.kcore().expect("on"));
        println!("kcore {:.1?}", t.elapsed());
        let t = Instant::now();
        let _ = LogStats::of(&log);
        println!("stats {:.1?}", t.elapsed());
        let t = Instant::now();
        let _ = sessionize(&log, prep.session_gap_s())?;
        println!("sessionize {:.1?}", t.elapsed());
        return Ok(());
    }
    let total = Instant::now();
    let t = Instant::now();
    let prepared = prepare(log, &prep)?;
    println!("prepare: {:.1?}\n{}", t.elapsed(), prepared.report);

    let t = Instant::now();
    let filters = prep.train_filters();
    let out = split(&prepared.log, &prepared.sessions, &split_config, &filters)?;
    println!(
        "split (with the learned filters on train): {:.1?}\n{}",
        t.elapsed(),
        out.report
    );
    drop(prepared);

    let t = Instant::now();
    let matrix = build_matrix(&out.train, n_users, n_items, prep.weights())?;
    println!("matrix: {:.1?}, nnz {}", t.elapsed(), matrix.nnz());
    let t = Instant::now();
    let transpose = matrix.transpose();
    println!("transpose: {:.1?}, nnz {}", t.elapsed(), transpose.nnz());
    println!(
        "log → CSR (+ transpose): {:.1?} with {} threads; peak RSS {} MiB",
        total.elapsed(),
        rayon::current_num_threads(),
        peak_rss_mib()
    );
    Ok(())
}
