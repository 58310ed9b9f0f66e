//! `clickrec ingest`: a click log into a run directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use clickrec_core::Behavior;
use clickrec_ingest::{BadRowPolicy, FormatName, IdRuleName, InputConfig};
use clickrec_pipeline::{MANIFEST_FILE, Manifest, RunDir, Stage};

use crate::failure::{UsageError, usage};
use crate::progress::Bar;
use crate::run_cmd::config_error;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  clickrec ingest --input UserBehavior.csv --format taobao --out runs/taobao
  clickrec ingest --input UserBehavior.csv --out runs/taobao --on-bad-row skip \\
      --window-start 2017-11-25 --window-end 2017-12-03 --utc-offset +08:00
  clickrec ingest --input events.csv.gz --format retailrocket --out runs/rr --json
  clickrec ingest --input log.tsv --format csv --delimiter tab --user-col uid \\
      --item-col sku --time-col ts --time-format unix-ms --out runs/shop
  clickrec ingest --input yoochoose-clicks-100k_train_tr.txt --format sessions --out runs/rsc15
  clickrec ingest --input clicks.csv --format csv --session-col session_id --item-col item_id \\
      --time-col time --out runs/sessions
  clickrec ingest --input tianchi.csv --format csv --user-col user_id --item-col item_id \\
      --category-col item_category --time-col time --time-format '%Y-%m-%d %H' \\
      --utc-offset +08:00 --behavior-col behavior_type \\
      --behavior-map pv=1 --behavior-map fav=2 --behavior-map cart=3 --behavior-map buy=4 \\
      --out runs/tianchi
  clickrec ingest --input ratings.csv --format csv --user-col userId --item-col movieId \
      --time-col timestamp --weight-col rating --out runs/ratings
  clickrec ingest --input plays.tsv --format csv --delimiter tab --user-col user \
      --item-col artist --weight-col plays --out runs/plays   # no time: [split] kind = \"random\"
  clickrec ingest --input views.csv --format csv --delimiter ';' --user-col user \
      --session-col session --item-col item --time-col time --null-values 'NA,' --out runs/views
  clickrec ingest --input reviews.jsonl.gz --format jsonl --user-col reviewer.id \
      --item-col asin --time-col unixReviewTime --weight-col overall --out runs/reviews")]
pub struct IngestArgs {
    /// Click-log file: .csv, .csv.gz, .parquet, .jsonl or .jsonl.gz.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Layout of the file: taobao (no header: user_id,item_id,category_id,behavior_type,timestamp),
    /// retailrocket (header timestamp,visitorid,event,itemid,transactionid), sessions (header
    /// SessionId<TAB>ItemId<TAB>Time, as session-rec and GRU4Rec preprocessing write), or
    /// csv / parquet / jsonl (one JSON object per line, fields by key or dotted path) with the
    /// column flags below.
    #[arg(long, value_enum, default_value = "taobao")]
    pub format: FormatArg,
    /// Run directory to write events.parquet, id maps, ingest.json and quarantine.csv into.
    #[arg(long, value_name = "RUN_DIR")]
    pub out: PathBuf,
    /// Print the summary as JSON on stdout (the human summary still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// fail: stop at the first bad row; skip: quarantine bad rows and count them by reason.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_bad_row: PolicyArg,
    /// With skip: fail anyway when more than N rows (or P% of rows) are rejected.
    #[arg(long, value_name = "N|P%")]
    pub max_bad_rows: Option<String>,
    /// Reject events before this date (start of day) or date-time.
    #[arg(long, value_name = "DATE|DATETIME")]
    pub window_start: Option<String>,
    /// Reject events after this date (the whole day is kept) or from this date-time on.
    #[arg(long, value_name = "DATE|DATETIME")]
    pub window_end: Option<String>,
    /// UTC offset of window dates and of local times in the file, e.g. +08:00.
    #[arg(long, value_name = "+HH:MM", allow_hyphen_values = true)]
    pub utc_offset: Option<String>,
    /// Reject events before this date or date-time as time_out_of_range, a wrong unit or a
    /// garbled value (default 1970-01-01; Unix seconds accepted too).
    #[arg(long, value_name = "DATE|DATETIME", allow_hyphen_values = true)]
    pub earliest_time: Option<String>,
    /// Reject events after this date (the whole day is kept) or from this date-time on as
    /// time_out_of_range (default 2199-12-31).
    #[arg(long, value_name = "DATE|DATETIME", allow_hyphen_values = true)]
    pub latest_time: Option<String>,
    /// Reject records (lines, or quoted records over several lines) longer than N bytes as
    /// record_too_long, never holding them whole (default 1048576, 1 MiB).
    #[arg(long, value_name = "N")]
    pub max_record_bytes: Option<u64>,
    /// csv/parquet/jsonl: user id column (name, or 0-based position). Give a user column, a
    /// session column, or both.
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub user_col: Option<String>,
    /// csv/parquet/jsonl: session id column. Without --user-col every session is its own user;
    /// with it the given sessions replace the inactivity gap and the user links them.
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub session_col: Option<String>,
    /// csv/parquet/jsonl: item id column.
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub item_col: Option<String>,
    /// csv/parquet/jsonl: time column. Without one, events keep the file's order and the
    /// log can only be evaluated with `[split] kind = "random"`.
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub time_col: Option<String>,
    /// csv/parquet/jsonl: behaviour column (without it every event is a page view).
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub behavior_col: Option<String>,
    /// csv/parquet/jsonl: category column (without it all items share one category).
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub category_col: Option<String>,
    /// csv/parquet/jsonl: a positive number per event (play count, rating) that multiplies
    /// its behaviour weight in training; rows with another value are rejected (bad_weight).
    #[arg(
        long,
        value_name = "COLUMN",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub weight_col: Option<String>,
    /// csv/parquet/jsonl: comma-separated values meaning "missing", e.g. 'NA,' (NA and the
    /// empty value). A missing user with a session makes the session its own user; another
    /// missing id rejects the row (null_id). jsonl default: the empty value (null, absent).
    #[arg(
        long,
        value_name = "VALUES",
        allow_hyphen_values = true,
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub null_values: Option<String>,
    /// csv: field delimiter, one character or `tab`.
    #[arg(
        long,
        value_name = "CHAR",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub delimiter: Option<String>,
    /// csv: the file has no header line (columns are then given by position).
    #[arg(long, help_heading = "Column mapping (csv, parquet, jsonl)")]
    pub no_header: bool,
    /// csv/parquet/jsonl: unix-s (default; a fraction such as 1396437466.94 is accepted), unix-ms,
    /// or a strftime pattern such as '%Y-%m-%d %H:%M:%S'. Sub-second parts order events
    /// within a second; times are kept as whole seconds.
    #[arg(
        long,
        value_name = "FORMAT",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub time_format: Option<String>,
    /// csv/parquet/jsonl: ids are integers (rows with other ids are rejected) or any text (default).
    #[arg(
        long,
        value_enum,
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub ids: Option<IdsArg>,
    /// csv/parquet/jsonl: raw values meaning a behaviour, e.g. pv=view,click (repeatable);
    /// default pv, fav, cart, buy.
    #[arg(
        long,
        value_name = "BEHAVIOR=VALUES",
        help_heading = "Column mapping (csv, parquet, jsonl)"
    )]
    pub behavior_map: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Taobao,
    Retailrocket,
    Sessions,
    Csv,
    Parquet,
    Jsonl,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PolicyArg {
    Fail,
    Skip,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum IdsArg {
    Integer,
    Text,
}

impl IngestArgs {
    /// The same description a pipeline's `[input]` table gives.
    pub fn input_config(&self) -> anyhow::Result<InputConfig> {
        Ok(InputConfig {
            path: self.input.clone(),
            format: match self.format {
                FormatArg::Taobao => FormatName::Taobao,
                FormatArg::Retailrocket => FormatName::Retailrocket,
                FormatArg::Sessions => FormatName::Sessions,
                FormatArg::Csv => FormatName::Csv,
                FormatArg::Parquet => FormatName::Parquet,
                FormatArg::Jsonl => FormatName::Jsonl,
            },
            on_bad_row: match self.on_bad_row {
                PolicyArg::Fail => BadRowPolicy::Fail,
                PolicyArg::Skip => BadRowPolicy::Skip,
            },
            max_bad_rows: self.max_bad_rows.clone(),
            window_start: self.window_start.clone(),
            window_end: self.window_end.clone(),
            utc_offset: self.utc_offset.clone(),
            earliest_time: self.earliest_time.clone(),
            latest_time: self.latest_time.clone(),
            max_record_bytes: self.max_record_bytes,
            user_col: self.user_col.clone(),
            session_col: self.session_col.clone(),
            item_col: self.item_col.clone(),
            time_col: self.time_col.clone(),
            behavior_col: self.behavior_col.clone(),
            category_col: self.category_col.clone(),
            weight_col: self.weight_col.clone(),
            null_values: self
                .null_values
                .as_ref()
                .map(|v| v.split(',').map(str::to_owned).collect()),
            delimiter: self.delimiter.clone(),
            header: self.no_header.then_some(false),
            time_format: self.time_format.clone(),
            ids: self.ids.map(|i| match i {
                IdsArg::Integer => IdRuleName::Integer,
                IdsArg::Text => IdRuleName::Text,
            }),
            behavior_map: parse_behavior_map(&self.behavior_map)?,
        })
    }
}

/// `["pv=view,click", "buy=transaction"]` → `{pv: [view, click], buy: [transaction]}`.
fn parse_behavior_map(args: &[String]) -> anyhow::Result<Option<BTreeMap<Behavior, Vec<String>>>> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut map: BTreeMap<Behavior, Vec<String>> = BTreeMap::new();
    for arg in args {
        let Some((name, values)) = arg.split_once('=') else {
            return usage(format!(
                "--behavior-map: expected BEHAVIOR=VALUES like pv=view,click, found {arg:?}"
            ));
        };
        let behavior: Behavior = name
            .trim()
            .parse()
            .map_err(|e| UsageError(format!("--behavior-map {arg:?}: {e}")))?;
        map.entry(behavior)
            .or_default()
            .extend(values.split(',').map(str::to_owned));
    }
    Ok(Some(map))
}

pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let config = args.input_config()?;
    let options = config.options().map_err(|e| UsageError(e.to_string()))?;
    let bar = Bar::new(
        "ingest",
        if matches!(args.format, FormatArg::Parquet) {
            "rows"
        } else {
            "bytes"
        },
    );
    let run_dir = RunDir::open(&args.out).map_err(config_error)?;
    if let Some(note) = run_dir.removed_note() {
        eprintln!("{note}");
    }
    // The files about to be replaced are what a pipeline's records of ingest, and of every
    // stage built on it, vouch for: forget those records, so the next `clickrec run` redoes
    // the stages instead of reusing them on another input.
    let forgotten = Manifest::forget_in(&args.out, Stage::Ingest)?;
    if !forgotten.is_empty() {
        eprintln!(
            "{}: forgot the records of {}: the next `clickrec run` into it redoes them",
            args.out.join(MANIFEST_FILE).display(),
            forgotten.join(", ")
        );
    }
    let summary = clickrec_ingest::ingest_to_dir(&args.input, &options, &args.out, &bar)?;
    eprint!("{}", summary.human());
    eprintln!("  wrote {}", args.out.display());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}
