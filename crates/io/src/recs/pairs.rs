//! Reading held-out `(user, item)` test pairs from a file into a [`TestSet`].

use std::cell::Cell;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use clickrec_core::{Behavior, IdMaps, ItemId, TestSet, UserId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::RecsError;
use super::lookup::{IdLookup, UNKNOWN, UserRuns, bad_value, id_bytes, parse_behavior};
use super::source::{Format, SLOTS, Selection, find_column, list_columns, scan, work_ranges};

/// Totals of one read of a test-pair file. The targets kept and dropped are in
/// [`TestSet::counts`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestPairsReport {
    /// Data rows in the file.
    pub rows: u64,
    /// The file has a `behavior` column; without one every pair is a non-conversion
    /// (page view) target, so the conversion targets are empty.
    pub has_behavior: bool,
    /// Users in the test set (known users with at least one row).
    pub test_users: u64,
    /// Rows whose user is not in the id maps: such users cannot be evaluated and are
    /// left out of the test set.
    pub unknown_user_rows: u64,
    /// Distinct users behind `unknown_user_rows`.
    pub unknown_users: u64,
    /// Rows of known users whose item is not in the id maps: dropped targets (the user
    /// stays a test user, possibly with no target left).
    pub unknown_item_rows: u64,
}

/// The pairs of one range of a batch, ready to be appended in file order.
#[derive(Default)]
struct PreparedPairs {
    pairs: Vec<(u32, u32, u8)>,
    unknown_user_rows: u64,
    unknown_item_rows: u64,
    unknown_users: HashSet<Vec<u8>>,
    error: Option<RecsError>,
}

const USER: usize = 0;
const ITEM: usize = 1;
const BEHAVIOR: usize = 2;

/// Reads a test file with the columns `user_id`, `item_id` and optionally `behavior`
/// (CSV with a header, `.csv.gz`, or Parquet; names matched ignoring case) into a
/// [`TestSet`]. Rows may come in any order; a pair given twice counts once.
///
/// `behavior` accepts `pv`, `fav`, `cart`, `buy`, the RetailRocket names `view`,
/// `addtocart`, `transaction` (any case) and the codes 0–3 of `events.parquet`; cart and
/// buy make conversion targets. Without the column all targets are non-conversion.
///
/// `seen_in_train` (indexed by dense item id, one entry per item of `ids`) marks the
/// items of the train log: targets on other items are dropped and counted by the test
/// set, as in a split. `has_train` (indexed by dense user id, one entry per user of
/// `ids`) marks the users with train events; the others are cold, as in a split, so
/// the headline ranks models on the same users as `clickrec run` does.
///
/// Unknown users and items are counted in the report, never an error. Errors (empty
/// value, unknown behaviour, missing column, empty file) name the file, the line (CSV)
/// or row index (Parquet), the column and the value.
pub fn read_test_pairs(
    path: &Path,
    ids: &IdMaps,
    seen_in_train: &[bool],
    has_train: &[bool],
) -> Result<(TestSet, TestPairsReport), RecsError> {
    if seen_in_train.len() != ids.items.len() {
        return Err(RecsError::ItemSpace {
            expected: ids.items.len(),
            found: seen_in_train.len(),
        });
    }
    if has_train.len() != ids.users.len() {
        return Err(RecsError::UserSpace {
            expected: ids.users.len(),
            found: has_train.len(),
        });
    }
    let format = Format::of(path).unwrap_or(Format::Parquet);
    let lookup = IdLookup::new(ids);
    let mut report = TestPairsReport::default();
    // (user, item or UNKNOWN, behaviour code) of known users.
    let mut pairs: Vec<(u32, u32, u8)> = Vec::new();
    let has_behavior = Cell::new(false);
    let resolve = |names: &[String]| -> Result<Selection, RecsError> {
        let missing = |column: &'static str| RecsError::MissingColumn {
            path: path.to_owned(),
            column,
            found: list_columns(names),
        };
        let mut selection: Selection = [None; SLOTS];
        selection[USER] = Some(find_column(names, "user_id").ok_or_else(|| missing("user_id"))?);
        selection[ITEM] = Some(find_column(names, "item_id").ok_or_else(|| missing("item_id"))?);
        selection[BEHAVIOR] = find_column(names, "behavior");
        has_behavior.set(selection[BEHAVIOR].is_some());
        Ok(selection)
    };
    let mut unknown_users = HashSet::new();
    let scanned = scan(path, resolve, |batch| -> Result<(), RecsError> {
        let with_behavior = has_behavior.get();
        let prepare = |range: Range<usize>| {
            let mut out = PreparedPairs {
                pairs: Vec::with_capacity(range.len()),
                ..PreparedPairs::default()
            };
            let mut runs = UserRuns::default();
            let done = batch.rows(range, |at, values| -> Result<(), RecsError> {
                let bad = |column, slot: usize, problem| {
                    bad_value(path, format, at, column, values[slot], problem)
                };
                let user_bytes = id_bytes(values[USER]).map_err(|p| bad("user_id", USER, p))?;
                let item_bytes = id_bytes(values[ITEM]).map_err(|p| bad("item_id", ITEM, p))?;
                let behavior = if with_behavior {
                    parse_behavior(values[BEHAVIOR]).map_err(|p| bad("behavior", BEHAVIOR, p))?
                } else {
                    Behavior::Pv
                };
                if runs.is_new(user_bytes) {
                    runs.start(user_bytes, &lookup);
                }
                let Some(user) = runs.user else {
                    out.unknown_user_rows += 1;
                    return Ok(());
                };
                let item = match lookup.items.get(item_bytes) {
                    Some(&item) => item,
                    None => {
                        out.unknown_item_rows += 1;
                        UNKNOWN
                    }
                };
                out.pairs.push((user, item, behavior.code()));
                Ok(())
            });
            out.error = done.err();
            out.unknown_users = runs.into_unknown();
            out
        };
        let ranges = work_ranges(batch.len(), 4096);
        let prepared: Vec<PreparedPairs> = if ranges.len() == 1 {
            ranges.into_iter().map(prepare).collect()
        } else {
            ranges.into_par_iter().map(prepare).collect()
        };
        for p in prepared {
            pairs.extend_from_slice(&p.pairs);
            report.unknown_user_rows += p.unknown_user_rows;
            report.unknown_item_rows += p.unknown_item_rows;
            unknown_users.extend(p.unknown_users);
            if let Some(e) = p.error {
                return Err(e);
            }
        }
        Ok(())
    });
    let scanned = scanned?;
    report.rows = scanned;
    report.unknown_users = unknown_users.len() as u64;
    report.has_behavior = has_behavior.get();

    pairs.par_sort_unstable();
    let mut builder = TestSet::builder(seen_in_train);
    for group in pairs.chunk_by(|a, b| a.0 == b.0) {
        let user = UserId(group[0].0);
        let events = group
            .iter()
            .filter(|p| p.1 != UNKNOWN)
            .filter_map(|p| Behavior::from_code(p.2).map(|b| (ItemId(p.1), b)));
        builder
            .push_user(user, !has_train[user.0 as usize], events)
            .map_err(|source| RecsError::TestSet {
                path: path.to_owned(),
                source,
            })?;
    }
    let set = builder.finish();
    report.test_users = set.len() as u64;
    Ok((set, report))
}
