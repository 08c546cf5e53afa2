//! The runbook runner (`sources::runbook_exec`) on real processes: a step that succeeds (its lines
//! in order, in batches, the digest that of the saved file), one that exits 3, one that cannot
//! start, one that times out (its whole process group killed, SIGKILL for what ignores SIGTERM),
//! one printing 3 MiB (saved copy cut with a marker, the pane capped), redaction and hostile text,
//! saving that fails, overlapping runs; and verify steps against a loopback server replaying
//! captured Prometheus answers. Real time with short timeouts; the limits are hang guards only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use warroom::app::effect::{RunnerRequest, StepRun, VerifyCheck};
use warroom::app::msg::{Msg, StepResult};
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::sources::clock::TimeSource;
use warroom::sources::http::{Endpoint, HttpPolicy};
use warroom::sources::prometheus::Prometheus;
use warroom::sources::runbook_exec::{self, DISPLAY_CAP, Runner, SAVE_CAP, Verifier};

/// Longest anything may take here: a hang guard, not a speed assertion.
const LIMIT: Duration = Duration::from_secs(30);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/servers");
const INCIDENT: &str = "20261128-2300-odin-errors";

fn runner(dir: &Path) -> Runner {
    Runner {
        data_dir: dir.join("data"),
        cwd: dir.to_path_buf(),
        redactor: Redactor::new(RedactionRules::default()),
        verify: Verifier::Unavailable("no [prometheus] configured".into()),
        time: TimeSource::Real,
    }
}

fn step(run: u64, command: &str, timeout: Duration) -> StepRun {
    StepRun {
        run,
        incident: None,
        runbook: "high-error-rate".into(),
        step: "identify-scope".into(),
        lang: "sh".into(),
        command: command.into(),
        display: "(masked)".into(),
        timeout,
    }
}

/// Everything one run sent.
#[derive(Debug)]
struct Seen {
    lines: Vec<String>,
    /// Lines per `StepOutput` message.
    batches: Vec<usize>,
    result: StepResult,
    /// Every message, as `Debug` text (to look for what must never be there).
    debug: String,
}

async fn collect(rx: &mut mpsc::Receiver<Msg>, run: u64) -> Seen {
    let mut seen = Seen {
        lines: Vec::new(),
        batches: Vec::new(),
        result: StepResult::not_started("never finished"),
        debug: String::new(),
    };
    loop {
        let msg = tokio::time::timeout(LIMIT, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("run {run}: no StepFinished within {LIMIT:?}; so far {seen:?}"))
            .unwrap_or_else(|| panic!("run {run}: the channel closed before StepFinished"));
        seen.debug.push_str(&format!("{msg:?}\n"));
        match msg {
            Msg::StepOutput { run: r, lines } if r == run => {
                seen.batches.push(lines.len());
                seen.lines.extend(lines);
            }
            Msg::StepFinished { run: r, result } if r == run => {
                seen.result = result;
                return seen;
            }
            other => panic!("run {run}: unexpected {other:?}"),
        }
    }
}

/// Runs one step through `Runner::run` and collects what it sent.
async fn run(runner: &Runner, step: StepRun) -> Seen {
    let (tx, mut rx) = mpsc::channel(64);
    let id = step.run;
    let runner = runner.clone();
    let task = tokio::spawn(async move { runner.run(step, &tx).await });
    let seen = collect(&mut rx, id).await;
    tokio::time::timeout(LIMIT, task)
        .await
        .unwrap_or_else(|_| panic!("the run task did not end"))
        .unwrap_or_else(|e| panic!("the run task failed: {e}"));
    seen
}

fn saved(seen: &Seen) -> Vec<u8> {
    let path = seen
        .result
        .saved_to
        .as_ref()
        .unwrap_or_else(|| panic!("nothing saved: {:?}", seen.result));
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits until `pid` has ended; panics if it still runs after `LIMIT`.
async fn wait_ended(pid: i32) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !ended(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "process {pid} still runs: the group was not killed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn read_pid(path: &Path) -> i32 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", path.display()))
}

#[tokio::test]
async fn a_step_that_succeeds_streams_its_lines_in_order_and_saves_them_with_their_digest() {
    let dir = tempdir();
    let runner = runner(dir.path());
    let seen = run(
        &runner,
        step(
            1,
            "printf 'one\\ntwo\\n'; echo three >&2; echo four; printf 'no newline'",
            LIMIT,
        ),
    )
    .await;
    let r = &seen.result;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!(
        (r.exit_code, r.signal, r.timed_out, r.truncated),
        (Some(0), None, false, false)
    );
    assert_eq!(
        seen.lines,
        ["one", "two", "three", "four", "no newline"],
        "stderr interleaved as written"
    );
    assert_eq!(r.output_bytes, "one\ntwo\nthree\nfour\nno newline".len() as u64);
    let bytes = saved(&seen);
    assert_eq!(bytes, b"one\ntwo\nthree\nfour\nno newline\n");
    assert_eq!(r.digest, sha256_hex(&bytes));
    let path = r.saved_to.clone().unwrap_or_default();
    assert_eq!(path.parent(), Some(dir.path().join("data/runs").as_path()));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    assert!(name.ends_with("-high-error-rate-identify-scope.log"), "{name}");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("data/runs")), 0o700);
}

#[tokio::test]
async fn many_lines_arrive_in_order_in_batches_of_at_most_200() {
    let dir = tempdir();
    let seen = run(&runner(dir.path()), step(2, "seq 1 1500", LIMIT)).await;
    let want: Vec<String> = (1..=1500).map(|n| n.to_string()).collect();
    assert_eq!(seen.lines, want);
    assert!(seen.batches.iter().all(|&n| n > 0 && n <= 200), "{:?}", seen.batches);
    assert!(seen.batches.len() >= 8, "{:?}", seen.batches);
}

#[tokio::test]
async fn output_of_a_run_in_an_incident_is_saved_in_the_incident_directory() {
    let dir = tempdir();
    let runner = runner(dir.path());
    let mut s = step(3, "echo hello", LIMIT);
    s.incident = Some(INCIDENT.into());
    let first = run(&runner, s.clone()).await;
    let second = run(&runner, s).await;
    let runs = dir.path().join("data/incidents").join(INCIDENT).join("runs");
    for seen in [&first, &second] {
        let path = seen.result.saved_to.clone().unwrap_or_default();
        assert_eq!(path.parent(), Some(runs.as_path()), "{:?}", seen.result);
        assert_eq!(saved(seen), b"hello\n");
    }
    assert_ne!(
        first.result.saved_to, second.result.saved_to,
        "a second run never overwrites the first"
    );
    assert_eq!(mode(&runs), 0o700);
}

#[tokio::test]
async fn a_step_that_exits_3_is_reported_with_its_status_and_output() {
    let dir = tempdir();
    let seen = run(
        &runner(dir.path()),
        step(4, "echo 'checking'; echo 'boom' >&2; exit 3", LIMIT),
    )
    .await;
    let r = &seen.result;
    assert_eq!((r.exit_code, r.signal, r.timed_out), (Some(3), None, false));
    assert!(!r.succeeded());
    assert_eq!(r.error, None, "a failing command is not a runner error");
    assert_eq!(seen.lines, ["checking", "boom"]);
    assert_eq!(r.digest, sha256_hex(&saved(&seen)));
}

#[tokio::test]
async fn bash_steps_run_under_bash() {
    let dir = tempdir();
    let mut s = step(5, "echo \"${BASH_VERSION:+bash}\"", LIMIT);
    s.lang = "bash".into();
    let seen = run(&runner(dir.path()), s).await;
    assert_eq!(seen.lines, ["bash"], "{:?}", seen.result);
}

#[tokio::test]
async fn a_step_that_cannot_start_says_why_without_its_command() {
    const SECRET: &str = "hunter2-in-the-command";
    let dir = tempdir();
    let command = format!("TOKEN='{SECRET}'; echo \"$TOKEN\"");
    // An unknown language.
    let mut s = step(6, &command, LIMIT);
    s.lang = "cobol".into();
    let seen = run(&runner(dir.path()), s).await;
    let r = &seen.result;
    assert_eq!((r.exit_code, r.signal, r.saved_to.as_ref()), (None, None, None));
    assert!(!r.succeeded());
    let why = r.error.clone().unwrap_or_default();
    assert!(why.contains("cobol"), "{why}");
    assert!(seen.lines.is_empty());
    assert!(!seen.debug.contains(SECRET), "{}", seen.debug);
    // A working directory that does not exist: the interpreter cannot be started.
    let mut gone = runner(dir.path());
    gone.cwd = dir.path().join("no-such-dir");
    let seen = run(&gone, step(7, &command, LIMIT)).await;
    let r = &seen.result;
    assert_eq!((r.exit_code, r.signal, r.saved_to.as_ref()), (None, None, None));
    let why = r.error.clone().unwrap_or_default();
    assert!(
        why.starts_with("cannot start sh in ") && why.contains("no-such-dir"),
        "{why}"
    );
    assert!(!seen.debug.contains(SECRET), "{}", seen.debug);
    assert!(
        !dir.path().join("data").exists(),
        "nothing saved for a run that never started"
    );
}

#[tokio::test]
async fn a_step_past_its_timeout_has_its_whole_process_group_killed() {
    let dir = tempdir();
    let pidfile = dir.path().join("background.pid");
    let script = format!(
        "sleep 30 & echo $! > '{}'; echo started; sleep 30; echo never",
        pidfile.display()
    );
    let seen = run(&runner(dir.path()), step(8, &script, Duration::from_millis(500))).await;
    let r = &seen.result;
    assert!(r.timed_out, "{r:?}");
    assert!(!r.succeeded());
    assert_eq!((r.exit_code, r.signal), (None, Some(libc_sigterm())), "{r:?}");
    assert_eq!(seen.lines, ["started"]);
    assert_eq!(r.digest, sha256_hex(&saved(&seen)));
    wait_ended(read_pid(&pidfile)).await;
}

#[tokio::test]
async fn a_group_that_ignores_sigterm_is_killed_after_the_grace() {
    let dir = tempdir();
    let pidfile = dir.path().join("background.pid");
    // An ignored signal stays ignored in the children: neither the shell nor its sleeps stop.
    let script = format!(
        "trap '' TERM; sleep 30 & echo $! > '{}'; echo started; wait; echo never",
        pidfile.display()
    );
    let seen = run(&runner(dir.path()), step(9, &script, Duration::from_millis(500))).await;
    let r = &seen.result;
    assert!(r.timed_out, "{r:?}");
    assert_eq!(
        (r.exit_code, r.signal),
        (None, Some(9)),
        "SIGKILL after the grace: {r:?}"
    );
    assert_eq!(seen.lines, ["started"]);
    wait_ended(read_pid(&pidfile)).await;
}

#[tokio::test]
async fn what_a_finished_step_leaves_running_in_its_group_is_killed() {
    let dir = tempdir();
    let pidfile = dir.path().join("background.pid");
    // The background job keeps the output pipe open; the step still ends, and the job with it.
    let script = format!("sleep 30 & echo $! > '{}'; echo done", pidfile.display());
    let seen = run(&runner(dir.path()), step(10, &script, LIMIT)).await;
    let r = &seen.result;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!(seen.lines, ["done"]);
    wait_ended(read_pid(&pidfile)).await;
}

fn libc_sigterm() -> i32 {
    nix::sys::signal::Signal::SIGTERM as i32
}

#[tokio::test]
async fn output_over_the_cap_is_cut_in_the_saved_copy_and_the_pane() {
    const TOTAL: u64 = 3 * 1024 * 1024;
    // 63 characters and a newline: 64 bytes a line, 49,152 lines.
    const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    let dir = tempdir();
    let seen = run(
        &runner(dir.path()),
        step(11, &format!("yes '{LINE}' | head -c {TOTAL}"), LIMIT),
    )
    .await;
    let r = &seen.result;
    assert!(r.succeeded(), "{r:?}");
    assert!(r.truncated);
    assert_eq!(r.output_bytes, TOTAL, "every byte written is counted");
    let bytes = saved(&seen);
    assert_eq!(r.digest, sha256_hex(&bytes));
    let text = String::from_utf8(bytes.clone()).unwrap_or_else(|e| panic!("{e}"));
    let kept = text.lines().filter(|l| *l == LINE).count();
    assert_eq!(kept, SAVE_CAP / 64, "whole lines up to the cap");
    let marker = text.lines().last().unwrap_or_default();
    let cut = TOTAL - (kept as u64) * 64;
    assert!(
        marker.starts_with("warroom: output cut at") && marker.contains(&format!(" {cut} more bytes")),
        "{marker}"
    );
    assert!(bytes.len() <= SAVE_CAP + marker.len() + 1, "{}", bytes.len());
    assert_eq!(seen.lines.len(), DISPLAY_CAP, "the pane gets the display cap, no more");
    assert!(seen.lines[..DISPLAY_CAP - 1].iter().all(|l| l == LINE));
    assert!(
        seen.lines[DISPLAY_CAP - 1].starts_with("warroom: "),
        "{:?}",
        seen.lines.last()
    );
    assert!(seen.batches.iter().all(|&n| n <= 200));
}

#[tokio::test]
async fn secrets_are_redacted_and_hostile_text_made_inert_in_the_pane_and_the_saved_copy() {
    const IN_COMMAND: &str = "hunter2-in-the-command";
    const TOKEN: &str = "abcdefghijklmnop1234";
    const URL_PASSWORD: &str = "hunter2pass";
    let dir = tempdir();
    let script = format!(
        "SECRET='{IN_COMMAND}'; test -n \"$SECRET\"; \
         echo 'Authorization: Bearer {TOKEN}'; \
         echo 'fetching https://deploy:{URL_PASSWORD}@git.example.com/repo' >&2; \
         printf 'title \\033]0;pwned\\007 and \\342\\200\\256bidi\\n'"
    );
    let seen = run(&runner(dir.path()), step(12, &script, LIMIT)).await;
    assert!(seen.result.succeeded(), "{:?}", seen.result);
    let bytes = saved(&seen);
    let file = String::from_utf8_lossy(&bytes);
    for secret in [IN_COMMAND, TOKEN, URL_PASSWORD] {
        assert!(
            !seen.debug.contains(secret),
            "{secret} reached a message:\n{}",
            seen.debug
        );
        assert!(!file.contains(secret), "{secret} reached the saved file:\n{file}");
    }
    assert_eq!(seen.lines[0], "Authorization: Bearer [REDACTED:bearer_token]");
    assert!(seen.lines[1].contains("[REDACTED:url_password]"), "{}", seen.lines[1]);
    assert!(file.contains("[REDACTED:bearer_token]") && file.contains("[REDACTED:url_password]"));
    for text in [seen.lines[2].as_str(), &file] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text:?}");
    }
    assert!(
        seen.lines[2].contains("⟪OSC 0") && seen.lines[2].contains("⟪RLO⟫"),
        "{}",
        seen.lines[2]
    );
}

#[tokio::test]
async fn output_that_cannot_be_saved_is_still_reported_with_its_digest() {
    let dir = tempdir();
    let mut runner = runner(dir.path());
    // The data directory is a file: nothing can be created under it.
    runner.data_dir = dir.path().join("not-a-dir");
    std::fs::write(&runner.data_dir, b"").unwrap_or_else(|e| panic!("{e}"));
    let seen = run(&runner, step(13, "echo kept", LIMIT)).await;
    let r = &seen.result;
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(r.saved_to, None);
    assert!(
        r.error.as_deref().is_some_and(|e| e.starts_with("output not saved:")),
        "{r:?}"
    );
    assert_eq!(
        r.digest,
        sha256_hex(b"kept\n"),
        "the digest of what would have been saved"
    );
    assert!(!r.succeeded());
}

#[tokio::test]
async fn runs_overlap_and_each_reports_on_its_own() {
    let dir = tempdir();
    let fifo = dir.path().join("handoff");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap_or_else(|e| panic!("{e}"));
    let (requests, requests_rx) = mpsc::channel(runbook_exec::CHANNEL_CAPACITY);
    let (tx, mut rx) = mpsc::channel(64);
    let server = tokio::spawn(runner(dir.path()).serve(requests_rx, tx));
    // The first step waits for what the second one writes: it can only finish if both run at
    // once (one after the other, the first would time out).
    let reader = step(20, &format!("cat '{}'", fifo.display()), LIMIT);
    let writer = step(21, &format!("echo handed-over > '{}'", fifo.display()), LIMIT);
    for s in [reader, writer] {
        requests
            .send(RunnerRequest::Run(s))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut lines: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    let mut finished = std::collections::BTreeMap::new();
    while finished.len() < 2 {
        let msg = tokio::time::timeout(LIMIT, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("runs did not finish: {finished:?}"))
            .unwrap_or_else(|| panic!("channel closed"));
        match msg {
            Msg::StepOutput { run, lines: l } => lines.entry(run).or_default().extend(l),
            Msg::StepFinished { run, result } => {
                finished.insert(run, result);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(finished.values().all(|r| r.succeeded()), "{finished:?}");
    assert_eq!(lines.get(&20).cloned().unwrap_or_default(), ["handed-over"]);
    assert_eq!(lines.get(&21), None);
    drop(requests);
    tokio::time::timeout(LIMIT, server)
        .await
        .unwrap_or_else(|_| panic!("the runner did not stop when its requests ended"))
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------------
// Verify steps

/// A Prometheus stand-in on loopback: answers `/api/v1/query` by the query's text with a captured
/// answer (status line and body from tests/fixtures/servers), one connection at a time.
fn prometheus_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream);
        }
    });
    format!("http://{addr}")
}

fn answer(mut stream: TcpStream) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let query = form_value(&String::from_utf8_lossy(&body), "query").unwrap_or_default();
    let (status, body) = match query.as_str() {
        "up" => fixture("prom_query_vector"),
        "scalar(2)" => fixture("prom_query_scalar"),
        "rate(up[5m]" => fixture("prom_err_parse"),
        // What Prometheus answers when a comparison keeps no series (not among the captures).
        _ => (
            "HTTP/1.1 200 OK".to_string(),
            br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_vec(),
        ),
    };
    let head = format!(
        "{status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// The status line of `<name>.headers` and the body of `<name>.json`.
fn fixture(name: &str) -> (String, Vec<u8>) {
    let dir = Path::new(FIXTURES);
    let headers = std::fs::read_to_string(dir.join(format!("{name}.headers"))).unwrap_or_else(|e| panic!("{e}"));
    let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{e}"));
    (headers.lines().next().unwrap_or_default().trim().to_string(), body)
}

/// A value of an `application/x-www-form-urlencoded` body.
fn form_value(body: &str, key: &str) -> Option<String> {
    let raw = body.split('&').find_map(|pair| pair.strip_prefix(&format!("{key}=")))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hexed = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hexed.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

async fn verify(runner: &Runner, promql: &str) -> Result<Option<f64>, String> {
    let (tx, mut rx) = mpsc::channel(4);
    let check = VerifyCheck {
        run: 30,
        runbook: "high-error-rate".into(),
        step: "verify-recovery".into(),
        promql: promql.into(),
    };
    tokio::time::timeout(LIMIT, runner.check(check, &tx))
        .await
        .unwrap_or_else(|_| panic!("verify {promql}: no answer within {LIMIT:?}"));
    match rx.try_recv() {
        Ok(Msg::VerifyDone { run: 30, result }) => result,
        other => panic!("verify {promql}: {other:?}"),
    }
}

#[tokio::test]
async fn verify_steps_hold_with_their_value_do_not_hold_or_fail() {
    let dir = tempdir();
    let mut runner = runner(dir.path());
    let endpoint = Endpoint::new("prometheus", &prometheus_server(), HttpPolicy::default(), None, None)
        .unwrap_or_else(|e| panic!("{e}"));
    runner.verify = Verifier::Prometheus(Prometheus::new(endpoint));
    assert_eq!(verify(&runner, "up").await, Ok(Some(1.0)), "the first sample's value");
    assert_eq!(verify(&runner, "scalar(2)").await, Ok(Some(2.0)));
    assert_eq!(
        verify(&runner, "up == 2").await,
        Ok(None),
        "an empty vector does not hold"
    );
    match verify(&runner, "rate(up[5m]").await {
        Err(why) => assert!(why.contains("bad_data") && why.contains("parse error"), "{why}"),
        held => panic!("an invalid query must be an error: {held:?}"),
    }
}

#[tokio::test]
async fn verify_without_prometheus_is_an_error() {
    let dir = tempdir();
    assert_eq!(
        verify(&runner(dir.path()), "up").await,
        Err("no [prometheus] configured".to_string())
    );
    let from_config = Verifier::from_config(&warroom::config::Config::default(), dir.path(), &|_| None);
    assert!(
        matches!(&from_config, Verifier::Unavailable(why) if why == "no [prometheus] configured"),
        "{from_config:?}"
    );
}
