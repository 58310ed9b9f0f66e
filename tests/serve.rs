//! `clickrec serve` as a user runs it: the binary on a quickstart run, its mistakes
//! (exit 2), `--check-parity`, and a server that starts, answers and stops on SIGTERM.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::{binary, clickrec, stderr, stdout};

#[test]
fn serve_refuses_mistakes_checks_parity_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run = run.to_str().unwrap();
    let made = clickrec(&["run", "pipelines/quickstart.toml", "--out", run]);
    assert!(made.status.success(), "{}", stderr(&made));

    let not_a_run = clickrec(&["serve", "data"]);
    assert_eq!(not_a_run.status.code(), Some(2), "{}", stderr(&not_a_run));
    assert!(stderr(&not_a_run).contains("not a run directory"));
    let unfitted = clickrec(&["serve", run, "--models", "als,vstan"]);
    assert_eq!(unfitted.status.code(), Some(2), "{}", stderr(&unfitted));
    assert!(
        stderr(&unfitted).contains("\"vstan\""),
        "{}",
        stderr(&unfitted)
    );

    let parity = clickrec(&["serve", run, "--check-parity"]);
    assert!(parity.status.success(), "{}", stderr(&parity));
    let tables = stdout(&parity);
    assert!(
        tables.contains("| als |") && tables.contains("ALS fold-in"),
        "{tables}"
    );
    assert!(!tables.contains("**no**"), "{tables}");

    let mut server = Command::new(binary())
        .args(["serve", run, "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopped = server.wait_with_output().unwrap();
    assert!(stopped.status.success(), "{}", stderr(&stopped));
}
