//! The Spark SQL of the data stages (ingest, prep, split, matrix) as pure functions from
//! checked configurations to SQL text: no client, no JVM, so unit tests read the SQL.
//!
//! Every stage materialises its output as a Parquet table under the run's folder on the
//! shared storage path, partitioned by a user hash (`shard`), so the next stage, the
//! cluster's workers and the client all read the same files. Rows keep `pos` (the line's
//! place in the input file, from `monotonically_increasing_id()` over the one input file,
//! which increases in file order) so every ordering and tie-break is the local engine's:
//! events of a user in (time, sub-second time, file order).

mod ingest;
mod matrix;
mod prep;
mod split;

pub use ingest::{IngestSql, TAOBAO_FIELDS, bad_row_sql, ingest_sql, quoted_lines_sql};
pub use matrix::matrix_sql;
pub use prep::{PrepCounts, check_prep, prep_sql};
pub use split::{TEST, TRAIN, UNUSED, check_split, session_quantile_sql, split_sql};

use thiserror::Error;

/// A pipeline option the Spark engine does not implement. The local engine does.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "{key} = {value}: {why} on engine.kind = \"spark\"; use engine.kind = \"local\" for this pipeline"
)]
pub struct Unsupported {
    /// The pipeline key, e.g. `prep.kcore`.
    pub key: &'static str,
    /// The value as written.
    pub value: String,
    /// What is missing.
    pub why: &'static str,
}

pub(crate) fn unsupported(
    key: &'static str,
    value: impl ToString,
    why: &'static str,
) -> Unsupported {
    Unsupported {
        key,
        value: value.to_string(),
        why,
    }
}

/// Where one run's tables live: their names in the Spark catalog (a per-run prefix, so
/// runs sharing a Connect server never meet) and their folders on the shared storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    /// Prefix of every table and view name, e.g. `clickrec_1a2b3c4d`.
    pub prefix: String,
    /// The run's folder on the shared storage (seen alike by the cluster and the client).
    pub root: String,
    /// Number of user-hash partitions of the Parquet outputs.
    pub shards: u32,
}

impl Tables {
    /// The catalog name of a table or temporary view of this run.
    pub fn name(&self, table: &str) -> String {
        format!("{}_{table}", self.prefix)
    }

    /// A table of this run as a relation read from its Parquet folder, so a later stage
    /// (in another session, after a cached stage) finds it without the catalog.
    pub fn read(&self, table: &str) -> String {
        format!("parquet.`{}`", self.location(table).replace('`', "``"))
    }

    /// The folder of a table of this run.
    pub fn location(&self, table: &str) -> String {
        format!("{}/{table}", self.root.trim_end_matches('/'))
    }

    /// The statements that (re)create `table` as Parquet at its location from `select`,
    /// partitioned by `shard` when `sharded`, and then forget the catalog entry (the
    /// table is external: its files stay). The client empties the location first (a
    /// CTAS refuses a non-empty one).
    pub(crate) fn create(&self, table: &str, sharded: bool, select: &str) -> [String; 3] {
        let name = self.name(table);
        let partition = if sharded {
            " PARTITIONED BY (shard)"
        } else {
            ""
        };
        [
            format!("DROP TABLE IF EXISTS {name}"),
            format!(
                "CREATE TABLE {name} USING parquet{partition} LOCATION {} AS\n{select}",
                literal(&self.location(table))
            ),
            format!("DROP TABLE {name}"),
        ]
    }

    /// The shard of a user id column.
    pub(crate) fn shard(&self, user: &str) -> String {
        format!("pmod(hash({user}), {}) AS shard", self.shards.max(1))
    }
}

/// A Spark SQL string literal (quotes and backslashes escaped).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// One stage's SQL: the statements to run in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSql {
    /// DDL and views, run in order.
    pub statements: Vec<String>,
}

#[cfg(test)]
mod tests;
