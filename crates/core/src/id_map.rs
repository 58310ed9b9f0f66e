//! External id ↔ dense id, in a stable order.

use std::collections::HashMap;
use std::marker::PhantomData;

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::{CategoryId, CoreError, DenseId, ItemId, UserId};

/// The external ids of one kind, listed in dense-id order: dense id `i` is the `i`-th entry.
///
/// External ids are kept as text (integers are stored in their decimal form) in one
/// contiguous buffer, so millions of ids cost a few bytes each. The order is the order of
/// first appearance in the source log, which makes it stable for a given input file.
#[derive(Clone, PartialEq, Eq)]
pub struct IdMap<Id> {
    text: String,
    /// `ends[i]` is the end of external id `i` in `text`.
    ends: Vec<usize>,
    _id: PhantomData<Id>,
}

impl<Id> Default for IdMap<Id> {
    fn default() -> Self {
        IdMap {
            text: String::new(),
            ends: Vec::new(),
            _id: PhantomData,
        }
    }
}

impl<Id: DenseId> std::fmt::Debug for IdMap<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdMap")
            .field("kind", &Id::KIND)
            .field("len", &self.len())
            .finish()
    }
}

impl<Id: DenseId> IdMap<Id> {
    /// Builds a map from external ids in dense order, rejecting duplicates.
    pub fn from_externals<S: AsRef<str>>(
        externals: impl IntoIterator<Item = S>,
    ) -> Result<Self, CoreError> {
        let mut map = IdMap::<Id>::default();
        for external in externals {
            map.push_new(external.as_ref())?;
        }
        // Repeats are looked up in the map's own text: no string copied per id (a run's
        // maps hold millions of ids and every stage reads them).
        let mut seen = FxHashMap::with_capacity_and_hasher(map.len(), FxBuildHasher);
        for (second, external) in map.externals().enumerate() {
            if let Some(first) = seen.insert(external, second as u32) {
                return Err(CoreError::DuplicateExternalId {
                    kind: Id::KIND,
                    external: external.to_owned(),
                    first,
                    second: second as u32,
                });
            }
        }
        Ok(map)
    }

    /// Appends an external id the caller knows is new and returns its dense id.
    ///
    /// Ingestion keeps its own hash index while reading, so this does not check for
    /// duplicates; use [`IdMap::from_externals`] for untrusted input.
    pub fn push_new(&mut self, external: &str) -> Result<Id, CoreError> {
        let index =
            u32::try_from(self.ends.len()).map_err(|_| CoreError::TooManyIds { kind: Id::KIND })?;
        self.text.push_str(external);
        self.ends.push(self.text.len());
        Ok(Id::from_index(index))
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the map holds no id.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The external id of a dense id. Panics if `id` is not from this map.
    pub fn external(&self, id: Id) -> &str {
        let i = id.index() as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The external id of a dense id, or an error naming the id when it is out of range.
    pub fn try_external(&self, id: Id) -> Result<&str, CoreError> {
        if (id.index() as usize) < self.len() {
            Ok(self.external(id))
        } else {
            Err(CoreError::IdOutOfRange {
                kind: Id::KIND,
                id: id.index(),
                len: self.len(),
            })
        }
    }

    /// All external ids in dense order.
    pub fn externals(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.external(Id::from_index(i as u32)))
    }

    /// A lookup table from external id to dense id (built on demand: it costs memory).
    /// The map of the ids `kept` (each `< len()`, no repeats), renumbered in that order:
    /// new id `k` has the external id of `kept[k]`.
    pub fn subset(&self, kept: &[Id]) -> IdMap<Id> {
        let mut map = IdMap::<Id>::default();
        for &id in kept {
            map.text.push_str(self.external(id));
            map.ends.push(map.text.len());
        }
        map
    }

    pub fn lookup_table(&self) -> HashMap<&str, Id> {
        self.externals()
            .enumerate()
            .map(|(i, e)| (e, Id::from_index(i as u32)))
            .collect()
    }
}

/// The id maps of one event log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdMaps {
    pub users: IdMap<UserId>,
    pub items: IdMap<ItemId>,
    pub categories: IdMap<CategoryId>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_duplicates_with_both_positions() {
        let err = IdMap::<ItemId>::from_externals(["a", "b", "a"]).unwrap_err();
        assert_eq!(
            err,
            CoreError::DuplicateExternalId {
                kind: "item",
                external: "a".into(),
                first: 0,
                second: 2
            }
        );
    }

    #[test]
    fn out_of_range_is_an_error() {
        let map = IdMap::<UserId>::from_externals(["x"]).unwrap();
        assert!(map.try_external(UserId(1)).is_err());
        assert_eq!(map.try_external(UserId(0)), Ok("x"));
    }

    proptest! {
        #[test]
        fn round_trips_any_distinct_ids(ids in proptest::collection::hash_set(".{0,12}", 0..50)) {
            let ids: Vec<String> = ids.into_iter().collect();
            let map = IdMap::<UserId>::from_externals(&ids).unwrap();
            prop_assert_eq!(map.len(), ids.len());
            let back: Vec<&str> = map.externals().collect();
            prop_assert_eq!(&back, &ids.iter().map(String::as_str).collect::<Vec<_>>());
            let table = map.lookup_table();
            for (i, id) in ids.iter().enumerate() {
                prop_assert_eq!(table[id.as_str()], UserId(i as u32));
            }
        }
    }
}
