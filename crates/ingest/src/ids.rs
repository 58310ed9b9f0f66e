//! External id bytes → dense ids, in two steps so the per-row work runs in parallel.
//!
//! Each block of rows interns its ids locally (in parallel with other blocks); the blocks
//! are then merged in file order into one global table, so dense ids follow the order of
//! first appearance in the file whatever the block size or thread count.

use clickrec_core::{CoreError, DenseId, IdMap};
use rustc_hash::FxHashMap;

use crate::row::RawId;

/// A canonical decimal integer (no sign, no leading zero) is hashed as a number: most
/// click logs use integer ids and this halves the cost of interning them. Its text form
/// is the same decimal, so integer and text ids never collide.
fn as_canonical_integer(raw: &[u8]) -> Option<u64> {
    RawId::new(raw).integer
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedKey {
    Integer(u64),
    Text(Box<[u8]>),
}

/// Ids of one block: a code per row plus the distinct keys in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct LocalIds {
    pub codes: Vec<u32>,
    pub keys: Vec<OwnedKey>,
    integers: FxHashMap<u64, u32>,
    texts: FxHashMap<Box<[u8]>, u32>,
    last_integer: Option<u64>,
    last_code: u32,
}

impl LocalIds {
    pub fn with_capacity(rows: usize) -> Self {
        LocalIds {
            codes: Vec::with_capacity(rows),
            ..LocalIds::default()
        }
    }

    /// Interns one row's id (parsed by the row check: its number is not parsed again).
    pub fn push(&mut self, id: RawId<'_>) {
        let raw = id.bytes;
        let next = self.keys.len() as u32;
        let code = match id.integer {
            // Click logs repeat the previous row's user, category and often item.
            Some(v) if self.last_integer == Some(v) => self.last_code,
            Some(v) => {
                let code = *self.integers.entry(v).or_insert_with(|| {
                    self.keys.push(OwnedKey::Integer(v));
                    next
                });
                self.last_integer = Some(v);
                self.last_code = code;
                code
            }
            None => match self.texts.get(raw) {
                Some(&code) => code,
                None => {
                    self.texts.insert(raw.into(), next);
                    self.keys.push(OwnedKey::Text(raw.into()));
                    next
                }
            },
        };
        self.codes.push(code);
    }

    /// Drops the hash tables once the block is parsed; only codes and keys are merged.
    pub fn shrink(&mut self) {
        self.integers = FxHashMap::default();
        self.texts = FxHashMap::default();
    }
}

/// The global id table of one kind, growing as blocks are merged in file order.
#[derive(Debug)]
pub(crate) struct GlobalIds<Id: DenseId> {
    integers: FxHashMap<u64, u32>,
    texts: FxHashMap<Box<[u8]>, u32>,
    pub map: IdMap<Id>,
}

impl<Id: DenseId> Default for GlobalIds<Id> {
    fn default() -> Self {
        GlobalIds {
            integers: FxHashMap::default(),
            texts: FxHashMap::default(),
            map: IdMap::default(),
        }
    }
}

impl<Id: DenseId> GlobalIds<Id> {
    /// A table that already holds `map`'s ids (with their dense ids), so a second file
    /// read into it shares the first one's id space.
    pub fn from_map(map: &IdMap<Id>) -> Self {
        let mut ids = GlobalIds {
            map: map.clone(),
            ..GlobalIds::default()
        };
        for (index, external) in map.externals().enumerate() {
            let index = index as u32;
            match as_canonical_integer(external.as_bytes()) {
                Some(v) => ids.integers.insert(v, index),
                None => ids.texts.insert(external.as_bytes().into(), index),
            };
        }
        ids
    }

    /// Global codes for a block's local keys, assigning new dense ids to unseen keys.
    pub fn translate(&mut self, keys: Vec<OwnedKey>) -> Result<Vec<u32>, CoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let id = match key {
                OwnedKey::Integer(v) => match self.integers.get(&v) {
                    Some(&id) => id,
                    None => {
                        let id = self.map.push_new(&v.to_string())?.index();
                        self.integers.insert(v, id);
                        id
                    }
                },
                OwnedKey::Text(bytes) => match self.texts.get(&bytes) {
                    Some(&id) => id,
                    None => {
                        // Rows are UTF-8 checked before their ids are interned.
                        let id = self.map.push_new(&String::from_utf8_lossy(&bytes))?.index();
                        self.texts.insert(bytes, id);
                        id
                    }
                },
            };
            out.push(id);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickrec_core::ItemId;
    use proptest::prelude::*;

    #[test]
    fn integers_and_texts_share_one_order() {
        let mut local = LocalIds::default();
        for raw in ["10", "abc", "010", "10", "0", "abc"] {
            local.push(RawId::new(raw.as_bytes()));
        }
        assert_eq!(local.codes, vec![0, 1, 2, 0, 3, 1]);
        let mut global = GlobalIds::<ItemId>::default();
        let translated = global.translate(local.keys).unwrap();
        assert_eq!(translated, vec![0, 1, 2, 3]);
        let externals: Vec<&str> = global.map.externals().collect();
        assert_eq!(externals, ["10", "abc", "010", "0"]);
    }

    #[test]
    fn a_table_from_a_map_continues_its_ids() {
        let map = IdMap::<ItemId>::from_externals(["10", "abc", "010"]).unwrap();
        let mut global = GlobalIds::from_map(&map);
        let mut local = LocalIds::default();
        for raw in ["abc", "7", "10", "010"] {
            local.push(RawId::new(raw.as_bytes()));
        }
        assert_eq!(global.translate(local.keys).unwrap(), vec![1, 3, 0, 2]);
        assert_eq!(global.map.len(), 4);
    }

    proptest! {
        /// Splitting rows into blocks in any way gives the ids of a single pass.
        #[test]
        fn blocks_do_not_change_ids(
            raws in proptest::collection::vec("[0-9a]{1,3}", 1..80),
            cut in 0usize..80,
        ) {
            let cut = cut.min(raws.len());
            let ids_of = |parts: &[&[String]]| {
                let mut global = GlobalIds::<ItemId>::default();
                let mut ids = Vec::new();
                for part in parts {
                    let mut local = LocalIds::default();
                    for r in *part {
                        local.push(RawId::new(r.as_bytes()));
                    }
                    let table = global.translate(local.keys).unwrap();
                    ids.extend(local.codes.iter().map(|&c| table[c as usize]));
                }
                (ids, global.map.externals().map(String::from).collect::<Vec<_>>())
            };
            let whole = ids_of(&[&raws]);
            let split = ids_of(&[&raws[..cut], &raws[cut..]]);
            prop_assert_eq!(&whole, &split);
            for (row, id) in whole.0.iter().enumerate() {
                prop_assert_eq!(&whole.1[*id as usize], &raws[row]);
            }
        }
    }
}
