//! Reading ranked lists written by any system.

use std::cell::Cell;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use clickrec_core::{IdMaps, ItemId, UserId};
use clickrec_recommend::Recommendations;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::{RecsError, ValueProblem};
use super::lookup::{IdLookup, UNKNOWN, UserRuns, bad_value, id_bytes, parse_rank, parse_score};
use super::source::{
    Batch, Format, SLOTS, Selection, Value, find_column, list_columns, scan, work_ranges,
};

/// How [`read_recommendations_with`] treats ids that are not in the id maps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// `false` (the default): any unknown user or item fails the read with
    /// [`RecsError::UnknownIds`], naming the first one and the counts of both kinds.
    ///
    /// `true`: rows of unknown users are dropped, and unknown items are left out of
    /// their lists; both are counted in [`RecsReadReport`]. A list cannot hold a gap,
    /// so the items ranked after an unknown item move up one place each: metrics at a
    /// cutoff K then see an item the source ranked K+1, which can only raise them.
    /// [`RecsReadReport::lists_with_unknown_items`] says how many lists are affected.
    pub skip_unknown: bool,
}

/// What orders each list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListOrder {
    /// The `rank` column, ascending (it wins when `score` is present too).
    #[default]
    Rank,
    /// The `score` column, descending; equal scores keep their order in the file.
    Score,
}

/// Totals of one read of a recommendation file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecsReadReport {
    /// Data rows in the file.
    pub rows: u64,
    /// Users with a list in the result.
    pub users: u64,
    /// `(user, item)` pairs in the result.
    pub pairs: u64,
    pub order: ListOrder,
    /// The file has a `score` column (otherwise every score in the result is NaN).
    pub has_scores: bool,
    /// Rows whose user is not in the id maps (dropped, with [`ReadOptions::skip_unknown`]).
    pub unknown_user_rows: u64,
    /// Distinct users behind `unknown_user_rows`.
    pub unknown_users: u64,
    /// Rows of known users whose item is not in the id maps (left out of their lists,
    /// with [`ReadOptions::skip_unknown`]; later items move up one rank each).
    pub unknown_item_rows: u64,
    /// Lists that lost at least one unknown item.
    pub lists_with_unknown_items: u64,
    /// Lists whose ranks (as in the file, unknown items included) are not exactly
    /// 1, 2, …, n: the source cut items out, so positions in the result differ from the
    /// source ranks. Always 0 for score-ordered files.
    pub lists_with_rank_gaps: u64,
    /// The rows of some user were not contiguous, so the file was read a second time
    /// and all rows sorted in memory (about 24 bytes per row).
    pub regrouped: bool,
}

/// [`read_recommendations_with`] with the default options: unknown ids are an error.
pub fn read_recommendations(
    path: &Path,
    ids: &IdMaps,
) -> Result<(Recommendations, RecsReadReport), RecsError> {
    read_recommendations_with(path, ids, &ReadOptions::default())
}

/// Reads ranked lists from a CSV (`.csv`, `.csv.gz`; header required) or Parquet
/// (`.parquet`) file with the columns `user_id`, `item_id` and `rank` and/or `score`
/// (names matched ignoring case; other columns ignored; Parquet ids may be text or
/// integers). Ids are external ids, matched against `ids`.
///
/// Each user's list is ordered by `rank` ascending when the file has a rank column
/// (ranks need not be contiguous: 1, 2, 5 keeps that order), otherwise by `score`
/// descending, equal scores in the order the rows appear in the file. Scores are kept
/// as given (NaN when absent or empty); they must be finite only when they order the
/// list. Rows may come in any order: the lists are returned in increasing dense user
/// id. A file whose rows are grouped by user is read in one streaming pass (rows of
/// unknown users in between do not break a group); otherwise it is read again and sorted
/// in memory (see [`RecsReadReport::regrouped`]). Groups that come out of dense-id order
/// (e.g. a file sorted by external id) are put in order at the end, which briefly holds
/// the lists twice. Parsing and id lookups run in parallel on the rayon pool; results and
/// errors do not depend on the thread count.
///
/// Errors name the file, the line (CSV, 1-based, header = line 1) or row index
/// (Parquet, 0-based), the column and the value: missing columns, empty values, ranks
/// below 1 or not whole numbers, non-finite ordering scores, a rank given twice or an
/// item listed twice for one user, an empty file, and unknown ids (see
/// [`ReadOptions::skip_unknown`]).
pub fn read_recommendations_with(
    path: &Path,
    ids: &IdMaps,
    options: &ReadOptions,
) -> Result<(Recommendations, RecsReadReport), RecsError> {
    let lookup = IdLookup::new(ids);
    match read_pass(path, ids, &lookup, options, false) {
        Err(Halt::Regroup) => match read_pass(path, ids, &lookup, options, true) {
            Ok(mut result) => {
                result.1.regrouped = true;
                Ok(result)
            }
            Err(Halt::Error(e)) => Err(e),
            Err(Halt::Regroup) => unreachable!("a collecting pass never regroups"),
        },
        Err(Halt::Error(e)) => Err(e),
        Ok(result) => Ok(result),
    }
}

/// Why a pass stopped early.
enum Halt {
    /// A user's rows are not contiguous: read again, collecting all rows.
    Regroup,
    Error(RecsError),
}

impl From<RecsError> for Halt {
    fn from(e: RecsError) -> Self {
        Halt::Error(e)
    }
}

/// One row of a list. `at` is the line or row index: it names the row in errors and
/// breaks ties in file order.
#[derive(Clone, Copy, Debug)]
struct Entry {
    at: u64,
    user: u32,
    /// Rank, or the score mapped to a `u32` that sorts ascending as the score descends.
    key: u32,
    item: u32,
    score: f32,
}

/// `u32` keys that sort ascending as scores descend (finite scores; -0 equals 0).
fn score_key(score: f32) -> u32 {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let ascending = if bits >> 31 == 1 {
        !bits
    } else {
        bits | (1 << 31)
    };
    !ascending
}

/// The columns found in the file.
#[derive(Clone, Copy, Debug, Default)]
struct Columns {
    order: ListOrder,
    has_score: bool,
}

const USER: usize = 0;
const ITEM: usize = 1;
const RANK: usize = 2;
const SCORE: usize = 3;

fn read_pass(
    path: &Path,
    ids: &IdMaps,
    lookup: &IdLookup<'_>,
    options: &ReadOptions,
    collect: bool,
) -> Result<(Recommendations, RecsReadReport), Halt> {
    let format = Format::of(path).unwrap_or(Format::Parquet);
    let columns = Cell::new(Columns::default());
    let mut pass = Pass {
        path,
        format,
        ids,
        collect,
        columns: Columns::default(),
        run_user: None,
        run: Vec::new(),
        all: Vec::new(),
        seen: if collect {
            Vec::new()
        } else {
            vec![false; ids.users.len()]
        },
        marks: vec![0; ids.items.len()],
        generation: 0,
        segments: vec![Recommendations::new()],
        first_unknown: None,
        unknown_users: HashSet::new(),
        report: RecsReadReport::default(),
    };
    let resolve = |names: &[String]| -> Result<Selection, RecsError> {
        let missing = |column: &'static str| RecsError::MissingColumn {
            path: path.to_owned(),
            column,
            found: list_columns(names),
        };
        let user = find_column(names, "user_id").ok_or_else(|| missing("user_id"))?;
        let item = find_column(names, "item_id").ok_or_else(|| missing("item_id"))?;
        let rank = find_column(names, "rank");
        let score = find_column(names, "score");
        if rank.is_none() && score.is_none() {
            return Err(missing("rank or score"));
        }
        columns.set(Columns {
            order: if rank.is_some() {
                ListOrder::Rank
            } else {
                ListOrder::Score
            },
            has_score: score.is_some(),
        });
        let mut selection: Selection = [None; SLOTS];
        selection[USER] = Some(user);
        selection[ITEM] = Some(item);
        selection[RANK] = rank;
        selection[SCORE] = score;
        Ok(selection)
    };
    let scanned = scan(path, resolve, |batch| {
        let ctx = Context {
            path,
            format,
            lookup,
            columns: columns.get(),
        };
        pass.columns = ctx.columns;
        let ranges = work_ranges(batch.len(), 4096);
        let prepared: Vec<Prepared> = if ranges.len() == 1 {
            ranges.into_iter().map(|r| ctx.prepare(batch, r)).collect()
        } else {
            ranges
                .into_par_iter()
                .map(|r| ctx.prepare(batch, r))
                .collect()
        };
        prepared.into_iter().try_for_each(|p| pass.apply(p))
    })?;
    pass.report.rows = scanned;
    pass.finish(options)
}

/// What the parallel part of a read needs: parsing and id lookups.
struct Context<'p, 'i> {
    path: &'p Path,
    format: Format,
    lookup: &'p IdLookup<'i>,
    columns: Columns,
}

/// The rows of one range of a batch, parsed and looked up, ready to be applied in file
/// order.
#[derive(Default)]
struct Prepared {
    /// Rows of known users; `item` is [`UNKNOWN`] for an unknown item.
    rows: Vec<Entry>,
    unknown_user_rows: u64,
    unknown_item_rows: u64,
    unknown_users: HashSet<Vec<u8>>,
    first_unknown: Option<(u64, &'static str, String)>,
    /// The first bad value of the range: the rows before it are in `rows`.
    error: Option<RecsError>,
}

impl Context<'_, '_> {
    fn prepare(&self, batch: &Batch<'_>, range: Range<usize>) -> Prepared {
        let mut out = Prepared {
            rows: Vec::with_capacity(range.len()),
            ..Prepared::default()
        };
        let mut runs = UserRuns::default();
        let done = batch.rows(range, |at, values| {
            self.row(at, values, &mut runs, &mut out)
        });
        out.error = done.err();
        out.unknown_users = runs.into_unknown();
        out
    }

    fn row(
        &self,
        at: u64,
        values: &[Value<'_>; SLOTS],
        runs: &mut UserRuns,
        out: &mut Prepared,
    ) -> Result<(), RecsError> {
        let bad = |column, slot: usize, problem| {
            bad_value(self.path, self.format, at, column, values[slot], problem)
        };
        let (key, score) = match self.columns.order {
            ListOrder::Rank => {
                let rank = parse_rank(values[RANK]).map_err(|p| bad("rank", RANK, p))?;
                let score = parse_score(values[SCORE])
                    .map_err(|p| bad("score", SCORE, p))?
                    .unwrap_or(f32::NAN);
                (rank, score)
            }
            ListOrder::Score => {
                let score = parse_score(values[SCORE])
                    .map_err(|p| bad("score", SCORE, p))?
                    .ok_or_else(|| bad("score", SCORE, ValueProblem::Empty))?;
                if !score.is_finite() {
                    return Err(bad("score", SCORE, ValueProblem::ScoreNotFinite));
                }
                (score_key(score), score)
            }
        };
        let user_bytes = id_bytes(values[USER]).map_err(|p| bad("user_id", USER, p))?;
        let item_bytes = id_bytes(values[ITEM]).map_err(|p| bad("item_id", ITEM, p))?;
        let note = |out: &mut Prepared, column, value: &[u8]| {
            if out.first_unknown.is_none() {
                out.first_unknown = Some((at, column, String::from_utf8_lossy(value).into_owned()));
            }
        };
        if runs.is_new(user_bytes) && runs.start(user_bytes, self.lookup).is_none() {
            note(out, "user_id", user_bytes);
        }
        let Some(user) = runs.user else {
            out.unknown_user_rows += 1;
            return Ok(());
        };
        let item = match self.lookup.items.get(item_bytes) {
            Some(&item) => item,
            None => {
                out.unknown_item_rows += 1;
                note(out, "item_id", item_bytes);
                UNKNOWN
            }
        };
        out.rows.push(Entry {
            at,
            user,
            key,
            item,
            score,
        });
        Ok(())
    }
}

struct Pass<'p> {
    path: &'p Path,
    format: Format,
    ids: &'p IdMaps,
    /// Collect every row and sort at the end, instead of streaming runs.
    collect: bool,
    columns: Columns,
    /// The user of the current run (streaming).
    run_user: Option<u32>,
    /// Rows of the current run (streaming).
    run: Vec<Entry>,
    /// All rows of known users (collecting).
    all: Vec<Entry>,
    /// Users whose run is done (streaming): meeting one again means regrouping.
    seen: Vec<bool>,
    /// `marks[item] == generation` when the list being checked holds the item.
    marks: Vec<u32>,
    generation: u32,
    /// Finished lists; a new segment starts whenever users stop increasing.
    segments: Vec<Recommendations>,
    first_unknown: Option<(u64, &'static str, String)>,
    unknown_users: HashSet<Vec<u8>>,
    report: RecsReadReport,
}

impl Pass<'_> {
    /// Takes in the prepared rows of one range, in file order.
    fn apply(&mut self, prepared: Prepared) -> Result<(), Halt> {
        self.report.unknown_user_rows += prepared.unknown_user_rows;
        self.report.unknown_item_rows += prepared.unknown_item_rows;
        self.unknown_users.extend(prepared.unknown_users);
        if self.first_unknown.is_none() {
            self.first_unknown = prepared.first_unknown;
        }
        if self.collect {
            self.all.extend_from_slice(&prepared.rows);
        } else {
            for entry in prepared.rows {
                if self.run_user != Some(entry.user) {
                    self.flush_run()?;
                    let seen = &mut self.seen[entry.user as usize];
                    if *seen {
                        return Err(Halt::Regroup);
                    }
                    *seen = true;
                    self.run_user = Some(entry.user);
                }
                self.run.push(entry);
            }
        }
        match prepared.error {
            Some(e) => Err(Halt::Error(e)),
            None => Ok(()),
        }
    }

    /// Orders, checks and stores the current run (streaming).
    fn flush_run(&mut self) -> Result<(), Halt> {
        if self.run.is_empty() {
            return Ok(());
        }
        let mut run = std::mem::take(&mut self.run);
        run.sort_unstable_by_key(|e| (e.key, e.at));
        let done = self.finish_list(&run);
        run.clear();
        self.run = run;
        done
    }

    /// Checks one user's rows, sorted by `(key, at)`, and appends the list.
    fn finish_list(&mut self, rows: &[Entry]) -> Result<(), Halt> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let user = first.user;
        if self.columns.order == ListOrder::Rank {
            if let Some(w) = rows.windows(2).find(|w| w[0].key == w[1].key) {
                return Err(Halt::Error(RecsError::DuplicateRank {
                    path: self.path.to_owned(),
                    at: self.format.location(w[1].at),
                    column: "rank",
                    user: self.ids.users.external(UserId(user)).to_owned(),
                    rank: w[1].key,
                    first: self.format.location(w[0].at),
                }));
            }
            if rows
                .iter()
                .enumerate()
                .any(|(i, e)| u64::from(e.key) != i as u64 + 1)
            {
                self.report.lists_with_rank_gaps += 1;
            }
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.generation = 1;
        }
        let mut unknown = false;
        for (i, e) in rows.iter().enumerate() {
            if e.item == UNKNOWN {
                unknown = true;
                continue;
            }
            let mark = &mut self.marks[e.item as usize];
            if *mark == self.generation {
                let other = rows[..i]
                    .iter()
                    .find(|o| o.item == e.item)
                    .map_or(e.at, |o| o.at);
                return Err(Halt::Error(RecsError::DuplicateItem {
                    path: self.path.to_owned(),
                    at: self.format.location(other.max(e.at)),
                    column: "item_id",
                    value: self.ids.items.external(ItemId(e.item)).to_owned(),
                    user: self.ids.users.external(UserId(user)).to_owned(),
                    first: self.format.location(other.min(e.at)),
                }));
            }
            *mark = self.generation;
        }
        self.report.lists_with_unknown_items += u64::from(unknown);
        let list = rows
            .iter()
            .filter(|e| e.item != UNKNOWN)
            .map(|e| (ItemId(e.item), e.score));
        let user = UserId(user);
        let ordered = self
            .segments
            .last()
            .and_then(|s| s.users().last())
            .is_none_or(|&last| last < user);
        if !ordered {
            self.segments.push(Recommendations::new());
        }
        let Some(segment) = self.segments.last_mut() else {
            return Ok(());
        };
        segment.push(user, list).map_err(|source| {
            Halt::Error(RecsError::Recommend {
                path: self.path.to_owned(),
                source,
            })
        })
    }

    fn finish(mut self, options: &ReadOptions) -> Result<(Recommendations, RecsReadReport), Halt> {
        self.flush_run()?;
        self.report.order = self.columns.order;
        self.report.has_scores = self.columns.has_score;
        self.report.unknown_users = self.unknown_users.len() as u64;
        if !options.skip_unknown
            && let Some((at, column, value)) = self.first_unknown.take()
        {
            return Err(Halt::Error(RecsError::UnknownIds {
                path: self.path.to_owned(),
                at: self.format.location(at),
                column,
                value,
                unknown_user_rows: self.report.unknown_user_rows,
                unknown_item_rows: self.report.unknown_item_rows,
            }));
        }
        if self.collect {
            let mut all = std::mem::take(&mut self.all);
            all.par_sort_unstable_by_key(|e| (e.user, e.key, e.at));
            for rows in all.chunk_by(|a, b| a.user == b.user) {
                self.finish_list(rows)?;
            }
        }
        let recs = merge(std::mem::take(&mut self.segments)).map_err(|source| {
            Halt::Error(RecsError::Recommend {
                path: self.path.to_owned(),
                source,
            })
        })?;
        self.report.users = recs.len() as u64;
        self.report.pairs = recs.n_pairs() as u64;
        Ok((recs, self.report))
    }
}

/// Merges segments of increasing users (no user in two segments) into one.
fn merge(
    mut segments: Vec<Recommendations>,
) -> Result<Recommendations, clickrec_recommend::RecommendError> {
    if segments.len() == 1
        && let Some(only) = segments.pop()
    {
        return Ok(only);
    }
    let mut order: Vec<(UserId, usize, usize)> = segments
        .iter()
        .enumerate()
        .flat_map(|(s, seg)| seg.users().iter().enumerate().map(move |(k, &u)| (u, s, k)))
        .collect();
    order.par_sort_unstable();
    let mut out = Recommendations::new();
    for (_, s, k) in order {
        let list = segments[s].get(k);
        out.push(
            list.user,
            list.items.iter().copied().zip(list.scores.iter().copied()),
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_keys_sort_descending() {
        let scores = [3.5f32, 1.0, 0.0, -0.0, -1.0, -7.25, f32::MAX, f32::MIN];
        let mut sorted = scores.to_vec();
        sorted.sort_by_key(|&s| score_key(s));
        assert_eq!(
            sorted,
            vec![f32::MAX, 3.5, 1.0, 0.0, -0.0, -1.0, -7.25, f32::MIN]
        );
        assert_eq!(score_key(0.0), score_key(-0.0));
    }
}
