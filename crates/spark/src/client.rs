//! One Spark Connect session: connect with checks, run SQL statements, run queries and
//! collect their Arrow record batches, and send raw commands (MLlib) on the same session.
//!
//! The official client is synchronous: every call blocks on the Tokio runtime that the
//! client crate owns. Do not call it from inside an async task (Tokio refuses to block
//! inside a runtime).

// The client crate's own error (184 bytes) passes through a few private helpers here before
// it becomes a `SparkError`; the client crate allows the same lint for the same type.
#![allow(clippy::result_large_err)]

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use spark_connect::SparkSession;
use spark_connect_core::{ChannelBuilder, RetryPolicy, SparkConnectClient, block_on};
use spark_connect_proto as proto;

use crate::error::{Cause, SparkError, is_unreachable};

/// The trivial job that proves the application has executor cores: two partitions, so
/// it needs a task slot on an executor (a driver-only query would not).
pub const CORES_PROBE_SQL: &str = "SELECT count(*) AS n FROM range(0, 1000, 1, 2)";

/// How a [`SparkClient`] connects and what it checks.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The `spark.cores.max` the Connect application must run with (the engine's
    /// `cores_max`). The server's value is a startup setting the client cannot change, so a
    /// different or missing value is an error that says how to fix it.
    pub cores_max: u32,
    /// How long the trivial probe job may take before the client concludes that the
    /// application got no executor cores.
    pub cores_timeout: Duration,
    /// How long to wait for a TCP connection to the server before calling it unreachable.
    pub connect_timeout: Duration,
}

impl ConnectOptions {
    /// Checks with the given `spark.cores.max` and the default waits (probe: 120 s, a
    /// first job on a fresh cluster may wait for executors to register; TCP: 5 s).
    pub fn new(cores_max: u32) -> Self {
        ConnectOptions {
            cores_max,
            cores_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A checked Spark Connect session.
pub struct SparkClient {
    url: String,
    session: SparkSession,
    /// The transport client on the same server session, for commands the session API does
    /// not send (SQL statements as commands, MLlib fits).
    raw: SparkConnectClient,
    version: String,
    cores_max: u32,
}

impl std::fmt::Debug for SparkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparkClient")
            .field("url", &self.url)
            .field("session_id", &self.session.session_id())
            .field("version", &self.version)
            .field("cores_max", &self.cores_max)
            .finish()
    }
}

impl SparkClient {
    /// Connects to `url` (`sc://HOST:PORT`) and checks, in order: that something listens
    /// there (else: is there Java for a local cluster?), that it speaks Spark Connect (its
    /// Spark version), that the application runs with `options.cores_max` as
    /// `spark.cores.max`, and that a trivial job gets cores within `options.cores_timeout`.
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<Self, SparkError> {
        let mut channel = ChannelBuilder::parse(url).map_err(|e| SparkError::BadUrl {
            url: url.to_string(),
            reason: Cause::client(&e),
        })?;
        check_listening(url, &channel, options.connect_timeout)?;

        let session = SparkSession::builder()
            .remote(url)
            .get_or_create()
            .map_err(|e| SparkError::BadUrl {
                url: url.to_string(),
                reason: Cause::client(&e),
            })?;
        channel.set("session_id", session.session_id());
        let mut raw =
            block_on(SparkConnectClient::connect(&channel)).map_err(|e| SparkError::BadUrl {
                url: url.to_string(),
                reason: Cause::client(&e),
            })?;
        // The handshake retries little: a server that is down or is not Spark Connect
        // should say so in seconds, not after the client's hour of backoff.
        raw.set_retry_policy(RetryPolicy {
            max_retries: Some(2),
            ..RetryPolicy::default()
        });
        let version = spark_version(&raw).map_err(|e| {
            if is_unreachable(&e) {
                SparkError::Unreachable {
                    url: url.to_string(),
                    cause: Cause::client(&e),
                }
            } else {
                SparkError::NotSparkConnect {
                    url: url.to_string(),
                    cause: Cause::client(&e),
                }
            }
        })?;
        raw.set_retry_policy(RetryPolicy::default());

        let server_cores =
            session
                .conf()
                .get("spark.cores.max")
                .map_err(|e| SparkError::Protocol {
                    url: url.to_string(),
                    what: "reading spark.cores.max".into(),
                    detail: Cause::client(&e),
                })?;
        match server_cores {
            None => {
                return Err(SparkError::CoresMaxUnset {
                    url: url.to_string(),
                    wanted: options.cores_max,
                });
            }
            Some(server) if server.trim().parse::<u32>().ok() != Some(options.cores_max) => {
                return Err(SparkError::CoresMaxMismatch {
                    url: url.to_string(),
                    configured: options.cores_max,
                    server,
                });
            }
            Some(_) => {}
        }

        let client = SparkClient {
            url: url.to_string(),
            session,
            raw,
            version,
            cores_max: options.cores_max,
        };
        client.probe_cores(options.cores_timeout)?;
        Ok(client)
    }

    /// The URL this client is connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's Spark version, e.g. `4.3.0`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The application's `spark.cores.max` (checked equal to the configured value).
    pub fn cores_max(&self) -> u32 {
        self.cores_max
    }

    /// The server session's id (temporary views and MLlib models live in it).
    pub fn session_id(&self) -> &str {
        self.session.session_id()
    }

    /// Fails unless the server runs Spark ≥ `major.minor`; `needs` names the feature.
    pub fn require_version(&self, major: u32, minor: u32, needs: &str) -> Result<(), SparkError> {
        if version_at_least(&self.version, major, minor) {
            Ok(())
        } else {
            Err(SparkError::VersionTooOld {
                url: self.url.clone(),
                needs: needs.to_string(),
                required: format!("{major}.{minor}"),
                found: self.version.clone(),
            })
        }
    }

    /// Sets a runtime SQL configuration of this session (e.g. `spark.sql.shuffle.partitions`).
    pub fn set_conf(&self, key: &str, value: &str) -> Result<(), SparkError> {
        self.session
            .conf()
            .set(key, value)
            .map_err(|e| SparkError::Query {
                url: self.url.clone(),
                what: format!("setting {key} = {value}"),
                sql: format!("SET {key} = {value}"),
                message: Cause::client(&e),
            })
    }

    /// Runs one SQL statement (DDL, `INSERT`, `CREATE TEMPORARY VIEW … AS`, writes) to
    /// completion, as a command like PySpark's `spark.sql` does for statements.
    pub fn execute(&self, sql: &str) -> Result<(), SparkError> {
        let command = proto::command::CommandType::SqlCommand(proto::SqlCommand {
            input: Some(sql_relation(sql)),
            ..Default::default()
        });
        self.run_command(command)
            .map(|_| ())
            .map_err(|e| self.query_error("a SQL statement", sql, &e))
    }

    /// Runs a SQL query and collects its result as Arrow record batches (possibly none when
    /// the result is empty).
    pub fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, SparkError> {
        self.session
            .sql(sql)
            .and_then(|frame| frame.collect_record_batches())
            .map_err(|e| self.query_error("a SQL query", sql, &e))
    }

    /// Sends one command on this session and drains its responses (kept for the caller to
    /// read a result from, e.g. an MLlib object reference).
    pub(crate) fn run_command(
        &self,
        command: proto::command::CommandType,
    ) -> Result<Vec<proto::ExecutePlanResponse>, spark_connect::SparkError> {
        let operation_id = uuid::Uuid::new_v4().to_string();
        let request = proto::ExecutePlanRequest {
            session_id: self.session.session_id().to_string(),
            user_context: Some(proto::UserContext::default()),
            operation_id: Some(operation_id.clone()),
            plan: Some(proto::Plan {
                op_type: Some(proto::plan::OpType::Command(proto::Command {
                    command_type: Some(command),
                })),
            }),
            ..Default::default()
        };
        block_on(async {
            let mut stream = self.raw.execute_plan_reattachable(request).await?;
            let mut responses = Vec::new();
            while let Some(response) = stream.message().await? {
                responses.push(response);
            }
            // The server ends a response stream after
            // spark.connect.execute.reattachable.senderMaxStreamDuration (2 min by default)
            // and expects the client to reattach; the client crate takes that end for the
            // end of the result (an MLlib fit longer than 2 min came back without its model).
            // Reattach until the server says the result is complete.
            while !responses.last().is_some_and(is_result_complete) {
                let reattach = proto::ReattachExecuteRequest {
                    session_id: self.session.session_id().to_string(),
                    user_context: Some(proto::UserContext::default()),
                    operation_id: operation_id.clone(),
                    last_response_id: responses.last().map(|r| r.response_id.clone()),
                    ..Default::default()
                };
                let mut stream = self.raw.reattach_execute(reattach).await?;
                let before = responses.len();
                while let Some(response) = stream
                    .message()
                    .await
                    .map_err(spark_connect::SparkError::from_grpc_status)?
                {
                    responses.push(response);
                }
                if responses.len() == before {
                    break;
                }
            }
            Ok(responses)
        })
    }

    fn query_error(&self, what: &str, sql: &str, e: &spark_connect::SparkError) -> SparkError {
        if is_unreachable(e) {
            SparkError::Unreachable {
                url: self.url.clone(),
                cause: Cause::client(e),
            }
        } else {
            SparkError::Query {
                url: self.url.clone(),
                what: what.to_string(),
                sql: sql.to_string(),
                message: Cause::client(e),
            }
        }
    }

    /// Runs [`CORES_PROBE_SQL`] on another thread; if it has not finished within `wait`,
    /// interrupts it and reports that the application got no cores.
    fn probe_cores(&self, wait: Duration) -> Result<(), SparkError> {
        let (sender, receiver) = mpsc::channel();
        let session = self.session.clone();
        std::thread::spawn(move || {
            let result = session
                .sql(CORES_PROBE_SQL)
                .and_then(|frame| frame.collect_record_batches());
            // The receiver is gone when the probe timed out; nothing is left to tell.
            let _ = sender.send(result);
        });
        match receiver.recv_timeout(wait) {
            Ok(Ok(batches)) => {
                let counts = crate::columns::i64_column(&batches, "n", "the cores probe")?;
                if counts != [1000] {
                    return Err(SparkError::Protocol {
                        url: self.url.clone(),
                        what: CORES_PROBE_SQL.to_string(),
                        detail: format!("expected one row n = 1000, got {counts:?}").into(),
                    });
                }
                Ok(())
            }
            Ok(Err(e)) => Err(self.query_error("the cores probe", CORES_PROBE_SQL, &e)),
            Err(_) => {
                // Best effort: the error below is the point, whether or not this succeeds.
                let _ = self.session.interrupt_all();
                Err(SparkError::NoCores {
                    url: self.url.clone(),
                    probe: CORES_PROBE_SQL.to_string(),
                    waited: wait,
                    cores_max: self.cores_max.to_string(),
                })
            }
        }
    }
}

/// The server's Spark version (an AnalyzePlan request, like `SparkSession::version`, but on
/// the transport client whose retry policy the caller chose).
fn spark_version(raw: &SparkConnectClient) -> Result<String, spark_connect::SparkError> {
    let request = proto::AnalyzePlanRequest {
        session_id: raw.session_id().to_string(),
        user_context: Some(proto::UserContext::default()),
        analyze: Some(proto::analyze_plan_request::Analyze::SparkVersion(
            proto::analyze_plan_request::SparkVersion::default(),
        )),
        ..Default::default()
    };
    match block_on(raw.analyze_plan(request))?.result {
        Some(proto::analyze_plan_response::Result::SparkVersion(v)) => Ok(v.version),
        other => Err(spark_connect::SparkError::connect_msg(format!(
            "the answer to a Spark version request carried no version: {other:?}"
        ))),
    }
}

/// A relation that is the result of a SQL query.
pub(crate) fn sql_relation(sql: &str) -> proto::Relation {
    proto::Relation {
        common: None,
        rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
            query: sql.to_string(),
            ..Default::default()
        })),
    }
}

/// Whether a Spark version string (`4.3.0`, `3.5.1-amzn-0`, `4.0.0-SNAPSHOT`) is at least
/// `major.minor`. An unparseable version counts as too old.
pub fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// A TCP connection to the server's host and port within `timeout`; when nothing listens,
/// the error says whether Java (for a local cluster) is missing too.
fn check_listening(
    url: &str,
    channel: &ChannelBuilder,
    timeout: Duration,
) -> Result<(), SparkError> {
    let host = channel.host().trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<_> = match (host, channel.port()).to_socket_addrs() {
        Ok(addresses) => addresses.collect(),
        Err(e) => {
            return Err(unreachable(
                url,
                format!("cannot resolve host {host:?}: {e}"),
            ));
        }
    };
    let mut last = format!("host {host:?} resolves to no address");
    for address in &addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{address}: {e}"),
        }
    }
    Err(unreachable(url, last))
}

fn unreachable(url: &str, cause: String) -> SparkError {
    let cause = Cause::from(cause);
    match java_problem() {
        Some(java) => SparkError::JavaMissing {
            url: url.to_string(),
            cause,
            java,
        },
        None => SparkError::Unreachable {
            url: url.to_string(),
            cause,
        },
    }
}

/// Why no Java can run here (`JAVA_HOME`'s `java`, else the one on `PATH`), or `None` when
/// `java -version` runs.
fn java_problem() -> Option<String> {
    let java = match std::env::var_os("JAVA_HOME") {
        Some(home) if !home.is_empty() => std::path::Path::new(&home).join("bin").join("java"),
        _ => std::path::PathBuf::from("java"),
    };
    match std::process::Command::new(&java).arg("-version").output() {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "`{} -version` exited with {}",
            java.display(),
            output.status
        )),
        Err(e) => Some(format!("`{}` cannot run: {e}", java.display())),
    }
}

/// Whether a response is the server's last one for its operation.
fn is_result_complete(response: &proto::ExecutePlanResponse) -> bool {
    matches!(
        response.response_type,
        Some(proto::execute_plan_response::ResponseType::ResultComplete(
            _
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(version_at_least("4.3.0", 4, 0));
        assert!(version_at_least("4.0.0-SNAPSHOT", 4, 0));
        assert!(version_at_least("10.1", 4, 0));
        assert!(!version_at_least("3.5.1", 4, 0));
        assert!(!version_at_least("3.5.1-amzn-0", 4, 0));
        assert!(!version_at_least("unknown", 4, 0));
    }

    #[test]
    fn a_bad_url_is_named() {
        let e = SparkClient::connect("http://127.0.0.1:15002", &ConnectOptions::new(2))
            .expect_err("not an sc:// URL");
        assert!(matches!(e, SparkError::BadUrl { .. }), "{e}");
        assert!(e.to_string().contains("http://127.0.0.1:15002"), "{e}");
    }

    #[test]
    fn nothing_listening_is_unreachable_and_names_the_url() {
        // Bind and drop a listener: the port was free a moment ago and is closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let url = format!("sc://127.0.0.1:{port}");
        let e = SparkClient::connect(&url, &ConnectOptions::new(2)).expect_err("nothing listens");
        assert!(
            matches!(
                e,
                SparkError::Unreachable { .. } | SparkError::JavaMissing { .. }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains(&url), "{text}");
        assert!(text.contains("scripts/spark-cluster.sh start"), "{text}");
    }

    #[test]
    fn a_server_that_is_not_spark_connect_is_named() {
        // A listener that accepts and closes every connection: TCP works, gRPC does not.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                drop(stream);
            }
        });
        let url = format!("sc://127.0.0.1:{port}");
        let mut options = ConnectOptions::new(2);
        options.cores_timeout = Duration::from_secs(5);
        let e = SparkClient::connect(&url, &options).expect_err("not Spark Connect");
        assert!(
            matches!(
                e,
                SparkError::NotSparkConnect { .. } | SparkError::Unreachable { .. }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(&url), "{e}");
    }

    #[test]
    fn sql_relation_carries_the_query() {
        let relation = sql_relation("SELECT 1");
        match relation.rel_type {
            Some(proto::relation::RelType::Sql(sql)) => assert_eq!(sql.query, "SELECT 1"),
            other => panic!("not a SQL relation: {other:?}"),
        }
    }
}
