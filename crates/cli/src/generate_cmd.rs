//! `clickrec generate`: a synthetic Taobao-format click log.

use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use clickrec_io::AtomicFile;
use clickrec_synth::GeneratorParams;

use crate::failure::UsageError;
use crate::progress::Bar;

#[derive(Debug, Args)]
#[command(after_help = "\
Writes user_id,item_id,category_id,behavior_type,timestamp rows (no header), grouped by user
and in time order per user, over 9 days from 2017-11-25 (UTC+8), like Taobao UserBehavior.
The same arguments always give the same bytes.

Examples:
  clickrec generate --users 1000 --items 2000 --events 60000 --seed 42 --out data/sample.csv
  clickrec generate --users 100000 --items 50000 --events 10000000 --out /tmp/synth-10m.csv")]
pub struct GenerateArgs {
    /// Number of users (each gets at least one event).
    #[arg(long, default_value_t = 1_000)]
    pub users: u32,
    /// Number of items in the catalogue.
    #[arg(long, default_value_t = 2_000)]
    pub items: u32,
    /// Number of rows to write, exactly.
    #[arg(long, default_value_t = 60_000)]
    pub events: u64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file (Taobao format).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let params = GeneratorParams::default()
        .users(args.users)
        .items(args.items)
        .events(args.events)
        .seed(args.seed)
        .check()
        .map_err(|e| UsageError(format!("generate: {e}")))?;
    let file = AtomicFile::create(&args.out)?;
    let bar = Bar::new("generate", "rows");
    let started = std::time::Instant::now();
    let summary = clickrec_synth::generate(&params, BufWriter::new(file.file()), &bar)
        .with_context(|| format!("{}: generation failed", args.out.display()))?;
    file.commit()?;
    let [pv, fav, cart, buy] = summary.behavior_counts;
    eprintln!(
        "generated {}: {} rows, {} users, {} distinct items in {:.2} s; pv {pv} / fav {fav} / cart {cart} / buy {buy}",
        args.out.display(),
        summary.rows,
        summary.users,
        summary.distinct_items,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}
