//! The development cluster of `scripts/spark-cluster.sh`, started and stopped from Rust,
//! so tests that need a live Spark run against the same cluster a developer starts by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running local cluster of the checkout at `repo`; dropping it stops exactly the
/// processes the script started (also when a test fails after starting it).
#[derive(Debug)]
pub struct LocalCluster {
    repo: PathBuf,
    /// The `sc://` URL of its Connect server.
    pub url: String,
}

impl LocalCluster {
    /// Runs `scripts/spark-cluster.sh start` in `repo`. The error is the script's own
    /// message (a missing Java, a process that did not come up and its log, …).
    pub fn start(repo: &Path) -> Result<Self, String> {
        let out = Command::new("bash")
            .arg("scripts/spark-cluster.sh")
            .arg("start")
            .current_dir(repo)
            .output()
            .map_err(|e| format!("cannot run scripts/spark-cluster.sh: {e}"))?;
        // Built before the checks, so a half-started cluster is stopped too.
        let mut cluster = LocalCluster {
            repo: repo.to_path_buf(),
            url: String::new(),
        };
        if !out.status.success() {
            return Err(format!(
                "scripts/spark-cluster.sh start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let url = stdout.lines().last().unwrap_or_default().trim();
        if !url.starts_with("sc://") {
            return Err(format!(
                "scripts/spark-cluster.sh start printed no sc:// URL last: {url:?}"
            ));
        }
        cluster.url = url.to_owned();
        Ok(cluster)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg("scripts/spark-cluster.sh")
            .arg("stop")
            .current_dir(&self.repo)
            .output();
        if let Ok(out) = out
            && !out.status.success()
        {
            eprintln!(
                "scripts/spark-cluster.sh stop: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
