//! Runs confirmed runbook command steps and evaluates verify steps, in the background: each step's
//! script runs under its interpreter (`sh -c`, `bash -c`) in a session and process group of its
//! own with stdin closed, stdout and stderr read from one pipe (interleaved exactly as written),
//! every line sanitised and redacted, streamed to the pane in batches up to a display cap and
//! saved (capped, fsynced, 0600) next to the incident's journal with its SHA-256; a step that
//! outlives its timeout has its whole process group killed. Nothing here touches `AppState`.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::clock::TimeSource;
use super::http::Endpoint;
use super::logs::{NOTICE_PREFIX, until};
use super::prometheus::{Prometheus, QueryData};
use crate::app::effect::{RunnerRequest, StepRun, VerifyCheck};
use crate::app::msg::{Msg, StepResult};
use crate::config::Config;
use crate::domain::redact::{PRIVATE_KEY, Redactor, marker};
use crate::domain::runbook::{VerifyAnswer, verify_outcome};
use crate::domain::sanitize::{one_line, sanitize};

/// Requests waiting for the runner (the runtime hands them over with `try_send`).
pub const CHANNEL_CAPACITY: usize = 16;
/// Most bytes of (sanitised, redacted) output saved per run; the rest is counted, not kept.
pub const SAVE_CAP: usize = 1024 * 1024;
/// Most lines of a run sent to the pane (the last one says the rest is in the saved file only).
pub const DISPLAY_CAP: usize = 2000;
/// Most lines in one `Msg::StepOutput`.
pub const BATCH_LINES: usize = 200;
/// Longest a line waits before its batch is sent.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// After the timeout's SIGTERM, how long the process group has before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// After the command exits, how long its pipe may stay open (held by something it started in
/// the background) before reading stops and the rest of its group is killed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);
/// Longest line kept before sanitising (which cuts it further, with a marker saying how much).
const MAX_LINE_BYTES: usize = SAVE_CAP;
const CHUNK: usize = 64 * 1024;

/// What evaluates verify steps.
#[derive(Debug, Clone)]
pub enum Verifier {
    Prometheus(Prometheus),
    /// Verify steps cannot be checked in this session; the text says why.
    Unavailable(String),
}

impl Verifier {
    /// The configured `[prometheus]`, or why there is none to use.
    pub fn from_config(config: &Config, base_dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Self {
        match &config.prometheus {
            None => Self::Unavailable("no [prometheus] configured".into()),
            Some(p) => match Endpoint::from_config("prometheus", p, base_dir, env) {
                Ok(endpoint) => Self::Prometheus(Prometheus::new(endpoint)),
                Err(e) => Self::Unavailable(format!("[prometheus] cannot be used: {}", one_line(&e.to_string()))),
            },
        }
    }
}

/// Where and how steps run.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Saved output goes under `<data_dir>/incidents/<incident>/runs/` (or `<data_dir>/runs/`).
    pub data_dir: PathBuf,
    /// Working directory of every command (the cockpit uses the config file's directory).
    pub cwd: PathBuf,
    pub redactor: Redactor,
    pub verify: Verifier,
    /// Names saved files (the demo's simulated clock in the demo).
    pub time: TimeSource,
}

/// Starts the runner in `tasks`; returns where the runtime sends it work (`Runtime::with_runner`).
pub fn spawn(runner: Runner, tasks: &mut JoinSet<()>, tx: &mpsc::Sender<Msg>) -> mpsc::Sender<RunnerRequest> {
    let (requests, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tasks.spawn(runner.serve(rx, tx.clone()));
    requests
}

/// The demo's runner: nothing is run on this machine (a demo must never touch a real cluster with
/// the user's credentials). Each confirmed step answers with the command it would have run, as a
/// rehearsal, and succeeds; verify steps say there is no Prometheus to ask.
pub fn spawn_rehearsal(tasks: &mut JoinSet<()>, tx: &mpsc::Sender<Msg>) -> mpsc::Sender<RunnerRequest> {
    let (requests, mut rx) = mpsc::channel::<RunnerRequest>(CHANNEL_CAPACITY);
    let tx = tx.clone();
    tasks.spawn(async move {
        while let Some(job) = rx.recv().await {
            let sent = match job {
                RunnerRequest::Run(run) => {
                    let mut lines = vec![format!(
                        "{NOTICE_PREFIX}demo rehearsal: nothing was run; a live cockpit would run:"
                    )];
                    lines.extend(run.display.lines().map(|l| format!("  $ {}", sanitize(l))));
                    let text = lines.join("\n");
                    let digest = Sha256::digest(text.as_bytes())
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>();
                    let output = tx.send(Msg::StepOutput { run: run.run, lines }).await;
                    let result = StepResult {
                        exit_code: Some(0),
                        signal: None,
                        timed_out: false,
                        duration: Duration::ZERO,
                        output_bytes: text.len() as u64,
                        truncated: false,
                        digest,
                        saved_to: None,
                        error: None,
                    };
                    output.and(tx.send(Msg::StepFinished { run: run.run, result }).await)
                }
                RunnerRequest::Verify(check) => {
                    tx.send(Msg::VerifyDone {
                        run: check.run,
                        result: Err("the demo has no Prometheus to check verify steps against".into()),
                    })
                    .await
                }
            };
            if sent.is_err() {
                return;
            }
        }
    });
    requests
}

/// Why a step's command was not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("cannot run a \"{0}\" code block: only sh and bash steps are run")]
    Language(String),
    #[error("cannot start {interpreter} in {dir}: {why}")]
    Spawn {
        interpreter: &'static str,
        dir: String,
        why: String,
    },
}

/// The program for a code block's language (the runbook format's `COMMAND_LANGS`).
pub fn interpreter(lang: &str) -> Result<&'static str, ExecError> {
    match lang {
        "sh" => Ok("sh"),
        "bash" => Ok("bash"),
        other => Err(ExecError::Language(one_line(other))),
    }
}

/// Whether a verify query's answer holds, and the value that satisfied it, by the runbook format's
/// rule (`domain::runbook::verify_outcome`): an instant vector holds when it has a series (the
/// value is the first one's), a scalar when it is neither 0 nor NaN. A range or a string answer
/// is an error: a verify query must be an instant vector or a scalar.
pub fn holds(data: &QueryData) -> Result<Option<f64>, String> {
    match data {
        QueryData::Vector(series) => {
            let values: Vec<f64> = series
                .iter()
                .map(|s| s.samples.first().map_or(f64::NAN, |x| x.value))
                .collect();
            Ok(verify_outcome(VerifyAnswer::Vector(&values)))
        }
        QueryData::Scalar(sample) => Ok(verify_outcome(VerifyAnswer::Scalar(sample.value))),
        QueryData::Matrix(_) => {
            Err("a verify query must return an instant vector or a scalar, not a range (matrix)".into())
        }
        QueryData::String(..) => Err("a verify query must return an instant vector or a scalar, not a string".into()),
    }
}

impl Runner {
    /// Serves requests until the runtime drops its sender, each run and check in a task of its
    /// own (they overlap freely); then waits for those still going. Aborting this task aborts them
    /// all, which kills their process groups. A run that panics takes the runner down with it.
    pub async fn serve(self, mut rx: mpsc::Receiver<RunnerRequest>, tx: mpsc::Sender<Msg>) {
        let runner = Arc::new(self);
        let mut jobs: JoinSet<()> = JoinSet::new();
        loop {
            tokio::select! {
                request = rx.recv() => {
                    let Some(request) = request else { break };
                    let (runner, tx) = (Arc::clone(&runner), tx.clone());
                    match request {
                        RunnerRequest::Run(step) => jobs.spawn(async move { runner.run(step, &tx).await }),
                        RunnerRequest::Verify(check) => jobs.spawn(async move { runner.check(check, &tx).await }),
                    };
                }
                Some(joined) = jobs.join_next(), if !jobs.is_empty() => reraise(joined),
            }
        }
        while let Some(joined) = jobs.join_next().await {
            reraise(joined);
        }
    }

    /// Runs one step to its end: its output as `Msg::StepOutput`, then `Msg::StepFinished`.
    /// Returns early (killing the command) when the cockpit is gone.
    pub async fn run(&self, step: StepRun, tx: &mpsc::Sender<Msg>) {
        tracing::info!(
            run = step.run,
            runbook = %one_line(&step.runbook),
            step = %one_line(&step.step),
            command = %one_line(&step.display),
            timeout = ?step.timeout,
            "runbook step starting"
        );
        let Some(result) = self.execute(&step, tx).await else {
            tracing::info!(run = step.run, "runbook step abandoned: the cockpit is gone");
            return;
        };
        tracing::info!(
            run = step.run,
            exit_code = ?result.exit_code,
            signal = ?result.signal,
            timed_out = result.timed_out,
            duration_ms = result.duration.as_millis() as u64,
            output_bytes = result.output_bytes,
            truncated = result.truncated,
            digest = %result.digest,
            saved_to = ?result.saved_to,
            error = ?result.error,
            "runbook step finished"
        );
        let _ = tx.send(Msg::StepFinished { run: step.run, result }).await;
    }

    /// Evaluates one verify step: `Msg::VerifyDone`.
    pub async fn check(&self, check: VerifyCheck, tx: &mpsc::Sender<Msg>) {
        let result = match &self.verify {
            Verifier::Unavailable(why) => Err(why.clone()),
            Verifier::Prometheus(prometheus) => match prometheus.instant(&check.promql, self.time.now()).await {
                Ok(data) => holds(&data),
                Err(e) => Err(self.redactor.redact(&one_line(&e.to_string())).0),
            },
        };
        tracing::info!(run = check.run, runbook = %one_line(&check.runbook), step = %one_line(&check.step), ?result, "verify step checked");
        let _ = tx.send(Msg::VerifyDone { run: check.run, result }).await;
    }

    /// `None` when the cockpit went away before the command ended.
    async fn execute(&self, step: &StepRun, tx: &mpsc::Sender<Msg>) -> Option<StepResult> {
        let at = self.time.now();
        let started = Instant::now();
        let (mut group, reader) = match self.spawn(step) {
            Ok(spawned) => spawned,
            Err(e) => return Some(StepResult::not_started(e.to_string())),
        };
        let mut pipe = Some(reader);
        let mut buf = vec![0u8; CHUNK];
        let mut lines = Lines::new(MAX_LINE_BYTES);
        let mut out = Capture::new(self.redactor.clone());
        let mut output_bytes: u64 = 0;
        let mut status: Option<ExitStatus> = None;
        let mut ended: Option<Instant> = None;
        let mut wait_error: Option<String> = None;
        let mut timed_out = false;
        let mut kill_at: Option<Instant> = None;
        let mut drain_until: Option<Instant> = None;
        let deadline = started.checked_add(step.timeout);
        loop {
            if pipe.is_none() && (status.is_some() || wait_error.is_some()) {
                break;
            }
            tokio::select! {
                read = read_some(&mut pipe, &mut buf) => match read {
                    Some(n) => {
                        output_bytes += n as u64;
                        lines.feed(&buf[..n], &mut |line, raw| out.line(line, raw));
                    }
                    None => {
                        pipe = None;
                        lines.finish(&mut |line, raw| out.line(line, raw));
                    }
                },
                waited = group.child.wait(), if status.is_none() && wait_error.is_none() => {
                    ended = Some(Instant::now());
                    match waited {
                        Ok(s) => {
                            status = Some(s);
                        }
                        Err(e) => {
                            wait_error = Some(format!("cannot wait for the command: {}", one_line(&e.to_string())));
                            group.signal(Signal::SIGKILL);
                        }
                    }
                    drain_until = ended.map(|t| t + DRAIN_AFTER_EXIT);
                }
                () = until(deadline), if !timed_out && status.is_none() && wait_error.is_none() => {
                    timed_out = true;
                    group.signal(Signal::SIGTERM);
                    kill_at = Some(Instant::now() + KILL_GRACE);
                }
                () = until(kill_at), if status.is_none() && wait_error.is_none() => {
                    group.signal(Signal::SIGKILL);
                    kill_at = None;
                }
                () = until(drain_until), if pipe.is_some() => {
                    // Something the command started still holds the pipe: stop reading.
                    pipe = None;
                    lines.finish(&mut |line, raw| out.line(line, raw));
                }
                () = until(out.deadline()) => {
                    tx.send(Msg::StepOutput { run: step.run, lines: out.take() }).await.ok()?;
                }
                () = tx.closed() => return None,
            }
            while out.batch_full() {
                tx.send(Msg::StepOutput {
                    run: step.run,
                    lines: out.take(),
                })
                .await
                .ok()?;
            }
        }
        // Whatever the step left running in its group (a background job, a process that
        // ignored SIGTERM) ends with it.
        group.signal(Signal::SIGKILL);
        group.done = true;
        let duration = ended.unwrap_or_else(Instant::now).duration_since(started);
        while out.has_batch() {
            tx.send(Msg::StepOutput {
                run: step.run,
                lines: out.take(),
            })
            .await
            .ok()?;
        }
        let (saved, truncated) = out.into_saved();
        let digest = hex::encode(Sha256::digest(&saved));
        let dir = run_dir(&self.data_dir, step.incident.as_deref());
        let name = file_stem(at, &step.runbook, &step.step);
        let save = tokio::task::spawn_blocking(move || save(dir?, &name, &saved))
            .await
            .unwrap_or_else(|e| Err(format!("the save task failed: {e}")));
        let (saved_to, save_error) = match save {
            Ok(path) => (Some(path), None),
            Err(why) => (None, Some(format!("output not saved: {why}"))),
        };
        Some(StepResult {
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            timed_out,
            duration,
            output_bytes,
            truncated,
            digest,
            saved_to,
            error: match (wait_error, save_error) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            },
        })
    }

    /// Starts the step's interpreter on its script in a session of its own (so one process group,
    /// and no controlling terminal), stdin from /dev/null, stdout and stderr into one pipe.
    fn spawn(&self, step: &StepRun) -> Result<(Group, pipe::Receiver), ExecError> {
        let interpreter = interpreter(&step.lang)?;
        let failed = |e: std::io::Error| ExecError::Spawn {
            interpreter,
            dir: one_line(&self.cwd.display().to_string()),
            why: one_line(&e.to_string()),
        };
        // One pipe for both streams: their lines interleave exactly as the command wrote them.
        // std's pipe is close-on-exec, so no other step's command inherits this one's end.
        let (reader, writer) = std::io::pipe().map_err(failed)?;
        let writer_too = writer.try_clone().map_err(failed)?;
        let reader = pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(failed)?;
        let mut command = Command::new(interpreter);
        command
            .arg("-c")
            .arg(&step.command)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer_too)
            .kill_on_drop(true);
        // SAFETY: runs in the forked child before exec; setsid is async-signal-safe and touches
        // no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if nix::libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(failed)?;
        // `command` holds the parent's copies of the pipe's write end: they must close now, or
        // the pipe would never reach its end.
        drop(command);
        Ok((
            Group {
                pgid: child.id().and_then(|id| i32::try_from(id).ok()),
                done: false,
                child,
            },
            reader,
        ))
    }
}

fn reraise(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Reads what is there; `None` at the end (or on an error, which ends the pipe too). Pends
/// forever once the pipe is closed, so it can sit in a `select!`.
async fn read_some(pipe: &mut Option<pipe::Receiver>, buf: &mut [u8]) -> Option<usize> {
    match pipe {
        Some(r) => match r.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

/// A step's command and its process group; dropping it (the cockpit stops, the runner is aborted)
/// kills the group, then the command itself (`kill_on_drop`).
struct Group {
    child: Child,
    pgid: Option<i32>,
    /// The group was killed after the run ended: nothing left to do on drop. (Once the leader is
    /// reaped its pid cannot be reused while its group has members, so signalling the group right
    /// after, to end what it left behind, stays safe.)
    done: bool,
}

impl Group {
    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH (the group is gone already) is the expected answer after a clean exit.
            let _ = killpg(Pid::from_raw(pgid), signal);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.done {
            self.signal(Signal::SIGKILL);
        }
    }
}

/// Cuts output into lines: `\n` ends one (a `\r` before it is dropped); a line longer than `max`
/// keeps its first `max` bytes. Each line comes with how many bytes it took in the output.
struct Lines {
    partial: Vec<u8>,
    raw: u64,
    max: usize,
}

impl Lines {
    fn new(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            raw: 0,
            max: max.max(1),
        }
    }

    fn feed(&mut self, data: &[u8], emit: &mut impl FnMut(&[u8], u64)) {
        let mut rest = data;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.keep(&rest[..i]);
            self.raw += i as u64 + 1;
            self.emit(emit);
            rest = &rest[i + 1..];
        }
        self.keep(rest);
        self.raw += rest.len() as u64;
    }

    /// Emits the unfinished last line, if any.
    fn finish(&mut self, emit: &mut impl FnMut(&[u8], u64)) {
        if self.raw > 0 {
            self.emit(emit);
        }
    }

    fn keep(&mut self, segment: &[u8]) {
        let room = self.max.saturating_sub(self.partial.len());
        self.partial.extend_from_slice(&segment[..segment.len().min(room)]);
    }

    fn emit(&mut self, emit: &mut impl FnMut(&[u8], u64)) {
        let line = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        emit(line, self.raw);
        self.partial.clear();
        self.raw = 0;
    }
}

/// A run's output after sanitising and redaction: the copy to save (up to `SAVE_CAP`) and the
/// lines for the pane (up to `DISPLAY_CAP`, in batches).
struct Capture {
    redactor: Redactor,
    saved: Vec<u8>,
    truncated: bool,
    /// Bytes the command wrote that the saved copy does not hold (whole lines past the cap).
    cut: u64,
    shown: usize,
    batch: Vec<String>,
    since: Option<Instant>,
    /// Inside a private-key block whose BEGIN line was seen: every line is redacted whole (the
    /// redactor sees one line at a time and cannot tell a key's body from other base64).
    in_key: bool,
}

impl Capture {
    fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            saved: Vec::new(),
            truncated: false,
            cut: 0,
            shown: 0,
            batch: Vec::new(),
            since: None,
            in_key: false,
        }
    }

    fn line(&mut self, raw: &[u8], raw_len: u64) {
        let show = self.shown < DISPLAY_CAP;
        if self.truncated && !show {
            self.cut += raw_len;
            return;
        }
        let text = String::from_utf8_lossy(raw);
        let clean = sanitize(&text);
        let text = self.redact(&clean);
        if !self.truncated && self.saved.len() + text.len() < SAVE_CAP {
            self.saved.extend_from_slice(text.as_bytes());
            self.saved.push(b'\n');
        } else {
            self.truncated = true;
            self.cut += raw_len;
        }
        if show {
            let line = if self.shown + 1 == DISPLAY_CAP {
                format!(
                    "{NOTICE_PREFIX}the pane shows the first {} lines; the rest is in the saved output only",
                    DISPLAY_CAP - 1
                )
            } else {
                text
            };
            if self.batch.is_empty() {
                self.since = Some(Instant::now());
            }
            self.batch.push(line);
            self.shown += 1;
        }
    }

    fn redact(&mut self, line: &str) -> String {
        let begins = line.contains("-----BEGIN") && line.contains("PRIVATE KEY");
        let ends = line.contains("-----END") && line.contains("PRIVATE KEY");
        if self.in_key {
            self.in_key = !ends;
            return marker(PRIVATE_KEY);
        }
        let (text, _) = self.redactor.redact(line);
        self.in_key = begins && !ends;
        text
    }

    fn deadline(&self) -> Option<Instant> {
        self.since.map(|s| s + BATCH_WINDOW)
    }

    fn batch_full(&self) -> bool {
        self.batch.len() >= BATCH_LINES
    }

    fn has_batch(&self) -> bool {
        !self.batch.is_empty()
    }

    /// The oldest lines, at most `BATCH_LINES` (what is left stays due at once).
    fn take(&mut self) -> Vec<String> {
        if self.batch.len() > BATCH_LINES {
            let rest = self.batch.split_off(BATCH_LINES);
            return std::mem::replace(&mut self.batch, rest);
        }
        self.since = None;
        std::mem::take(&mut self.batch)
    }

    /// The bytes to save, ending with a marker line when output was cut; and whether it was.
    fn into_saved(self) -> (Vec<u8>, bool) {
        let mut saved = self.saved;
        if self.truncated {
            saved.extend_from_slice(
                format!(
                    "{NOTICE_PREFIX}output cut at {SAVE_CAP} bytes: {} more bytes of output not saved\n",
                    self.cut
                )
                .as_bytes(),
            );
        }
        (saved, self.truncated)
    }
}

/// `<data>/incidents/<incident>/runs`, or `<data>/runs` outside an incident.
fn run_dir(data_dir: &Path, incident: Option<&str>) -> Result<PathBuf, String> {
    match incident {
        None => Ok(data_dir.join("runs")),
        Some(id) if file_part(id) == id && !id.starts_with('.') => Ok(data_dir.join("incidents").join(id).join("runs")),
        Some(id) => Err(format!("\"{}\" is not an incident id", one_line(id))),
    }
}

/// `<YYYYMMDDTHHMMSSZ>-<runbook>-<step>`.
fn file_stem(at: DateTime<Utc>, runbook: &str, step: &str) -> String {
    format!(
        "{}-{}-{}",
        at.format("%Y%m%dT%H%M%SZ"),
        file_part(runbook),
        file_part(step)
    )
}

/// `text` as a safe file-name part: letters, digits, `.`, `_` and `-` (others become `_`), at most
/// 64 characters, never empty.
fn file_part(text: &str) -> String {
    let part: String = text
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() { "_".into() } else { part }
}

/// Writes `bytes` to a new file `<stem>.log` in `dir` (`<stem>-2.log`… if taken), 0600, synced
/// with its directory; missing directories are created 0700.
fn save(dir: PathBuf, stem: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    use std::io::Write as _;
    let shown = |p: &Path| one_line(&p.display().to_string());
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", shown(&dir)))?;
    let mut n = 1;
    let (path, mut file) = loop {
        let name = if n == 1 {
            format!("{stem}.log")
        } else {
            format!("{stem}-{n}.log")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => break (path, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(format!("cannot create {}: {e}", shown(&path))),
        }
    };
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", shown(&path)))?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", shown(&dir)))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::redact::RedactionRules;

    fn split(chunks: &[&[u8]], max: usize) -> Vec<(String, u64)> {
        let mut lines = Lines::new(max);
        let mut out = Vec::new();
        for c in chunks {
            lines.feed(c, &mut |l, raw| {
                out.push((String::from_utf8_lossy(l).into_owned(), raw))
            });
        }
        lines.finish(&mut |l, raw| out.push((String::from_utf8_lossy(l).into_owned(), raw)));
        out
    }

    #[test]
    fn lines_count_the_bytes_they_took_even_when_cut() {
        let got = split(&[b"one\r\ntw", b"o\n\nabcdefgh", b"ij\nend"], 4);
        let want = [("one", 5), ("two", 4), ("", 1), ("abcd", 11), ("end", 3)];
        let want: Vec<(String, u64)> = want.iter().map(|(s, n)| ((*s).to_string(), *n)).collect();
        assert_eq!(got, want);
        assert!(
            split(&[b"x\n"], 4).len() == 1,
            "no empty last line after a final newline"
        );
    }

    #[test]
    fn a_private_key_block_is_redacted_whole_across_lines() {
        let mut c = Capture::new(Redactor::new(RedactionRules::default()));
        for l in [
            "before",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEAx",
            "-----END RSA PRIVATE KEY-----",
            "after",
        ] {
            c.line(l.as_bytes(), l.len() as u64 + 1);
        }
        let lines = c.take();
        assert_eq!(lines[0], "before");
        assert_eq!(lines[4], "after");
        assert!(
            lines[1..4]
                .iter()
                .all(|l| !l.contains("MIIE") && l.contains("[REDACTED:private_key]")),
            "{lines:?}"
        );
    }

    #[test]
    fn verify_holds_on_a_non_empty_vector_or_a_non_zero_scalar() {
        use crate::sources::prometheus::{Sample, Series};
        let sample = |value| Sample { at: 0.0, value };
        let series = |value| Series {
            labels: Default::default(),
            samples: vec![sample(value)],
        };
        assert_eq!(holds(&QueryData::Vector(vec![series(0.0), series(2.0)])), Ok(Some(0.0)));
        assert_eq!(holds(&QueryData::Vector(Vec::new())), Ok(None));
        assert_eq!(holds(&QueryData::Scalar(sample(2.5))), Ok(Some(2.5)));
        assert_eq!(holds(&QueryData::Scalar(sample(0.0))), Ok(None));
        assert_eq!(holds(&QueryData::Scalar(sample(f64::NAN))), Ok(None));
        assert!(holds(&QueryData::Matrix(Vec::new())).is_err());
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_part("high-error-rate"), "high-error-rate");
        assert_eq!(file_part("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(file_part(""), "_");
        assert!(run_dir(Path::new("/d"), Some("../x")).is_err());
        assert!(run_dir(Path::new("/d"), Some("..")).is_err());
        assert_eq!(
            run_dir(Path::new("/d"), Some("20261128-2300-odin")),
            Ok(PathBuf::from("/d/incidents/20261128-2300-odin/runs"))
        );
    }
}
