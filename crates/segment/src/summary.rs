//! What each segment is about: its size, top categories and top items.

use clickrec_core::{CategoryId, EventLog, ItemId};
use serde::{Deserialize, Serialize};

use crate::Segmentation;
use crate::counts::{segment_rows, top_categories, top_items};
use crate::vectors::id_space;

/// One segment of a [`SegmentSummary`]. Ids are dense; the pipeline maps them back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub id: u32,
    /// Users in the segment.
    pub size: usize,
    /// Category → share of the segment's behaviour-weighted events, largest first.
    pub top_categories: Vec<(CategoryId, f64)>,
    /// Item → behaviour-weighted events of the segment's users, largest first.
    pub top_items: Vec<(ItemId, f32)>,
}

/// A readable account of a segmentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub k: usize,
    pub inertia: f64,
    /// `(k, inertia)` for each `segment.sweep` value.
    pub sweep: Vec<(usize, f64)>,
    pub users_without_vector: usize,
    pub segments: Vec<SegmentInfo>,
}

/// Summarises `seg` over the events of `log` (normally the train log the vectors came
/// from): per segment, the `top_n` categories and items by behaviour-weighted events
/// (ties → lower id). `behavior_weights` is indexed by `Behavior::code()`.
pub fn summarize(
    seg: &Segmentation,
    log: &EventLog,
    behavior_weights: [f32; 4],
    top_n: usize,
    sweep: Vec<(usize, f64)>,
) -> SegmentSummary {
    let groups = segment_rows(seg, log);
    let n_items = id_space(log.items().iter().map(|i| i.0));
    let items = top_items(&groups, log, behavior_weights, n_items, top_n);
    let categories = top_categories(&groups, log, behavior_weights, top_n);
    let segments = seg
        .sizes()
        .into_iter()
        .zip(items)
        .zip(categories)
        .enumerate()
        .map(|(id, ((size, top_items), top_categories))| SegmentInfo {
            id: id as u32,
            size,
            top_categories,
            top_items,
        })
        .collect();
    SegmentSummary {
        k: seg.k,
        inertia: seg.inertia,
        sweep,
        users_without_vector: seg.users_without_vector(),
        segments,
    }
}
