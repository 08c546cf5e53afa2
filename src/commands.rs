//! The one-shot journal commands: `incident declare|list|show|status|resolve|milestone`, `note`,
//! `timeline`, `verify` and `export`. They read and write journals through `journal::file` and
//! print to the writers they are given; `main` only dispatches to them. Exit codes: 0 ok, 1 the
//! journal could not be written or is damaged, 2 bad usage (unknown incident, state or format), 3
//! the entry is in the incident's journal (its id was printed) but could not be copied to the audit
//! log: do not retry the command, fix the audit log's disk. Repairs and damage found while writing
//! are told on standard error.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::domain::incident::{Incident, IncidentSeverity, IncidentStatus, Milestone};
use crate::domain::redact::Redactor;
use crate::domain::timefmt::short_duration;
use crate::domain::timeline::{Event, TimelineEntry};
use crate::export::{self, ExportInput, Format, Profile};
use crate::journal::file::{self, JournalError, JournalPaths, Pending};
use crate::journal::new_id;
use crate::journal::record::{GENESIS, Record};
use crate::journal::store::{Store, StoreError};

/// What every command needs.
pub struct Ctx {
    pub store: Store,
    pub actor: String,
    /// `--incident`, if given.
    pub incident: Option<String>,
    pub redactor: Redactor,
    pub now: DateTime<Utc>,
}

pub type Out<'a> = &'a mut dyn Write;

const OK: u8 = 0;
const FAILED: u8 = 1;
const USAGE: u8 = 2;
/// Written to the incident's journal, but not to the audit log.
pub const AUDIT_FAILED: u8 = 3;

fn store_error(err: Out<'_>, e: &StoreError) -> u8 {
    let _ = writeln!(err, "warroom: {e}");
    match e {
        StoreError::Journal(_) => FAILED,
        _ => USAGE,
    }
}

fn journal_error(err: Out<'_>, e: &JournalError) -> u8 {
    let _ = writeln!(err, "warroom: {e}");
    FAILED
}

impl Ctx {
    fn pending(&self, event: Event, occurred_at: DateTime<Utc>, supersedes: Option<String>) -> Pending {
        Pending {
            id: new_id(self.now),
            incident: None,
            occurred_at,
            recorded_at: self.now,
            actor: self.actor.clone(),
            event,
            supersedes,
        }
    }

    /// Appends to an incident's journal (durably), telling on `err` about any repair it made or
    /// damage it found, and copies lifecycle events to the audit log. The records are returned even
    /// when the audit copy failed: they are on disk.
    fn append(&self, id: &str, mut pending: Vec<Pending>, err: Out<'_>) -> Result<Appended, JournalError> {
        for p in &mut pending {
            p.incident = Some(id.to_string());
        }
        let paths = self.store.incident(id);
        let (records, report) = file::append(&paths, &pending, &self.redactor)?;
        if let Some(torn) = &report.repaired {
            let kept = report
                .kept
                .as_ref()
                .map_or_else(String::new, |k| format!(" and kept in {}", k.display()));
            let _ = writeln!(
                err,
                "warroom: {}:{}: cut off a torn last record ({}, {} bytes){kept}",
                paths.file.display(),
                torn.line,
                torn.reason,
                torn.bytes
            );
        }
        if let Some(d) = &report.damaged {
            let _ = writeln!(
                err,
                "warroom: {}:{}: {} (the line stays as it is; the new entry was written after it)",
                paths.file.display(),
                d.line,
                d.reason
            );
        }
        let audit: Vec<Pending> = pending.into_iter().filter(|p| p.event.is_audited()).collect();
        let audit_error = if audit.is_empty() {
            None
        } else {
            file::append(&self.store.audit(), &audit, &self.redactor).err()
        };
        Ok(Appended { records, audit_error })
    }

    fn resolve(&self, wanted: Option<&str>) -> Result<String, StoreError> {
        self.store.resolve(wanted.or(self.incident.as_deref()))
    }

    /// `resolve`, telling on `err` when the open incident found has a damaged journal.
    fn resolve_noting(&self, wanted: Option<&str>, err: Out<'_>) -> Result<String, StoreError> {
        if wanted.or(self.incident.as_deref()).is_some() {
            return self.resolve(wanted);
        }
        let info = self.store.active_info().ok_or(StoreError::NoOpenIncident)?;
        if let Some(problem) = &info.problem {
            let _ = writeln!(
                err,
                "warroom: warning: the journal of {} is {problem}; `warroom verify` names the line",
                info.id
            );
        }
        Ok(info.id)
    }
}

/// Records appended to an incident, and the audit log's failure if the copy there failed.
struct Appended {
    records: Vec<Record>,
    audit_error: Option<JournalError>,
}

/// Prints the ids of what was appended, then the audit log's failure (exit 3) if any.
fn appended(ids: &[String], audit_error: Option<JournalError>, out: Out<'_>, err: Out<'_>) -> u8 {
    for id in ids {
        let _ = writeln!(out, "{id}");
    }
    let _ = out.flush();
    match audit_error {
        None => OK,
        Some(e) => {
            let _ = writeln!(
                err,
                "warroom: recorded in the incident's journal, but the audit log could not be written: {e}"
            );
            AUDIT_FAILED
        }
    }
}

pub fn declare(
    ctx: &Ctx,
    title: &str,
    severity: IncidentSeverity,
    commander: Option<String>,
    out: Out<'_>,
    err: Out<'_>,
) -> u8 {
    // The id carries a slug of the title: made from the redacted title, never the original. Its
    // directory is reserved, so a declaration at the same minute with the same title gets another.
    let id = match ctx.store.reserve_id(&ctx.redactor.redact(title).0, ctx.now) {
        Ok(id) => id,
        Err(e) => return journal_error(err, &e),
    };
    let commander = Some(commander.unwrap_or_else(|| ctx.actor.clone()));
    let event = Event::IncidentDeclared {
        title: title.to_string(),
        severity,
        commander,
    };
    match ctx.append(&id, vec![ctx.pending(event, ctx.now, None)], err) {
        Ok(done) => appended(&[id], done.audit_error, out, err),
        Err(e) => journal_error(err, &e),
    }
}

/// Records one event on an incident and prints the entry's id once it is durable.
fn record_one(
    ctx: &Ctx,
    wanted: Option<&str>,
    event: Event,
    at: DateTime<Utc>,
    supersedes: Option<String>,
    out: Out<'_>,
    err: Out<'_>,
) -> u8 {
    let id = match ctx.resolve_noting(wanted, err) {
        Ok(id) => id,
        Err(e) => return store_error(err, &e),
    };
    match ctx.append(&id, vec![ctx.pending(event, at, supersedes)], err) {
        Ok(done) => {
            let ids: Vec<String> = done.records.iter().map(|r| r.body.id.clone()).collect();
            appended(&ids, done.audit_error, out, err)
        }
        Err(e) => journal_error(err, &e),
    }
}

pub fn note(ctx: &Ctx, text: &str, public: bool, out: Out<'_>, err: Out<'_>) -> u8 {
    if text.trim().is_empty() {
        let _ = writeln!(err, "warroom: the note is empty");
        return USAGE;
    }
    record_one(
        ctx,
        None,
        Event::Note {
            text: text.trim().to_string(),
            public,
        },
        ctx.now,
        None,
        out,
        err,
    )
}

fn parse_status(text: &str) -> Option<IncidentStatus> {
    match text.to_ascii_lowercase().as_str() {
        "investigating" => Some(IncidentStatus::Investigating),
        "identified" => Some(IncidentStatus::Identified),
        "monitoring" => Some(IncidentStatus::Monitoring),
        "resolved" => Some(IncidentStatus::Resolved),
        _ => None,
    }
}

pub fn status(ctx: &Ctx, id: &str, state: &str, out: Out<'_>, err: Out<'_>) -> u8 {
    let Some(status) = parse_status(state) else {
        let _ = writeln!(
            err,
            "warroom: \"{state}\" is not a status (investigating, identified, monitoring, resolved)"
        );
        return USAGE;
    };
    record_one(ctx, Some(id), Event::StatusChanged { status }, ctx.now, None, out, err)
}

pub fn resolve(ctx: &Ctx, id: Option<&str>, out: Out<'_>, err: Out<'_>) -> u8 {
    record_one(
        ctx,
        id,
        Event::StatusChanged {
            status: IncidentStatus::Resolved,
        },
        ctx.now,
        None,
        out,
        err,
    )
}

fn parse_milestone(text: &str) -> Option<Milestone> {
    match text.to_ascii_lowercase().as_str() {
        "started" => Some(Milestone::Started),
        "detected" => Some(Milestone::Detected),
        "acknowledged" => Some(Milestone::Acknowledged),
        "mitigated" => Some(Milestone::Mitigated),
        "resolved" => Some(Milestone::Resolved),
        _ => None,
    }
}

/// RFC 3339, or HH:MM[:SS] today (UTC; yesterday if that is still to come).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let parts: Vec<u32> = text.split(':').map(|p| p.parse().ok()).collect::<Option<Vec<u32>>>()?;
    let hms = match parts.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    (hms.0 < 24 && hms.1 < 60 && hms.2 < 60).then(|| crate::domain::timefmt::Clock::default().at_time_of_day(now, hms))
}

pub fn milestone(ctx: &Ctx, id: &str, name: &str, at: Option<&str>, out: Out<'_>, err: Out<'_>) -> u8 {
    let Some(milestone) = parse_milestone(name) else {
        let _ = writeln!(
            err,
            "warroom: \"{name}\" is not a milestone (started, detected, acknowledged, mitigated, resolved)"
        );
        return USAGE;
    };
    let when = match at {
        None => ctx.now,
        Some(text) => match parse_time(text, ctx.now) {
            Some(t) => t,
            None => {
                let _ = writeln!(
                    err,
                    "warroom: \"{text}\" is not a time (RFC 3339, or HH:MM[:SS] in UTC)"
                );
                return USAGE;
            }
        },
    };
    let incident = match ctx.resolve(Some(id)) {
        Ok(id) => id,
        Err(e) => return store_error(err, &e),
    };
    // Setting a milestone that is set already corrects it: the new entry supersedes the old one.
    let supersedes = match ctx.store.read(&incident) {
        Ok(info) => {
            let superseded = info.incident.map(|i| i.superseded).unwrap_or_default();
            info.entries
                .iter()
                .rev()
                .find(|e| {
                    matches!(e.event, Event::Milestone { milestone: m } if m == milestone)
                        && !superseded.contains(&e.id)
                })
                .map(|e| e.id.clone())
        }
        Err(e) => return journal_error(err, &e),
    };
    record_one(
        ctx,
        Some(&incident),
        Event::Milestone { milestone },
        when,
        supersedes,
        out,
        err,
    )
}

fn line(entry: &TimelineEntry) -> String {
    format!(
        "{}  {:<10} {} {:<9} {}",
        entry.occurred_at.format("%Y-%m-%d %H:%M:%SZ"),
        entry.actor,
        entry.event.symbol(),
        entry.event.category(),
        entry.event.summary()
    )
}

pub fn list(ctx: &Ctx, out: Out<'_>, _err: Out<'_>) -> u8 {
    let incidents = ctx.store.list();
    if incidents.is_empty() {
        let _ = writeln!(out, "no incidents under {}", ctx.store.incidents_dir().display());
        return OK;
    }
    let _ = writeln!(
        out,
        "{:<44} {:<5} {:<14} {:<18} {:>8}  TITLE",
        "ID", "SEV", "STATUS", "DECLARED (UTC)", "LASTED"
    );
    for info in incidents {
        match &info.incident {
            Some(i) => {
                let _ = writeln!(
                    out,
                    "{:<44} {:<5} {:<14} {:<18} {:>8}  {}",
                    info.id,
                    i.severity.word(),
                    i.status.word(),
                    i.declared_at.format("%Y-%m-%d %H:%M"),
                    short_duration(i.elapsed(ctx.now)),
                    i.title
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "{:<44} ?     {}",
                    info.id,
                    info.problem.as_deref().unwrap_or("no declaration in the journal")
                );
            }
        }
        if let (Some(problem), Some(_)) = (&info.problem, &info.incident) {
            let _ = writeln!(out, "{:<44} ! {problem}", "");
        }
    }
    OK
}

fn duration_text(d: Option<chrono::Duration>) -> String {
    d.map_or("—".to_string(), short_duration)
}

pub fn show(ctx: &Ctx, id: Option<&str>, out: Out<'_>, err: Out<'_>) -> u8 {
    let id = match ctx.resolve(id) {
        Ok(id) => id,
        Err(e) => return store_error(err, &e),
    };
    let info = match ctx.store.read(&id) {
        Ok(i) => i,
        Err(e) => return journal_error(err, &e),
    };
    let Some(inc) = Incident::from_entries(&info.entries) else {
        let _ = writeln!(err, "warroom: {id}: the journal holds no declaration");
        return FAILED;
    };
    let _ = writeln!(out, "{id}");
    let _ = writeln!(out, "  {} · {} · {}", inc.severity.word(), inc.status.word(), inc.title);
    for (role, person) in &inc.roles {
        let _ = writeln!(out, "  {:<13} {person}", role.word());
    }
    let _ = writeln!(out, "  milestones (UTC)");
    for (m, at) in &inc.milestones {
        let _ = writeln!(out, "    {:<13} {}", m.word(), at.format("%Y-%m-%d %H:%M:%SZ"));
    }
    let d = inc.durations();
    let _ = writeln!(
        out,
        "  TTD {}  TTA {}  TTM {}  TTR {}",
        duration_text(d.ttd),
        duration_text(d.tta),
        duration_text(d.ttm),
        duration_text(d.ttr)
    );
    for (runbook, progress) in &inc.runbooks {
        let done = progress
            .steps
            .values()
            .filter(|p| p.state == crate::domain::runbook::StepState::Done)
            .count();
        let _ = writeln!(out, "  runbook {runbook}: {done} steps done");
    }
    let _ = writeln!(
        out,
        "  {} entries, {} pinned; latest:",
        info.entries.len(),
        inc.pinned.len()
    );
    let mut entries = info.entries.clone();
    entries.sort_by_key(|e| (e.occurred_at, e.recorded_at));
    for e in entries.iter().rev().take(10).rev() {
        let _ = writeln!(out, "    {}", line(e));
    }
    if let Some(problem) = info.problem {
        let _ = writeln!(out, "  ! {problem}");
    }
    OK
}

/// Warns on `err` about one damaged line.
fn warn_damage(err: Out<'_>, path: &Path, d: &file::Damage) {
    let _ = writeln!(err, "warroom: warning: {}:{}: {}", path.display(), d.line, d.reason);
}

/// Prints entries in time order; with `follow`, keeps printing what other writers append. What can
/// be read of a damaged journal is printed, and each bad line is named on `err` (exit 1 without
/// `follow`); lines appended later are checked too, each bad one named once.
pub fn timeline(ctx: &Ctx, follow: bool, json: bool, out: Out<'_>, err: Out<'_>) -> u8 {
    let id = match ctx.resolve_noting(None, err) {
        Ok(id) => id,
        Err(e) => return store_error(err, &e),
    };
    let paths = ctx.store.incident(&id);
    let readable = match file::read_all(&paths.file) {
        Ok(r) => r,
        Err(e) => return journal_error(err, &e),
    };
    for d in &readable.damage {
        warn_damage(err, &paths.file, d);
    }
    if let Some(torn) = &readable.torn {
        let _ = writeln!(
            err,
            "warroom: warning: {}:{}: torn last record ({}); the next writer cuts it off and keeps it aside",
            paths.file.display(),
            torn.line,
            torn.reason
        );
    }
    let print = |records: &[Record], out: Out<'_>| {
        let mut sorted: Vec<&Record> = records.iter().collect();
        if !json {
            sorted.sort_by_key(|r| (r.body.occurred_at, r.body.recorded_at));
        }
        for r in sorted {
            let text = if json {
                String::from_utf8_lossy(&r.to_line()).trim_end().to_string()
            } else {
                line(&r.entry())
            };
            if writeln!(out, "{text}").is_err() {
                return false;
            }
        }
        out.flush().is_ok()
    };
    if !print(&readable.records, out) {
        return OK;
    }
    if !follow {
        return if readable.damage.is_empty() { OK } else { FAILED };
    }
    let mut cursor = readable.cursor;
    loop {
        // A one-shot command following a file: nothing to wait on but time.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(crate::journal::service::FOLLOW_EVERY);
        let Ok(mut f) = std::fs::File::open(&paths.file) else {
            continue;
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < cursor.offset {
            let _ = writeln!(
                err,
                "warroom: warning: {} is shorter than what was read from it: records were removed from its end",
                paths.file.display()
            );
            if let Ok(again) = file::read_all(&paths.file) {
                cursor = again.cursor;
            }
            continue;
        }
        let mut bytes = Vec::new();
        if len == cursor.offset
            || f.seek(SeekFrom::Start(cursor.offset)).is_err()
            || (&mut f).take(len - cursor.offset).read_to_end(&mut bytes).is_err()
        {
            continue;
        }
        let batch = cursor.feed(&bytes);
        for d in &batch.damage {
            warn_damage(err, &paths.file, d);
        }
        if !print(&batch.records, out) {
            return OK;
        }
    }
}

/// Checks a journal and reports; torn-tail copies left by earlier repairs are listed too. With
/// `expect_head` (a hash, or a unique prefix of one, recorded outside the journal), also checks
/// that the record it names is still in the chain: that nothing was cut off the end and the tail
/// was not edited and sealed again since.
fn verify_paths(paths: &JournalPaths, what: &str, expect_head: Option<&str>, out: Out<'_>, err: Out<'_>) -> u8 {
    let repaired: Vec<String> = std::fs::read_dir(&paths.dir)
        .map(|d| {
            let mut names: Vec<String> = d
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(&format!("{}.torn-", file::JOURNAL_FILE)))
                .collect();
            names.sort();
            names
        })
        .unwrap_or_default();
    let scan = match file::scan(&paths.file) {
        Ok(scan) => scan,
        Err(e) => return journal_error(err, &e),
    };
    let head = scan.records.last().map_or(GENESIS, |r| r.hash.as_str());
    let _ = writeln!(
        out,
        "{what}: {} records, chain and checksums intact, head {head}",
        scan.records.len()
    );
    for r in repaired {
        let _ = writeln!(
            out,
            "{what}: a torn tail was cut off earlier and kept in {}",
            paths.dir.join(r).display()
        );
    }
    let mut code = OK;
    if let Some(want) = expect_head {
        let want = want.to_ascii_lowercase();
        let found: Vec<(usize, &Record)> = scan
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.hash.starts_with(&want))
            .collect();
        match found.as_slice() {
            [] => {
                let _ = writeln!(
                    err,
                    "{}: the expected head {want} is not in the journal: records were cut off its end, or it was changed and sealed again",
                    paths.file.display()
                );
                code = FAILED;
            }
            [(i, r)] => {
                let after = scan.records.len() - i - 1;
                let _ = writeln!(
                    out,
                    "{what}: the expected head {} is record {} (line {}); {after} record{} written after it",
                    r.hash,
                    r.body.seq,
                    i + 1,
                    if after == 1 { " was" } else { "s were" }
                );
            }
            _ => {
                let _ = writeln!(
                    err,
                    "warroom: \"{want}\" is the start of {} record hashes: give more of the head hash",
                    found.len()
                );
                return USAGE;
            }
        }
    }
    if let Some(torn) = scan.torn {
        let _ = writeln!(
            err,
            "{}:{}: torn last record ({}); the next writer cuts it off and keeps it aside",
            paths.file.display(),
            torn.line,
            torn.reason
        );
        code = FAILED;
    }
    code
}

/// Checks the open incident's journal (without an open one, the most recent incident's; with
/// `--incident`, that one's), or with `audit` the audit log.
pub fn verify(ctx: &Ctx, audit: bool, out: Out<'_>, err: Out<'_>) -> u8 {
    verify_expecting(ctx, audit, None, out, err)
}

/// `verify`, also checking that `expect_head` (a record hash recorded elsewhere, e.g. the head an
/// export printed, or a unique prefix of at least 8 hex digits of it) is still in the chain. The
/// chain alone cannot show whole records cut off the end, or a tail edited and sealed again: only a
/// head kept outside the journal can.
pub fn verify_expecting(ctx: &Ctx, audit: bool, expect_head: Option<&str>, out: Out<'_>, err: Out<'_>) -> u8 {
    if let Some(want) = expect_head
        && !((8..=64).contains(&want.len()) && want.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        let _ = writeln!(
            err,
            "warroom: --expect-head takes a record hash (64 hex digits) or at least its first 8"
        );
        return USAGE;
    }
    if audit {
        return verify_paths(&ctx.store.audit(), "audit log", expect_head, out, err);
    }
    let id = match ctx.resolve(None) {
        Ok(id) => id,
        Err(StoreError::NoOpenIncident) => match ctx.store.most_recent() {
            Some(id) => id,
            None => return store_error(err, &StoreError::NoOpenIncident),
        },
        Err(e) => return store_error(err, &e),
    };
    verify_paths(&ctx.store.incident(&id), &id, expect_head, out, err)
}

/// Writes a file atomically: a synced temporary beside it, renamed over it, directory synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

pub struct ExportArgs<'a> {
    pub format: &'a str,
    pub profile: &'a str,
    pub output: Option<&'a Path>,
    pub audit: bool,
    pub since: Option<&'a str>,
}

pub fn export(ctx: &Ctx, args: &ExportArgs<'_>, out: Out<'_>, err: Out<'_>) -> u8 {
    let text = if args.audit {
        let since = match args.since {
            None => DateTime::<Utc>::MIN_UTC,
            Some(text) => match parse_time(text, ctx.now).or_else(|| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            }) {
                Some(t) => t,
                None => {
                    let _ = writeln!(err, "warroom: \"{text}\" is not a date (YYYY-MM-DD or RFC 3339)");
                    return USAGE;
                }
            },
        };
        match file::scan(&ctx.store.audit().file) {
            Ok(scan) => export::audit(&scan.records, since),
            Err(e) => return journal_error(err, &e),
        }
    } else {
        let (Some(format), Some(profile)) = (Format::parse(args.format), Profile::parse(args.profile)) else {
            let _ = writeln!(
                err,
                "warroom: --format is md, json, csv or html and --profile is internal or public"
            );
            return USAGE;
        };
        let id = match ctx.resolve(None) {
            Ok(id) => id,
            Err(e) => return store_error(err, &e),
        };
        let scan = match file::scan(&ctx.store.incident(&id).file) {
            Ok(s) => s,
            Err(e) => return journal_error(err, &e),
        };
        export::render(
            &ExportInput {
                incident_id: &id,
                records: &scan.records,
                version: env!("CARGO_PKG_VERSION"),
            },
            format,
            profile,
        )
    };
    match args.output {
        Some(path) => match write_atomically(path, text.as_bytes()) {
            Ok(()) => {
                let _ = writeln!(err, "wrote {}", path.display());
                OK
            }
            Err(e) => {
                let _ = writeln!(err, "warroom: cannot write {}: {e}", path.display());
                FAILED
            }
        },
        None => {
            let _ = out.write_all(text.as_bytes());
            OK
        }
    }
}
