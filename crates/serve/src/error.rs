//! Why a run directory cannot be served.

use std::path::PathBuf;

use thiserror::Error;

/// A run directory that cannot be served, or a server that cannot start.
#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "{dir}: not a run directory (no manifest.json): run `clickrec run PIPELINE.toml` first"
    )]
    NotARun { dir: PathBuf },
    #[error(
        "{dir} is locked by a running pipeline (process {pid}): serve it when the run has finished"
    )]
    Locked { dir: PathBuf, pid: String },
    #[error("{dir}: cannot serve: {why}")]
    Untrusted { dir: PathBuf, why: String },
    #[error("{dir}: the manifest's configuration cannot be read: {message}")]
    Config { dir: PathBuf, message: String },
    #[error("{dir}: {message}")]
    Models { dir: PathBuf, message: String },
    #[error(transparent)]
    Pipeline(#[from] clickrec_pipeline::PipelineError),
    #[error(transparent)]
    Artifact(#[from] clickrec_io::ArtifactError),
    #[error(transparent)]
    Recs(#[from] clickrec_io::RecsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a parity check's request failed: {0}")]
    Parity(String),
    #[error("the server stopped: {0}")]
    Server(#[source] std::io::Error),
}
