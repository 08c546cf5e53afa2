//! The cockpit's journal service: one background thread that owns every journal write and read
//! while the cockpit runs. It group-commits what the cockpit observes (at most 50 ms or 64 entries
//! per sync), syncs what a person did at once, reports entries back as durable, keeps them and retries (rewriting the file, never trusting
//! a sync that failed) when the disk fails, copies lifecycle events to the audit log, and follows
//! the incident's file so entries written by other processes appear within a second.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::file::{self, JournalError, JournalPaths, Pending};
use super::record::Record;
use super::store::Store;
use crate::app::msg::{JournalEvent, Msg};
use crate::domain::redact::Redactor;
use crate::domain::timeline::{Event, TimelineEntry};

/// Longest a submitted entry waits for others to share its sync.
pub const GROUP_WINDOW: Duration = Duration::from_millis(50);
/// Most entries per sync.
pub const GROUP_MAX: usize = 64;
/// How often the followed file is checked for other writers' entries.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// How often, with no incident open, the store is checked for one declared elsewhere.
const DISCOVER_EVERY: Duration = Duration::from_secs(1);
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

enum Command {
    Submit(Vec<Pending>),
    /// Entries for the audit log only (an action taken with no incident open).
    Audit(Vec<Pending>),
    Open(Option<String>),
}

/// The runtime's side of the service.
pub struct JournalHandle {
    tx: std_mpsc::Sender<Command>,
}

impl JournalHandle {
    /// Hands entries to the writer; never blocks on the disk.
    pub fn submit(&self, pending: Vec<Pending>) {
        let _ = self.tx.send(Command::Submit(pending));
    }

    /// Writes entries to the audit log only (actions on the world with no incident open).
    pub fn audit_only(&self, pending: Vec<Pending>) {
        let _ = self.tx.send(Command::Audit(pending));
    }

    /// Switches to another incident (or none).
    pub fn open(&self, incident: Option<String>) {
        let _ = self.tx.send(Command::Open(incident));
    }
}

/// Starts the service thread. It opens `incident` (or, if `None`, the active incident), reports it
/// with `JournalEvent::Opened`, and stops when the handle and the message receiver are gone.
pub fn start(
    store: Store,
    redactor: Redactor,
    incident: Option<String>,
    out: mpsc::Sender<Msg>,
) -> std::io::Result<JournalHandle> {
    let (tx, rx) = std_mpsc::channel();
    std::thread::Builder::new().name("journal".into()).spawn(move || {
        let mut service = Service::new(store, redactor, out);
        service.open(incident.or_else(|| service.store.active()));
        service.run(&rx);
    })?;
    Ok(JournalHandle { tx })
}

struct Followed {
    id: String,
    paths: JournalPaths,
    offset: u64,
    inode: u64,
}

struct Service {
    store: Store,
    redactor: Redactor,
    out: mpsc::Sender<Msg>,
    followed: Option<Followed>,
    queue: Vec<Pending>,
    first_queued: Option<Instant>,
    retry: Option<(Instant, Duration)>,
    last_discover: Instant,
}

impl Service {
    fn new(store: Store, redactor: Redactor, out: mpsc::Sender<Msg>) -> Self {
        Self {
            store,
            redactor,
            out,
            followed: None,
            queue: Vec::new(),
            first_queued: None,
            retry: None,
            last_discover: Instant::now(),
        }
    }

    fn send(&self, msg: Msg) -> bool {
        self.out.blocking_send(msg).is_ok()
    }

    fn run(&mut self, rx: &std_mpsc::Receiver<Command>) {
        loop {
            let wait = self.next_wakeup().saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Command::Submit(pending)) => {
                    if self.queue.is_empty() {
                        self.first_queued = Some(Instant::now());
                    }
                    // What a person did is synced at once (a typed note must be durable in
                    // milliseconds); what the cockpit observed waits for company.
                    let typed = pending.iter().any(|p| p.event.is_human());
                    self.queue.extend(pending);
                    if (typed || self.queue.len() >= GROUP_MAX) && self.retry.is_none() {
                        self.flush();
                    }
                }
                Ok(Command::Audit(pending)) => {
                    if let Err(e) = file::append(&self.store.audit(), &pending, &self.redactor) {
                        self.send(Msg::Journal(JournalEvent::Failed {
                            error: format!("audit log: {e}"),
                            held: 0,
                        }));
                    }
                }
                Ok(Command::Open(id)) => {
                    self.flush();
                    self.open(id);
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    let due = self.first_queued.is_some_and(|t| t.elapsed() >= GROUP_WINDOW);
                    let retry_due = self.retry.is_some_and(|(at, _)| Instant::now() >= at);
                    if (due && self.retry.is_none()) || retry_due {
                        self.flush();
                    }
                    if !self.follow() {
                        return;
                    }
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                    self.flush();
                    return;
                }
            }
        }
    }

    fn next_wakeup(&self) -> Instant {
        let mut at = Instant::now() + FOLLOW_EVERY;
        if let Some(first) = self.first_queued
            && self.retry.is_none()
        {
            at = at.min(first + GROUP_WINDOW);
        }
        if let Some((retry_at, _)) = self.retry {
            at = at.min(retry_at);
        }
        at
    }

    /// Opens an incident: reads its whole journal (repairing a torn tail) and reports it.
    fn open(&mut self, id: Option<String>) {
        let Some(id) = id else {
            self.followed = None;
            return;
        };
        let paths = self.store.incident(&id);
        let (entries, notice, offset) = match file::scan(&paths.file) {
            Ok(scan) => {
                let notice = match &scan.torn {
                    Some(torn) => match file::repair(&paths.file, torn) {
                        Ok(()) => Some(format!(
                            "journal of {id}: a torn last record (line {}) was cut off and kept aside",
                            torn.line
                        )),
                        Err(e) => Some(format!(
                            "journal of {id}: a torn last record could not be repaired: {e}"
                        )),
                    },
                    None => None,
                };
                (scan.records.iter().map(Record::entry).collect(), notice, scan.valid_len)
            }
            Err(e) => {
                // Damage before the tail: report it (the line stays as it is, `warroom verify`
                // names it), keep writing after it, and follow from the current end.
                let end = std::fs::metadata(&paths.file).map(|m| m.len()).unwrap_or(0);
                (
                    Vec::new(),
                    Some(format!(
                        "journal of {id} is damaged: {e}; new entries are still written after it"
                    )),
                    end,
                )
            }
        };
        let inode = std::fs::metadata(&paths.file).map(|m| m.ino()).unwrap_or(0);
        self.followed = Some(Followed {
            id: id.clone(),
            paths,
            offset,
            inode,
        });
        self.send(Msg::Journal(JournalEvent::Opened { id, entries, notice }));
    }

    /// Writes the queue. A batch that declares an incident creates it first.
    fn flush(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        // A declaration starts a new incident: what was queued before it belongs to the current
        // one and is written there first; the declaration and what follows go to the new one.
        if let Some(declared) = self
            .queue
            .iter()
            .position(|p| matches!(p.event, Event::IncidentDeclared { .. }))
        {
            let tail = self.queue.split_off(declared);
            if !self.queue.is_empty() {
                self.flush();
                if !self.queue.is_empty() {
                    // The current incident's entries are held for a retry; keep the order.
                    self.queue.extend(tail);
                    return;
                }
            }
            self.queue = tail;
            // Only once: a declaration held for a retry already has its incident.
            if let (Event::IncidentDeclared { title, .. }, None) = (&self.queue[0].event, &self.queue[0].incident) {
                let id = self
                    .store
                    .new_id(&self.redactor.redact(title).0, self.queue[0].occurred_at);
                for p in &mut self.queue {
                    p.incident = Some(id.clone());
                }
                self.followed = Some(Followed {
                    id: id.clone(),
                    paths: self.store.incident(&id),
                    offset: 0,
                    inode: 0,
                });
                self.send(Msg::Journal(JournalEvent::Opened {
                    id,
                    entries: Vec::new(),
                    notice: None,
                }));
            }
        }
        let Some(followed) = self.followed.as_ref() else {
            // No incident to write to: the entries stay in memory (the app shows them as such).
            self.queue.clear();
            self.first_queued = None;
            return;
        };
        let incident = followed.id.clone();
        let paths = followed.paths.clone();
        for p in &mut self.queue {
            p.incident.get_or_insert_with(|| incident.clone());
        }
        let result = match self.retry {
            // After a failure the file is rewritten from memory and synced anew.
            Some(_) => file::rewrite(&paths, &self.queue, &self.redactor).map(|r| (r, None)),
            None => file::append(&paths, &self.queue, &self.redactor).map(|(r, report)| (r, report.repaired)),
        };
        match result {
            Ok((records, repaired)) => {
                let was_failing = self.retry.take().is_some();
                let audit: Vec<Pending> = self.queue.iter().filter(|p| p.event.is_audited()).cloned().collect();
                self.queue.clear();
                self.first_queued = None;
                let entries: Vec<TimelineEntry> = records.iter().map(Record::entry).collect();
                self.send(Msg::Recorded(entries));
                if was_failing {
                    self.send(Msg::Journal(JournalEvent::Recovered));
                }
                if let Some(torn) = repaired {
                    self.send(Msg::Journal(JournalEvent::Notice(format!(
                        "journal of {incident}: a torn record left by a killed writer (line {}) was cut off and kept aside",
                        torn.line
                    ))));
                }
                if !audit.is_empty()
                    && let Err(e) = file::append(&self.store.audit(), &audit, &self.redactor)
                {
                    self.send(Msg::Journal(JournalEvent::Failed {
                        error: format!("audit log: {e}"),
                        held: 0,
                    }));
                }
            }
            Err(e) => {
                let next = self.retry.map_or(RETRY_FIRST, |(_, d)| (d * 2).min(RETRY_MAX));
                self.retry = Some((Instant::now() + next, next));
                self.send(Msg::Journal(JournalEvent::Failed {
                    error: describe(&e),
                    held: self.queue.len(),
                }));
            }
        }
    }

    /// Reads what other writers appended; with no incident open, looks for one declared elsewhere.
    /// Returns false when the cockpit is gone.
    fn follow(&mut self) -> bool {
        if self.out.is_closed() {
            return false;
        }
        let Some(f) = self.followed.as_mut() else {
            if self.last_discover.elapsed() >= DISCOVER_EVERY {
                self.last_discover = Instant::now();
                if let Some(id) = self.store.active() {
                    self.open(Some(id));
                }
            }
            return true;
        };
        let Ok(meta) = std::fs::metadata(&f.paths.file) else {
            return true;
        };
        if meta.ino() != f.inode {
            // Rewritten (renamed over): the new file holds the same prefix, so the offset stands.
            f.inode = meta.ino();
        }
        if meta.len() <= f.offset {
            return true;
        }
        let Ok(mut file) = std::fs::File::open(&f.paths.file) else {
            return true;
        };
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(f.offset)).is_err() || file.read_to_end(&mut bytes).is_err() {
            return true;
        }
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let entries: Vec<TimelineEntry> = bytes[..complete]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| Record::parse(l).ok())
            .map(|r| r.entry())
            .collect();
        f.offset += complete as u64;
        if !entries.is_empty() {
            return self.send(Msg::Recorded(entries));
        }
        true
    }
}

/// One line for the error banner, naming the OS error when there is one.
fn describe(e: &JournalError) -> String {
    match e.os_error() {
        Some(28) => format!("disk full (ENOSPC): {e}"),
        Some(5) => format!("I/O error (EIO): {e}"),
        _ => e.to_string(),
    }
}
