//! The segment-popular recommender: what a user's segment engages with most.

use clickrec_core::{EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender};
use serde::{Deserialize, Serialize};

use crate::Segmentation;
use crate::counts::{segment_rows, top_items};

/// Per segment, the most popular items among its members; users without a segment (no
/// vector, cold, or outside the fitted user range) get the global list.
///
/// Stored as JSON by the pipeline; loading checks that every list stays inside the item
/// space, so scoring can never index out of range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSegmentPopular")]
pub struct SegmentPopular {
    n_items: usize,
    /// Per user: their segment.
    assignment: Vec<Option<u32>>,
    /// Per segment: `(item, behaviour-weighted count)`, best first.
    segments: Vec<Vec<(ItemId, f32)>>,
    /// The same over all users of the log.
    global: Vec<(ItemId, f32)>,
}

/// [`SegmentPopular`] as read, before its checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegmentPopular {
    n_items: usize,
    assignment: Vec<Option<u32>>,
    segments: Vec<Vec<(ItemId, f32)>>,
    global: Vec<(ItemId, f32)>,
}

impl TryFrom<RawSegmentPopular> for SegmentPopular {
    type Error = String;

    fn try_from(raw: RawSegmentPopular) -> Result<Self, String> {
        let lists = raw.segments.iter().chain(std::iter::once(&raw.global));
        if let Some(&(item, _)) = lists.flatten().find(|(i, _)| i.0 as usize >= raw.n_items) {
            return Err(format!(
                "item {item} is outside the model's {} items",
                raw.n_items
            ));
        }
        if let Some(&s) = raw
            .assignment
            .iter()
            .flatten()
            .find(|&&s| s as usize >= raw.segments.len())
        {
            return Err(format!(
                "segment {s} is assigned but the model has {} segments",
                raw.segments.len()
            ));
        }
        Ok(SegmentPopular {
            n_items: raw.n_items,
            assignment: raw.assignment,
            segments: raw.segments,
            global: raw.global,
        })
    }
}

impl SegmentPopular {
    /// Per segment of `seg`, the `popular_items` items with the highest
    /// behaviour-weighted event count in `log` among its members (ties → lower item id;
    /// items with no positive weight are left out), plus the same list over all users.
    /// `behavior_weights` is indexed by `Behavior::code()`; items at or beyond `n_items`
    /// are ignored.
    pub fn fit(
        seg: &Segmentation,
        log: &EventLog,
        behavior_weights: [f32; 4],
        n_items: usize,
        popular_items: usize,
    ) -> SegmentPopular {
        let mut groups = segment_rows(seg, log);
        // The global list: every row of the log as one group.
        groups.push(std::iter::once(0..log.len()).collect());
        let mut lists = top_items(&groups, log, behavior_weights, n_items, popular_items);
        let global = lists.pop().unwrap_or_default();
        SegmentPopular {
            n_items,
            assignment: seg.assignment.clone(),
            segments: lists,
            global,
        }
    }

    /// The user's segment, if they have one.
    pub fn segment_of(&self, user: UserId) -> Option<u32> {
        self.assignment.get(user.0 as usize).copied().flatten()
    }

    /// The list the user is recommended from: their segment's, else the global one.
    pub fn list_for(&self, user: UserId) -> &[(ItemId, f32)] {
        self.segment_of(user)
            .and_then(|s| self.segments.get(s as usize))
            .unwrap_or(&self.global)
    }

    /// Segment `s`'s list, best first.
    pub fn segment_list(&self, s: u32) -> Option<&[(ItemId, f32)]> {
        self.segments.get(s as usize).map(Vec::as_slice)
    }

    /// The list over all users, best first.
    pub fn global(&self) -> &[(ItemId, f32)] {
        &self.global
    }

    /// Number of segments.
    pub fn k(&self) -> usize {
        self.segments.len()
    }
}

impl Recommender for SegmentPopular {
    /// Users without a segment get the global popular list: everyone is served.
    fn needs_history(&self) -> bool {
        false
    }

    fn n_items(&self) -> usize {
        self.n_items
    }

    /// Sparse: each user gets their segment's list, scored by weighted counts.
    fn score_block(&self, users: &[UserId], _history: &UserItemMatrix, out: &mut BlockScores) {
        for (list, &user) in out.sparse().iter_mut().zip(users) {
            list.extend_from_slice(self.list_for(user));
        }
    }

    /// Lists are short and shared, so a block costs little whatever the item count.
    fn block_size(&self) -> usize {
        1024
    }
}
