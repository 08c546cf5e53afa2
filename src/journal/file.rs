//! Reading, verifying, repairing and appending one journal file. Appends happen under an advisory
//! lock (`journal.lock` beside the file), continue the hash chain from the last record on disk, and
//! return only after the data (and, for a new file, its directory) is synced. A torn last record
//! left by a killed writer (a last line with no end of line, or trailing zero bytes) is cut off, and
//! kept aside under a name never used before, only under the lock. A complete line that fails its
//! checks is damage: it is reported, never removed, and writing continues after it. After a failed
//! write or sync the held records are written again from memory (`recover`), never assumed durable.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};

use super::record::{Body, GENESIS, MAX_LINE, Record, Redaction, SCHEMA};
use crate::domain::redact::Redactor;
use crate::domain::timeline::Event;

pub const JOURNAL_FILE: &str = "journal.jsonl";
const LOCK_FILE: &str = "journal.lock";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {reason}", path.display())]
    Damaged { path: PathBuf, line: usize, reason: String },
}

impl JournalError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
        move |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The OS error behind an I/O failure (ENOSPC, EIO…), if that is what it is.
    pub fn os_error(&self) -> Option<i32> {
        match self {
            Self::Io { source, .. } => source.raw_os_error(),
            Self::Damaged { .. } => None,
        }
    }
}

/// A record to append, before the journal gives it a place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: String,
    pub incident: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub event: Event,
    pub supersedes: Option<String>,
}

impl Pending {
    /// The timeline entry for this record before (or instead of) it is written.
    pub fn entry(&self, durability: crate::domain::timeline::Durability) -> crate::domain::timeline::TimelineEntry {
        crate::domain::timeline::TimelineEntry {
            id: self.id.clone(),
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            actor: self.actor.clone(),
            event: self.event.clone(),
            supersedes: self.supersedes.clone(),
            durability,
        }
    }
}

/// A torn tail found (and, by a writer, cut off): a last line with no end of line, or nothing but
/// zero bytes and blank lines after the last complete line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    /// 1-based line number of the torn record.
    pub line: usize,
    /// Byte offset where the valid part of the file ends.
    pub offset: u64,
    /// How many bytes follow that offset.
    pub bytes: u64,
    pub reason: String,
}

/// A complete line that is not a valid record (damaged, tampered with, from a newer schema), or a
/// valid record that does not continue the chain. Damage is reported, never removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

impl Damage {
    pub fn error(&self, path: &Path) -> JournalError {
        JournalError::Damaged {
            path: path.to_path_buf(),
            line: self.line,
            reason: self.reason.clone(),
        }
    }
}

/// The result of reading a whole journal strictly (`scan`).
#[derive(Debug, Clone)]
pub struct Scan {
    pub records: Vec<Record>,
    /// Length of the valid part of the file.
    pub valid_len: u64,
    pub torn: Option<Torn>,
}

impl Scan {
    /// The hash of the last record: what the next record chains to, and what exports cite.
    pub fn head_hash(&self) -> &str {
        self.records.last().map_or(GENESIS, |r| r.hash.as_str())
    }
}

/// What the chain continues from, as a reader goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Head {
    Genesis,
    Known {
        seq: u64,
        hash: String,
    },
    /// After a damaged line: the next record's link cannot be checked.
    Unknown,
}

/// Where a reader stands in a journal: the offset just past the last complete line it read, how
/// many lines that was, and the record the chain continues from. Followers (the cockpit's service,
/// `warroom timeline --follow`) feed it what was appended since, and it checks each new line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub offset: u64,
    pub line: usize,
    head: Head,
}

/// What a cursor read: the valid records, and the damage (one entry per bad line).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub records: Vec<Record>,
    pub damage: Vec<Damage>,
}

fn blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0 || b.is_ascii_whitespace())
}

impl Cursor {
    /// At the start of a journal.
    pub fn start() -> Cursor {
        Cursor {
            offset: 0,
            line: 0,
            head: Head::Genesis,
        }
    }

    /// Reads the complete lines of `bytes`, the journal from `self.offset` to its current end, and
    /// moves past them. A last line with no end of line, and trailing lines of nothing but zero
    /// bytes or blanks, are left unread: a writer may still be writing them, or the next writer
    /// cuts them off.
    pub fn feed(&mut self, bytes: &[u8]) -> Batch {
        let mut batch = Batch::default();
        // The record of this batch the chain continues from, if any (its hash is only copied out
        // at the end: a million-line scan makes no copy per line).
        let mut last: Option<usize> = None;
        let mut pos = 0;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            if blank(rest) {
                break;
            }
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                break;
            };
            let line = &rest[..end];
            pos += end + 1;
            self.offset += end as u64 + 1;
            self.line += 1;
            let parsed = if line.len() > MAX_LINE {
                Err(format!(
                    "a record of {} bytes is longer than the {MAX_LINE}-byte limit",
                    line.len()
                ))
            } else {
                Record::parse(line).map_err(|e| e.to_string())
            };
            match parsed {
                Ok(record) => {
                    let want = match last {
                        Some(i) => Some((batch.records[i].body.seq + 1, batch.records[i].hash.as_str())),
                        None => match &self.head {
                            Head::Genesis => Some((1, GENESIS)),
                            Head::Known { seq, hash } => Some((seq + 1, hash.as_str())),
                            Head::Unknown => None,
                        },
                    };
                    if let Some(reason) = want.and_then(|(seq, prev)| chain_problem(&record, seq, prev)) {
                        batch.damage.push(Damage {
                            line: self.line,
                            reason,
                        });
                    }
                    batch.records.push(record);
                    last = Some(batch.records.len() - 1);
                }
                Err(reason) => {
                    batch.damage.push(Damage {
                        line: self.line,
                        reason,
                    });
                    self.head = Head::Unknown;
                    last = None;
                }
            }
        }
        if let Some(i) = last {
            self.head = Head::Known {
                seq: batch.records[i].body.seq,
                hash: batch.records[i].hash.clone(),
            };
        }
        batch
    }
}

/// Why `record` does not continue the chain where record `want_seq` after hash `want_prev` was due.
fn chain_problem(record: &Record, want_seq: u64, want_prev: &str) -> Option<String> {
    if record.body.prev_hash != want_prev {
        return Some(
            "chain broken: prev_hash is not the previous record's hash (a record was removed, reordered or inserted)"
                .into(),
        );
    }
    if record.body.seq != want_seq {
        return Some(format!(
            "sequence broken: seq {} where {want_seq} was expected",
            record.body.seq
        ));
    }
    None
}

/// A whole journal read leniently: every complete line that is a valid record (also after damage,
/// so entries written after a damaged line stay visible), the damage, and a torn tail.
#[derive(Debug, Clone)]
pub struct Readable {
    pub records: Vec<Record>,
    pub damage: Vec<Damage>,
    pub torn: Option<Torn>,
    /// Just past the last complete line: where a follower goes on from.
    pub cursor: Cursor,
}

impl Readable {
    /// One line describing what is wrong with the journal, if anything.
    pub fn problem(&self) -> Option<String> {
        if let Some(d) = self.damage.first() {
            let more = match self.damage.len() {
                1 => String::new(),
                n => format!(" ({} bad lines in all)", n),
            };
            return Some(format!("damaged at line {}: {}{more}", d.line, d.reason));
        }
        self.torn
            .as_ref()
            .map(|t| format!("torn last record at line {} ({})", t.line, t.reason))
    }
}

/// Reads a whole journal leniently (a missing file is an empty journal). Only I/O fails.
pub fn read_all(path: &Path) -> Result<Readable, JournalError> {
    match fs::read(path) {
        Ok(bytes) => Ok(read_bytes(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(read_bytes(&[])),
        Err(e) => Err(JournalError::io(path)(e)),
    }
}

/// `read_all` over bytes already read.
pub fn read_bytes(bytes: &[u8]) -> Readable {
    let mut cursor = Cursor::start();
    let batch = cursor.feed(bytes);
    let valid = cursor.offset as usize;
    let torn = (valid < bytes.len()).then(|| Torn {
        line: cursor.line + 1,
        offset: cursor.offset,
        bytes: (bytes.len() - valid) as u64,
        reason: if blank(&bytes[valid..]) {
            "only zero bytes or blank lines after the last record (a write was cut short)".into()
        } else {
            "the last record has no end of line (a write was cut short)".into()
        },
    });
    Readable {
        records: batch.records,
        damage: batch.damage,
        torn,
        cursor,
    }
}

/// Reads and verifies a whole journal: every record's checksum and hash, the chain of `prev_hash`,
/// and `seq` counting up from 1. A last line with no end of line (or trailing zero bytes) is a torn
/// tail; any complete line that fails, even the last, or a broken chain, is damage (an error naming
/// the first bad line).
pub fn scan(path: &Path) -> Result<Scan, JournalError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(JournalError::io(path)(e)),
    };
    scan_bytes(path, &bytes)
}

/// `scan` over bytes already read.
pub fn scan_bytes(path: &Path, bytes: &[u8]) -> Result<Scan, JournalError> {
    let readable = read_bytes(bytes);
    if let Some(damage) = readable.damage.first() {
        return Err(damage.error(path));
    }
    Ok(Scan {
        records: readable.records,
        valid_len: readable.cursor.offset,
        torn: readable.torn,
    })
}

/// Holds the journal's advisory lock while alive.
pub struct Locked {
    _lock: Flock<File>,
}

/// Takes the exclusive append lock of a journal directory (blocking until it is free).
pub fn lock(paths: &JournalPaths) -> Result<Locked, JournalError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
        .map_err(JournalError::io(&paths.lock))?;
    let lock = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| JournalError::io(&paths.lock)(io::Error::from_raw_os_error(errno as i32)))?;
    Ok(Locked { _lock: lock })
}

/// Keeps torn bytes aside in `journal.jsonl.torn-<offset>` (or `…-2`, `…-3` when that name is
/// taken: an earlier copy is never overwritten), synced with its directory. A copy that cannot be
/// written completely is removed.
fn keep_aside(path: &Path, offset: u64, bytes: &[u8]) -> Result<PathBuf, JournalError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut n = 1u64;
    loop {
        let name = match n {
            1 => format!("{JOURNAL_FILE}.torn-{offset}"),
            _ => format!("{JOURNAL_FILE}.torn-{offset}-{n}"),
        };
        let kept = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&kept) {
            Ok(mut f) => {
                let written = f.write_all(bytes).and_then(|()| f.sync_all());
                if let Err(e) = written {
                    drop(f);
                    let _ = fs::remove_file(&kept);
                    return Err(JournalError::io(&kept)(e));
                }
                sync_dir(dir)?;
                return Ok(kept);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(JournalError::io(&kept)(e)),
        }
    }
}

/// Cuts a torn tail off, under the lock (`_locked` proves it is held, and the caller found `torn`
/// by reading the file under that same lock): the torn bytes are kept aside, then the file is
/// truncated to its valid part and synced. Returns where the bytes were kept.
fn repair_locked(path: &Path, torn: &Torn, _locked: &Locked) -> Result<PathBuf, JournalError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(JournalError::io(path))?;
    let len = file.metadata().map_err(JournalError::io(path))?.len();
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(torn.offset))
        .map_err(JournalError::io(path))?;
    (&mut file)
        .take(len.saturating_sub(torn.offset))
        .read_to_end(&mut tail)
        .map_err(JournalError::io(path))?;
    let kept = keep_aside(path, torn.offset, &tail)?;
    file.set_len(torn.offset).map_err(JournalError::io(path))?;
    file.sync_all().map_err(JournalError::io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(kept)
}

/// A torn tail that was cut off, and where its bytes were kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub torn: Torn,
    pub kept: PathBuf,
}

/// Reads a journal and, if it ends in a torn record, cuts that off: the lock is taken and the file
/// read again under it before anything is cut, so a record another writer appended (and reported
/// durable) since an earlier read is never removed. The returned reading has no torn tail left
/// when the repair succeeded.
pub fn repair_tail(paths: &JournalPaths) -> Result<(Readable, Option<Repaired>), JournalError> {
    if !paths.file.exists() {
        return Ok((read_bytes(&[]), None));
    }
    let locked = lock(paths)?;
    let mut readable = read_all(&paths.file)?;
    let Some(torn) = readable.torn.take() else {
        return Ok((readable, None));
    };
    let kept = repair_locked(&paths.file, &torn, &locked)?;
    Ok((readable, Some(Repaired { torn, kept })))
}

/// fsync on a directory, so a file created or renamed in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(JournalError::io(dir))
}

/// Creates `dir` (and missing parents), syncing each parent so the new entries are durable. With
/// `new_file` (the journal file is about to be created in it), the parent of `dir` is synced even
/// when `dir` exists already: whoever created it may have died before syncing.
pub fn create_dir_durable(dir: &Path, new_file: bool) -> Result<(), JournalError> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => break,
        }
    }
    if missing.is_empty() && new_file {
        sync_dir(
            dir.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(JournalError::io(d)(e)),
        }
        sync_dir(
            d.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
    }
    Ok(())
}

/// The files of one journal directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPaths {
    pub dir: PathBuf,
    pub file: PathBuf,
    pub lock: PathBuf,
}

impl JournalPaths {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            file: dir.join(JOURNAL_FILE),
            lock: dir.join(LOCK_FILE),
        }
    }
}

/// What `append` found and did besides appending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendReport {
    /// A torn tail left by a killed writer, cut off before appending.
    pub repaired: Option<Torn>,
    /// Where the torn bytes were kept.
    pub kept: Option<PathBuf>,
    /// Damage found while reading the tail (the first bad line); it stays where it is and the new
    /// records are written after it, chained to the last valid record.
    pub damaged: Option<Damage>,
    /// Whether the file was new (absent or empty), so its directory was synced too.
    pub created: bool,
}

/// Where this process's records start in the file: the valid length before a failed write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub offset: u64,
    pub inode: u64,
}

/// An append or recovery that failed. `resume` is set once the file may hold some of the records
/// (the write or a sync failed): `recover` then writes them again from memory from that offset.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct AppendFailure {
    pub error: JournalError,
    pub resume: Option<Resume>,
}

/// Redacts a record's text before it is written: the event's data, its summary and the actor.
/// Returns the redacted event, summary and actor, and which rules fired (`None` when nothing
/// matched). Fails closed: an event that cannot be rebuilt after redaction is replaced by a note
/// saying so, never written as it was.
pub fn redact_event(redactor: &Redactor, event: &Event, actor: &str) -> (Event, String, String, Option<Redaction>) {
    let (mut rules, redacted) = match serde_json::to_value(event) {
        Ok(mut value) => {
            let rules = match value.get_mut("data") {
                Some(data) => redactor.redact_json(data),
                None => Vec::new(),
            };
            let redacted = if rules.is_empty() {
                Some(event.clone())
            } else {
                serde_json::from_value::<Event>(value).ok()
            };
            (rules, redacted)
        }
        Err(_) => (Vec::new(), None),
    };
    let redacted = redacted.unwrap_or_else(|| unredactable(event));
    let changed = &redacted != event;
    let (summary, summary_rules) = redactor.redact(&redacted.summary());
    let (clean_actor, actor_rules) = redactor.redact(actor);
    rules.extend(summary_rules);
    rules.extend(actor_rules);
    rules.sort_unstable();
    rules.dedup();
    if rules.is_empty() && !changed {
        return (redacted, summary, clean_actor, None);
    }
    let redaction = Redaction {
        rules: rules.into_iter().map(str::to_string).collect(),
        original_sha256: None,
    };
    (redacted, summary, clean_actor, Some(redaction))
}

/// What is written instead of an event that could not be redacted.
fn unredactable(event: &Event) -> Event {
    Event::Note {
        text: format!(
            "[REDACTED: a {} event could not be redacted, so it was not recorded]",
            event.kind()
        ),
        public: false,
    }
}

/// Redacts and seals one pending record as number `seq` after the record hashed `prev`.
fn seal(p: &Pending, seq: u64, prev: &str, redactor: &Redactor) -> Record {
    let (event, summary, actor, redaction) = redact_event(redactor, &p.event, &p.actor);
    Body {
        v: SCHEMA,
        seq,
        id: p.id.clone(),
        incident: p.incident.clone(),
        event,
        occurred_at: p.occurred_at,
        recorded_at: p.recorded_at,
        actor,
        summary,
        supersedes: p.supersedes.clone(),
        redaction,
        prev_hash: prev.to_string(),
    }
    .seal()
}

/// The last record of the file, if the file ends cleanly with one; `Err(())` when the tail needs a
/// full read (torn, damaged, or too long to find cheaply).
fn last_record(file: &mut File, len: u64) -> Result<Option<Record>, ()> {
    if len == 0 {
        return Ok(None);
    }
    let chunk = len.min(64 * 1024);
    let mut buf = vec![0u8; chunk as usize];
    file.seek(SeekFrom::Start(len - chunk)).map_err(|_| ())?;
    file.read_exact(&mut buf).map_err(|_| ())?;
    if buf.last() != Some(&b'\n') {
        return Err(());
    }
    let body = &buf[..buf.len() - 1];
    let start = match body.iter().rposition(|&b| b == b'\n') {
        Some(p) => p + 1,
        None if chunk == len => 0,
        None => return Err(()),
    };
    Record::parse(&body[start..]).map(Some).map_err(|_| ())
}

/// Seals `pending` after `head` (seq, hash), returning the records and their bytes.
fn seal_all(pending: &[&Pending], head: Option<(u64, String)>, redactor: &Redactor) -> (Vec<Record>, Vec<u8>) {
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_string()));
    let mut records = Vec::with_capacity(pending.len());
    let mut bytes = Vec::new();
    for p in pending {
        seq += 1;
        let record = seal(p, seq, &prev, redactor);
        prev = record.hash.clone();
        bytes.extend(record.to_line());
        records.push(record);
    }
    (records, bytes)
}

/// Appends `pending` to the journal in `paths.dir` (created if needed) under the advisory lock:
/// redacts each event, chains and seals the records, writes them in one write, and syncs the data
/// (and the directory when the file is new) before returning the records.
pub fn append(
    paths: &JournalPaths,
    pending: &[Pending],
    redactor: &Redactor,
) -> Result<(Vec<Record>, AppendReport), JournalError> {
    try_append(paths, pending, redactor).map_err(|f| f.error)
}

/// `append`, telling on failure whether (and from where) the file may hold some of the records.
pub fn try_append(
    paths: &JournalPaths,
    pending: &[Pending],
    redactor: &Redactor,
) -> Result<(Vec<Record>, AppendReport), AppendFailure> {
    let before = |error| AppendFailure { error, resume: None };
    let path = &paths.file;
    let new_file = fs::metadata(path).map_or(true, |m| m.len() == 0);
    create_dir_durable(&paths.dir, new_file).map_err(before)?;
    let locked = lock(paths).map_err(before)?;
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| before(JournalError::io(path)(e)))?;
    let meta = file.metadata().map_err(|e| before(JournalError::io(path)(e)))?;
    let mut len = meta.len();
    // A file still empty here is new, even if it was created by an append that failed before it
    // could sync the directory.
    let mut report = AppendReport {
        created: len == 0,
        ..AppendReport::default()
    };
    let head = match last_record(&mut file, len) {
        Ok(last) => last,
        Err(()) => {
            let readable = read_all(path).map_err(before)?;
            if let Some(torn) = &readable.torn {
                report.kept = Some(repair_locked(path, torn, &locked).map_err(before)?);
                report.repaired = Some(torn.clone());
                len = torn.offset;
            }
            report.damaged = readable.damage.first().cloned();
            readable.records.last().cloned()
        }
    };
    let refs: Vec<&Pending> = pending.iter().collect();
    let (records, bytes) = seal_all(&refs, head.map(|r| (r.body.seq, r.hash)), redactor);
    let after = |error| AppendFailure {
        error,
        resume: Some(Resume {
            offset: len,
            inode: meta.ino(),
        }),
    };
    file.write_all(&bytes).map_err(|e| after(JournalError::io(path)(e)))?;
    file.sync_data().map_err(|e| after(JournalError::io(path)(e)))?;
    if report.created {
        sync_dir(&paths.dir).map_err(after)?;
    }
    Ok((records, report))
}

/// Writes `held` again after a failed append (`resume` from its failure; `None` when nothing
/// reached the file, which is a plain append). Under the lock: the file is truncated back to where
/// this process's records started, and everything after that point is written again, this
/// process's records sealed anew from memory (never trusting bytes the kernel said it may have
/// lost), other writers' records as they read, and the held records not yet in the file after
/// them; then the data is synced. Needs free space only for that tail, and leaves no temporary
/// file. A torn record that is the start of one of ours is dropped; any other is kept aside.
pub fn recover(
    paths: &JournalPaths,
    resume: Option<Resume>,
    held: &[Pending],
    redactor: &Redactor,
) -> Result<(Vec<Record>, AppendReport), AppendFailure> {
    let Some(resume) = resume else {
        return try_append(paths, held, redactor);
    };
    let unchanged = |error| AppendFailure {
        error,
        resume: Some(resume),
    };
    let path = &paths.file;
    create_dir_durable(&paths.dir, true).map_err(unchanged)?;
    let _locked = lock(paths).map_err(unchanged)?;
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| unchanged(JournalError::io(path)(e)))?;
    let meta = file.metadata().map_err(|e| unchanged(JournalError::io(path)(e)))?;
    let len = meta.len();
    // Where our records may start, and the record before that point. A file replaced or shortened
    // since the failure is taken from its start.
    let mut start = if meta.ino() == resume.inode && resume.offset <= len {
        resume.offset
    } else {
        0
    };
    let mut head: Option<(u64, String)> = None;
    if start > 0 {
        match last_record(&mut file, start) {
            Ok(Some(r)) => head = Some((r.body.seq, r.hash)),
            _ => start = 0,
        }
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| (&mut file).take(len - start).read_to_end(&mut tail))
        .map_err(|e| unchanged(JournalError::io(path)(e)))?;
    let by_id: BTreeMap<&str, &Pending> = held.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut ours: BTreeMap<String, Record> = BTreeMap::new();
    let mut bytes = Vec::with_capacity(tail.len());
    let mut pos = 0;
    while pos < tail.len() && !blank(&tail[pos..]) {
        let Some(end) = tail[pos..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = &tail[pos..pos + end];
        pos += end + 1;
        match Record::parse(line) {
            Ok(found) => {
                let record = match by_id.get(found.body.id.as_str()) {
                    Some(p) => {
                        let again = seal(p, found.body.seq, &found.body.prev_hash, redactor);
                        if again.hash != found.hash {
                            return Err(unchanged(JournalError::Damaged {
                                path: path.clone(),
                                line: 0,
                                reason: format!(
                                    "record {} of this process reads back differently from what it wrote",
                                    found.body.id
                                ),
                            }));
                        }
                        ours.insert(found.body.id.clone(), again.clone());
                        again
                    }
                    None => found,
                };
                bytes.extend(record.to_line());
                head = Some((record.body.seq, record.hash));
            }
            // Damage stays where it is.
            Err(_) => {
                bytes.extend_from_slice(line);
                bytes.push(b'\n');
            }
        }
    }
    let missing: Vec<&Pending> = held.iter().filter(|p| !ours.contains_key(&p.id)).collect();
    let (new, new_bytes) = seal_all(&missing, head, redactor);
    let mut report = AppendReport {
        created: start == 0,
        ..AppendReport::default()
    };
    let torn = &tail[pos..];
    if !torn.is_empty() && !new_bytes.starts_with(torn) {
        let at = start + pos as u64;
        report.kept = Some(keep_aside(path, at, torn).map_err(unchanged)?);
        // Rare (another writer was killed mid-write after our failure): count the lines for the report.
        let mut before = vec![0u8; start as usize];
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_exact(&mut before))
            .map_err(|e| unchanged(JournalError::io(path)(e)))?;
        let lines = before.iter().chain(&tail[..pos]).filter(|&&b| b == b'\n').count();
        report.repaired = Some(Torn {
            line: lines + 1,
            offset: at,
            bytes: torn.len() as u64,
            reason: "the last record has no end of line (a write was cut short)".into(),
        });
    }
    let failed = |error| AppendFailure {
        error,
        resume: Some(Resume {
            offset: start,
            inode: meta.ino(),
        }),
    };
    bytes.extend(new_bytes);
    file.set_len(start).map_err(|e| failed(JournalError::io(path)(e)))?;
    file.write_all(&bytes).map_err(|e| failed(JournalError::io(path)(e)))?;
    file.sync_data().map_err(|e| failed(JournalError::io(path)(e)))?;
    if report.created {
        sync_dir(&paths.dir).map_err(failed)?;
    }
    for r in new {
        ours.insert(r.body.id.clone(), r);
    }
    let records = held.iter().filter_map(|p| ours.remove(&p.id)).collect();
    Ok((records, report))
}
