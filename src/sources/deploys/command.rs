//! A command printing the deploy history as JSON (wrapping `helm history -o json`, `kubectl
//! rollout history`, in-house tools): run from its argv (no shell) in a process group of its own,
//! stdin closed, with a timeout and an output cap; its standard output must be a JSON array in the
//! schema documented in docs/configuration.md (`[[deploys]]`). Malformed output is the source's
//! error, naming what is wrong and where (line and column).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::DeployError;
use crate::domain::deploy::{Deploy, DeployKind, DeployStatus};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::sanitize::one_line;

/// Longest a run may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// Most bytes of standard output read; more is an error.
pub const MAX_OUTPUT: usize = 4 * 1024 * 1024;
/// Bytes of standard error kept for the error text.
const MAX_STDERR: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct CommandSource {
    /// Prefixes the deploy ids (`{name}/{id}`).
    pub name: String,
    pub argv: Vec<String>,
    /// The service of entries that name none (`[service].name`).
    pub service: String,
    /// Working directory (the config file's directory), or the cockpit's own.
    pub dir: Option<PathBuf>,
    pub timeout: Duration,
}

/// Why the command gave no history.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot start `{command}`: {reason}")]
    Start { command: String, reason: String },
    #[error("`{command}` exited with status {code}: {stderr}")]
    Exited { command: String, code: i32, stderr: String },
    #[error("`{command}` was killed by a signal: {stderr}")]
    Killed { command: String, stderr: String },
    #[error("`{command}` took longer than {}", humantime::format_duration(*.timeout))]
    Timeout { command: String, timeout: Duration },
    #[error("`{command}` printed more than {MAX_OUTPUT} bytes")]
    TooLarge { command: String },
    #[error("cannot read the output of `{command}`: {reason}")]
    Read { command: String, reason: String },
}

impl CommandError {
    pub fn into_fetch_error(self) -> FetchError {
        let kind = match &self {
            Self::Exited { code, .. } => FetchErrorKind::Exited(*code),
            Self::Timeout { .. } => FetchErrorKind::Timeout,
            Self::TooLarge { .. } => FetchErrorKind::TooLarge,
            _ => FetchErrorKind::Other,
        };
        FetchError::new(kind, one_line(&self.to_string()))
    }
}

/// One entry of the command's output (see docs/configuration.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub version: String,
    pub environment: String,
    pub author: String,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: EntryStatus,
    #[serde(default)]
    pub kind: Option<EntryKind>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// Shown beside the deploy (e.g. helm's description).
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    #[serde(alias = "success", alias = "deployed", alias = "superseded")]
    Succeeded,
    #[serde(alias = "failure", alias = "error")]
    Failed,
    #[serde(
        alias = "running",
        alias = "pending",
        alias = "queued",
        alias = "pending-install",
        alias = "pending-upgrade",
        alias = "pending-rollback"
    )]
    InProgress,
    RolledBack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Deploy,
    Rollback,
    Migration,
}

/// Parses the command's output: a JSON array of entries. `what` names the command in errors.
pub fn parse(output: &[u8], what: &str, name: &str, service: &str) -> Result<Vec<Deploy>, DeployError> {
    let entries: Vec<Entry> = serde_json::from_slice(output).map_err(|source| DeployError::Json {
        what: what.to_string(),
        source,
    })?;
    Ok(entries.into_iter().map(|e| deploy(e, name, service)).collect())
}

fn deploy(e: Entry, name: &str, service: &str) -> Deploy {
    let id =
        e.id.map(|id| one_line(&id))
            .unwrap_or_else(|| format!("{}@{}", one_line(&e.version), e.started_at.timestamp()));
    Deploy {
        id: format!("{name}/{id}"),
        service: e.service.map_or_else(|| service.to_string(), |s| one_line(&s)),
        version: one_line(&e.version),
        environment: one_line(&e.environment),
        author: one_line(&e.author),
        kind: match e.kind {
            None | Some(EntryKind::Deploy) => DeployKind::Deploy,
            Some(EntryKind::Rollback) => DeployKind::Rollback,
            Some(EntryKind::Migration) => DeployKind::Migration,
        },
        status: match e.status {
            EntryStatus::Succeeded => DeployStatus::Succeeded,
            EntryStatus::Failed => DeployStatus::Failed,
            EntryStatus::InProgress => DeployStatus::InProgress,
            EntryStatus::RolledBack => DeployStatus::RolledBack,
        },
        started_at: e.started_at,
        finished_at: e.finished_at,
        note: e.note.as_deref().map(one_line).unwrap_or_default(),
    }
}

impl CommandSource {
    pub fn new(name: &str, argv: Vec<String>, service: &str, dir: Option<&Path>) -> Self {
        Self {
            name: name.to_string(),
            argv,
            service: service.to_string(),
            dir: dir.map(Path::to_path_buf),
            timeout: TIMEOUT,
        }
    }

    /// The command as shown to the user (program and arguments, one line, sanitised).
    pub fn shown(&self) -> String {
        one_line(&self.argv.join(" "))
    }

    pub async fn fetch(&self) -> Result<Vec<Deploy>, DeployError> {
        let output = self.run().await?;
        parse(&output, &format!("`{}`", self.shown()), &self.name, &self.service)
    }

    /// Runs the command once; its standard output when it exits with status 0.
    pub async fn run(&self) -> Result<Vec<u8>, CommandError> {
        let command = self.shown();
        let Some((program, args)) = self.argv.split_first() else {
            return Err(CommandError::Start {
                command,
                reason: "empty command".into(),
            });
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| CommandError::Start {
            command: command.clone(),
            reason: one_line(&e.to_string()),
        })?;
        let pgid = child.id().and_then(|id| i32::try_from(id).ok());
        let kill_group = || {
            if let Some(pgid) = pgid {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
            }
        };
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            kill_group();
            return Err(CommandError::Read {
                command,
                reason: "no pipes".into(),
            });
        };
        let work = async {
            let out = async {
                let mut out = Vec::new();
                let read = stdout.take(MAX_OUTPUT as u64 + 1).read_to_end(&mut out).await;
                if out.len() > MAX_OUTPUT {
                    // Stop it now: it would block on a full pipe, and stderr would never end.
                    kill_group();
                }
                read.map(|_| out)
            };
            tokio::join!(out, read_tail(stderr, MAX_STDERR))
        };
        let (out, err) = match tokio::time::timeout(self.timeout, work).await {
            Ok(read) => read,
            Err(_) => {
                kill_group();
                return Err(CommandError::Timeout {
                    command,
                    timeout: self.timeout,
                });
            }
        };
        let out = match out {
            Ok(out) if out.len() > MAX_OUTPUT => {
                kill_group();
                return Err(CommandError::TooLarge { command });
            }
            Ok(out) => out,
            Err(e) => {
                kill_group();
                return Err(CommandError::Read {
                    command,
                    reason: one_line(&e.to_string()),
                });
            }
        };
        let stderr = err.map(|e| last_line(&e)).unwrap_or_default();
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                return Err(CommandError::Read {
                    command,
                    reason: one_line(&e.to_string()),
                });
            }
            Err(_) => {
                kill_group();
                return Err(CommandError::Timeout {
                    command,
                    timeout: self.timeout,
                });
            }
        };
        match status.code() {
            Some(0) => Ok(out),
            Some(code) => Err(CommandError::Exited { command, code, stderr }),
            None => Err(CommandError::Killed { command, stderr }),
        }
    }
}

/// Reads to the end, keeping the last `keep` bytes.
async fn read_tail<R: tokio::io::AsyncRead + Unpin>(mut reader: R, keep: usize) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(kept);
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > keep {
            kept.drain(..kept.len() - keep);
        }
    }
}

/// The last non-empty line of standard error (where tools put the error), at most 200 characters.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = one_line(text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim());
    crate::domain::sanitize::clip(line, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_with_defaults_and_aliases() {
        let json = br#"[
          {"version":"1.4.2","environment":"production","author":"ana","started_at":"2026-11-28T22:40:00Z",
           "finished_at":"2026-11-28T22:46:00Z","status":"succeeded","id":"r7"},
          {"version":"2026_11_28_add_index","environment":"production","author":"bo",
           "started_at":"2026-11-28T22:30:00Z","status":"in_progress","kind":"migration","service":"odin-db"}
        ]"#;
        let deploys = parse(json, "`t`", "cmd", "odin").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(deploys.len(), 2);
        assert_eq!(deploys[0].id, "cmd/r7");
        assert_eq!(deploys[0].service, "odin");
        assert_eq!(deploys[0].status, DeployStatus::Succeeded);
        assert_eq!(deploys[1].kind, DeployKind::Migration);
        assert_eq!(deploys[1].service, "odin-db");
        assert_eq!(deploys[1].id, "cmd/2026_11_28_add_index@1795905000");
        assert_eq!(deploys[1].finished_at, None);
    }

    #[test]
    fn malformed_output_names_what_and_where() {
        let cases: [(&[u8], &str); 4] = [
            (br#"{"version":"1"}"#, "invalid type: map, expected a sequence at line 1 column 0"),
            (b"[{\"version\":\"1\",\n\"environment\":\"p\"}]", "missing field `author` at line 2 column 18"),
            (
                br#"[{"version":"1","environment":"p","author":"a","started_at":"2026-11-28T22:40:00Z","status":"great"}]"#,
                "unknown variant `great`",
            ),
            (b"[{\"version\":", "EOF while parsing a value at line 1 column 12"),
        ];
        for (output, expected) in cases {
            let e = parse(output, "`helm-history`", "cmd", "odin").map(|_| ()).err();
            let shown = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(shown.starts_with("bad JSON from `helm-history`: "), "{shown}");
            assert!(shown.contains(expected), "{shown} lacks {expected}");
        }
    }
}
