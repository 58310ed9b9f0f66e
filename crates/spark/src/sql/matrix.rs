//! The weighted user-item pairs of train, as [`clickrec_prep::build_matrix`] sums them:
//! `weight(behaviour) × 0.5^((t_ref − t) / half_life)` in f64 per (user, item), t_ref the
//! last train time, optionally `ln(1 + sum)`, stored as f32.

use clickrec_core::Behavior;
use clickrec_prep::CheckedWeights;

use super::split::TRAIN;
use super::{StageSql, Tables};

/// A weight as an exact Spark double (Rust prints the shortest text that reads back as
/// the same f64).
fn double(w: f64) -> String {
    format!("CAST('{w:?}' AS DOUBLE)")
}

/// The statements that make the table `pairs` (`user, item, weight`, sharded by user)
/// from the train rows of `split`.
pub fn matrix_sql(tables: &Tables, weights: &CheckedWeights) -> StageSql {
    let split = tables.read("split");
    let base = format!(
        "CASE behavior {} END",
        Behavior::ALL
            .iter()
            .map(|&b| format!("WHEN {} THEN {}", b.code(), double(weights.weight(b))))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let event_weight = match weights.half_life_s() {
        Some(h) => format!(
            "base * power(2D, -(CAST(t_ref - ts AS DOUBLE)) / {})",
            double(h)
        ),
        None => "base".to_owned(),
    };
    let sum = if weights.log_scale() {
        "log1p(sum(w))"
    } else {
        "sum(w)"
    };
    let select = format!(
        "WITH t AS (\n\
         \x20 SELECT user, item, ts, {base} AS base, t_ref\n\
         \x20 FROM {split} CROSS JOIN (SELECT max(ts) AS t_ref FROM {split} WHERE part = {TRAIN}) WHERE part = {TRAIN}\n\
         ), e AS (\n\
         \x20 SELECT user, item, {event_weight} AS w FROM t WHERE base > 0\n\
         )\n\
         SELECT user, item, CAST({sum} AS FLOAT) AS weight, {shard} FROM e GROUP BY user, item",
        shard = tables.shard("user"),
    );
    StageSql {
        statements: tables.create("pairs", true, &select).to_vec(),
    }
}
