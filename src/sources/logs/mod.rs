//! Log sources: Loki (`query_range` polling and the live tail), files followed like `tail -F`, and
//! commands whose output is read. Each `[[logs]]` entry is its own source and task; lines become
//! `LogLine`s here and travel in batches (never one message per line). Nothing here touches
//! `AppState` except registering the sources once, at startup.

pub mod command;
pub mod file;
pub mod loki;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::clock::TimeSource;
use crate::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use crate::app::state::AppState;
use crate::config::LogSourceConfig;
use crate::domain::health::{FetchError, SourceHealth};
use crate::domain::log::LogLine;

pub use command::CommandFeed;
pub use file::FileFeed;
pub use loki::LokiFeed;

/// Most lines in one message.
pub const MAX_BATCH: usize = 1000;
/// Longest a line waits in a batch before the batch is sent.
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);
/// Longest line kept from a file or a command; the rest, up to the next newline, is skipped (the
/// sanitiser cuts what is kept further, with a marker).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// A source with nothing new says it is still fine this often (its health stays fresh).
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// What lines the cockpit writes itself (a truncated file, an exited command) start with.
pub const NOTICE_PREFIX: &str = "warroom: ";

/// One configured log source, ready to run.
#[derive(Debug, Clone)]
pub enum LogFeed {
    Loki(Box<LokiFeed>),
    File(FileFeed),
    Command(CommandFeed),
}

impl LogFeed {
    pub fn source(&self) -> SourceId {
        match self {
            Self::Loki(f) => f.source,
            Self::File(f) => f.source,
            Self::Command(f) => f.source,
        }
    }

    /// Runs until the cockpit is gone (the channel closes) or the task is aborted.
    pub async fn run(self, time: TimeSource, tx: mpsc::Sender<Msg>, refresh: watch::Receiver<u64>) {
        match self {
            Self::Loki(f) => (*f).run(time, tx, refresh).await,
            Self::File(f) => f.run(time, tx, refresh).await,
            Self::Command(f) => f.run(time, tx, refresh).await,
        }
    }
}

/// Registers every enabled `[[logs]]` entry as its own source and builds its feed. An entry whose
/// client cannot be built (an unreadable CA file, an unset token variable) is shown disabled with
/// the reason; the others still run. Relative paths are read from `base_dir`.
pub fn build(
    configs: &[LogSourceConfig],
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    state: &mut AppState,
) -> Vec<LogFeed> {
    let mut feeds = Vec::new();
    for config in configs.iter().filter(|c| c.enabled) {
        let id = state.add_source(SourceKind::Logs, config.name.clone());
        let name: Arc<str> = Arc::from(config.name.as_str());
        let feed: Result<LogFeed, String> = if let Some(loki) = &config.loki {
            LokiFeed::from_config(id, name, loki, base_dir, env)
                .map(|f| LogFeed::Loki(Box::new(f)))
                .map_err(|e| e.to_string())
        } else if let Some(path) = &config.file {
            Ok(LogFeed::File(FileFeed::new(id, name, base_dir.join(path))))
        } else if let Some(argv) = config.command.as_ref().filter(|a| !a.is_empty()) {
            Ok(LogFeed::Command(CommandFeed::new(
                id,
                name,
                argv.clone(),
                Some(base_dir),
            )))
        } else {
            Err("needs one of loki, file or command".into())
        };
        match feed {
            Ok(feed) => feeds.push(feed),
            Err(reason) => {
                if let Some(s) = state.sources.get_mut(id.0) {
                    s.health = SourceHealth::Disabled { reason };
                }
            }
        }
    }
    feeds
}

/// A log line from text read at `at` (the line's own timestamp wins when it has one).
pub fn line(at: DateTime<Utc>, source: &Arc<str>, raw: &str) -> LogLine {
    LogLine::new(at, Arc::clone(source), raw)
}

/// A line the cockpit writes into a source's stream: "warroom: {text}".
pub fn notice(at: DateTime<Utc>, source: &Arc<str>, text: &str) -> LogLine {
    line(at, source, &format!("{NOTICE_PREFIX}{text}"))
}

/// Where a feed sends its updates: one source, one channel.
#[derive(Debug, Clone)]
pub struct Sink {
    pub source: SourceId,
    pub time: TimeSource,
    tx: mpsc::Sender<Msg>,
    last_sent: Instant,
    /// Whether anything but an error was sent yet.
    answered: bool,
    /// The last thing sent was an error.
    stale: bool,
}

impl Sink {
    pub fn new(source: SourceId, time: TimeSource, tx: mpsc::Sender<Msg>) -> Self {
        Self {
            source,
            time,
            tx,
            last_sent: Instant::now(),
            answered: false,
            stale: false,
        }
    }

    /// Sends `lines` (possibly none: the source answered); `None` when the cockpit is gone.
    pub async fn lines(&mut self, lines: Vec<LogLine>) -> Option<()> {
        self.answered = true;
        self.stale = false;
        self.send(Ok(SourceData::Logs(lines))).await
    }

    pub async fn error(&mut self, error: FetchError) -> Option<()> {
        self.stale = true;
        self.send(Err(error)).await
    }

    /// Nothing new, and all is well: says so when the source has not answered yet, is shown
    /// stale, or the heartbeat is due; otherwise sends nothing (no message, no redraw).
    pub async fn idle(&mut self) -> Option<()> {
        if self.needs_answer() || Instant::now() >= self.heartbeat_due() {
            self.lines(Vec::new()).await
        } else {
            Some(())
        }
    }

    /// The source shows "loading" or "stale": the next good news should be sent at once.
    pub fn needs_answer(&self) -> bool {
        !self.answered || self.stale
    }

    async fn send(&mut self, result: Result<SourceData, FetchError>) -> Option<()> {
        self.last_sent = Instant::now();
        let update = SourceUpdate {
            source: self.source,
            at: self.time.now(),
            result,
        };
        self.tx.send(Msg::Source(update)).await.ok()
    }

    /// When the next heartbeat is due if nothing else is sent.
    pub fn heartbeat_due(&self) -> Instant {
        self.last_sent + HEARTBEAT
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves once the cockpit is gone.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// Lines waiting to be sent: at most `MAX_BATCH`, at most `BATCH_WINDOW` old.
#[derive(Debug, Default)]
pub struct Batch {
    lines: Vec<LogLine>,
    since: Option<Instant>,
}

impl Batch {
    pub fn push(&mut self, line: LogLine) {
        if self.lines.is_empty() {
            self.since = Some(Instant::now());
        }
        self.lines.push(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.lines.len() >= MAX_BATCH
    }

    /// When the batch must be sent, if it holds anything.
    pub fn deadline(&self) -> Option<Instant> {
        self.since.map(|s| s + BATCH_WINDOW)
    }

    /// The oldest lines, at most `MAX_BATCH` (what is left stays due at once).
    pub fn take(&mut self) -> Vec<LogLine> {
        if self.lines.len() > MAX_BATCH {
            let rest = self.lines.split_off(MAX_BATCH);
            return std::mem::replace(&mut self.lines, rest);
        }
        self.since = None;
        std::mem::take(&mut self.lines)
    }

    /// Sends everything held, in messages of at most `MAX_BATCH` lines.
    pub async fn flush(&mut self, sink: &mut Sink) -> Option<()> {
        while !self.is_empty() {
            sink.lines(self.take()).await?;
        }
        Some(())
    }
}

/// Cuts a byte stream into lines: `\n` ends a line (a `\r` before it is dropped), a line longer
/// than `max` bytes is cut there and the rest up to the next newline skipped, and an unfinished
/// last line is held until it is completed (or `finish` is called).
#[derive(Debug, Clone)]
pub struct LineSplitter {
    partial: Vec<u8>,
    max: usize,
    skipping: bool,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    pub fn new(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            max: max.max(1),
            skipping: false,
        }
    }

    /// Feeds `data`, calling `emit` with every line it completes.
    pub fn feed(&mut self, data: &[u8], mut emit: impl FnMut(&[u8])) {
        let mut rest = data;
        while !rest.is_empty() {
            let (segment, ended, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, &rest[rest.len()..]),
            };
            if self.skipping {
                self.skipping = !ended;
            } else {
                let room = self.max - self.partial.len();
                if segment.len() > room {
                    self.partial.extend_from_slice(&segment[..room]);
                    self.emit(&mut emit);
                    self.skipping = !ended;
                } else {
                    self.partial.extend_from_slice(segment);
                    if ended {
                        self.emit(&mut emit);
                    }
                }
            }
            rest = next;
        }
    }

    /// Emits the held unfinished line, if any (the stream ended or was replaced).
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            self.emit(&mut emit);
        }
        self.skipping = false;
    }

    /// Whether an unfinished line is held.
    pub fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    fn emit(&mut self, emit: &mut impl FnMut(&[u8])) {
        let line = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        emit(line);
        self.partial.clear();
    }
}

/// Waits `wait`, or less if the user asks for a refresh; false when the cockpit is gone.
pub(crate) async fn pause(wait: Duration, refresh: &mut watch::Receiver<u64>, sink: &Sink) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => !sink.is_closed(),
        changed = refresh.changed() => changed.is_ok() && !sink.is_closed(),
        () = sink.closed() => false,
    }
}

/// A seed for a source's backoff jitter, so several sources do not retry in step.
pub(crate) fn seed(name: &str) -> u64 {
    name.bytes()
        .fold(u64::from(std::process::id()) ^ 0x51_7CC1_B727_220A, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        })
}

/// Sleeps until `at`, or forever when there is nothing to wait for (a `select!` branch helper).
pub(crate) async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        (out, s.has_partial())
    }

    #[test]
    fn lines_are_split_across_chunks_and_crlf_is_dropped() {
        let (lines, partial) = split(64, &[b"one\r\ntw", b"o\n", b"\nthr", b"ee"]);
        assert_eq!(lines, ["one", "two", ""]);
        assert!(partial, "\"three\" is held until its newline");
        let mut s = LineSplitter::new(64);
        let mut out = Vec::new();
        s.feed(b"tail", |l| out.push(l.to_vec()));
        s.finish(|l| out.push(l.to_vec()));
        assert_eq!(out, [b"tail".to_vec()]);
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped_without_buffering_it() {
        let (lines, partial) = split(4, &[b"abcdefgh", b"ijkl", b"mn\nok\n", b"wxyz\n"]);
        assert_eq!(lines, ["abcd", "ok", "wxyz"]);
        assert!(!partial);
        let (lines, _) = split(4, &[b"abcd", b"\n"]);
        assert_eq!(lines, ["abcd"], "exactly the cap is not cut");
    }
}
