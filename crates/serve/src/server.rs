//! Running the API: the tokio runtime, the listener, SIGHUP reloads, expiry of idle
//! state and a graceful stop on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{ApiOptions, AppState, router};
use crate::error::ServeError;
use crate::run::ServedRun;

/// `clickrec serve`'s options.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub dir: PathBuf,
    /// `host:port`; loopback by default.
    pub addr: String,
    pub api: ApiOptions,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
}

/// Loads the run, binds `addr`, calls `on_ready` with the bound address, and answers
/// requests until Ctrl-C or SIGTERM.
pub fn serve(
    options: ServeOptions,
    on_ready: impl FnOnce(SocketAddr, &ServedRun),
) -> Result<(), ServeError> {
    let run = ServedRun::load(&options.dir, options.api.models.as_deref())?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = options.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime.enable_all().build().map_err(ServeError::Server)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&options.addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: options.addr.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(ServeError::Server)?;
        on_ready(addr, &run);
        let state = AppState::new(run, options.api.clone());
        tokio::spawn(expire_every_minute(state.clone()));
        tokio::spawn(reload_on_sighup(state.clone()));
        axum::serve(listener, router(state))
            .with_graceful_shutdown(stop_signal())
            .await
            .map_err(ServeError::Server)
    })
}

async fn expire_every_minute(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.expire();
    }
}

/// SIGHUP reloads the served run's directory, as `POST /admin/reload` does.
async fn reload_on_sighup(state: Arc<AppState>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        eprintln!("SIGHUP cannot be watched here: reload with POST /admin/reload");
        return;
    };
    while hangups.recv().await.is_some() {
        match state.reload(None).await {
            Ok(run) => eprintln!(
                "SIGHUP: reloaded {} (models: {})",
                run.dir().display(),
                run.model_names().join(", ")
            ),
            Err(e) => eprintln!("SIGHUP: reload failed, still serving the run before: {e}"),
        }
    }
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
