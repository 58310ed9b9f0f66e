//! What can go wrong between clickrec and a Spark cluster, each said with what to do.

use std::time::Duration;

/// The command that starts a local development cluster; named by the errors that a user
/// fixes by starting one.
pub const CLUSTER_SCRIPT: &str = "scripts/spark-cluster.sh start";

/// An error of the Spark engine. Every message names the problem and the next step.
#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    /// The URL is not a Spark Connect address.
    #[error(
        "engine.url = {url:?} is not a Spark Connect URL ({reason}); write it as sc://HOST:PORT, e.g. sc://127.0.0.1:15002 as printed by {CLUSTER_SCRIPT}"
    )]
    BadUrl {
        url: String,
        #[source]
        reason: Cause,
    },

    /// Nothing answers at the URL, and there is no Java here to run a local cluster.
    #[error(
        "no Spark Connect server answers at {url} ({cause}), and no Java is installed here to run a local cluster ({java}). Install Java 17 (e.g. `apt-get install openjdk-17-jre-headless`), then run {CLUSTER_SCRIPT} and use the URL it prints; or set engine.kind = \"local\""
    )]
    JavaMissing {
        url: String,
        #[source]
        cause: Cause,
        java: String,
    },

    /// Nothing answers at the URL.
    #[error(
        "no Spark Connect server answers at {url} ({cause}). Start one with {CLUSTER_SCRIPT} and use the URL it prints (check it with `scripts/spark-cluster.sh status`), or set engine.kind = \"local\""
    )]
    Unreachable {
        url: String,
        #[source]
        cause: Cause,
    },

    /// Something answers at the URL, but not as a Spark Connect server.
    #[error(
        "the server at {url} accepted a connection but did not answer as Spark Connect: {cause}. Check that engine.url names the Connect port (spark.connect.grpc.binding.port), not the master's or a worker's"
    )]
    NotSparkConnect {
        url: String,
        #[source]
        cause: Cause,
    },

    /// The Connect application runs without `spark.cores.max`.
    #[error(
        "the Spark Connect server at {url} runs without spark.cores.max: as a long-running application it then holds every worker core, and other applications wait forever. Restart it with --conf spark.cores.max={wanted} (scripts/spark-cluster.sh sets it from SPARK_CLUSTER_CORES_MAX)"
    )]
    CoresMaxUnset { url: String, wanted: u32 },

    /// The server's `spark.cores.max` is not the configured one.
    #[error(
        "engine.cores_max = {configured}, but the Spark Connect server at {url} runs with spark.cores.max = {server}: set engine.cores_max = {server}, or restart the server with --conf spark.cores.max={configured} (SPARK_CLUSTER_CORES_MAX={configured} scripts/spark-cluster.sh start)"
    )]
    CoresMaxMismatch {
        url: String,
        configured: u32,
        server: String,
    },

    /// A trivial job did not finish in time: the application got no executor cores.
    #[error(
        "a trivial Spark job ({probe}) did not finish within {} s on {url}: the Connect application got no executor cores (\"Initial job has not accepted any resources\"). Check that the workers are up and have free cores (`scripts/spark-cluster.sh status`, the master's log), and that every other application on the cluster runs with spark.cores.max set below the workers' total (this one has spark.cores.max = {cores_max})",
        .waited.as_secs()
    )]
    NoCores {
        url: String,
        probe: String,
        waited: Duration,
        cores_max: String,
    },

    /// The server's Spark is too old for what was asked.
    #[error(
        "{needs} needs Spark >= {required}, but the server at {url} runs Spark {found}: upgrade the cluster (scripts/spark-cluster.sh installs pyspark 4.3.0), or train locally (engine.kind = \"local\")"
    )]
    VersionTooOld {
        url: String,
        needs: String,
        required: String,
        found: String,
    },

    /// A statement or query failed on the server.
    #[error("Spark failed to run {what} on {url}: {message}\nSQL: {sql}")]
    Query {
        url: String,
        what: String,
        sql: String,
        #[source]
        message: Cause,
    },

    /// An MLlib command failed on the server.
    #[error("Spark MLlib failed to {what} on {url}: {message}")]
    Ml {
        url: String,
        what: String,
        #[source]
        message: Cause,
    },

    /// The server answered with something this client did not expect.
    #[error("unexpected answer from the Spark Connect server at {url} to {what}: {detail}")]
    Protocol {
        url: String,
        what: String,
        #[source]
        detail: Cause,
    },

    /// An MLlib parameter cannot be sent as the type MLlib declares.
    #[error("MLlib parameter {name}: {detail}")]
    Param { name: String, detail: String },

    /// A result column is missing or of another type than asked for.
    #[error("column {column:?} of {what}: {detail}")]
    Column {
        what: String,
        column: String,
        detail: String,
    },

    /// A table's Parquet files on the shared storage cannot be read.
    #[error("{}: {detail}. Check that engine.storage is a folder the cluster and this machine both see", .path.display())]
    File {
        path: std::path::PathBuf,
        detail: String,
    },

    /// A value in a result is out of the range the caller declared (e.g. an id ≥ the count).
    #[error("{what}: row {row}, column {column:?}: {detail}")]
    Value {
        what: String,
        row: usize,
        column: String,
        detail: String,
    },
}

/// Why a call failed, in the words of whoever said so; the Spark Connect client's own
/// error, when it was the one, is kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Cause {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Cause {
            message,
            source: None,
        }
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

#[cfg(feature = "connect")]
impl Cause {
    /// The client's error: its message (it starts with the server's error class when
    /// there is one, e.g. `[TABLE_OR_VIEW_NOT_FOUND] ...`), and the error itself.
    pub(crate) fn client(error: &spark_connect::SparkError) -> Self {
        Cause {
            message: error.message(),
            source: Some(Box::new(error.clone())),
        }
    }
}

#[cfg(feature = "connect")]
/// Whether a client error says that the transport could not reach the server
/// (gRPC UNAVAILABLE, a refused or timed-out connection).
pub(crate) fn is_unreachable(error: &spark_connect::SparkError) -> bool {
    const UNAVAILABLE: i32 = 14;
    const DEADLINE_EXCEEDED: i32 = 4;
    matches!(error.grpc_code(), Some(UNAVAILABLE | DEADLINE_EXCEEDED))
        || error.get_message().contains("channel not ready")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_names_the_url_and_the_script() {
        let e = SparkError::Unreachable {
            url: "sc://127.0.0.1:15002".into(),
            cause: "connection refused".into(),
        };
        let text = e.to_string();
        assert!(text.contains("sc://127.0.0.1:15002"), "{text}");
        assert!(text.contains("scripts/spark-cluster.sh start"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        // The cause is also the error's source, for whoever walks the chain.
        let source = std::error::Error::source(&e).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("connection refused"));
    }

    #[test]
    fn missing_java_says_what_to_install() {
        let e = SparkError::JavaMissing {
            url: "sc://127.0.0.1:15002".into(),
            cause: "connection refused".into(),
            java: "`java` not found on PATH".into(),
        };
        let text = e.to_string();
        assert!(text.contains("Java 17"), "{text}");
        assert!(text.contains("openjdk-17-jre-headless"), "{text}");
        assert!(text.contains("scripts/spark-cluster.sh start"), "{text}");
    }

    #[test]
    fn no_cores_names_cores_max_and_the_wait() {
        let e = SparkError::NoCores {
            url: "sc://127.0.0.1:15002".into(),
            probe: "SELECT count(*) FROM range(0, 1000, 1, 2)".into(),
            waited: Duration::from_secs(60),
            cores_max: "2".into(),
        };
        let text = e.to_string();
        assert!(text.contains("spark.cores.max"), "{text}");
        assert!(text.contains("within 60 s"), "{text}");
        assert!(text.contains("no executor cores"), "{text}");
    }

    #[test]
    fn old_version_names_both_versions() {
        let e = SparkError::VersionTooOld {
            url: "sc://h:1".into(),
            needs: "MLlib over Spark Connect".into(),
            required: "4.0".into(),
            found: "3.5.1".into(),
        };
        let text = e.to_string();
        assert!(text.contains(">= 4.0"), "{text}");
        assert!(text.contains("3.5.1"), "{text}");
        assert!(text.contains("engine.kind = \"local\""), "{text}");
    }

    #[cfg(feature = "connect")]
    #[test]
    fn unavailable_grpc_status_counts_as_unreachable() {
        let mut unavailable =
            spark_connect::SparkError::connect_msg("channel not ready: connection refused");
        unavailable.grpc_code = Some(14);
        assert!(is_unreachable(&unavailable));
        let mut analysis = spark_connect::SparkError::connect_msg(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `t` cannot be found.",
        );
        analysis.grpc_code = Some(3);
        assert!(!is_unreachable(&analysis));
    }
}
