//! A log file followed like `tail -F`: starts at the end (after its last lines), reads what is
//! appended, follows rotation (the file renamed or replaced: the old file is read to its end, then
//! the new one from its start) and truncation (reads from the start again and says so), and
//! shows an error while the file is missing until it appears. Polls; never writes to the file.

use std::io::{ErrorKind, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{mpsc, watch};

use super::{Batch, LineSplitter, Sink};
use crate::app::msg::{Msg, SourceId};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::sanitize::one_line;
use crate::sources::clock::TimeSource;

/// How often the file is checked.
pub const POLL: Duration = Duration::from_millis(250);
/// Lines shown from the end of the file when following starts.
pub const INITIAL_LINES: usize = 200;
/// How far back from the end the initial lines are looked for.
const INITIAL_SCAN_BYTES: u64 = 4 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// Polls a rotated-away file is still read after it stopped growing (a writer may hold it open
/// for a moment after the rotation).
const RETIRE_AFTER_IDLE_POLLS: u32 = 4;

#[derive(Debug, Clone)]
pub struct FileFeed {
    pub source: SourceId,
    pub name: Arc<str>,
    pub path: PathBuf,
    pub poll: Duration,
    pub initial_lines: usize,
}

impl FileFeed {
    pub fn new(source: SourceId, name: Arc<str>, path: PathBuf) -> Self {
        Self {
            source,
            name,
            path,
            poll: POLL,
            initial_lines: INITIAL_LINES,
        }
    }

    pub async fn run(self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        let mut sink = Sink::new(self.source, time, tx);
        let mut follower = Follower::new(self.path.clone());
        let mut batch = Batch::default();
        let mut first = true;
        loop {
            let step = follower.step(first.then_some(self.initial_lines)).await;
            first = false;
            let at = time.now();
            for piece in step.pieces {
                let line = match piece {
                    Piece::Line(bytes) => super::line(at, &self.name, &String::from_utf8_lossy(&bytes)),
                    Piece::Notice(text) => super::notice(at, &self.name, &text),
                };
                batch.push(line);
                if batch.is_full() && sink.lines(batch.take()).await.is_none() {
                    return;
                }
            }
            let sent = if let Some(error) = step.error {
                if batch.flush(&mut sink).await.is_none() {
                    return;
                }
                // Said once per distinct error, and again with the heartbeat.
                if follower.reported.as_ref() != Some(&error) || tokio::time::Instant::now() >= sink.heartbeat_due() {
                    follower.reported = Some(error.clone());
                    sink.error(error).await
                } else {
                    Some(())
                }
            } else if !batch.is_empty() {
                follower.reported = None;
                batch.flush(&mut sink).await
            } else {
                follower.reported = None;
                sink.idle().await
            };
            if sent.is_none() {
                return;
            }
            // More was waiting than one step reads: go on at once.
            let wait = if step.more { Duration::ZERO } else { self.poll };
            if !super::pause(wait, &mut refresh, &sink).await {
                return;
            }
        }
    }
}

/// What one step of following produced.
#[derive(Debug, Default)]
pub struct Step {
    pub pieces: Vec<Piece>,
    /// The file cannot be read (missing, no permission).
    pub error: Option<FetchError>,
    /// The step stopped reading before the end (read again without waiting).
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Line(Vec<u8>),
    /// Something the cockpit says about the file (it was truncated).
    Notice(String),
}

/// An open file and how far it has been read.
#[derive(Debug)]
struct Opened {
    file: File,
    id: (u64, u64),
    pos: u64,
    splitter: LineSplitter,
    idle_polls: u32,
}

impl Opened {
    async fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::open(path).await?;
        let meta = file.metadata().await?;
        Ok(Self {
            file,
            id: (meta.dev(), meta.ino()),
            pos: 0,
            splitter: LineSplitter::default(),
            idle_polls: 0,
        })
    }

    async fn seek(&mut self, pos: u64) -> std::io::Result<()> {
        self.pos = self.file.seek(SeekFrom::Start(pos)).await?;
        Ok(())
    }

    /// Reads up to `budget` bytes from the current position into lines; returns the bytes read.
    async fn read(&mut self, budget: usize, buf: &mut [u8], out: &mut Vec<Piece>) -> std::io::Result<usize> {
        let mut total = 0;
        while total < budget {
            let n = self.file.read(buf).await?;
            if n == 0 {
                break;
            }
            total += n;
            self.pos += n as u64;
            self.splitter.feed(&buf[..n], |l| out.push(Piece::Line(l.to_vec())));
        }
        Ok(total)
    }

    fn finish(&mut self, out: &mut Vec<Piece>) {
        self.splitter.finish(|l| out.push(Piece::Line(l.to_vec())));
    }
}

/// The `tail -F` state machine; `step` does one poll's work.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    current: Option<Opened>,
    /// The file that was rotated away, read until it stops growing.
    retiring: Option<Opened>,
    /// Consecutive polls the path was missing while a file was open.
    missing_polls: u32,
    /// The error last reported, so it is not repeated every poll.
    reported: Option<FetchError>,
    buf: Vec<u8>,
}

/// Most bytes one step reads (then it says there is more).
const STEP_BUDGET: usize = 4 * 1024 * 1024;

impl Follower {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            current: None,
            retiring: None,
            missing_polls: 0,
            reported: None,
            buf: vec![0; CHUNK],
        }
    }

    /// One poll. `initial` (the first step only) is how many of the file's last lines to show;
    /// a file found later, or replacing a rotated one, is read from its start.
    pub async fn step(&mut self, initial: Option<usize>) -> Step {
        let mut step = Step::default();
        if let Some(n) = initial {
            match Opened::open(&self.path).await {
                Ok(mut f) => {
                    let start = match f.file.metadata().await {
                        Ok(meta) => start_of_last_lines(&mut f.file, meta.len(), n).await,
                        Err(e) => Err(e),
                    };
                    match start {
                        Ok(start) => match f.seek(start).await {
                            Ok(()) => self.current = Some(f),
                            Err(e) => step.error = Some(self.io_error(&e)),
                        },
                        Err(e) => step.error = Some(self.io_error(&e)),
                    }
                }
                Err(e) => step.error = Some(self.io_error(&e)),
            }
        }
        let mut budget = STEP_BUDGET;
        // The rotated-away file first: its lines are older.
        if let Some(old) = &mut self.retiring {
            let (n, failed) = match old.read(budget, &mut self.buf, &mut step.pieces).await {
                Ok(n) => (n, false),
                Err(_) => (0, true),
            };
            budget = budget.saturating_sub(n);
            old.idle_polls = if n == 0 { old.idle_polls + 1 } else { 0 };
            if failed || old.idle_polls >= RETIRE_AFTER_IDLE_POLLS {
                old.finish(&mut step.pieces);
                self.retiring = None;
            }
        }
        if let Some(cur) = &mut self.current {
            match cur.read(budget, &mut self.buf, &mut step.pieces).await {
                Ok(n) => budget = budget.saturating_sub(n),
                Err(e) => {
                    step.error = Some(self.io_error(&e));
                    self.current = None;
                    return step;
                }
            }
        }
        if budget == 0 {
            step.more = true;
            return step;
        }
        self.check_path(&mut step).await;
        step
    }

    /// Compares the path with the open file: rotated, truncated, missing or appeared.
    async fn check_path(&mut self, step: &mut Step) {
        let meta = tokio::fs::metadata(&self.path).await;
        let Some(cur) = &mut self.current else {
            match meta {
                Ok(_) => match Opened::open(&self.path).await {
                    // Appeared: everything in it is new.
                    Ok(mut f) => {
                        if let Err(e) = f.read(STEP_BUDGET, &mut self.buf, &mut step.pieces).await {
                            step.error = Some(self.io_error(&e));
                            return;
                        }
                        self.current = Some(f);
                        self.missing_polls = 0;
                        step.more = true;
                    }
                    Err(e) => step.error = Some(self.io_error(&e)),
                },
                Err(e) => step.error = Some(self.io_error(&e)),
            }
            return;
        };
        match meta {
            Ok(meta) if (meta.dev(), meta.ino()) != cur.id => {
                // Replaced: the old file is read to its end (now and while it still grows), the
                // new one from its start.
                self.missing_polls = 0;
                if let Some(mut older) = self.retiring.take() {
                    let _ = older.read(STEP_BUDGET, &mut self.buf, &mut step.pieces).await;
                    older.finish(&mut step.pieces);
                }
                if let Some(mut old) = self.current.take() {
                    if old.read(STEP_BUDGET, &mut self.buf, &mut step.pieces).await.is_err() {
                        old.finish(&mut step.pieces);
                    } else {
                        old.idle_polls = 0;
                        self.retiring = Some(old);
                    }
                }
                match Opened::open(&self.path).await {
                    Ok(f) => {
                        self.current = Some(f);
                        step.more = true;
                    }
                    Err(e) => step.error = Some(self.io_error(&e)),
                }
            }
            Ok(_) => {
                self.missing_polls = 0;
                // Same file: smaller than what was read means it was truncated (copytruncate).
                let size = match cur.file.metadata().await {
                    Ok(m) => m.len(),
                    Err(e) => {
                        step.error = Some(self.io_error(&e));
                        return;
                    }
                };
                if size < cur.pos {
                    cur.finish(&mut step.pieces);
                    step.pieces.push(Piece::Notice(format!(
                        "{} was truncated; reading it from the start",
                        one_line(&self.path.display().to_string())
                    )));
                    if let Err(e) = cur.seek(0).await {
                        step.error = Some(self.io_error(&e));
                        self.current = None;
                        return;
                    }
                    step.more = true;
                }
            }
            Err(e) => {
                // Gone (renamed away and not yet replaced, or deleted): keep reading what is
                // open; say so once it has been missing for more than a moment.
                self.missing_polls += 1;
                if self.missing_polls >= 2 {
                    if let Some(old) = self.current.take()
                        && let Some(mut older) = self.retiring.replace(old)
                    {
                        let _ = older.read(STEP_BUDGET, &mut self.buf, &mut step.pieces).await;
                        older.finish(&mut step.pieces);
                    }
                    step.error = Some(self.io_error(&e));
                }
            }
        }
    }

    fn io_error(&self, e: &std::io::Error) -> FetchError {
        let path = one_line(&self.path.display().to_string());
        let detail = match e.kind() {
            ErrorKind::NotFound => format!("{path}: no such file; waiting for it to appear"),
            ErrorKind::PermissionDenied => format!("{path}: permission denied"),
            _ => format!("{path}: {}", one_line(&e.to_string())),
        };
        FetchError::new(FetchErrorKind::Other, detail)
    }
}

/// Where the last `n` lines of a file of `size` bytes start (looking back at most a few MiB).
async fn start_of_last_lines(file: &mut File, size: u64, n: usize) -> std::io::Result<u64> {
    if n == 0 || size == 0 {
        return Ok(size);
    }
    let mut buf = vec![0u8; CHUNK];
    let mut end = size;
    let mut newlines = 0;
    let mut target = n;
    let mut earliest = None;
    let mut first_chunk = true;
    while end > 0 && size - end < INITIAL_SCAN_BYTES {
        let len = (CHUNK as u64).min(end) as usize;
        let start = end - len as u64;
        file.seek(SeekFrom::Start(start)).await?;
        file.read_exact(&mut buf[..len]).await?;
        if first_chunk && buf[len - 1] == b'\n' {
            // The newline ending the last line does not start one.
            target += 1;
        }
        first_chunk = false;
        for i in (0..len).rev() {
            if buf[i] == b'\n' {
                newlines += 1;
                earliest = Some(start + i as u64 + 1);
                if newlines == target {
                    return Ok(start + i as u64 + 1);
                }
            }
        }
        end = start;
    }
    Ok(if end == 0 { 0 } else { earliest.unwrap_or(size) })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn last_lines(content: &[u8], n: usize) -> String {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f.log");
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
        let mut f = File::open(&path).await.unwrap_or_else(|e| panic!("{e}"));
        let start = start_of_last_lines(&mut f, content.len() as u64, n)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&content[start as usize..]).into_owned()
    }

    #[tokio::test]
    async fn following_starts_at_the_last_lines() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2).await, "b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2).await, "b\nc");
        assert_eq!(last_lines(b"a\nb\nc\n", 10).await, "a\nb\nc\n");
        assert_eq!(last_lines(b"a\nb\nc\n", 0).await, "");
        assert_eq!(last_lines(b"", 5).await, "");
    }
}
