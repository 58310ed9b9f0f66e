//! Writes a synthetic Taobao-format click log, for benchmarks until `clickrec generate`
//! exists.
//!
//! ```text
//! cargo run --release -p clickrec-synth --example generate -- USERS ITEMS EVENTS SEED OUT
//! cargo run --release -p clickrec-synth --example generate -- 1000 2000 60000 42 data/sample.csv
//! ```
//!
//! OUT `-` writes to stdout. Shape knobs may follow as `NAME=VALUE` (the names of the
//! `GeneratorParams` setters, e.g. `item_zipf=0.8 categories=9439`); the others keep their
//! defaults. Progress and a summary go to stderr.

use std::io::Write;
use std::time::Instant;

use clickrec_synth::{BEHAVIORS, GeneratorParams, generate};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        let mut source = e.source();
        while let Some(s) = source {
            eprintln!("  caused by: {s}");
            source = s.source();
        }
        std::process::exit(1);
    }
}

use std::error::Error;

fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [users, items, events, seed, out, knobs @ ..] = args.as_slice() else {
        return Err("usage: generate USERS ITEMS EVENTS SEED OUT [NAME=VALUE ...]".into());
    };
    let mut params = GeneratorParams::default()
        .users(users.parse().map_err(|e| format!("USERS {users:?}: {e}"))?)
        .items(items.parse().map_err(|e| format!("ITEMS {items:?}: {e}"))?)
        .events(
            events
                .parse()
                .map_err(|e| format!("EVENTS {events:?}: {e}"))?,
        )
        .seed(seed.parse().map_err(|e| format!("SEED {seed:?}: {e}"))?);
    for knob in knobs {
        params = set_knob(params, knob)?;
    }
    let params = params.check()?;
    let started = Instant::now();
    let progress = Every20th {
        started,
        next: std::sync::atomic::AtomicU64::new(0),
        total: std::sync::atomic::AtomicU64::new(0),
    };
    let summary = if out == "-" {
        let stdout = std::io::stdout().lock();
        generate(&params, stdout, &progress)?
    } else {
        let file = std::fs::File::create(out).map_err(|e| format!("creating {out}: {e}"))?;
        let s = generate(&params, file, &progress)?;
        std::io::stderr().flush()?;
        s
    };
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} rows, {} users, {} distinct items in {secs:.2} s ({:.2} M rows/s); timestamps {}..={}",
        summary.rows,
        summary.users,
        summary.distinct_items,
        summary.rows as f64 / secs / 1e6,
        summary.first_ts,
        summary.last_ts
    );
    for (name, n) in BEHAVIORS.iter().zip(summary.behavior_counts) {
        eprintln!(
            "  {name}: {n} ({:.1} %)",
            100.0 * n as f64 / summary.rows as f64
        );
    }
    Ok(())
}

/// Applies one `NAME=VALUE` shape knob.
fn set_knob(p: GeneratorParams, knob: &str) -> Result<GeneratorParams, Box<dyn Error>> {
    let (name, value) = knob
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {knob:?}"))?;
    let bad = |e: &dyn std::fmt::Display| format!("{name}={value}: {e}");
    let f = || value.parse::<f64>().map_err(|e| bad(&e));
    let n = || value.parse::<u32>().map_err(|e| bad(&e));
    Ok(match name {
        "categories" => p.categories(n()?),
        "taste_groups" => p.taste_groups(n()?),
        "group_categories" => p.group_categories(n()?),
        "days" => p.days(n()?),
        "start" => p.start(value.parse().map_err(|e| bad(&e))?),
        "activity_sigma" => p.activity_sigma(f()?),
        "category_zipf" => p.category_zipf(f()?),
        "item_zipf" => p.item_zipf(f()?),
        "interest_zipf" => p.interest_zipf(f()?),
        "single_session_share" => p.single_session_share(f()?),
        "group_item_fraction" => p.group_item_fraction(f()?),
        "taste_share" => p.taste_share(f()?),
        "stray_interest" => p.stray_interest(f()?),
        "global_session_share" => p.global_session_share(f()?),
        "interest_scale" => p.interest_scale(f()?),
        "category_switch" => p.category_switch(f()?),
        "revisit_session" => p.revisit_session(f()?),
        "revisit_history" => p.revisit_history(f()?),
        "session_scale" => p.session_scale(f()?),
        "session_exponent" => p.session_exponent(f()?),
        "session_len_sigma" => p.session_len_sigma(f()?),
        "gap_median" => p.gap_median(f()?),
        "gap_sigma" => p.gap_sigma(f()?),
        "act_on_viewed" => p.act_on_viewed(f()?),
        "fav_share" => p.fav_share(f()?),
        "cart_share" => p.cart_share(f()?),
        "buy_share" => p.buy_share(f()?),
        "intent_sigma" => p.intent_sigma(f()?),
        _ => return Err(format!("unknown knob {name:?}").into()),
    })
}

/// Reports on stderr each time another twentieth of the rows is written.
struct Every20th {
    started: Instant,
    next: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl clickrec_core::Progress for Every20th {
    fn start(&self, total: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.total.store(total, Relaxed);
        self.next.store((total / 20).max(1), Relaxed);
    }

    fn advance_to(&self, rows: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let total = self.total.load(Relaxed);
        if rows >= self.next.load(Relaxed) {
            self.next.store(rows + (total / 20).max(1), Relaxed);
            eprintln!(
                "{rows} / {total} rows, {:.1} s",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    fn finish(&self) {}
}
