//! The client against a live Spark Connect server: the one of `CLICKREC_SPARK_URL`
//! (`SPARK_CLUSTER_CORES_MAX`, default 2, must match `CLICKREC_SPARK_CORES_MAX`), else a
//! local cluster this test starts with `scripts/spark-cluster.sh start` and stops at the
//! end. Without Java it skips and says so; under `CI=true` (where `.ci/run` installs
//! Java 17) it fails instead. Built only with the `connect` feature (as `.ci/run` runs it).

#![cfg(feature = "connect")]
#![allow(clippy::unwrap_used)] // tests report failures by panicking

use std::path::{Path, PathBuf};

use clickrec_spark::columns::{f64_column, i64_column, string_column, u32_column};
use clickrec_spark::{ConnectOptions, LocalCluster, SparkAlsParams, SparkClient, fit_als};

fn skip_or_fail(reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "prerequisite missing under CI=true: {reason}");
    eprintln!("skipped: {reason}");
}

/// The server of `CLICKREC_SPARK_URL`, or a local cluster started here (kept running
/// while the returned guard lives).
fn server() -> Option<(String, Option<LocalCluster>)> {
    if let Ok(url) = std::env::var("CLICKREC_SPARK_URL") {
        return Some((url, None));
    }
    match LocalCluster::start(&repo()) {
        Ok(cluster) => Some((cluster.url.clone(), Some(cluster))),
        Err(e) => {
            skip_or_fail(&e);
            None
        }
    }
}

#[test]
fn the_client_against_a_live_cluster() {
    let Some((url, _cluster)) = server() else {
        return;
    };
    let cores_max = std::env::var("CLICKREC_SPARK_CORES_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let client = SparkClient::connect(&url, &ConnectOptions::new(cores_max))
        .unwrap_or_else(|e| panic!("{e}"));
    sql_statements_and_queries_share_one_session(&client);
    als_on_mllib_fits_the_sample_and_reads_its_factors_back(&client);
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The quickstart sample as (dense user, dense item, summed weight), ids in order of first
/// appearance in the file as clickrec numbers them.
fn sample_view(client: &SparkClient) {
    let sample = repo().join("data/sample.csv");
    let sample = sample.canonicalize().expect("data/sample.csv");
    client
        .execute(&format!(
            "CREATE OR REPLACE TEMPORARY VIEW sample_events AS \
             SELECT _c0 AS user_raw, _c1 AS item_raw, _c3 AS behavior, monotonically_increasing_id() AS line \
             FROM csv.`{}`",
            sample.display()
        ))
        .expect("the sample view");
    client
        .execute(
            "CREATE OR REPLACE TEMPORARY VIEW sample_matrix AS \
             WITH users AS (SELECT user_raw, CAST(row_number() OVER (ORDER BY min(line)) - 1 AS INT) AS user \
                            FROM sample_events GROUP BY user_raw), \
                  items AS (SELECT item_raw, CAST(row_number() OVER (ORDER BY min(line)) - 1 AS INT) AS item \
                            FROM sample_events GROUP BY item_raw) \
             SELECT u.user, i.item, CAST(count(*) AS FLOAT) AS rating \
             FROM sample_events e JOIN users u USING (user_raw) JOIN items i USING (item_raw) \
             GROUP BY u.user, i.item",
        )
        .expect("the sample matrix view");
}

fn sql_statements_and_queries_share_one_session(client: &SparkClient) {
    assert!(client.version().starts_with('4'), "{}", client.version());
    client
        .execute("CREATE OR REPLACE TEMPORARY VIEW t AS SELECT id, CAST(id * 0.5 AS DOUBLE) AS w, CAST(id AS STRING) AS s FROM range(0, 10000, 1, 4)")
        .expect("a statement");
    let batches = client
        .query("SELECT id, w, s FROM t ORDER BY id")
        .expect("a query");
    let ids = u32_column(&batches, "id", "t").expect("ids");
    assert_eq!(ids, (0..10000).collect::<Vec<u32>>());
    let w = f64_column(&batches, "w", "t").expect("weights");
    assert_eq!(w[9999], 4999.5);
    assert_eq!(
        string_column(&batches, "s", "t").expect("strings")[42],
        "42"
    );
    let sum = i64_column(
        &client.query("SELECT sum(id) AS n FROM t").expect("sum"),
        "n",
        "sum",
    )
    .expect("n");
    assert_eq!(sum, [49_995_000]);

    let e = client
        .query("SELECT * FROM no_such_view")
        .expect_err("a missing view");
    let text = e.to_string();
    assert!(
        text.contains("no_such_view") && text.contains("SELECT * FROM no_such_view"),
        "{text}"
    );
}

fn als_on_mllib_fits_the_sample_and_reads_its_factors_back(client: &SparkClient) {
    sample_view(client);
    let counts = client
        .query("SELECT count(DISTINCT user) AS users, count(DISTINCT item) AS items, count(*) AS nnz FROM sample_matrix")
        .expect("counts");
    let users = u32_column(&counts, "users", "counts").expect("users")[0] as usize;
    let items = u32_column(&counts, "items", "counts").expect("items")[0] as usize;
    let nnz = u32_column(&counts, "nnz", "counts").expect("nnz")[0] as usize;

    let storage = tempfile::tempdir().expect("a model folder");
    let params = SparkAlsParams {
        rank: 16,
        max_iter: 10,
        reg_param: 0.01,
        alpha: 1.0,
        seed: 42,
        blocks: 2,
        ..SparkAlsParams::default()
    };
    let started = std::time::Instant::now();
    let factors = fit_als(
        client,
        "SELECT user, item, rating FROM sample_matrix",
        &params,
        users,
        items,
        &storage.path().join("als"),
    )
    .expect("an ALS fit");
    eprintln!(
        "ALS on MLlib: {users} users × {items} items, {nnz} non-zeros, rank 16, 10 iterations: {:.1} s (fit, save, delete, read back)",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(factors.rank, 16);
    assert_eq!(factors.users(), users);
    assert_eq!(factors.items(), items);
    assert_eq!(
        factors.users_with_factors, users,
        "every user of the matrix has a row"
    );
    assert_eq!(
        factors.items_with_factors, items,
        "every item of the matrix has a row"
    );
    assert!(
        factors
            .user_factors
            .iter()
            .chain(&factors.item_factors)
            .all(|v| v.is_finite())
    );
    assert!(
        storage.path().join("als/userFactors").is_dir(),
        "the model was saved to the shared folder"
    );

    // The fit learned the data: a user's own items score above the average item.
    let pairs = client
        .query("SELECT user, item FROM sample_matrix")
        .expect("pairs");
    let (pu, pi) = (
        u32_column(&pairs, "user", "pairs").expect("u"),
        u32_column(&pairs, "item", "pairs").expect("i"),
    );
    let score = |u: usize, i: usize| -> f32 {
        let (a, b) = (
            &factors.user_factors[u * 16..u * 16 + 16],
            &factors.item_factors[i * 16..i * 16 + 16],
        );
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    };
    let seen: f64 = pu
        .iter()
        .zip(&pi)
        .map(|(&u, &i)| f64::from(score(u as usize, i as usize)))
        .sum::<f64>()
        / pu.len() as f64;
    let all: f64 = pu
        .iter()
        .map(|&u| {
            (0..items)
                .map(|i| f64::from(score(u as usize, i)))
                .sum::<f64>()
                / items as f64
        })
        .sum::<f64>()
        / pu.len() as f64;
    eprintln!("mean score of observed pairs {seen:.4}, of all items {all:.4}");
    assert!(
        seen > 3.0 * all.abs().max(1e-6),
        "observed pairs {seen} vs all items {all}"
    );
}
