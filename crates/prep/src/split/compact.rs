//! [`SplitOutput::compact_items`]: the item id space of everything after the split.
//!
//! The learned filters (k-core above all) remove most items of a large log, but the ids
//! of the input stay dense over all of them. Renumbering once, here, lets every later
//! stage (matrix, models, recommend, evaluate, session models, re-ranker, segments) work
//! in a space with no item that has nothing to say, without a column map of its own.

use clickrec_core::ItemId;
use serde::Serialize;

use crate::split::algorithm::SplitOutput;

/// The compacted item space: new id `k` is the input's item `kept[k]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactItems {
    /// The input's ids of the kept items, increasing.
    pub kept: Vec<ItemId>,
    pub report: CompactItemsReport,
}

/// Sizes of the item space before and after compaction, for `split.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CompactItemsReport {
    /// Items of the input's id space.
    pub input_items: u64,
    /// Items kept: those with a train event or a held-out event.
    pub kept_items: u64,
    /// Kept items with held-out events only (never trained on, never recommended; kept
    /// so the held-out sessions stay whole for the next-item protocol).
    pub held_out_only_items: u64,
}

impl std::fmt::Display for CompactItemsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "item ids compacted: {} of the input's {} items kept ({} only in held-out events)",
            self.kept_items, self.input_items, self.held_out_only_items
        )
    }
}

impl SplitOutput {
    /// Renumbers the items of every part (train, held-out events, targets, validation)
    /// to `0..kept`, where kept are the items with a train or held-out event, in the
    /// order of their input ids: a tie broken by lower item id is broken the same way
    /// before and after. `input_items` is the size of the input's item space. The
    /// validation parts are inside train, so they need no item of their own.
    pub fn compact_items(&mut self, input_items: usize) -> CompactItems {
        let bound = [&self.train, &self.test_events]
            .iter()
            .flat_map(|log| log.items().iter().map(|i| i.0 as usize + 1))
            .max()
            .unwrap_or(0)
            .max(input_items);
        const TRAIN: u8 = 1;
        const HELD_OUT: u8 = 2;
        let mut presence = vec![0u8; bound];
        for item in self.train.items() {
            presence[item.0 as usize] |= TRAIN;
        }
        for item in self.test_events.items() {
            presence[item.0 as usize] |= HELD_OUT;
        }
        let mut new_id = vec![u32::MAX; bound];
        let mut kept = Vec::new();
        let mut held_out_only = 0u64;
        for (old, &p) in presence.iter().enumerate() {
            if p != 0 {
                new_id[old] = kept.len() as u32;
                kept.push(ItemId(old as u32));
                held_out_only += u64::from(p == HELD_OUT);
            }
        }
        let rename = |item: ItemId| ItemId(new_id[item.0 as usize]);
        self.train.rename_items(rename);
        self.test_events.rename_items(rename);
        self.test.rename_items(rename);
        if let Some(v) = &mut self.validation {
            v.train.rename_items(rename);
            v.test_events.rename_items(rename);
            v.test.rename_items(rename);
        }
        let report = CompactItemsReport {
            input_items: bound as u64,
            kept_items: kept.len() as u64,
            held_out_only_items: held_out_only,
        };
        self.report.items = Some(report);
        CompactItems { kept, report }
    }
}
