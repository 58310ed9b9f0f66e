#!/usr/bin/env bash
# A Spark cluster on loopback for developing and testing clickrec's Spark engine:
# a standalone master, two workers and a Spark Connect server, all from the Spark
# that the pyspark wheel ships (installed on first use into .spark/venv, ignored by git).
#
#   scripts/spark-cluster.sh start    # prints the sc:// URL as its last line on stdout
#   scripts/spark-cluster.sh status   # each process, its pid and whether it runs
#   scripts/spark-cluster.sh stop     # ends exactly the processes that `start` recorded
#
# Everything it writes stays under .spark/ in the repository:
#   .spark/venv      the virtualenv with pyspark (kept between runs)
#   .spark/cluster   pids, logs, worker and scratch folders of the running cluster
#   .spark/storage   the shared storage folder: the Connect server, its executors and
#                    clickrec all see it (one machine, so a local path serves)
#
# Settings (environment, all optional):
#   SPARK_CLUSTER_CONNECT_PORT  Connect port (default 15002, or a free one if that is taken)
#   SPARK_CLUSTER_MASTER_PORT   master port (default 7077, or a free one if that is taken)
#   SPARK_CLUSTER_CORES_MAX     spark.cores.max of the Connect application (default 2)
#   SPARK_CLUSTER_WORKER_CORES  cores each of the two workers offers (default 2), so an
#                               application beside the Connect server still gets cores
#   SPARK_CLUSTER_STORAGE       shared storage folder (default .spark/storage)
#   SPARK_CLUSTER_CONNECT_CONF  more space-separated key=value settings of the Connect
#                               server, e.g. spark.connect.execute.reattachable.senderMaxStreamDuration=5s
#   SPARK_CLUSTER_TIMEOUT       seconds to wait for each process to come up (default 180)
set -euo pipefail

PYSPARK_VERSION=4.3.0
repo=$(cd "$(dirname "$0")/.." && pwd)
state="$repo/.spark"
venv="$state/venv"
cluster="$state/cluster"
logs="$cluster/logs"
pids="$cluster/pids"
storage="${SPARK_CLUSTER_STORAGE:-$state/storage}"
timeout_s="${SPARK_CLUSTER_TIMEOUT:-180}"
cores_max="${SPARK_CLUSTER_CORES_MAX:-2}"
worker_cores="${SPARK_CLUSTER_WORKER_CORES:-2}"
names=(connect worker-2 worker-1 master) # stop order: the application first, the master last

say() { echo "spark-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

# Spark 4 runs on Java 17 (or 21); it launches the `java` of JAVA_HOME, else the one on PATH.
check_java() {
  local java="java"
  [ -n "${JAVA_HOME:-}" ] && java="$JAVA_HOME/bin/java"
  command -v "$java" >/dev/null 2>&1 ||
    die "no Java found (${JAVA_HOME:+JAVA_HOME=$JAVA_HOME, }PATH=$PATH). Spark 4 needs Java 17: install it, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME to a Java 17 installation."
  local version major
  version=$("$java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)
  major=${version%%.*}
  [ "$major" = 1 ] && major=$(echo "$version" | cut -d. -f2)
  case "$major" in
    17 | 21) ;;
    *) die "$java is Java '$version'; Spark $PYSPARK_VERSION needs Java 17 (or 21): install it, e.g. 'apt-get install openjdk-17-jre-headless', and put it first on PATH or set JAVA_HOME." ;;
  esac
}

# The pyspark wheel carries Spark's jars, bin/ and sbin/; install it once, into the repository.
ensure_pyspark() {
  if [ ! -f "$venv/installed-$PYSPARK_VERSION" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 is needed once, to install pyspark $PYSPARK_VERSION into $venv"
    say "installing pyspark $PYSPARK_VERSION into .spark/venv (once; about 500 MB)"
    local start=$SECONDS
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION" >&2
    touch "$venv/installed-$PYSPARK_VERSION"
    say "pyspark installed in $((SECONDS - start)) s"
  fi
  SPARK_HOME=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  export SPARK_HOME
  # Wheels do not always keep the executable bits of Spark's launcher scripts.
  chmod +x "$SPARK_HOME"/bin/* "$SPARK_HOME"/sbin/* 2>/dev/null || true
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The wanted port when given or free, else any free one (a second checkout may run a cluster).
pick_port() {
  local given=$1 default=$2 name=$3
  if [ -n "$given" ]; then
    port_in_use "$given" && die "$name port $given (from the environment) is already in use on 127.0.0.1"
    echo "$given"
  elif port_in_use "$default"; then
    free_port
  else
    echo "$default"
  fi
}

pid_of() { cat "$pids/$1.pid" 2>/dev/null || true; }

# Alive and still the Java process that was started (not a recycled pid).
is_ours() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$SPARK_HOME_RECORDED"
}

load_recorded() {
  SPARK_HOME_RECORDED=$(cat "$cluster/spark_home" 2>/dev/null || echo "/nonexistent-spark-home")
}

wait_for() { # name, pid, log file, pattern that the log shows once it is up
  local name=$1 pid=$2 log=$3 pattern=$4 waited=0
  until grep -q -- "$pattern" "$log" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the $name (pid $pid) exited while starting; the end of its log $log:"
      tail -20 "$log" >&2 || true
      stop_all
      exit 1
    fi
    if [ "$waited" -ge "$timeout_s" ]; then
      say "the $name (pid $pid) is not up after $timeout_s s (SPARK_CLUSTER_TIMEOUT); see its log $log"
      stop_all
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

start() {
  check_java
  mkdir -p "$state"
  if [ -d "$pids" ]; then
    load_recorded
    for name in "${names[@]}"; do
      if is_ours "$(pid_of "$name")"; then
        die "a cluster of this checkout is already running ($name pid $(pid_of "$name")): 'scripts/spark-cluster.sh stop' first, or use the URL from 'status'"
      fi
    done
  fi
  ensure_pyspark
  rm -rf "$cluster"
  mkdir -p "$logs" "$pids" "$cluster/work" "$cluster/tmp" "$storage"
  echo "$SPARK_HOME" >"$cluster/spark_home"
  load_recorded

  local master_port connect_port url began=$SECONDS
  master_port=$(pick_port "${SPARK_CLUSTER_MASTER_PORT:-}" 7077 master)
  connect_port=$(pick_port "${SPARK_CLUSTER_CONNECT_PORT:-}" 15002 Connect)
  url="sc://127.0.0.1:$connect_port"

  export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=127.0.0.1
  export SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-512m}"
  export SPARK_LOG_DIR="$logs" SPARK_PID_DIR="$pids/daemon" SPARK_IDENT_STRING=clickrec
  export SPARK_LOCAL_DIRS="$cluster/tmp" SPARK_WORKER_DIR="$cluster/work"
  # No REST submission server on the master: applications come in through Connect only.
  export SPARK_MASTER_OPTS="${SPARK_MASTER_OPTS:-} -Dspark.master.rest.enabled=false"
  mkdir -p "$SPARK_PID_DIR"

  # Master and workers run in the foreground of spark-class (which execs java), so $! is the JVM.
  nohup "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$master_port" --webui-port 0 \
    >"$logs/master.log" 2>&1 </dev/null &
  echo $! >"$pids/master.pid"
  wait_for master "$(pid_of master)" "$logs/master.log" "I have been elected leader"

  for i in 1 2; do
    nohup "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores "$worker_cores" --memory 2g --webui-port 0 \
      --work-dir "$cluster/work/worker-$i" "spark://127.0.0.1:$master_port" \
      >"$logs/worker-$i.log" 2>&1 </dev/null &
    echo $! >"$pids/worker-$i.pid"
  done
  for i in 1 2; do
    wait_for "worker $i" "$(pid_of "worker-$i")" "$logs/worker-$i.log" "Successfully registered with master"
  done
  say "master and 2 workers up in $((SECONDS - began)) s (spark://127.0.0.1:$master_port)"

  # The Connect server is the one long-running application: cap its cores (spark.cores.max),
  # else it holds every worker core and any other application waits forever.
  local extra_conf=()
  for setting in ${SPARK_CLUSTER_CONNECT_CONF:-}; do extra_conf+=(--conf "$setting"); done
  "$SPARK_HOME/sbin/start-connect-server.sh" \
    --master "spark://127.0.0.1:$master_port" \
    --driver-memory 2g \
    --conf "spark.cores.max=$cores_max" \
    --conf spark.executor.memory=1g \
    --conf spark.executor.cores=1 \
    --conf spark.ui.enabled=false \
    --conf spark.driver.bindAddress=127.0.0.1 \
    --conf spark.driver.host=127.0.0.1 \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf "spark.connect.grpc.binding.port=$connect_port" \
    --conf spark.sql.catalogImplementation=in-memory \
    --conf "spark.sql.warehouse.dir=$cluster/warehouse" \
    --conf "spark.local.dir=$cluster/tmp" \
    "${extra_conf[@]}" \
    >"$logs/connect-start.log" 2>&1 </dev/null ||
    { say "start-connect-server.sh failed; see $logs/connect-start.log"; cat "$logs/connect-start.log" >&2; stop_all; exit 1; }
  local daemon_pid connect_log
  daemon_pid=$(cat "$SPARK_PID_DIR"/*SparkConnectServer*.pid 2>/dev/null || true)
  [ -n "$daemon_pid" ] || { say "start-connect-server.sh wrote no pid file under $SPARK_PID_DIR"; stop_all; exit 1; }
  echo "$daemon_pid" >"$pids/connect.pid"
  connect_log=$(ls "$logs"/*SparkConnectServer*.out 2>/dev/null | head -1)
  wait_for "Connect server" "$daemon_pid" "${connect_log:-$logs/connect.out}" "Spark Connect server started"
  local waited=0
  until port_in_use "$connect_port"; do
    if [ "$waited" -ge "$timeout_s" ]; then
      say "the Connect server logged that it started but 127.0.0.1:$connect_port does not accept connections after $timeout_s s; see $connect_log"
      stop_all
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done

  echo "$url" >"$cluster/url"
  echo "$storage" >"$cluster/storage"
  say "cluster up in $((SECONDS - began)) s: master, 2 workers, Connect server (spark.cores.max=$cores_max); logs in $logs"
  say "shared storage: $storage"
  echo "$url"
}

stop_all() {
  load_recorded
  local name pid n
  for name in "${names[@]}"; do
    pid=$(pid_of "$name")
    [ -n "$pid" ] || continue
    if is_ours "$pid"; then
      kill "$pid" 2>/dev/null || true
      n=0
      while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 30 ]; do sleep 0.5; n=$((n + 1)); done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      say "stopped $name (pid $pid)"
    fi
    rm -f "$pids/$name.pid"
  done
  rm -f "$pids"/daemon/*.pid "$cluster/url"
}

status() {
  load_recorded
  local name pid up=0 down=0
  for name in master worker-1 worker-2 connect; do
    pid=$(pid_of "$name")
    if [ -z "$pid" ]; then
      echo "$name: not running"; down=$((down + 1))
    elif is_ours "$pid"; then
      echo "$name: running (pid $pid)"; up=$((up + 1))
    else
      echo "$name: not running (recorded pid $pid)"; down=$((down + 1))
    fi
  done
  if [ "$down" -eq 0 ]; then
    echo "storage: $(cat "$cluster/storage")"
    cat "$cluster/url"
    return 0
  fi
  [ "$up" -eq 0 ] && return 3
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  *) echo "usage: scripts/spark-cluster.sh start|stop|status" >&2; exit 2 ;;
esac
