//! Times writing top-50 lists for 100,000 users (5,000,000 rows of `user_id, rank,
//! item_id, score`, string ids as in a run's id maps) to Parquet:
//! [`clickrec_io::RecsWriter`] (the parquet crate, dictionary arrays over the id maps,
//! columns encoded in parallel) against polars' batched writer (which it used before) and
//! the parquet crate's Arrow writer fed string arrays, with and without dictionaries, LZ4
//! and statistics. Two shapes of lists: "popular" (nearly the same 100 items for
//! everyone, as popularity's) and "spread" (items drawn uniformly from 50,000, scores all
//! distinct, as a personal model's). Each writer is timed from the dense ids to the closed
//! file, then the file is read back with polars.
//!
//! ```sh
//! cargo run --release -p clickrec-io --example recs_encoders
//! ```

use std::sync::Arc;
use std::time::Instant;

use clickrec_core::{IdMap, IdMaps, ItemId, SplitMix64, UserId};
use clickrec_io::RecsWriter;
use clickrec_recommend::Recommendations;

use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray, UInt32Array};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use polars::prelude::*;

const USERS: usize = 100_000;
const N: usize = 50;
const ITEMS: usize = 50_000;
const BATCH: usize = 1 << 18;

/// Lists in dense ids, one row per (user, rank).
struct Rows {
    users: Vec<u32>,
    items: Vec<u32>,
    ranks: Vec<u32>,
    scores: Vec<f32>,
}

fn rows(spread: bool) -> Rows {
    let mut rng = SplitMix64::new(1);
    let mut r = Rows {
        users: Vec::new(),
        items: Vec::new(),
        ranks: Vec::new(),
        scores: Vec::new(),
    };
    // No item twice in one list, as in real lists.
    for u in 0..USERS as u32 {
        let start = r.items.len();
        for k in 0..N as u32 {
            r.users.push(u);
            r.ranks.push(k + 1);
            if spread {
                let item = loop {
                    let item = rng.below(ITEMS) as u32;
                    if !r.items[start..].contains(&item) {
                        break item;
                    }
                };
                r.items.push(item);
                r.scores.push(rng.next_f32());
            } else {
                r.items.push(2 * k + rng.below(2) as u32);
                r.scores.push(1000.0 - k as f32);
            }
        }
    }
    r
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let user_ids: Vec<String> = (0..USERS)
        .map(|u| (1_000_000 + u * 7).to_string())
        .collect();
    let item_ids: Vec<String> = (0..ITEMS)
        .map(|i| (2_000_000 + i * 13).to_string())
        .collect();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("recs.parquet");
    for spread in [false, true] {
        let r = rows(spread);
        let total = r.users.len();
        println!(
            "{} lists, {total} rows:",
            if spread { "spread" } else { "popular" }
        );
        let batches = || (0..total).step_by(BATCH).map(|s| s..(s + BATCH).min(total));

        let ids = IdMaps {
            users: IdMap::from_externals(&user_ids)?,
            items: IdMap::from_externals(&item_ids)?,
            categories: IdMap::default(),
        };
        // Blocks of 1,024 users, as the recommend stage hands them out.
        let mut blocks = Vec::new();
        for users in (0..USERS).collect::<Vec<_>>().chunks(1024) {
            let mut block = Recommendations::new();
            for &u in users {
                let rows = u * N..(u + 1) * N;
                let items = r.items[rows.clone()].iter().map(|&i| ItemId(i));
                block.push(UserId(u as u32), items.zip(r.scores[rows].iter().copied()))?;
            }
            blocks.push(block);
        }
        let started = Instant::now();
        let mut writer = RecsWriter::create(&path, &ids)?;
        for block in &blocks {
            writer.write(block)?;
        }
        writer.finish()?;
        report("RecsWriter", started, &path)?;

        let started = Instant::now();
        let frame = |range: std::ops::Range<usize>| {
            let users: Vec<&str> = r.users[range.clone()]
                .iter()
                .map(|&u| user_ids[u as usize].as_str())
                .collect();
            let items: Vec<&str> = r.items[range.clone()]
                .iter()
                .map(|&i| item_ids[i as usize].as_str())
                .collect();
            DataFrame::new(
                range.len(),
                vec![
                    Column::new("user_id".into(), users.as_slice()),
                    Column::new("rank".into(), &r.ranks[range.clone()]),
                    Column::new("item_id".into(), items.as_slice()),
                    Column::new("score".into(), &r.scores[range]),
                ],
            )
        };
        let mut writer = ParquetWriter::new(std::fs::File::create(&path)?)
            .with_compression(ParquetCompression::Lz4Raw)
            .batched(frame(0..1)?.schema())?;
        for range in batches() {
            writer.write_batch(&frame(range)?)?;
        }
        writer.finish()?;
        report("polars, LZ4", started, &path)?;

        for (name, dictionary, compression, statistics) in [
            (
                "arrow, dictionary, LZ4",
                true,
                Compression::LZ4_RAW,
                EnabledStatistics::Chunk,
            ),
            (
                "arrow, dictionary, LZ4, no statistics",
                true,
                Compression::LZ4_RAW,
                EnabledStatistics::None,
            ),
            (
                "arrow, dictionary, uncompressed",
                true,
                Compression::UNCOMPRESSED,
                EnabledStatistics::Chunk,
            ),
            (
                "arrow, plain, LZ4",
                false,
                Compression::LZ4_RAW,
                EnabledStatistics::Chunk,
            ),
            (
                "arrow, plain, uncompressed, no statistics",
                false,
                Compression::UNCOMPRESSED,
                EnabledStatistics::None,
            ),
        ] {
            let started = Instant::now();
            let batch = |range: std::ops::Range<usize>| {
                let users = StringArray::from_iter_values(
                    r.users[range.clone()]
                        .iter()
                        .map(|&u| &user_ids[u as usize]),
                );
                let items = StringArray::from_iter_values(
                    r.items[range.clone()]
                        .iter()
                        .map(|&i| &item_ids[i as usize]),
                );
                RecordBatch::try_from_iter([
                    ("user_id", Arc::new(users) as ArrayRef),
                    (
                        "rank",
                        Arc::new(UInt32Array::from(r.ranks[range.clone()].to_vec())),
                    ),
                    ("item_id", Arc::new(items)),
                    (
                        "score",
                        Arc::new(Float32Array::from(r.scores[range].to_vec())),
                    ),
                ])
            };
            let properties = WriterProperties::builder()
                .set_dictionary_enabled(dictionary)
                .set_compression(compression)
                .set_statistics_enabled(statistics)
                .build();
            let mut writer = ArrowWriter::try_new(
                std::fs::File::create(&path)?,
                batch(0..1)?.schema(),
                Some(properties),
            )?;
            for range in batches() {
                writer.write(&batch(range)?)?;
            }
            writer.close()?;
            report(name, started, &path)?;
        }
    }
    Ok(())
}

/// Prints the time since `started`, the file's size and the column types polars reads.
fn report(
    name: &str,
    started: Instant,
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let seconds = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(path)?.len();
    let back = ParquetReader::new(std::fs::File::open(path)?).finish()?;
    println!(
        "  {name:<42} {seconds:6.3} s  {:6.1} MB  polars reads {:?}",
        bytes as f64 / 1e6,
        back.dtypes()
    );
    Ok(())
}
