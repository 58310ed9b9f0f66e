//! Behaviour-weighted event counts per group of users (a segment, or everyone), shared by
//! the summary and the segment-popular recommender.

use std::ops::Range;

use clickrec_core::{CategoryId, EventLog, ItemId};
use rayon::prelude::*;

use crate::Segmentation;
use crate::vectors::id_space;

/// Row ranges of each segment's members in `log` (users outside the segmentation, or
/// without a segment, belong to none).
pub(crate) fn segment_rows(seg: &Segmentation, log: &EventLog) -> Vec<Vec<Range<usize>>> {
    let mut groups = vec![Vec::new(); seg.k];
    for (user, range) in log.user_rows() {
        if let Some(s) = seg.segment_of(user)
            && let Some(group) = groups.get_mut(s as usize)
        {
            group.push(range);
        }
    }
    groups
}

fn weight(log: &EventLog, behavior_weights: &[f32; 4], row: usize) -> f64 {
    f64::from(log.event_weight(row, behavior_weights))
}

/// Per group, the `keep` items with the highest positive weighted count (ties → lower
/// item id), best first. Items at or beyond `n_items` are ignored. Each group is summed
/// alone in row order, so the result does not depend on the thread count.
pub(crate) fn top_items(
    groups: &[Vec<Range<usize>>],
    log: &EventLog,
    behavior_weights: [f32; 4],
    n_items: usize,
    keep: usize,
) -> Vec<Vec<(ItemId, f32)>> {
    groups
        .par_iter()
        .map_init(
            || (vec![0f64; n_items], vec![false; n_items], Vec::new()),
            |(acc, marked, touched), ranges| {
                for row in ranges.iter().flat_map(|r| r.clone()) {
                    let item = log.items()[row].0 as usize;
                    if item >= n_items {
                        continue;
                    }
                    if !marked[item] {
                        marked[item] = true;
                        touched.push(item as u32);
                    }
                    acc[item] += weight(log, &behavior_weights, row);
                }
                let mut ranked: Vec<(ItemId, f64)> = touched
                    .iter()
                    .map(|&i| (ItemId(i), acc[i as usize]))
                    .filter(|&(_, w)| w > 0.0)
                    .collect();
                for &i in touched.iter() {
                    acc[i as usize] = 0.0;
                    marked[i as usize] = false;
                }
                touched.clear();
                best_first(&mut ranked, keep);
                ranked.into_iter().map(|(i, w)| (i, w as f32)).collect()
            },
        )
        .collect()
}

/// Per group, the `keep` categories with the largest share of the group's weighted
/// events (ties → lower id), best first.
pub(crate) fn top_categories(
    groups: &[Vec<Range<usize>>],
    log: &EventLog,
    behavior_weights: [f32; 4],
    keep: usize,
) -> Vec<Vec<(CategoryId, f64)>> {
    let n_categories = id_space(log.categories().iter().map(|c| c.0));
    groups
        .par_iter()
        .map(|ranges| {
            let mut acc = vec![0f64; n_categories];
            for row in ranges.iter().flat_map(|r| r.clone()) {
                acc[log.categories()[row].0 as usize] += weight(log, &behavior_weights, row);
            }
            let total: f64 = acc.iter().sum();
            let mut ranked: Vec<(CategoryId, f64)> = acc
                .iter()
                .enumerate()
                .filter(|&(_, &w)| w > 0.0)
                .map(|(c, &w)| (CategoryId(c as u32), w / total))
                .collect();
            best_first(&mut ranked, keep);
            ranked
        })
        .collect()
}

/// Keeps the best `keep` entries, highest value first, ties by lower id.
fn best_first<I: Ord + Copy>(entries: &mut Vec<(I, f64)>, keep: usize) {
    clickrec_recommend::keep_best(entries, keep, |a, b| {
        b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
    });
}
