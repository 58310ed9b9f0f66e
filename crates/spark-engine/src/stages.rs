//! [`SparkStages`]: one Connect session per run, the data stages' SQL run on it, and
//! their tables pulled back into the local engine's types.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clickrec_core::{
    Behavior, CategoryId, EventLog, IdMap, IdMaps, ItemId, UserId, UserItemMatrix,
};
use clickrec_ingest::{
    IngestError, IngestOptions, IngestSummary, Ingested, RejectCounts, RejectReason,
};
use clickrec_io::{read_id_maps, read_split_id_maps};
use clickrec_models::Factors;
use clickrec_models::als::AlsParams;
use clickrec_prep::{
    CheckedPrep, CheckedSplit, CheckedWeights, CutParts, DedupDetails, LogStats, PrepReport,
    Prepared, SessionDetails, SessionSource, SplitError, SplitOutput, SplitRule, SplitSpec,
    StepDetails, StepReport, WindowDetails, add_validation, split_from_cut,
};
use clickrec_rerank::LogisticProblem;
use rayon::prelude::*;

use clickrec_spark::columns::{f32_column, i64_column, row_count, string_column, u32_column};
use clickrec_spark::sql::{self, StageSql, Tables};
use clickrec_spark::{ConnectOptions, SparkAlsParams, SparkClient};

use crate::SparkStageError;

/// User-hash partitions of the Parquet tables.
const SHARDS: u32 = 8;

/// Where the cluster is and what a run may take of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// The Spark Connect URL, `sc://host:port`.
    pub url: String,
    /// `spark.cores.max` of the session.
    pub cores_max: u32,
    /// The folder the cluster and this machine share; the run's tables go to a
    /// subfolder named after the run.
    pub storage: PathBuf,
}

/// The data stages and the MLlib fits of one run on Spark: one Connect session, opened
/// on first use, so a run whose data stages are all cached needs no cluster.
pub struct SparkStages {
    cluster: Cluster,
    tables: Tables,
    client: OnceCell<SparkClient>,
}

impl std::fmt::Debug for SparkStages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparkStages")
            .field("cluster", &self.cluster)
            .field("tables", &self.tables)
            .finish()
    }
}

impl SparkStages {
    /// The stages of the run in `run_dir` on `cluster`; connects on first use.
    pub fn new(cluster: Cluster, run_dir: &Path) -> Self {
        // One folder and one table prefix per run directory: runs never share tables.
        let absolute = std::path::absolute(run_dir).unwrap_or_else(|_| run_dir.to_owned());
        let hash = blake3::hash(absolute.display().to_string().as_bytes()).to_hex();
        let prefix = format!("clickrec_{}", &hash[..12]);
        let root = cluster.storage.join(&prefix);
        let root = std::path::absolute(&root).unwrap_or(root);
        SparkStages {
            tables: Tables {
                prefix,
                root: root.display().to_string(),
                shards: SHARDS,
            },
            cluster,
            client: OnceCell::new(),
        }
    }

    fn client(&self) -> Result<&SparkClient, SparkStageError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = SparkClient::connect(
            &self.cluster.url,
            &ConnectOptions::new(self.cluster.cores_max),
        )
        .map_err(|source| SparkStageError::spark("connect", source))?;
        client
            .set_conf("spark.sql.shuffle.partitions", &SHARDS.to_string())
            .map_err(|source| SparkStageError::spark("connect", source))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Empties the folders of the tables a stage is about to write (a CTAS refuses a
    /// non-empty location); the storage is shared, so this process sees them.
    fn fresh(&self, tables: &[&str]) -> Result<(), SparkStageError> {
        for table in tables {
            let dir = PathBuf::from(self.tables.location(table));
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(clickrec_core::FileError::new(&dir, "cannot empty", e).into());
                }
            }
        }
        std::fs::create_dir_all(&self.tables.root).map_err(|e| {
            SparkStageError::from(clickrec_core::FileError::new(
                Path::new(&self.tables.root),
                "cannot create the Spark storage folder",
                e,
            ))
        })
    }

    fn execute(&self, stage: &'static str, statements: &[String]) -> Result<(), SparkStageError> {
        let client = self.client()?;
        for statement in statements {
            client
                .execute(statement)
                .map_err(|source| SparkStageError::spark(stage, source))?;
        }
        Ok(())
    }

    fn query(
        &self,
        stage: &'static str,
        sql: &str,
    ) -> Result<Vec<arrow::record_batch::RecordBatch>, SparkStageError> {
        self.client()?
            .query(sql)
            .map_err(|source| SparkStageError::spark(stage, source))
    }

    fn run(&self, stage: &'static str, sql: &StageSql) -> Result<(), SparkStageError> {
        self.execute(stage, &sql.statements)
    }

    /// The `columns` of a table of this run, read from the Parquet files Spark wrote on
    /// the shared storage, and checked against Spark's own row count: stale or missing
    /// files must never pass as the data.
    fn pull(
        &self,
        stage: &'static str,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<arrow::record_batch::RecordBatch>, SparkStageError> {
        let location = self.tables.location(table);
        let batches = clickrec_spark::table_files::read_table(Path::new(&location), columns)
            .map_err(|source| SparkStageError::spark(stage, source))?;
        let read = row_count(&batches);
        let sql = format!("SELECT count(*) AS n FROM {}", self.tables.read(table));
        let count = self.counts(stage, &sql, &["n"])?[0];
        if count == read as i64 {
            return Ok(batches);
        }
        Err(SparkStageError::Invalid {
            path: PathBuf::from(location),
            message: format!(
                "the {stage} stage read {read} rows from this table's Parquet files, but Spark counts {count}: the cluster and this machine do not see the same files. Check that engine.storage is shared storage"
            ),
        })
    }

    /// An event table's rows in the local order (user, time, sub-second time, file
    /// order), read once: one log per value of `parts` (the `part` column), or one log of
    /// every row when `parts` is empty. Each comes with its session column when asked.
    fn pull_events(
        &self,
        stage: &'static str,
        table: &str,
        parts: &[i8],
        with_sessions: bool,
    ) -> Result<Vec<(EventLog, Vec<u32>)>, SparkStageError> {
        let mut columns = vec![
            "user", "item", "category", "behavior", "ts", "subsec", "pos",
        ];
        if with_sessions {
            columns.push("session");
        }
        if !parts.is_empty() {
            columns.push("part");
        }
        let batches = self.pull(stage, table, &columns)?;
        let what = self.tables.location(table);
        let spark = |source| SparkStageError::spark(stage, source);
        let u32s = |column| u32_column(&batches, column, &what).map_err(spark);
        let (users, items, categories) = (u32s("user")?, u32s("item")?, u32s("category")?);
        let subsec = u32s("subsec")?;
        let sessions = if with_sessions {
            u32s("session")?
        } else {
            Vec::new()
        };
        let timestamps = i64_column(&batches, "ts", &what).map_err(spark)?;
        let pos = i64_column(&batches, "pos", &what).map_err(spark)?;
        let behaviors = u32s("behavior")?
            .into_iter()
            .map(|c| u8::try_from(c).ok().and_then(Behavior::from_code))
            .collect::<Option<Vec<Behavior>>>()
            .ok_or_else(|| SparkStageError::Invalid {
                path: PathBuf::from(&what),
                message: "a behaviour code outside 0..=3".into(),
            })?;
        // The rows of each log asked for, in file order.
        let groups: Vec<Vec<usize>> = if parts.is_empty() {
            vec![(0..users.len()).collect()]
        } else {
            let part_of = i64_column(&batches, "part", &what).map_err(spark)?;
            parts
                .iter()
                .map(|&part| {
                    (0..part_of.len())
                        .filter(|&r| part_of[r] == i64::from(part))
                        .collect()
                })
                .collect()
        };
        groups
            .into_iter()
            .map(|mut order| {
                order.par_sort_unstable_by_key(|&r| (users[r], timestamps[r], subsec[r], pos[r]));
                let log = EventLog::from_event_columns(clickrec_core::EventColumns {
                    users: order.iter().map(|&r| UserId(users[r])).collect(),
                    items: order.iter().map(|&r| ItemId(items[r])).collect(),
                    categories: order.iter().map(|&r| CategoryId(categories[r])).collect(),
                    behaviors: order.iter().map(|&r| behaviors[r]).collect(),
                    timestamps: order.iter().map(|&r| timestamps[r]).collect(),
                    subsec_nanos: order.iter().map(|&r| subsec[r]).collect(),
                    sessions: None,
                    weights: None,
                })
                .map_err(|e| SparkStageError::Invalid {
                    path: PathBuf::from(&what),
                    message: e.to_string(),
                })?;
                let log_sessions = if with_sessions {
                    order.iter().map(|&r| sessions[r]).collect()
                } else {
                    Vec::new()
                };
                Ok((log, log_sessions))
            })
            .collect()
    }

    /// One row of integer columns as `i64`s, in the order asked.
    fn counts(
        &self,
        stage: &'static str,
        sql: &str,
        columns: &[&str],
    ) -> Result<Vec<i64>, SparkStageError> {
        let batches = self.query(stage, sql)?;
        columns
            .iter()
            .map(|c| {
                let values = i64_column(&batches, c, sql)
                    .map_err(|source| SparkStageError::spark(stage, source))?;
                values
                    .first()
                    .copied()
                    .ok_or_else(|| SparkStageError::Invalid {
                        path: PathBuf::from(&self.tables.root),
                        message: format!("no row from {sql}"),
                    })
            })
            .collect()
    }

    /// k-means on MLlib over `points` (`n × dim`, uploaded to the shared storage):
    /// `params.k × dim` centres.
    pub fn fit_kmeans(
        &self,
        points: &[f32],
        dim: usize,
        params: &clickrec_spark::SparkKMeansParams,
    ) -> Result<Vec<f32>, SparkStageError> {
        self.fresh(&["kmeans"])?;
        clickrec_spark::fit_kmeans(
            self.client()?,
            points,
            dim,
            params,
            Path::new(&self.tables.location("kmeans")),
        )
        .map_err(|source| SparkStageError::spark("segment", source))
    }

    /// Binomial logistic regression on MLlib over `problem`'s rows (uploaded to the
    /// shared storage). linfa's `l2` weighs the *summed* log-loss and MLlib's `regParam`
    /// the mean, so `regParam = l2 / rows`.
    pub fn fit_logistic(
        &self,
        problem: &LogisticProblem<'_>,
    ) -> Result<(Vec<f64>, f64), SparkStageError> {
        let LogisticProblem {
            x,
            features,
            labels,
            l2,
            max_iterations,
        } = *problem;
        self.fresh(&["logistic"])?;
        let params = clickrec_spark::SparkLogisticParams {
            max_iter: u32::try_from(max_iterations).unwrap_or(u32::MAX),
            reg_param: l2 / labels.len().max(1) as f64,
            tol: 1e-6,
        };
        clickrec_spark::fit_logistic(
            self.client()?,
            x,
            features,
            labels,
            &params,
            Path::new(&self.tables.location("logistic")),
        )
        .map_err(|source| SparkStageError::spark("rerank", source))
    }

    /// Fits implicit ALS on MLlib over the `pairs` table and reads the factors back.
    /// Our objective weighs an observed pair by `alpha·r` and regularises every row by λ;
    /// MLlib weighs it by `1 + alpha'·r'` and a row by `λ'·n_row` (ALS-WR). So the
    /// rating sent is `r' = max(alpha·r − 1, 1e-6)` with `alpha' = 1` (equal confidence
    /// whenever `alpha·r ≥ 1`), and `λ' = λ·(users + items) / (2·nnz)` (λ at the mean
    /// row length).
    pub fn fit_als(
        &self,
        params: &AlsParams,
        matrix: &UserItemMatrix,
        seed: u64,
        run_dir: &Path,
    ) -> Result<clickrec_models::als::Als, SparkStageError> {
        if params.regularization_exp != 0.0 || params.unobserved_weight != 1.0 {
            return Err(SparkStageError::Invalid {
                path: run_dir.to_owned(),
                message: "ALS outgrows this machine and would train on MLlib, which has no equivalent of [models.als] regularization_exp or unobserved_weight: leave them at their defaults (0 and 1), or raise engine.train_memory_share so ALS trains here".into(),
            });
        }
        let (users, items, nnz) = (matrix.n_users(), matrix.n_items(), matrix.nnz());
        // The `pairs` table keeps the input's item ids: fit in that space, then keep the
        // rows of the split's items, in their order.
        let (rename, _) = split_item_renaming(run_dir)?;
        let dataset = format!(
            "SELECT user, item, CAST(greatest(CAST('{:?}' AS DOUBLE) * weight - 1D, 1e-6D) AS FLOAT) AS rating FROM {}",
            f64::from(params.alpha),
            self.tables.read("pairs")
        );
        let spark_params = SparkAlsParams {
            rank: u32::try_from(params.factors).unwrap_or(u32::MAX),
            max_iter: u32::try_from(params.iterations).unwrap_or(u32::MAX),
            reg_param: f64::from(params.regularization) * (users + items) as f64
                / (2.0 * nnz.max(1) as f64),
            alpha: 1.0,
            seed: (seed & i64::MAX as u64) as i64,
            implicit_prefs: true,
            nonnegative: false,
            blocks: SHARDS,
            user_col: "user".into(),
            item_col: "item".into(),
            rating_col: "rating".into(),
        };
        let model_dir = PathBuf::from(self.tables.location("als_model"));
        self.fresh(&["als_model"])?;
        let factors = clickrec_spark::fit_als(
            self.client()?,
            &dataset,
            &spark_params,
            users,
            rename.len(),
            &model_dir,
        )
        .map_err(|source| SparkStageError::spark("train", source))?;
        let rank = factors.rank;
        let mut item_factors = vec![0f32; items * rank];
        for (old, &new) in rename.iter().enumerate() {
            if new != u32::MAX {
                let (to, from) = (new as usize * rank, old * rank);
                item_factors[to..to + rank]
                    .copy_from_slice(&factors.item_factors[from..from + rank]);
            }
        }
        clickrec_models::als::Als::from_factors(
            params.clone(),
            Factors::from_vec(users, rank, factors.user_factors),
            Factors::from_vec(items, rank, item_factors),
        )
        .map_err(|e| SparkStageError::Invalid {
            path: model_dir,
            message: e.to_string(),
        })
    }
}

/// The split's renumbering of items (`split_items.parquet`, see `SplitOutput::compact_items`):
/// for each item id of the input, its id after the split (`u32::MAX` when it was dropped),
/// and the number of items after the split. Spark's tables keep the input's ids.
fn split_item_renaming(run_dir: &Path) -> Result<(Vec<u32>, usize), SparkStageError> {
    let input = read_id_maps(run_dir)?.items;
    let split = read_split_id_maps(run_dir)?.items;
    let input_ids = input.lookup_table();
    let mut rename = vec![u32::MAX; input.len()];
    for (new, external) in split.externals().enumerate() {
        if let Some(old) = input_ids.get(external) {
            rename[old.0 as usize] = new as u32;
        }
    }
    Ok((rename, split.len()))
}

fn reject_reason(key: &str) -> RejectReason {
    RejectReason::ALL
        .into_iter()
        .find(|r| r.key() == key)
        .unwrap_or(RejectReason::BadId)
}

impl SparkStages {
    /// The cluster's URL, for what a stage reports.
    pub fn url(&self) -> &str {
        &self.cluster.url
    }

    /// The folder of this run's tables on the shared storage.
    pub fn tables_root(&self) -> &str {
        &self.tables.root
    }

    /// Reads and validates the Taobao-layout `input` on the cluster and writes the run
    /// directory's event log, id maps and `ingest.json` into `out`, as the local ingest
    /// does.
    pub fn ingest(
        &self,
        input_path: &Path,
        options: &IngestOptions,
        out: &Path,
    ) -> Result<IngestSummary, SparkStageError> {
        let started = Instant::now();
        let stage = "ingest";
        let input = std::fs::canonicalize(input_path).map_err(|e| {
            SparkStageError::from(clickrec_core::FileError::new(
                input_path,
                "cannot resolve",
                e,
            ))
        })?;
        let sql = sql::ingest_sql(
            &self.tables,
            &sql::IngestSql {
                path: input.display().to_string(),
                window: options.window.map(|w| (w.start, w.end)),
                range: (options.time_range.start, options.time_range.end),
            },
        );
        self.fresh(&["users", "items", "categories", "events"])?;
        // The two views first: quoted fields and bad rows stop ingest before any table.
        let (views, tables) = sql.statements.split_at(2);
        self.execute(stage, views)?;
        let quoted = self.counts(stage, &sql::quoted_lines_sql(&self.tables), &["n"])?[0];
        if quoted > 0 {
            return Err(SparkStageError::Invalid {
                path: input,
                message: format!(
                    "{quoted} lines hold a double quote: quoted fields are not read on engine.kind = \"spark\"; use engine.kind = \"local\" for this input"
                ),
            });
        }
        let bad = self.query(stage, &sql::bad_row_sql(&self.tables))?;
        if row_count(&bad) > 0 {
            let spark = |source| SparkStageError::spark(stage, source);
            let line = i64_column(&bad, "line", "the first bad row").map_err(spark)?[0];
            let reason = string_column(&bad, "reason", "the first bad row").map_err(spark)?;
            let field = i64_column(&bad, "field", "the first bad row").map_err(spark)?[0];
            let value = string_column(&bad, "value", "the first bad row").map_err(spark)?;
            return Err(IngestError::BadRow {
                path: input_path.to_owned(),
                line: line as u64,
                reason: reject_reason(&reason[0]),
                column: usize::try_from(field)
                    .ok()
                    .and_then(|f| sql::TAOBAO_FIELDS.get(f))
                    .map(|s| s.to_string()),
                value: value[0].clone(),
            }
            .into());
        }
        self.execute(stage, tables)?;
        let mut externals = Vec::new();
        for (table, column) in [
            ("users", "user"),
            ("items", "item"),
            ("categories", "category"),
        ] {
            let batches = self.pull(stage, table, &[column, "external"])?;
            let what = self.tables.location(table);
            let spark = |source| SparkStageError::spark(stage, source);
            let ids = u32_column(&batches, column, &what).map_err(spark)?;
            let n = ids.len();
            let mut external = vec![None; n];
            for (id, name) in ids
                .into_iter()
                .zip(string_column(&batches, "external", &what).map_err(spark)?)
            {
                if let Some(slot) = external.get_mut(id as usize) {
                    *slot = Some(name);
                }
            }
            let external = external.into_iter().collect::<Option<Vec<String>>>();
            externals.push(external.ok_or_else(|| SparkStageError::Invalid {
                path: PathBuf::from(&what),
                message: format!("the {column} ids are not 0..{n} without gaps"),
            })?);
        }
        let id_error = |e: clickrec_core::CoreError| SparkStageError::Invalid {
            path: PathBuf::from(&self.tables.root),
            message: e.to_string(),
        };
        let ids = IdMaps {
            users: IdMap::from_externals(&externals[0]).map_err(id_error)?,
            items: IdMap::from_externals(&externals[1]).map_err(id_error)?,
            categories: IdMap::from_externals(&externals[2]).map_err(id_error)?,
        };
        let (log, _) = self.pull_events(stage, "events", &[], false)?.remove(0);
        let lines = self.counts(
            stage,
            &format!(
                "SELECT count(*) AS lines, count_if(line <> '') AS rows FROM {}",
                self.tables.name("lines")
            ),
            &["lines", "rows"],
        )?;
        let ingested = Ingested {
            log,
            ids,
            rows_read: lines[1] as u64,
            blank_lines: (lines[0] - lines[1]) as u64,
            rejected: RejectCounts::default(),
            // The taobao layout (the only one Spark reads) has no null values.
            anonymous_rows: 0,
            quarantine: None,
            unterminated_last_line: None,
        };
        Ok(clickrec_ingest::write_ingested(
            input_path, options, out, ingested, started,
        )?)
    }

    /// The cleaned, sessionized log of the ingested events.
    pub fn prepare(&self, prep: &CheckedPrep) -> Result<Prepared, SparkStageError> {
        let stage = "prep";
        self.fresh(&["prepared"])?;
        self.run(stage, &sql::prep_sql(&self.tables, prep))?;
        let c = self.counts(
            stage,
            &sql::PrepCounts::sql(&self.tables),
            &[
                "rows_in",
                "users_in",
                "items_in",
                "rows_window",
                "users_window",
                "items_window",
                "exact_duplicates",
                "repeats",
                "rows_out",
                "users_out",
                "items_out",
                "sessions",
                "multi_session_users",
            ],
        )?;
        let c: Vec<u64> = c.into_iter().map(|v| v.max(0) as u64).collect();
        let stats = |at: usize| LogStats {
            rows: c[at],
            users: c[at + 1],
            items: c[at + 2],
        };
        let (input, windowed, output) = (stats(0), stats(3), stats(8));
        let mut steps = Vec::new();
        if let Some(w) = prep.window() {
            steps.push(StepReport::new(
                input,
                windowed,
                StepDetails::TimeWindow(WindowDetails {
                    start: w.start(),
                    end: w.end(),
                }),
            ));
        }
        if let Some(d) = prep.dedup() {
            steps.push(StepReport::new(
                windowed,
                output,
                StepDetails::Dedup(DedupDetails {
                    exact_duplicates: c[6],
                    repeats: c[7],
                    repeat_window_s: d.repeat_window_s,
                }),
            ));
        }
        steps.push(StepReport::new(
            output,
            output,
            StepDetails::Sessions(SessionDetails {
                sessions: c[11],
                multi_session_users: c[12],
                source: SessionSource::Gap,
                gap_s: prep.session_gap_s().get(),
                given_sessions_cut: 0,
            }),
        ));
        let (log, sessions) = self.pull_events(stage, "prepared", &[], true)?.remove(0);
        Ok(Prepared {
            log,
            sessions,
            report: PrepReport {
                input,
                output,
                steps,
            },
        })
    }

    /// The train/test split of the prepared log (and the validation split carved from
    /// train, when `split` asks for one).
    pub fn split(
        &self,
        split: &CheckedSplit,
        prep: &CheckedPrep,
    ) -> Result<SplitOutput, SparkStageError> {
        let stage = "split";
        let path = PathBuf::from(self.tables.location("prepared"));
        let rule = match split.rule() {
            SplitSpec::Rule(rule) => rule,
            SplitSpec::SessionFraction { test_fraction } => {
                let batches = self.query(
                    stage,
                    &sql::session_quantile_sql(&self.tables, test_fraction),
                )?;
                let cutoff = i64_column(&batches, "cutoff", "the session-start quantile")
                    .map_err(|source| SparkStageError::spark(stage, source))?;
                match cutoff.first() {
                    Some(&cutoff) => SplitRule::SessionCutoff { cutoff },
                    None => {
                        let source = SplitError::NoSessions { part: "test" };
                        return Err(SparkStageError::Split(path, source));
                    }
                }
            }
        };
        self.fresh(&["split"])?;
        self.run(stage, &sql::split_sql(&self.tables, rule))?;
        // Both parts from one read of the split table.
        let mut parts = self
            .pull_events(stage, "split", &[sql::TRAIN, sql::TEST], true)?
            .into_iter();
        let (Some((train, train_sessions)), Some((test_events, test_sessions))) =
            (parts.next(), parts.next())
        else {
            unreachable!("pull_events returns one log per part asked")
        };
        let c = self.counts(
            stage,
            &format!(
                "SELECT count_if(part = {}) AS unused, coalesce(max(item) + 1, 0) AS items FROM {}",
                sql::UNUSED,
                self.tables.read("split")
            ),
            &["unused", "items"],
        )?;
        // The validation split is carved here from the pulled train, by the local engine's
        // code: train is pulled anyway, and its later stages read it here.
        let (filters, n_items) = (prep.train_filters(), c[1].max(0) as usize);
        split_from_cut(
            CutParts {
                train,
                train_sessions,
                test_events,
                test_sessions,
                unused_events: c[0].max(0) as u64,
            },
            rule,
            &filters,
            n_items,
        )
        .and_then(|out| add_validation(out, split, &filters, n_items))
        .map_err(|source| SparkStageError::Split(path, source))
    }

    /// The weighted user-item matrix of train, in the split's ids of `run_dir`.
    pub fn matrix(
        &self,
        weights: &CheckedWeights,
        run_dir: &Path,
    ) -> Result<UserItemMatrix, SparkStageError> {
        let stage = "matrix";
        let ids = read_id_maps(run_dir)?;
        self.fresh(&["pairs"])?;
        self.run(stage, &sql::matrix_sql(&self.tables, weights))?;
        let batches = self.pull(stage, "pairs", &["user", "item", "weight"])?;
        let what = self.tables.location("pairs");
        let spark = |source| SparkStageError::spark(stage, source);
        let users = u32_column(&batches, "user", &what).map_err(spark)?;
        let items = u32_column(&batches, "item", &what).map_err(spark)?;
        let weights = f32_column(&batches, "weight", &what).map_err(spark)?;
        let mut order: Vec<usize> = (0..users.len()).collect();
        order.par_sort_unstable_by_key(|&r| (users[r], items[r]));
        let data = order.iter().map(|&r| weights[r]).collect();
        let (rename, n_items) = split_item_renaming(run_dir)?;
        let indices = order
            .iter()
            .map(|&r| items[r])
            .map(|old| match rename.get(old as usize) {
                Some(&new) if new != u32::MAX => Ok(new),
                _ => Err(SparkStageError::Matrix(
                    PathBuf::from(&what),
                    clickrec_core::MatrixError::Inconsistent(format!(
                        "item {old} of the Spark pairs is not in the split's items"
                    )),
                )),
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let n_users = ids.users.len();
        let mut indptr = vec![0usize; n_users + 1];
        for &u in &users {
            if let Some(next) = indptr.get_mut(u as usize + 1) {
                *next += 1;
            }
        }
        for u in 0..n_users {
            indptr[u + 1] += indptr[u];
        }
        UserItemMatrix::from_csr_parts(n_users, n_items, indptr, indices, data)
            .map_err(|source| SparkStageError::Matrix(PathBuf::from(what), source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(run_dir: &str) -> SparkStages {
        SparkStages::new(
            Cluster {
                url: "sc://127.0.0.1:1".into(),
                cores_max: 2,
                storage: PathBuf::from("/shared"),
            },
            Path::new(run_dir),
        )
    }

    #[test]
    fn each_run_directory_has_its_own_tables() {
        let (a, b) = (stages("/runs/a"), stages("/runs/b"));
        assert_ne!(a.tables.prefix, b.tables.prefix);
        assert!(
            a.tables.root.starts_with("/shared/clickrec_"),
            "{}",
            a.tables.root
        );
        assert!(a.tables.root.ends_with(&a.tables.prefix));
        assert!(
            a.client.get().is_none(),
            "no connection before a stage needs one"
        );
    }
}
