//! The event log and id maps on disk: Parquet tables in a run directory.
//!
//! `events.parquet` has the columns `user_id`, `item_id`, `category_id` (u32 dense ids),
//! `behavior` (u8: 0 pv, 1 fav, 2 cart, 3 buy) and `timestamp` (i64 Unix seconds), sorted
//! by user then time, plus a `session` u32 column when the input names sessions (see
//! [`read_input_events`]) and a `weight` f32 column when it has a weight column. `users.parquet`, `items.parquet`, `categories.parquet` each have
//! one `external_id` string column: row `i` is the external id of dense id `i`.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use clickrec_core::{
    Behavior, CategoryId, DenseId, EventColumns, EventLog, IdMap, IdMaps, ItemId, SessionId, UserId,
};
use polars::prelude::*;

use crate::atomic::AtomicFile;
use crate::error::ArtifactError;
use crate::events_parquet::{EventColumn, write_event_columns};

pub const EVENTS_FILE: &str = "events.parquet";
pub const USERS_FILE: &str = "users.parquet";
pub const ITEMS_FILE: &str = "items.parquet";
pub const CATEGORIES_FILE: &str = "categories.parquet";
/// The item id map from the split stage on: the items that remain after the split's
/// filters, renumbered (`clickrec_prep`'s `SplitOutput::compact_items`). Every file
/// after the split (train, held-out events, test sets, matrix, models, lists) uses it;
/// `items.parquet` stays the map of the ingested and prepared logs.
pub const SPLIT_ITEMS_FILE: &str = "split_items.parquet";
/// Every file of a stored event log.
pub const EVENT_LOG_FILES: [&str; 4] = [EVENTS_FILE, USERS_FILE, ITEMS_FILE, CATEGORIES_FILE];

/// Writes `frame` to `path` atomically, so a crash never leaves a half-written file
/// under the final name.
fn write_parquet_atomic(path: &Path, frame: &mut DataFrame) -> Result<(), ArtifactError> {
    let file = AtomicFile::create(path)?;
    ParquetWriter::new(file.file())
        .with_compression(ParquetCompression::Lz4Raw)
        .finish(frame)
        .map_err(|e| ArtifactError::polars(path, e))?;
    Ok(file.commit()?)
}

/// Writes the event log and its id maps into `dir`. Takes the log by value so its
/// columns move into the Parquet writer without a copy. The input's sessions, if the log
/// has them, become the `session` column.
pub fn write_event_log(dir: &Path, log: EventLog, ids: &IdMaps) -> Result<(), ArtifactError> {
    write_input_events(&dir.join(EVENTS_FILE), log)?;
    write_id_map(&dir.join(USERS_FILE), &ids.users)?;
    write_id_map(&dir.join(ITEMS_FILE), &ids.items)?;
    write_id_map(&dir.join(CATEGORIES_FILE), &ids.categories)
}

/// Writes an ingested log to `path`, its [given sessions](EventLog::given_sessions) (if
/// any) as the `session` column; [`read_input_events`] reads it back.
pub fn write_input_events(path: &Path, mut log: EventLog) -> Result<(), ArtifactError> {
    // Reuses the allocation (same size and alignment).
    let sessions = log
        .take_given_sessions()
        .map(|s| s.into_iter().map(|s| s.0).collect());
    write_events(path, log, sessions)
}

/// Writes events (and the session of each event as a `session` u32 column: the input's
/// own session ids in `events.parquet`, the session index from preprocessing on) to one
/// Parquet file, through [`crate::events_parquet`].
pub fn write_events(
    path: &Path,
    mut log: EventLog,
    sessions: Option<Vec<u32>>,
) -> Result<(), ArtifactError> {
    let weights = log.take_weights();
    let (users, items, categories, behaviors, timestamps) = log.into_columns();
    // Each map reuses its source allocation (same size and alignment).
    let users: Vec<u32> = users.into_iter().map(|u| u.0).collect();
    let items: Vec<u32> = items.into_iter().map(|i| i.0).collect();
    let categories: Vec<u32> = categories.into_iter().map(|c| c.0).collect();
    let behaviors: Vec<u8> = behaviors.into_iter().map(Behavior::code).collect();
    let mut columns = vec![
        EventColumn::U32("user_id", &users),
        EventColumn::U32("item_id", &items),
        EventColumn::U32("category_id", &categories),
        EventColumn::U8("behavior", &behaviors),
        EventColumn::I64("timestamp", &timestamps),
    ];
    if let Some(sessions) = &sessions {
        columns.push(EventColumn::U32("session", sessions));
    }
    if let Some(weights) = &weights {
        columns.push(EventColumn::F32("weight", weights));
    }
    let file = AtomicFile::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file.file());
    write_event_columns(&mut out, &columns).map_err(|source| ArtifactError::Parquet {
        path: path.to_owned(),
        source,
    })?;
    out.flush()
        .map_err(|e| ArtifactError::io(path, "cannot write", e))?;
    drop(out);
    Ok(file.commit()?)
}

fn write_id_map<Id: DenseId>(path: &Path, map: &IdMap<Id>) -> Result<(), ArtifactError> {
    let values: Vec<&str> = map.externals().collect();
    let mut frame = DataFrame::new(map.len(), vec![Column::new("external_id".into(), values)])
        .map_err(|e| ArtifactError::polars(path, e))?;
    write_parquet_atomic(path, &mut frame)
}

fn read_parquet_file(path: &Path) -> Result<DataFrame, ArtifactError> {
    let file = File::open(path).map_err(|e| ArtifactError::io(path, "cannot open", e))?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| ArtifactError::polars(path, e))
}

fn read_id_map<Id: DenseId>(path: &Path) -> Result<IdMap<Id>, ArtifactError> {
    let frame = read_parquet_file(path)?;
    let column = frame
        .column("external_id")
        .and_then(|c| c.str().cloned())
        .map_err(|e| ArtifactError::polars(path, e))?;
    let mut externals = Vec::with_capacity(column.len());
    for (row, value) in column.iter().enumerate() {
        externals.push(value.ok_or_else(|| {
            ArtifactError::invalid(path, format!("row {} has no external id", row + 1))
        })?);
    }
    IdMap::from_externals(externals).map_err(|source| ArtifactError::Core {
        path: path.to_owned(),
        source,
    })
}

/// Reads what [`write_event_log`] wrote, checking that every id is in its map.
pub fn read_event_log(dir: &Path) -> Result<(EventLog, IdMaps), ArtifactError> {
    let ids = read_id_maps(dir)?;
    let log = read_input_events(&dir.join(EVENTS_FILE), &ids)?;
    Ok((log, ids))
}

/// Reads an ingested events file (`events.parquet`, `test_file_events.parquet`): its
/// `session` column, if any, holds the input's sessions and comes back as
/// [`EventLog::given_sessions`].
pub fn read_input_events(path: &Path, ids: &IdMaps) -> Result<EventLog, ArtifactError> {
    let (log, sessions) = read_events(path, ids)?;
    match sessions {
        Some(s) => log
            .with_given_sessions(s.into_iter().map(SessionId).collect())
            .map_err(|source| ArtifactError::Core {
                path: path.to_owned(),
                source,
            }),
        None => Ok(log),
    }
}

/// Reads the id maps of a run directory.
pub fn read_id_maps(dir: &Path) -> Result<IdMaps, ArtifactError> {
    Ok(IdMaps {
        users: read_id_map(&dir.join(USERS_FILE))?,
        items: read_id_map(&dir.join(ITEMS_FILE))?,
        categories: read_id_map(&dir.join(CATEGORIES_FILE))?,
    })
}

/// Writes the item id map of the split stage on ([`SPLIT_ITEMS_FILE`]).
pub fn write_split_items(dir: &Path, items: &IdMap<ItemId>) -> Result<(), ArtifactError> {
    write_id_map(&dir.join(SPLIT_ITEMS_FILE), items)
}

/// Reads the id maps of the files from the split stage on: the run's users and
/// categories, and the split's compacted items ([`SPLIT_ITEMS_FILE`]).
pub fn read_split_id_maps(dir: &Path) -> Result<IdMaps, ArtifactError> {
    Ok(IdMaps {
        users: read_id_map(&dir.join(USERS_FILE))?,
        items: read_id_map(&dir.join(SPLIT_ITEMS_FILE))?,
        categories: read_id_map(&dir.join(CATEGORIES_FILE))?,
    })
}

/// Reads an events file written by [`write_events`], with its session column if it has
/// one (its weight column, if any, is attached to the log).
pub fn read_events(
    path: &Path,
    ids: &IdMaps,
) -> Result<(EventLog, Option<Vec<u32>>), ArtifactError> {
    let path = path.to_owned();
    let frame = read_parquet_file(&path)?;
    let polars_err = |e| ArtifactError::polars(&path, e);
    let u32_column = |name: &str, bound: usize| -> Result<Vec<u32>, ArtifactError> {
        let c = frame.column(name).map_err(polars_err)?;
        let c = c.u32().map_err(polars_err)?;
        if c.null_count() > 0 {
            return Err(ArtifactError::invalid(
                &path,
                format!("column {name} has nulls"),
            ));
        }
        let values: Vec<u32> = c.into_no_null_iter().collect();
        if let Some(bad) = values.iter().find(|&&v| v as usize >= bound) {
            return Err(ArtifactError::invalid(
                &path,
                format!("column {name} holds id {bad}, but its id map has {bound} ids"),
            ));
        }
        Ok(values)
    };
    let users = u32_column("user_id", ids.users.len())?;
    let items = u32_column("item_id", ids.items.len())?;
    let categories = u32_column("category_id", ids.categories.len())?;
    let sessions = match frame.column("session") {
        Ok(_) => Some(u32_column("session", usize::MAX)?),
        Err(_) => None,
    };
    let behavior_codes = frame
        .column("behavior")
        .and_then(|c| c.u8().cloned())
        .map_err(polars_err)?;
    let behaviors = behavior_codes
        .iter()
        .map(|code| {
            code.and_then(Behavior::from_code).ok_or_else(|| {
                ArtifactError::invalid(&path, format!("bad behaviour code {code:?}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timestamps: Vec<i64> = frame
        .column("timestamp")
        .and_then(|c| c.i64().cloned())
        .map_err(polars_err)?
        .into_no_null_iter()
        .collect();
    // Written logs are sorted; reading them back must not reorder rows, or the session
    // column would no longer line up.
    let log = EventLog::from_sorted_columns(EventColumns {
        users: users.into_iter().map(UserId).collect(),
        items: items.into_iter().map(ItemId).collect(),
        categories: categories.into_iter().map(CategoryId).collect(),
        behaviors,
        timestamps,
        ..EventColumns::default()
    })
    .map_err(|source| ArtifactError::Core {
        path: path.clone(),
        source,
    })?;
    let log = match frame.column("weight") {
        Ok(c) => {
            let c = c.f32().map_err(polars_err)?;
            if c.null_count() > 0 {
                return Err(ArtifactError::invalid(&path, "column weight has nulls"));
            }
            log.with_weights(c.into_no_null_iter().collect())
                .map_err(|source| ArtifactError::Core {
                    path: path.clone(),
                    source,
                })?
        }
        Err(_) => log,
    };
    Ok((log, sessions))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn map<Id: DenseId>(n: u32) -> IdMap<Id> {
        IdMap::from_externals((0..n).map(|i| format!("x{i}"))).unwrap()
    }

    #[test]
    fn events_round_trip_with_and_without_sessions() {
        let log = EventLog::from_columns(
            vec![UserId(0), UserId(0), UserId(2)],
            vec![ItemId(4), ItemId(1), ItemId(4)],
            vec![CategoryId(1), CategoryId(0), CategoryId(1)],
            vec![Behavior::Pv, Behavior::Buy, Behavior::Cart],
            vec![-5, 1_511_544_070, 7],
        )
        .unwrap();
        let ids = IdMaps {
            users: map(3),
            items: map(5),
            categories: map(2),
        };
        let dir = tempfile::tempdir().unwrap();
        let weighted = log.clone().with_weights(vec![0.5, 3.0, 1e-3]).unwrap();
        for log in [log, weighted] {
            for sessions in [None, Some(vec![0, 1, u32::MAX])] {
                let path = dir.path().join("events.parquet");
                write_events(&path, log.clone(), sessions.clone()).unwrap();
                let (back, back_sessions) = read_events(&path, &ids).unwrap();
                assert_eq!(back, log);
                assert_eq!(back_sessions, sessions);
            }
        }
    }
}
