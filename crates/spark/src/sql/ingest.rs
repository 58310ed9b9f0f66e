//! Ingest of a Taobao-format file: rows checked in the local engine's order of checks,
//! dense ids in first-appearance order, events partitioned by user hash.

use super::{StageSql, Tables};

/// What the ingest SQL needs from `[input]` (the engine refuses the rest by key first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestSql {
    /// The input file as the cluster sees it.
    pub path: String,
    /// `input.window_start` / `window_end` in Unix seconds: rows outside are bad rows.
    pub window: Option<(i64, i64)>,
    /// `input.earliest_time` / `latest_time` (default 1970 to 2200) in Unix seconds, start
    /// inclusive, end exclusive: rows outside are bad rows (`time_out_of_range`), checked
    /// before the window as the local engine does.
    pub range: (i64, i64),
}

/// The Taobao field names, as the local engine names them in errors.
pub const TAOBAO_FIELDS: [&str; 5] = [
    "user_id",
    "item_id",
    "category_id",
    "behavior_type",
    "timestamp",
];

/// Largest u64, the bound of an integer id.
const U64_MAX: &str = "18446744073709551615";

/// An integer id as the local engine accepts it: 1..=20 decimal digits within u64.
fn integer_id(field: &str) -> String {
    format!("({field} RLIKE '^[0-9]{{1,20}}$' AND try_cast({field} AS DECIMAL(20,0)) <= {U64_MAX})")
}

/// The statements that read, check and intern the input: views `lines` (every line with
/// its `pos`), `checked` (non-blank lines with the first failing check as
/// `reason`/`field`), then the tables `users`, `items`, `categories` (external id → dense
/// id, first appearance) and `events` (sharded by user).
pub fn ingest_sql(tables: &Tables, input: &IngestSql) -> StageSql {
    let lines = tables.name("lines");
    let checked = tables.name("checked");
    // Time: an optional sign, digits, an optional fraction of which 9 digits count
    // (truncated, not rounded); seconds are the floor (Euclidean division), the rest nanos.
    let time_ok = "(t RLIKE '^-?[0-9]{1,20}([.][0-9]+)?$' AND \
                   try_cast(regexp_extract(t, '^-?([0-9]+)', 1) AS DECIMAL(20,0)) <= 18446744073709551615 AND \
                   abs(tsec) <= 9223372036854775807)";
    let (earliest, latest) = input.range;
    let range = format!("NOT (tsec >= {earliest} AND tsec < {latest})");
    let window = match input.window {
        Some((start, end)) => format!("NOT (tsec >= {start} AND tsec < {end})"),
        None => "false".to_owned(),
    };
    let statements = vec![
        format!(
            "CREATE OR REPLACE TEMPORARY VIEW {lines} AS\n\
             SELECT value AS line, monotonically_increasing_id() AS pos FROM text.`{}`",
            input.path.replace('`', "``")
        ),
        format!(
            "CREATE OR REPLACE TEMPORARY VIEW {checked} AS\n\
             WITH f AS (\n\
             \x20 SELECT pos, split(line, ',', -1) AS f, line FROM {lines} WHERE line <> ''\n\
             ), v AS (\n\
             \x20 SELECT pos, size(f) AS n, try_element_at(f, 1) AS u, try_element_at(f, 2) AS i,\n\
             \x20   try_element_at(f, 3) AS c, try_element_at(f, 4) AS b, try_element_at(f, 5) AS t\n\
             \x20 FROM f\n\
             ), d AS (\n\
             \x20 SELECT *, try_cast(concat(regexp_extract(t, '^(-?[0-9]+)', 1), '.',\n\
             \x20   rpad(substr(regexp_extract(t, '[.]([0-9]+)$', 1), 1, 9), 9, '0')) AS DECIMAL(38,9)) AS td\n\
             \x20 FROM v\n\
             ), s AS (\n\
             \x20 SELECT *, floor(td) AS tsec FROM d\n\
             )\n\
             SELECT pos, u, i, c, b,\n\
             \x20 CAST(tsec AS BIGINT) AS ts, CAST((td - tsec) * 1000000000 AS INT) AS subsec,\n\
             \x20 CASE\n\
             \x20   WHEN n <> 5 THEN 'wrong_field_count'\n\
             \x20   WHEN u = '' THEN 'empty_id' WHEN NOT {uok} THEN 'bad_id'\n\
             \x20   WHEN i = '' THEN 'empty_id' WHEN NOT {iok} THEN 'bad_id'\n\
             \x20   WHEN c = '' THEN 'empty_id' WHEN NOT {cok} THEN 'bad_id'\n\
             \x20   WHEN b NOT IN ('pv', 'fav', 'cart', 'buy') THEN 'unknown_behavior'\n\
             \x20   WHEN NOT coalesce({time_ok}, false) THEN 'bad_timestamp'\n\
             \x20   WHEN {range} THEN 'time_out_of_range'\n\
             \x20   WHEN {window} THEN 'out_of_window'\n\
             \x20 END AS reason,\n\
             \x20 CASE\n\
             \x20   WHEN n <> 5 THEN -1\n\
             \x20   WHEN u = '' OR NOT {uok} THEN 0\n\
             \x20   WHEN i = '' OR NOT {iok} THEN 1\n\
             \x20   WHEN c = '' OR NOT {cok} THEN 2\n\
             \x20   WHEN b NOT IN ('pv', 'fav', 'cart', 'buy') THEN 3\n\
             \x20   ELSE 4\n\
             \x20 END AS field,\n\
             \x20 CASE WHEN n <> 5 THEN concat(n, ' fields, expected 5') ELSE element_at(array(u, i, c, b, t),\n\
             \x20   CASE WHEN u = '' OR NOT {uok} THEN 1 WHEN i = '' OR NOT {iok} THEN 2\n\
             \x20        WHEN c = '' OR NOT {cok} THEN 3 WHEN b NOT IN ('pv', 'fav', 'cart', 'buy') THEN 4 ELSE 5 END) END AS value\n\
             FROM s",
            uok = integer_id("u"),
            iok = integer_id("i"),
            cok = integer_id("c"),
        ),
    ];
    let mut statements = statements;
    for (table, column, raw) in [
        ("users", "user", "u"),
        ("items", "item", "i"),
        ("categories", "category", "c"),
    ] {
        statements.extend(tables.create(
            table,
            false,
            &format!(
                "SELECT CAST(row_number() OVER (ORDER BY min(pos)) - 1 AS INT) AS {column}, {raw} AS external\n\
                 FROM {checked} WHERE reason IS NULL GROUP BY {raw}"
            ),
        ));
    }
    statements.extend(tables.create(
        "events",
        true,
        &format!(
            "SELECT us.user, it.item, ca.category,\n\
             \x20 CAST(CASE e.b WHEN 'pv' THEN 0 WHEN 'fav' THEN 1 WHEN 'cart' THEN 2 ELSE 3 END AS TINYINT) AS behavior,\n\
             \x20 e.ts, e.subsec, e.pos, {shard}\n\
             FROM {checked} e\n\
             JOIN {users} us ON e.u = us.external\n\
             JOIN {items} it ON e.i = it.external\n\
             JOIN {categories} ca ON e.c = ca.external\n\
             WHERE e.reason IS NULL",
            shard = tables.shard("us.user"),
            users = tables.read("users"),
            items = tables.read("items"),
            categories = tables.read("categories"),
        ),
    ));
    StageSql { statements }
}

/// The first bad row in file order with its line number (blank lines count), or no row:
/// `line`, `reason`, `field` (−1 for a wrong field count), `value`. Run after
/// [`ingest_sql`]'s views exist, before its tables are pulled.
pub fn bad_row_sql(tables: &Tables) -> String {
    let lines = tables.name("lines");
    let checked = tables.name("checked");
    format!(
        "WITH first AS (SELECT pos, reason, field, value FROM {checked} WHERE reason IS NOT NULL ORDER BY pos LIMIT 1)\n\
         SELECT count(l.pos) AS line, first.reason, first.field, first.value\n\
         FROM first JOIN {lines} l ON l.pos <= first.pos GROUP BY first.reason, first.field, first.value"
    )
}

/// Refuses quoted fields, which the Taobao reader unquotes and this SQL would not: the
/// number of lines containing a double quote.
pub fn quoted_lines_sql(tables: &Tables) -> String {
    format!(
        "SELECT count(*) AS n FROM {} WHERE instr(line, '\"') > 0",
        tables.name("lines")
    )
}
