//! Reading, verifying, repairing and appending one journal file. Appends happen under an advisory
//! lock (`journal.lock` beside the file), continue the hash chain from the last record on disk, and
//! return only after the data (and, for a new file, its directory) is synced. A torn last record left
//! by a killed writer is cut off (and kept aside) before appending; damage before the tail is an
//! error naming the line, never dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};

use super::record::{Body, GENESIS, LineError, MAX_LINE, Record, Redaction, SCHEMA};
use crate::domain::redact::{Redactor, sha256_hex};
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

/// A torn tail found (and, by `repair`, removed).
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

/// The result of reading a whole journal.
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

/// Reads and verifies a whole journal: every record's checksum and hash, the chain of `prev_hash`,
/// and `seq` counting up from 1. An invalid last record is a torn tail; an invalid record with
/// anything valid after it, or a broken chain, is damage.
pub fn scan(path: &Path) -> Result<Scan, JournalError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Scan {
                records: Vec::new(),
                valid_len: 0,
                torn: None,
            });
        }
        Err(e) => return Err(JournalError::io(path)(e)),
    };
    scan_bytes(path, &bytes)
}

/// `scan` over bytes already read.
pub fn scan_bytes(path: &Path, bytes: &[u8]) -> Result<Scan, JournalError> {
    let mut records: Vec<Record> = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        let next = offset + line.len() + usize::from(complete);
        let problem = if !complete {
            Some("the last record has no end of line (a write was cut short)".to_string())
        } else if line.len() > MAX_LINE {
            Some(format!(
                "a record of {} bytes is longer than the {MAX_LINE}-byte limit",
                line.len()
            ))
        } else {
            match Record::parse(line) {
                Ok(record) => {
                    let (want_seq, want_prev) = records
                        .last()
                        .map_or((1, GENESIS.to_string()), |p| (p.body.seq + 1, p.hash.clone()));
                    if record.body.prev_hash != want_prev {
                        return Err(JournalError::Damaged {
                            path: path.to_path_buf(),
                            line: line_no,
                            reason: "chain broken: prev_hash is not the previous record's hash (a record was removed, reordered or inserted)".into(),
                        });
                    }
                    if record.body.seq != want_seq {
                        return Err(JournalError::Damaged {
                            path: path.to_path_buf(),
                            line: line_no,
                            reason: format!("sequence broken: seq {} where {want_seq} was expected", record.body.seq),
                        });
                    }
                    records.push(record);
                    None
                }
                Err(LineError::NewerSchema(v)) => {
                    return Err(JournalError::Damaged {
                        path: path.to_path_buf(),
                        line: line_no,
                        reason: LineError::NewerSchema(v).to_string(),
                    });
                }
                Err(e) => Some(e.to_string()),
            }
        };
        if let Some(reason) = problem {
            let after_is_empty = bytes[next..].iter().all(|b| b.is_ascii_whitespace() || *b == 0);
            if after_is_empty {
                return Ok(Scan {
                    records,
                    valid_len: offset as u64,
                    torn: Some(Torn {
                        line: line_no,
                        offset: offset as u64,
                        bytes: (bytes.len() - offset) as u64,
                        reason,
                    }),
                });
            }
            return Err(JournalError::Damaged {
                path: path.to_path_buf(),
                line: line_no,
                reason,
            });
        }
        offset = next;
    }
    Ok(Scan {
        records,
        valid_len: offset as u64,
        torn: None,
    })
}

/// Cuts a torn tail off: the torn bytes are kept in `journal.jsonl.torn-<offset>` beside the file,
/// then the file is truncated to its valid part and synced.
pub fn repair(path: &Path, torn: &Torn) -> Result<(), JournalError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(JournalError::io(path))?;
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(torn.offset))
        .map_err(JournalError::io(path))?;
    file.read_to_end(&mut tail).map_err(JournalError::io(path))?;
    let kept = path.with_extension(format!("jsonl.torn-{}", torn.offset));
    write_durable(&kept, &tail)?;
    file.set_len(torn.offset).map_err(JournalError::io(path))?;
    file.sync_all().map_err(JournalError::io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes a whole small file and syncs it and its directory.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let mut f = File::create(path).map_err(JournalError::io(path))?;
    f.write_all(bytes).map_err(JournalError::io(path))?;
    f.sync_all().map_err(JournalError::io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// fsync on a directory, so a file created or renamed in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(JournalError::io(dir))
}

/// Creates `dir` (and missing parents), syncing each parent so the new entries are durable.
pub fn create_dir_durable(dir: &Path) -> Result<(), JournalError> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(JournalError::io(d)(e)),
        }
        sync_dir(d.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// What `append` found and did besides appending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendReport {
    /// A torn tail left by a killed writer, removed before appending.
    pub repaired: Option<Torn>,
    /// Whether this append created the file.
    pub created: bool,
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

/// Redacts a record's text before it is written: the event's data, its summary and the actor.
/// Returns the redacted event, summary and actor, and what the redaction did (the rules that fired
/// and the hash of the original), or `None` when nothing matched.
pub fn redact_event(redactor: &Redactor, event: &Event, actor: &str) -> (Event, String, String, Option<Redaction>) {
    let original_summary = event.summary();
    let mut value = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    let mut rules = match value.get_mut("data") {
        Some(data) => redactor.redact_json(data),
        None => Vec::new(),
    };
    let redacted: Event = serde_json::from_value(value).unwrap_or_else(|_| event.clone());
    let (summary, summary_rules) = redactor.redact(&redacted.summary());
    let (clean_actor, actor_rules) = redactor.redact(actor);
    rules.extend(summary_rules);
    rules.extend(actor_rules);
    rules.sort_unstable();
    rules.dedup();
    if rules.is_empty() {
        return (event.clone(), original_summary, actor.to_string(), None);
    }
    let original = serde_json::json!({ "summary": original_summary, "actor": actor, "event": event });
    let redaction = Redaction {
        rules: rules.into_iter().map(str::to_string).collect(),
        original_sha256: sha256_hex(&serde_json::to_vec(&original).unwrap_or_default()),
    };
    (redacted, summary, clean_actor, Some(redaction))
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
/// full scan (torn, damaged, or too long to find cheaply).
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

/// Appends `pending` to the journal in `paths.dir` (created if needed) under the advisory lock:
/// redacts each event, chains and seals the records, writes them in one write, and syncs the data
/// (and the directory when the file is new) before returning the records.
pub fn append(
    paths: &JournalPaths,
    pending: &[Pending],
    redactor: &Redactor,
) -> Result<(Vec<Record>, AppendReport), JournalError> {
    create_dir_durable(&paths.dir)?;
    let _lock = lock(paths)?;
    let path = &paths.file;
    let mut report = AppendReport {
        repaired: None,
        created: !path.exists(),
    };
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(JournalError::io(path))?;
    let len = file.metadata().map_err(JournalError::io(path))?.len();
    let last = match last_record(&mut file, len) {
        Ok(last) => last,
        Err(()) => {
            let scan = scan(path)?;
            if let Some(torn) = scan.torn.clone() {
                repair(path, &torn)?;
                report.repaired = Some(torn);
            }
            scan.records.last().cloned()
        }
    };
    let (mut seq, mut prev) = last.map_or((0, GENESIS.to_string()), |r| (r.body.seq, r.hash));
    let mut records = Vec::with_capacity(pending.len());
    let mut bytes = Vec::new();
    for p in pending {
        seq += 1;
        let record = seal(p, seq, &prev, redactor);
        prev = record.hash.clone();
        bytes.extend(record.to_line());
        records.push(record);
    }
    file.write_all(&bytes).map_err(JournalError::io(path))?;
    file.sync_data().map_err(JournalError::io(path))?;
    if report.created {
        sync_dir(&paths.dir)?;
    }
    Ok((records, report))
}

/// Rewrites the journal from what can be read of it plus `pending` (those not already present),
/// into a new file that is synced and renamed over the old one. Used after a failed write or
/// sync: data the kernel reported as lost is written again from memory, never assumed durable.
pub fn rewrite(paths: &JournalPaths, pending: &[Pending], redactor: &Redactor) -> Result<Vec<Record>, JournalError> {
    create_dir_durable(&paths.dir)?;
    let _lock = lock(paths)?;
    let path = &paths.file;
    let scan = scan(path)?;
    let mut records = scan.records;
    let known: std::collections::BTreeSet<String> = records.iter().map(|r| r.body.id.clone()).collect();
    let mut ours = Vec::new();
    for p in pending {
        if let Some(existing) = records.iter().find(|r| r.body.id == p.id) {
            ours.push(existing.clone());
            continue;
        }
        if known.contains(&p.id) {
            continue;
        }
        let (seq, prev) = records
            .last()
            .map_or((0, GENESIS.to_string()), |r| (r.body.seq, r.hash.clone()));
        let record = seal(p, seq + 1, &prev, redactor);
        ours.push(record.clone());
        records.push(record);
    }
    let tmp = paths.dir.join(format!("{JOURNAL_FILE}.rewrite"));
    let mut bytes = Vec::new();
    for r in &records {
        bytes.extend(r.to_line());
    }
    {
        let mut f = File::create(&tmp).map_err(JournalError::io(&tmp))?;
        f.write_all(&bytes).map_err(JournalError::io(&tmp))?;
        f.sync_all().map_err(JournalError::io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(JournalError::io(path))?;
    sync_dir(&paths.dir)?;
    Ok(ours)
}
