//! A command whose output lines are a log source (`kubectl logs -f`, `journalctl -f -o json`):
//! spawned from its argv (no shell) in a session of its own with no terminal and stdin closed,
//! stdout and stderr read as lines, its exit reported (status code or signal), restarted with
//! jittered exponential backoff, and killed (its whole process group) when the cockpit stops.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Batch, LineSplitter, Sink};
use crate::app::msg::{Msg, SourceId};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::sanitize::one_line;
use crate::sources::clock::TimeSource;
use crate::sources::http::Backoff;

/// First wait before a restart; it doubles after each quick exit.
pub const RESTART_BASE: Duration = Duration::from_secs(1);
pub const RESTART_CAP: Duration = Duration::from_secs(30);
/// A run at least this long counts as healthy: the next restart waits the base delay again.
pub const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// After the command exits, how long its pipes may stay open (held by a child of its own)
/// before they are closed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);
const CHUNK: usize = 64 * 1024;
/// A command still running this long after its start is up, even if it printed nothing yet.
const RUNNING_IS_UP: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct CommandFeed {
    pub source: SourceId,
    pub name: Arc<str>,
    pub argv: Vec<String>,
    /// Working directory (the config file's directory), or the cockpit's own.
    pub dir: Option<PathBuf>,
    /// Delays between restarts.
    pub restart: Backoff,
}

/// How a run of the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signalled(i32),
    /// It could not be started (or waited for).
    Failed(String),
}

impl Ended {
    fn from_status(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Exited(code),
            (None, Some(signal)) => Self::Signalled(signal),
            (None, None) => Self::Failed("ended without a status".into()),
        }
    }

    /// "exited with status 3", "killed by signal 9 (SIGKILL)", "cannot start: …".
    pub fn describe(&self) -> String {
        match self {
            Self::Exited(code) => format!("exited with status {code}"),
            Self::Signalled(signal) => {
                let name = nix::sys::signal::Signal::try_from(*signal).map_or("", |s| s.as_str());
                if name.is_empty() {
                    format!("killed by signal {signal}")
                } else {
                    format!("killed by signal {signal} ({name})")
                }
            }
            Self::Failed(why) => why.clone(),
        }
    }

    fn error(&self, restart_in: Duration) -> FetchError {
        let restarting = format!(
            "restarting in {}",
            humantime::format_duration(Duration::from_millis(restart_in.as_millis() as u64))
        );
        match self {
            Self::Exited(code) => FetchError::new(FetchErrorKind::Exited(*code), restarting),
            other => FetchError::new(FetchErrorKind::Other, format!("{}; {restarting}", other.describe())),
        }
    }
}

impl CommandFeed {
    pub fn new(source: SourceId, name: Arc<str>, argv: Vec<String>, dir: Option<&Path>) -> Self {
        let seed = super::seed(&name);
        Self {
            source,
            name,
            argv,
            dir: dir.map(Path::to_path_buf),
            restart: Backoff::new(RESTART_BASE, RESTART_CAP, seed),
        }
    }

    /// The command as shown to the user (program and arguments, one line, sanitised).
    pub fn shown(&self) -> String {
        one_line(&self.argv.join(" "))
    }

    pub async fn run(mut self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        let mut sink = Sink::new(self.source, time, tx);
        loop {
            let started = Instant::now();
            let ended = match self.spawn() {
                Ok(child) => match self.follow(child, &mut sink).await {
                    Some(ended) => ended,
                    None => return,
                },
                Err(e) => Ended::Failed(format!(
                    "cannot start {}: {}",
                    one_line(self.argv.first().map_or("", String::as_str)),
                    one_line(&e.to_string())
                )),
            };
            if started.elapsed() >= HEALTHY_RUN {
                self.restart.reset();
            }
            let delay = self.restart.next_delay();
            let notice = super::notice(
                time.now(),
                &self.name,
                &format!(
                    "`{}` {}; restarting in {}",
                    self.shown(),
                    ended.describe(),
                    shown_delay(delay)
                ),
            );
            if sink.lines(vec![notice]).await.is_none() || sink.error(ended.error(delay)).await.is_none() {
                return;
            }
            if !super::pause(delay, &mut refresh, &sink).await {
                return;
            }
        }
    }

    fn spawn(&self) -> std::io::Result<Running> {
        let Some((program, args)) = self.argv.split_first() else {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        // SAFETY: runs in the forked child before exec; setsid is async-signal-safe and touches
        // no memory of the parent. A session of its own means no controlling terminal (the
        // command cannot write to the cockpit's screen through /dev/tty) and one process group
        // that can be killed as a whole.
        unsafe {
            command.pre_exec(|| {
                if nix::libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        Ok(Running {
            pgid: child.id().and_then(|id| i32::try_from(id).ok()),
            reaped: false,
            child,
        })
    }

    /// Reads the command's output until it exits and its pipes close; `None` when the cockpit
    /// is gone.
    async fn follow(&self, mut running: Running, sink: &mut Sink) -> Option<Ended> {
        let mut stdout = running.child.stdout.take();
        let mut stderr = running.child.stderr.take();
        let (mut out_buf, mut err_buf) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
        let (mut out_lines, mut err_lines) = (LineSplitter::default(), LineSplitter::default());
        let mut batch = Batch::default();
        let mut status: Option<ExitStatus> = None;
        let mut drain_until: Option<Instant> = None;
        let up_after = Instant::now() + RUNNING_IS_UP;
        let time = sink.time;
        loop {
            if stdout.is_none() && stderr.is_none() && status.is_some() {
                break;
            }
            // Running for a moment without a word is news too (the source is up); after that,
            // the heartbeat.
            let heartbeat = (batch.is_empty() && status.is_none()).then(|| {
                if sink.needs_answer() {
                    up_after.min(sink.heartbeat_due())
                } else {
                    sink.heartbeat_due()
                }
            });
            tokio::select! {
                read = read_some(&mut stdout, &mut out_buf) => {
                    match read {
                        Some(n) => out_lines.feed(&out_buf[..n], |l| {
                            batch.push(super::line(time.now(), &self.name, &String::from_utf8_lossy(l)));
                        }),
                        None => {
                            stdout = None;
                            out_lines.finish(|l| batch.push(super::line(time.now(), &self.name, &String::from_utf8_lossy(l))));
                        }
                    }
                }
                read = read_some(&mut stderr, &mut err_buf) => {
                    match read {
                        Some(n) => err_lines.feed(&err_buf[..n], |l| {
                            batch.push(super::line(time.now(), &self.name, &String::from_utf8_lossy(l)));
                        }),
                        None => {
                            stderr = None;
                            err_lines.finish(|l| batch.push(super::line(time.now(), &self.name, &String::from_utf8_lossy(l))));
                        }
                    }
                }
                waited = running.child.wait(), if status.is_none() => {
                    match waited {
                        Ok(s) => {
                            running.reaped = true;
                            status = Some(s);
                        }
                        Err(e) => return self.finish(batch, sink, Ended::Failed(format!("cannot wait for it: {e}"))).await,
                    }
                    drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
                }
                () = super::until(drain_until) => {
                    // Something the command started still holds its output open: stop reading.
                    stdout = None;
                    stderr = None;
                    out_lines.finish(|l| batch.push(super::line(time.now(), &self.name, &String::from_utf8_lossy(l))));
                    err_lines.finish(|l| batch.push(super::line(time.now(), &self.name, &String::from_utf8_lossy(l))));
                }
                () = super::until(batch.deadline()) => {
                    sink.lines(batch.take()).await?;
                }
                () = super::until(heartbeat) => {
                    sink.lines(Vec::new()).await?;
                }
                () = sink.closed() => return None,
            }
            while batch.is_full() {
                sink.lines(batch.take()).await?;
            }
        }
        let ended = status.map_or_else(|| Ended::Failed("ended without a status".into()), Ended::from_status);
        self.finish(batch, sink, ended).await
    }

    async fn finish(&self, mut batch: Batch, sink: &mut Sink, ended: Ended) -> Option<Ended> {
        batch.flush(sink).await?;
        Some(ended)
    }
}

/// Reads what is there; `None` at the end (or on an error, which ends the pipe too). Pends
/// forever when the pipe is already closed, so it can sit in a `select!`.
async fn read_some<R: tokio::io::AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> Option<usize> {
    match pipe {
        Some(r) => match r.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

fn shown_delay(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}

/// A running command; dropping it (the cockpit stops, the task is aborted) kills its process
/// group, then the command itself (`kill_on_drop`).
struct Running {
    child: Child,
    pgid: Option<i32>,
    /// Once reaped, its pid may belong to someone else: no more signals.
    reaped: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let (Some(pgid), false) = (self.pgid, self.reaped) {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}
