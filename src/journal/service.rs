//! The cockpit's journal service: one background thread that owns every journal write and read
//! while the cockpit runs. It group-commits what the cockpit observes (at most 50 ms or 64 entries
//! per sync), syncs what a person did at once, and reports entries back as durable only after its
//! own sync succeeded. When the disk fails it holds the entries (journal and audit log alike) in
//! memory and retries, writing them again from memory rather than trusting a failed sync. It
//! follows the incident's file so entries written by other processes appear within a second
//! (checking each line, and telling about damage once per bad line), and while no incident is open
//! (or the one followed is resolved) it looks for one declared elsewhere since. `close` flushes and
//! stops.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::file::{self, AppendFailure, Cursor, JournalError, JournalPaths, Pending, Resume};
use super::record::Record;
use super::store::Store;
use crate::app::msg::{JournalEvent, Msg};
use crate::domain::incident::Incident;
use crate::domain::redact::Redactor;
use crate::domain::timeline::{Durability, Event, TimelineEntry};

/// Longest a submitted entry waits for others to share its sync.
pub const GROUP_WINDOW: Duration = Duration::from_millis(50);
/// Most entries per sync.
pub const GROUP_MAX: usize = 64;
/// How often the followed file is checked for other writers' entries.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// How often, with no open incident followed, the store is checked for one declared elsewhere
/// (after the one followed, if any).
const DISCOVER_EVERY: Duration = Duration::from_secs(1);
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

enum Command {
    Submit(Vec<Pending>),
    /// Entries for the audit log only (an action taken with no incident open).
    Audit(Vec<Pending>),
    Open(Option<String>),
    /// Flush everything and stop; keep retrying failed writes until `retry_until`.
    Close {
        retry_until: Instant,
    },
}

/// How the service stopped (`JournalHandle::close`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// Everything submitted is on disk.
    Flushed,
    /// Writes still failed when the time was up: these entries were never written.
    Held {
        journal: usize,
        audit: usize,
        error: String,
    },
    /// The service did not finish in time (a write is stuck); it was left running detached.
    TimedOut,
    /// The service had already stopped without saying how (it panicked).
    Gone,
}

/// The runtime's side of the service.
pub struct JournalHandle {
    tx: std_mpsc::Sender<Command>,
    done: std_mpsc::Receiver<Closed>,
    thread: JoinHandle<()>,
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

    /// Stops the service cleanly: everything queued (journal and audit log) is written, failed
    /// writes are retried for most of `timeout`, and the thread is joined. Returns within `timeout`
    /// (plus the time of a write already under way): `Closed::TimedOut` if the thread did not
    /// finish by then.
    pub fn close(self, timeout: Duration) -> Closed {
        let started = Instant::now();
        // Leave the last fifth of the time for the final attempt to finish and report.
        let retry_until = started + timeout.mul_f64(0.8);
        let _ = self.tx.send(Command::Close { retry_until });
        match self.done.recv_timeout(timeout) {
            Ok(closed) => {
                let _ = self.thread.join();
                closed
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => Closed::TimedOut,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
                Closed::Gone
            }
        }
    }
}

/// Starts the service thread. It opens `incident` (or, if `None`, the active incident), reports it
/// with `JournalEvent::Opened`, and stops on `close`, or (after a last flush) when the handle or
/// the message receiver is gone.
pub fn start(
    store: Store,
    redactor: Redactor,
    incident: Option<String>,
    out: mpsc::Sender<Msg>,
) -> std::io::Result<JournalHandle> {
    let (tx, rx) = std_mpsc::channel();
    let (done_tx, done) = std_mpsc::channel();
    let thread = std::thread::Builder::new().name("journal".into()).spawn(move || {
        let mut service = Service::new(store, redactor, out);
        service.open(incident.or_else(|| service.store.active()));
        let closed = service.run(&rx);
        let _ = done_tx.send(closed);
    })?;
    Ok(JournalHandle { tx, done, thread })
}

struct Followed {
    id: String,
    paths: JournalPaths,
    /// How far the file has been read and checked.
    cursor: Cursor,
    inode: u64,
    /// Records that decide whether the incident is open (declaration, status, milestones,
    /// retractions).
    lifecycle: Vec<TimelineEntry>,
    open: bool,
}

impl Followed {
    fn new(id: String, paths: JournalPaths, cursor: Cursor) -> Self {
        Self {
            id,
            paths,
            cursor,
            inode: 0,
            lifecycle: Vec::new(),
            open: true,
        }
    }

    fn track<'a>(&mut self, records: impl IntoIterator<Item = &'a Record>) {
        let before = self.lifecycle.len();
        self.lifecycle.extend(
            records
                .into_iter()
                .filter(|r| {
                    matches!(
                        r.body.event,
                        Event::IncidentDeclared { .. }
                            | Event::StatusChanged { .. }
                            | Event::Milestone { .. }
                            | Event::Retracted { .. }
                    )
                })
                .map(Record::entry),
        );
        if self.lifecycle.len() != before {
            // A journal whose declaration cannot be read counts as open: never leave it for that.
            self.open = Incident::from_entries(&self.lifecycle).is_none_or(|i| i.is_open());
        }
    }
}

/// Entries waiting to be written to one journal, and how writing them last failed.
#[derive(Default)]
struct Outbox {
    queue: Vec<Pending>,
    /// Set after a write that may have reached the file: where `recover` starts.
    resume: Option<Resume>,
    retry: Option<(Instant, Duration)>,
    error: Option<String>,
}

impl Outbox {
    fn failing(&self) -> bool {
        self.retry.is_some()
    }

    fn retry_due(&self, now: Instant) -> bool {
        !self.queue.is_empty() && self.retry.is_some_and(|(at, _)| now >= at)
    }

    fn failed(&mut self, failure: AppendFailure, what: &str) {
        let next = self.retry.map_or(RETRY_FIRST, |(_, d)| (d * 2).min(RETRY_MAX));
        self.retry = Some((Instant::now() + next, next));
        self.resume = failure.resume.or(self.resume);
        self.error = Some(format!("{what}{}", describe(&failure.error)));
    }

    fn succeeded(&mut self) {
        self.retry = None;
        self.resume = None;
        self.error = None;
    }

    /// Writes `n` queued entries (the front of the queue) to `paths`: a plain append, or after a
    /// failure a recovery that writes them again from memory.
    fn write(
        &self,
        paths: &JournalPaths,
        n: usize,
        redactor: &Redactor,
    ) -> Result<(Vec<Record>, file::AppendReport), AppendFailure> {
        let batch = &self.queue[..n];
        if self.failing() {
            file::recover(paths, self.resume, batch, redactor)
        } else {
            file::try_append(paths, batch, redactor)
        }
    }
}

struct Service {
    store: Store,
    redactor: Redactor,
    out: mpsc::Sender<Msg>,
    followed: Option<Followed>,
    journal: Outbox,
    audit: Outbox,
    first_queued: Option<Instant>,
    /// Ids this process wrote and reported durable that the follower has not passed yet: it skips
    /// them rather than reporting them again.
    reported: BTreeSet<String>,
    /// A failure was reported and not yet followed by `Recovered`.
    failure_shown: bool,
    last_discover: Instant,
}

impl Service {
    fn new(store: Store, redactor: Redactor, out: mpsc::Sender<Msg>) -> Self {
        Self {
            store,
            redactor,
            out,
            followed: None,
            journal: Outbox::default(),
            audit: Outbox::default(),
            first_queued: None,
            reported: BTreeSet::new(),
            failure_shown: false,
            last_discover: Instant::now(),
        }
    }

    fn send(&self, msg: Msg) -> bool {
        self.out.blocking_send(msg).is_ok()
    }

    fn run(&mut self, rx: &std_mpsc::Receiver<Command>) -> Closed {
        loop {
            let wait = self.next_wakeup().saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Command::Submit(pending)) => self.submit(pending),
                Ok(Command::Audit(pending)) => {
                    self.audit.queue.extend(pending);
                    if !self.audit.failing() {
                        self.flush_audit();
                    }
                }
                Ok(Command::Open(id)) => {
                    self.flush_journal();
                    self.open(id);
                }
                Ok(Command::Close { retry_until }) => return self.close(rx, retry_until),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    self.flush_due();
                    if !self.follow() {
                        return self.close(rx, Instant::now());
                    }
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return self.close(rx, Instant::now()),
            }
        }
    }

    fn submit(&mut self, pending: Vec<Pending>) {
        if self.journal.queue.is_empty() {
            self.first_queued = Some(Instant::now());
        }
        // What a person did is synced at once (a typed note must be durable in milliseconds);
        // what the cockpit observed waits for company.
        let typed = pending.iter().any(|p| p.event.is_human());
        // Entries belong to the incident followed when they were submitted (or the one they
        // declare), whatever happens before they are written.
        self.journal
            .queue
            .extend(pending.into_iter().map(|p| Pending { incident: None, ..p }));
        if !self.assign() {
            return;
        }
        if (typed || self.journal.queue.len() >= GROUP_MAX) && !self.journal.failing() {
            self.flush_journal();
        }
    }

    fn flush_due(&mut self) {
        let now = Instant::now();
        let grouped = self.first_queued.is_some_and(|t| now - t >= GROUP_WINDOW) && !self.journal.failing();
        if grouped || self.journal.retry_due(now) {
            self.flush_journal();
        }
        if self.audit.retry_due(now) {
            self.flush_audit();
        }
    }

    /// Writes everything, retrying failed writes until `retry_until`, and says what is left.
    fn close(&mut self, rx: &std_mpsc::Receiver<Command>, retry_until: Instant) -> Closed {
        self.flush_journal();
        self.flush_audit();
        loop {
            let pending = !self.journal.queue.is_empty() || !self.audit.queue.is_empty();
            let now = Instant::now();
            if !pending || now >= retry_until {
                break;
            }
            let next = [self.journal.retry, self.audit.retry]
                .into_iter()
                .flatten()
                .map(|(at, _)| at)
                .min()
                .unwrap_or(now)
                .min(retry_until);
            match rx.recv_timeout(next.saturating_duration_since(now)) {
                Ok(Command::Submit(pending)) => self.journal.queue.extend(pending),
                Ok(Command::Audit(pending)) => self.audit.queue.extend(pending),
                Ok(Command::Open(_) | Command::Close { .. }) | Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                // Nothing to wait on: give up the retries.
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if self.journal.retry_due(now) {
                self.flush_journal();
            }
            if self.audit.retry_due(now) {
                self.flush_audit();
            }
        }
        if self.journal.queue.is_empty() && self.audit.queue.is_empty() {
            return Closed::Flushed;
        }
        Closed::Held {
            journal: self.journal.queue.len(),
            audit: self.audit.queue.len(),
            error: self
                .journal
                .error
                .clone()
                .or_else(|| self.audit.error.clone())
                .unwrap_or_default(),
        }
    }

    fn next_wakeup(&self) -> Instant {
        let mut at = Instant::now() + FOLLOW_EVERY;
        if let Some(first) = self.first_queued
            && !self.journal.failing()
        {
            at = at.min(first + GROUP_WINDOW);
        }
        for outbox in [&self.journal, &self.audit] {
            if let Some((retry_at, _)) = outbox.retry
                && !outbox.queue.is_empty()
            {
                at = at.min(retry_at);
            }
        }
        at
    }

    /// Opens an incident: reads its whole journal (what can be read of it, if it is damaged),
    /// repairs a torn tail under the lock, and reports it.
    fn open(&mut self, id: Option<String>) {
        let Some(id) = id else {
            self.followed = None;
            return;
        };
        if self.followed.as_ref().is_none_or(|f| f.id != id) {
            self.reported.clear();
        }
        let paths = self.store.incident(&id);
        let mut notices = Vec::new();
        // A torn tail that is this process's own failed write is left to the retry, which drops it.
        let own_write_torn = self.journal.resume.is_some()
            && self.journal.queue.first().and_then(|p| p.incident.as_deref()) == Some(id.as_str());
        let readable = match file::read_all(&paths.file) {
            // Cut a torn tail off only under the lock, after reading the file again under it: a
            // writer may have completed the record (or cut it off and appended) meanwhile.
            Ok(r) if r.torn.is_some() && !own_write_torn => match file::repair_tail(&paths) {
                Ok((again, repaired)) => {
                    if let Some(rep) = repaired {
                        notices.push(format!(
                            "journal of {id}: a torn last record (line {}) was cut off and kept in {}",
                            rep.torn.line,
                            rep.kept.display()
                        ));
                    }
                    again
                }
                Err(e) => {
                    notices.push(format!(
                        "journal of {id}: a torn last record could not be repaired: {e}"
                    ));
                    r
                }
            },
            Ok(r) => r,
            Err(e) => {
                notices.push(format!("journal of {id} cannot be read: {e}"));
                file::read_bytes(&[])
            }
        };
        if let Some(d) = readable.damage.first() {
            notices.push(format!(
                "journal of {id} is damaged at line {} ({}); what can be read is shown, new entries are still written after it (`warroom verify` names it)",
                d.line, d.reason
            ));
        }
        // What this process holds (written in part before a failure) is not durable, even if read.
        let held: BTreeSet<&str> = self.journal.queue.iter().map(|p| p.id.as_str()).collect();
        let entries: Vec<TimelineEntry> = readable
            .records
            .iter()
            .map(|r| TimelineEntry {
                durability: if held.contains(r.body.id.as_str()) {
                    Durability::Pending
                } else {
                    Durability::Durable
                },
                ..r.entry()
            })
            .collect();
        let mut followed = Followed::new(id.clone(), paths, readable.cursor.clone());
        followed.inode = std::fs::metadata(&followed.paths.file).map(|m| m.ino()).unwrap_or(0);
        followed.track(&readable.records);
        self.followed = Some(followed);
        let notice = (!notices.is_empty()).then(|| notices.join("; "));
        self.send(Msg::Journal(JournalEvent::Opened { id, entries, notice }));
    }

    /// Gives every queued entry its incident: the followed one, or for a declaration (and what
    /// follows it) a new incident whose directory is reserved here. Entries with no incident to go
    /// to are dropped (the app shows them as kept in memory only). Returns false when a directory
    /// could not be reserved (the failure is reported and retried).
    fn assign(&mut self) -> bool {
        let mut i = 0;
        while i < self.journal.queue.len() {
            if self.journal.queue[i].incident.is_some() {
                i += 1;
                continue;
            }
            if let Event::IncidentDeclared { title, .. } = &self.journal.queue[i].event {
                let title = self.redactor.redact(title).0;
                match self.store.reserve_id(&title, self.journal.queue[i].occurred_at) {
                    Ok(id) => {
                        let paths = self.store.incident(&id);
                        self.followed = Some(Followed::new(id.clone(), paths, Cursor::start()));
                        self.reported.clear();
                        self.send(Msg::Journal(JournalEvent::Opened {
                            id,
                            entries: Vec::new(),
                            notice: None,
                        }));
                    }
                    Err(error) => {
                        self.journal.failed(AppendFailure { error, resume: None }, "");
                        self.show_failure();
                        return false;
                    }
                }
            }
            match &self.followed {
                Some(f) => {
                    self.journal.queue[i].incident = Some(f.id.clone());
                    i += 1;
                }
                None => {
                    self.journal.queue.remove(i);
                }
            }
        }
        true
    }

    /// Writes the journal queue, one run of entries of the same incident at a time.
    fn flush_journal(&mut self) {
        if self.journal.queue.is_empty() {
            self.first_queued = None;
            return;
        }
        if !self.assign() {
            return;
        }
        while let Some(first) = self.journal.queue.first() {
            let incident = first.incident.clone().unwrap_or_default();
            let n = self
                .journal
                .queue
                .iter()
                .take_while(|p| p.incident.as_deref() == Some(incident.as_str()))
                .count();
            let paths = self.store.incident(&incident);
            match self.journal.write(&paths, n, &self.redactor) {
                Ok((records, report)) => {
                    self.journal.succeeded();
                    let written: Vec<Pending> = self.journal.queue.drain(..n).collect();
                    self.audit
                        .queue
                        .extend(written.into_iter().filter(|p| p.event.is_audited()));
                    self.reported.extend(records.iter().map(|r| r.body.id.clone()));
                    if let Some(f) = self.followed.as_mut().filter(|f| f.id == incident) {
                        f.track(&records);
                    }
                    let entries: Vec<TimelineEntry> = records.iter().map(Record::entry).collect();
                    self.send(Msg::Recorded(entries));
                    if let Some(torn) = report.repaired {
                        let kept = report.kept.map(|k| k.display().to_string()).unwrap_or_default();
                        self.send(Msg::Journal(JournalEvent::Notice(format!(
                            "journal of {incident}: a torn record left by a killed writer (line {}) was cut off and kept in {kept}",
                            torn.line
                        ))));
                    }
                    if let Some(d) = report.damaged {
                        self.send(Msg::Journal(JournalEvent::Notice(format!(
                            "journal of {incident} is damaged at line {} ({}); new entries are written after it",
                            d.line, d.reason
                        ))));
                    }
                }
                Err(failure) => {
                    self.journal.failed(failure, "");
                    self.show_failure();
                    return;
                }
            }
        }
        self.first_queued = None;
        if !self.audit.failing() {
            self.flush_audit();
        }
        self.show_recovery();
    }

    /// Writes the audit queue.
    fn flush_audit(&mut self) {
        if self.audit.queue.is_empty() {
            return;
        }
        let n = self.audit.queue.len();
        match self.audit.write(&self.store.audit(), n, &self.redactor) {
            Ok(_) => {
                self.audit.succeeded();
                self.audit.queue.clear();
                self.show_recovery();
            }
            Err(failure) => {
                self.audit.failed(failure, "audit log: ");
                self.show_failure();
            }
        }
    }

    fn show_failure(&mut self) {
        let error = self
            .journal
            .error
            .clone()
            .or_else(|| self.audit.error.clone())
            .unwrap_or_default();
        self.failure_shown = true;
        self.send(Msg::Journal(JournalEvent::Failed {
            error,
            held: self.journal.queue.len() + self.audit.queue.len(),
        }));
    }

    fn show_recovery(&mut self) {
        if self.failure_shown && !self.journal.failing() && !self.audit.failing() {
            self.failure_shown = false;
            self.send(Msg::Journal(JournalEvent::Recovered));
        }
    }

    /// Reads what other writers appended, checking each line; while no open incident is followed,
    /// looks for one declared elsewhere. Returns false when the cockpit is gone.
    fn follow(&mut self) -> bool {
        if self.out.is_closed() {
            return false;
        }
        if self.followed.as_ref().is_none_or(|f| !f.open) && self.last_discover.elapsed() >= DISCOVER_EVERY {
            self.last_discover = Instant::now();
            // Only an incident declared after the one followed (ids sort by declaration time): a
            // stale open incident from last week is not jumped to.
            if let Some(id) = self.store.active()
                && self.followed.as_ref().is_none_or(|f| id > f.id)
            {
                self.flush_journal();
                self.open(Some(id));
            }
        }
        let Some(f) = self.followed.as_mut() else {
            return true;
        };
        let Ok(meta) = std::fs::metadata(&f.paths.file) else {
            return true;
        };
        // Renamed over (by an older warroom's rewrite): the new file holds the same prefix.
        f.inode = meta.ino();
        if meta.len() < f.cursor.offset {
            // Something other than a warroom writer cut complete records off: read it anew.
            let notice = format!(
                "journal of {} is shorter than what was read from it: records were removed from its end",
                f.id
            );
            if let Ok(readable) = file::read_all(&f.paths.file) {
                f.cursor = readable.cursor;
            }
            return self.send(Msg::Journal(JournalEvent::Notice(notice)));
        }
        if meta.len() == f.cursor.offset {
            return true;
        }
        let Ok(mut handle) = std::fs::File::open(&f.paths.file) else {
            return true;
        };
        let mut bytes = Vec::new();
        let fresh = meta.len() - f.cursor.offset;
        if handle.seek(SeekFrom::Start(f.cursor.offset)).is_err() || handle.take(fresh).read_to_end(&mut bytes).is_err()
        {
            return true;
        }
        let batch = f.cursor.feed(&bytes);
        f.track(&batch.records);
        let id = f.id.clone();
        // Only the writer reports its own records, after its sync: the follower skips what this
        // process still holds (written in part before a failure) and what it reported already.
        let held: BTreeSet<&str> = self.journal.queue.iter().map(|p| p.id.as_str()).collect();
        let mut entries = Vec::new();
        for r in &batch.records {
            if held.contains(r.body.id.as_str()) || self.reported.remove(&r.body.id) {
                continue;
            }
            entries.push(r.entry());
        }
        for d in &batch.damage {
            let notice = format!(
                "journal of {id}: line {} is damaged ({}); `warroom verify` names it",
                d.line, d.reason
            );
            if !self.send(Msg::Journal(JournalEvent::Notice(notice))) {
                return false;
            }
        }
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
