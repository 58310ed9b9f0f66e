//! `clickrec serve`: a finished run's models over HTTP (see `clickrec_serve`).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use clickrec_serve::state::Limits;
use clickrec_serve::{ApiOptions, ServeError, ServeOptions, UnknownItems, UnknownUsers};

use crate::failure::UsageError;

#[derive(Debug, Args)]
#[command(after_help = "\
Loads the models and id maps of RUN_DIR (its train stage must be finished and unchanged,
and no pipeline may be writing it) and answers JSON over HTTP:
  GET  /v1/users/{user_id}/recommendations?model=M&n=N&exclude_seen=true|false
  POST /v1/users/{user_id}/events        {\"events\": [{\"item_id\", \"behavior\", \"timestamp\"}]}
  POST /v1/sessions/{session_id}/events  (same body)
  GET  /v1/sessions/{session_id}/recommendations?model=M&n=N   (session models)
  GET  /v1/items/{item_id}/similar?model=M&n=N
  GET  /healthz, /readyz, /metrics;  POST /admin/reload [{\"run_dir\": …}] (or SIGHUP)
A known user without new events gets their row of recs/<model>.parquet; posted events are
folded in. Ctrl-C or SIGTERM stops the server.

Examples:
  clickrec serve runs/quickstart
  curl 'http://127.0.0.1:8080/v1/users/1001/recommendations?model=als&n=5'
  clickrec serve runs/sessions-rsc15 --models vstan,sr --max-sessions 50000 --session-ttl 30m
  clickrec serve runs/quickstart --addr 0.0.0.0:8080 --token \"$TOKEN\"
  clickrec serve runs/quickstart --check-parity   # online equals offline? (exit 1 if not)")]
pub struct ServeArgs {
    /// Run directory of a finished pipeline run.
    pub run_dir: PathBuf,
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Serve only these models (comma-separated names), default every fitted model.
    #[arg(long, value_delimiter = ',')]
    pub models: Option<Vec<String>>,
    /// Sessions held at most; the least recently used is evicted first.
    #[arg(long, default_value_t = NonZeroUsize::new(100_000).unwrap_or(NonZeroUsize::MIN))]
    pub max_sessions: NonZeroUsize,
    /// A session without a request for this long is dropped (e.g. 30m, 2h, 90s).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,
    /// Users with posted events held at most; the least recently used is evicted first.
    #[arg(long, default_value_t = NonZeroUsize::new(100_000).unwrap_or(NonZeroUsize::MIN))]
    pub max_users: NonZeroUsize,
    /// Events kept per session or user (the oldest go first).
    #[arg(long, default_value_t = 1000)]
    pub max_events: usize,
    /// Longest list a request may ask for.
    #[arg(long, default_value_t = 1000)]
    pub max_n: usize,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Require `Authorization: Bearer TOKEN` on every route but /healthz and /readyz.
    #[arg(long, env = "CLICKREC_SERVE_TOKEN")]
    pub token: Option<String>,
    /// An event on an item the run does not know: fail the request (422) or skip it and count.
    #[arg(long, value_enum, default_value_t = OnUnknownItem::Reject)]
    pub unknown_items: OnUnknownItem,
    /// A user the run does not know, with no events: the fallback list or 404.
    #[arg(long, value_enum, default_value_t = OnUnknownUser::Fallback)]
    pub unknown_users: OnUnknownUser,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Do not listen: ask the API in-process for every user of recs/<model>.parquet (the
    /// same list, scores within 1e-6?), replay the test sessions event by event (the
    /// run's next-item HitRate and MRR within 1e-9?), fold in each train user's events
    /// as a new user (the ALS factor within 1e-4, the same top-20?); print the tables,
    /// exit 1 if any check fails.
    #[arg(long)]
    pub check_parity: bool,
    /// With --check-parity: ask for at most this many users per check (spread evenly).
    #[arg(long, requires = "check_parity")]
    pub check_users: Option<usize>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnUnknownItem {
    Reject,
    Skip,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnUnknownUser {
    Fallback,
    NotFound,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    if args.check_parity {
        let parity =
            clickrec_serve::parity::check(&args.run_dir, args.models.as_deref(), args.check_users)
                .map_err(usage_or)?;
        print!("{}", parity.render());
        if !parity.holds() {
            anyhow::bail!(
                "{}: online and offline differ (tables above)",
                args.run_dir.display()
            );
        }
        return Ok(());
    }
    let limits = |capacity, ttl| Limits {
        capacity,
        max_events: args.max_events.max(1),
        ttl,
    };
    let options = ServeOptions {
        dir: args.run_dir.clone(),
        addr: args.addr.clone(),
        threads: args.threads,
        api: ApiOptions {
            max_n: args.max_n,
            max_body_bytes: args.max_body_bytes,
            token: args.token.clone(),
            unknown_items: match args.unknown_items {
                OnUnknownItem::Reject => UnknownItems::Reject,
                OnUnknownItem::Skip => UnknownItems::Skip,
            },
            unknown_users: match args.unknown_users {
                OnUnknownUser::Fallback => UnknownUsers::Fallback,
                OnUnknownUser::NotFound => UnknownUsers::NotFound,
            },
            sessions: limits(args.max_sessions, Some(args.session_ttl)),
            users: limits(args.max_users, None),
            models: args.models.clone(),
        },
    };
    clickrec_serve::serve(options, |addr, run| {
        // One line a script can wait for; stdout is flushed by println's newline on a tty,
        // explicitly for pipes.
        println!(
            "serving {} on http://{addr} (models: {})",
            run.dir().display(),
            run.model_names().join(", ")
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
    })
    .map_err(usage_or)?;
    Ok(())
}

/// A directory that is not a run, or `--models` naming a model the run did not fit, is
/// a mistake in the command (exit 2); the rest are failures (exit 1).
fn usage_or(error: ServeError) -> anyhow::Error {
    match error {
        ServeError::NotARun { .. } | ServeError::Models { .. } => {
            UsageError(error.to_string()).into()
        }
        other => other.into(),
    }
}
