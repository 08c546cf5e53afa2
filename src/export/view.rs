//! The export's view of one journal under a profile: which entries are shown, in what order, with
//! which names and text (sanitised; in public, strictly redacted and with people named by role),
//! plus everything the postmortem derives from them (milestones, roles, runbook steps, deploys in
//! the correlation window, time at each severity). Every writer renders from this and only this.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use regex::Regex;

use super::{ExportInput, Profile};
use crate::domain::incident::{Incident, IncidentSeverity, Milestone};
use crate::domain::redact::{RedactionRules, Redactor};
use crate::domain::sanitize::one_line;
use crate::domain::timeline::{Event, SYSTEM_ACTOR, TimelineEntry};
use crate::journal::record::{GENESIS, Record};

/// The milestones in the order they are shown.
pub(crate) const MILESTONES: [Milestone; 5] = [
    Milestone::Started,
    Milestone::Detected,
    Milestone::Acknowledged,
    Milestone::Mitigated,
    Milestone::Resolved,
];

/// How far before the start (or detection, if earlier) a deploy counts for change correlation.
pub(crate) const CORRELATION_WINDOW_HOURS: i64 = 2;
/// A deploy this close before detection is a likely suspect.
pub(crate) const LIKELY_SUSPECT_MINUTES: i64 = 30;

/// One timeline entry as shown.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub kind: &'static str,
    pub actor: String,
    pub summary: String,
    pub pinned: bool,
    pub supersedes: Option<String>,
    /// Set when a later entry corrected or retracted this one (listed in the internal profile only).
    pub replaced: Option<Replaced>,
}

impl Row {
    pub fn is_current(&self) -> bool {
        self.replaced.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Replaced {
    Corrected { by: String },
    Retracted { by: String, reason: String },
}

/// One holder of one role, from `from` until the next holder (`None`: until the end).
#[derive(Debug, Clone)]
pub(crate) struct RoleSpan {
    pub role: &'static str,
    pub person: String,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// One `runbook.step` entry.
#[derive(Debug, Clone)]
pub(crate) struct StepRow {
    pub runbook_id: String,
    /// The runbook's title and id where it was attached, else its id.
    pub runbook: String,
    pub step: String,
    pub state: &'static str,
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// One deploy in the change-correlation window.
#[derive(Debug, Clone)]
pub(crate) struct DeployRow {
    pub id: String,
    pub at: DateTime<Utc>,
    pub version: String,
    pub environment: String,
    pub status: String,
    pub rollback: bool,
    /// `likely`, `possible`, or `rollback` (a rollback is a mitigation, not a suspect).
    pub suspect: &'static str,
}

/// Time spent at one severity: closed spans summed, plus the start of a span still open.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeverityTime {
    pub total: Duration,
    pub open_since: Option<DateTime<Utc>>,
}

/// The last state recorded for one SLO.
#[derive(Debug, Clone)]
pub(crate) struct SloRow {
    pub slo: String,
    pub state: String,
    pub budget_remaining: Option<f64>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct View {
    pub profile: Profile,
    pub incident_id: String,
    pub version: String,
    pub head_hash: String,
    pub record_count: usize,
    /// Whether the journal holds a (current) declaration.
    pub declared: bool,
    pub title: Option<String>,
    pub status: Option<&'static str>,
    pub severity: Option<&'static str>,
    /// The commander at the end.
    pub owner: Option<String>,
    /// Distinct people who recorded something, in order of first appearance.
    pub authors: Vec<String>,
    pub milestones: Vec<(&'static str, Option<DateTime<Utc>>)>,
    /// `ttd`, `tta`, `ttm`, `ttr`.
    pub durations: Vec<(&'static str, Option<Duration>)>,
    pub roles: Vec<RoleSpan>,
    /// The timeline, sorted by occurred_at, recorded_at, id. In the internal profile this includes
    /// superseded entries (`replaced` set); writers of current data filter on `is_current`.
    pub rows: Vec<Row>,
    pub steps: Vec<StepRow>,
    /// Runbooks attached, in order: (id, title).
    pub runbooks: Vec<(String, String)>,
    pub deploys: Vec<DeployRow>,
    /// The change-correlation window: from, and until (`None`: still open).
    pub window: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Deploys observed before the window (not listed).
    pub deploys_before_window: usize,
    /// Changes the cockpit ranked as suspects when a paging alert fired: (when, alert, reasons).
    pub ranked: Vec<(DateTime<Utc>, String, Vec<String>)>,
    pub severity_time: BTreeMap<IncidentSeverity, SeverityTime>,
    /// Alerts fired: (name, when).
    pub alerts: Vec<(String, DateTime<Utc>)>,
    pub slos: Vec<SloRow>,
    /// Rules that fired when records were written, and how many records were redacted.
    pub write_redaction: (Vec<String>, usize),
}

impl View {
    pub fn build(input: &ExportInput<'_>, profile: Profile) -> View {
        let records = input.records;
        let entries: Vec<TimelineEntry> = records.iter().map(Record::entry).collect();
        let incident = Incident::from_entries(&entries);
        let mut order: Vec<&Record> = records.iter().collect();
        order.sort_by(|a, b| {
            (a.body.occurred_at, a.body.recorded_at, &a.body.id).cmp(&(
                b.body.occurred_at,
                b.body.recorded_at,
                &b.body.id,
            ))
        });

        // What supersedes what (the last such entry in file order wins), and what is still live.
        let mut replaced: BTreeMap<&str, Replaced> = BTreeMap::new();
        for r in records {
            if let Some(target) = r.body.supersedes.as_deref() {
                let by = r.body.id.clone();
                let why = match &r.body.event {
                    Event::Retracted { reason } => Replaced::Retracted {
                        by,
                        reason: reason.clone(),
                    },
                    _ => Replaced::Corrected { by },
                };
                replaced.insert(target, why);
            }
        }
        let live: Vec<&Record> = order
            .iter()
            .copied()
            .filter(|r| !replaced.contains_key(r.body.id.as_str()))
            .collect();
        let pinned = pinned_ids(records, &replaced);

        let scrub = Scrub::new(profile, &order, incident.as_ref());

        let mut rows = Vec::new();
        for r in &order {
            let event = &r.body.event;
            if matches!(
                event,
                Event::Pinned { .. } | Event::Unpinned { .. } | Event::Retracted { .. }
            ) {
                continue;
            }
            let gone = replaced.get(r.body.id.as_str());
            if profile == Profile::Public && (gone.is_some() || !event.is_public()) {
                continue;
            }
            let summary = match (profile, event) {
                (Profile::Public, Event::IncidentDeclared { title, severity, .. }) => Event::IncidentDeclared {
                    title: title.clone(),
                    severity: *severity,
                    commander: None,
                }
                .summary(),
                _ if r.body.summary.is_empty() => event.summary(),
                _ => r.body.summary.clone(),
            };
            rows.push(Row {
                id: r.body.id.clone(),
                occurred_at: r.body.occurred_at,
                recorded_at: r.body.recorded_at,
                kind: event.kind(),
                actor: scrub.actor(&r.body.actor),
                summary: scrub.text(&summary),
                pinned: pinned.contains(r.body.id.as_str()),
                supersedes: r.body.supersedes.clone(),
                replaced: gone.map(|g| match g {
                    Replaced::Corrected { by } => Replaced::Corrected { by: by.clone() },
                    Replaced::Retracted { by, reason } => Replaced::Retracted {
                        by: by.clone(),
                        reason: scrub.text(reason),
                    },
                }),
            });
        }

        let milestones: Vec<(&'static str, Option<DateTime<Utc>>)> = MILESTONES
            .iter()
            .map(|m| (m.word(), incident.as_ref().and_then(|i| i.milestones.get(m).copied())))
            .collect();
        let d = incident.as_ref().map(Incident::durations).unwrap_or_default();
        let durations = vec![("ttd", d.ttd), ("tta", d.tta), ("ttm", d.ttm), ("ttr", d.ttr)];

        let mut roles: Vec<RoleSpan> = Vec::new();
        if let Some(inc) = incident.as_ref() {
            for (i, (role, person, from)) in inc.role_history.iter().enumerate() {
                let to = inc.role_history[i + 1..]
                    .iter()
                    .find(|(r, _, _)| r == role)
                    .map(|(_, _, at)| *at);
                roles.push(RoleSpan {
                    role: role.word(),
                    person: scrub.person(person),
                    from: *from,
                    to,
                });
            }
        }

        let mut authors: Vec<String> = Vec::new();
        for r in &order {
            if r.body.event.is_human() && r.body.actor != SYSTEM_ACTOR {
                let name = scrub.person(&r.body.actor);
                if !authors.contains(&name) {
                    authors.push(name);
                }
            }
        }

        let mut runbooks: Vec<(String, String)> = Vec::new();
        let mut steps = Vec::new();
        let mut alerts = Vec::new();
        let mut slos: BTreeMap<String, SloRow> = BTreeMap::new();
        for r in &live {
            match &r.body.event {
                Event::RunbookAttached { runbook, title } => {
                    let id = scrub.text(runbook);
                    if !runbooks.iter().any(|(i, _)| *i == id) {
                        runbooks.push((id, scrub.text(title)));
                    }
                }
                Event::StepChanged {
                    runbook,
                    step,
                    state,
                    reason,
                } => steps.push(StepRow {
                    runbook_id: scrub.text(runbook),
                    runbook: scrub.text(runbook),
                    step: scrub.text(step),
                    state: state.word(),
                    by: scrub.actor(&r.body.actor),
                    at: r.body.occurred_at,
                    reason: reason.as_deref().map(|x| scrub.text(x)),
                }),
                Event::AlertFired { alertname, .. } => alerts.push((scrub.text(alertname), r.body.occurred_at)),
                Event::SloStateChanged {
                    slo,
                    state,
                    budget_remaining,
                    ..
                } => {
                    let row = SloRow {
                        slo: scrub.text(slo),
                        state: scrub.text(state),
                        budget_remaining: *budget_remaining,
                        at: r.body.occurred_at,
                    };
                    slos.insert(row.slo.clone(), row);
                }
                _ => {}
            }
        }
        // Show runbooks by title where one was attached.
        for s in &mut steps {
            if let Some((_, title)) = runbooks.iter().find(|(id, _)| *id == s.runbook_id) {
                s.runbook = format!("{title} ({})", s.runbook);
            }
        }

        let (window, deploys, deploys_before_window) = correlate(incident.as_ref(), &live, &scrub);
        let ranked = live
            .iter()
            .filter_map(|r| match &r.body.event {
                Event::SuspectsRanked { alert, suspects } => Some((
                    r.body.occurred_at,
                    scrub.text(alert),
                    suspects.iter().map(|s| scrub.text(s)).collect(),
                )),
                _ => None,
            })
            .collect();
        let severity_time = incident.as_ref().map(|i| severity_time(i, &live)).unwrap_or_default();

        let mut rules: BTreeSet<String> = BTreeSet::new();
        let mut redacted = 0;
        for r in records {
            if let Some(red) = &r.body.redaction {
                redacted += 1;
                rules.extend(red.rules.iter().map(|x| one_line(x)));
            }
        }

        View {
            profile,
            incident_id: match profile {
                Profile::Internal => one_line(input.incident_id),
                Profile::Public => public_id(input.incident_id),
            },
            version: one_line(input.version),
            head_hash: records.last().map_or_else(|| GENESIS.to_string(), |r| r.hash.clone()),
            record_count: records.len(),
            declared: incident.is_some(),
            title: incident.as_ref().map(|i| scrub.text(&i.title)),
            status: incident.as_ref().map(|i| i.status.word()),
            severity: incident.as_ref().map(|i| i.severity.word()),
            owner: incident
                .as_ref()
                .and_then(|i| i.roles.get(&crate::domain::incident::Role::Commander))
                .map(|p| scrub.person(p)),
            authors,
            milestones,
            durations,
            roles,
            rows,
            steps,
            runbooks,
            deploys,
            window,
            deploys_before_window,
            ranked,
            severity_time,
            alerts,
            slos: slos.into_values().collect(),
            write_redaction: (rules.into_iter().collect(), redacted),
        }
    }

    /// The entries shown as current (what json and csv list).
    pub fn current(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.is_current())
    }

    pub fn milestone(&self, name: &str) -> Option<DateTime<Utc>> {
        self.milestones.iter().find(|(n, _)| *n == name).and_then(|(_, t)| *t)
    }

    pub fn duration(&self, name: &str) -> Option<Duration> {
        self.durations.iter().find(|(n, _)| *n == name).and_then(|(_, d)| *d)
    }
}

/// The incident id as the public profile shows it. An id carries a slug of the title, which may
/// name hosts and people ("db7.corp outage after bob deploy"); the public id keeps only the
/// declaration time (`YYYYMMDD-HHMM`) and the first 8 hex digits of the SHA-256 of the whole id, so
/// it stays stable and tells incidents apart without saying anything the title said.
pub(crate) fn public_id(id: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(id.as_bytes()));
    let bytes = id.as_bytes();
    let dated = bytes.len() >= 13
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'-'
        && bytes[9..13].iter().all(u8::is_ascii_digit);
    match dated {
        true => format!("{}-{}", &id[..13], &hash[..8]),
        false => format!("incident-{}", &hash[..8]),
    }
}

/// Ids pinned at the end: live pins and unpins applied in recording order.
fn pinned_ids<'a>(records: &'a [Record], replaced: &BTreeMap<&str, Replaced>) -> BTreeSet<&'a str> {
    let mut marks: Vec<&Record> = records
        .iter()
        .filter(|r| !replaced.contains_key(r.body.id.as_str()))
        .filter(|r| matches!(r.body.event, Event::Pinned { .. } | Event::Unpinned { .. }))
        .collect();
    marks.sort_by_key(|r| (r.body.recorded_at, r.body.occurred_at));
    let mut pinned = BTreeSet::new();
    for r in marks {
        match &r.body.event {
            Event::Pinned { target } => {
                pinned.insert(target.as_str());
            }
            Event::Unpinned { target } => {
                pinned.remove(target.as_str());
            }
            _ => {}
        }
    }
    pinned
}

/// Deploys from two hours before the start or detection (whichever is earlier) until the
/// resolution, with how suspect each is by time: at most 30 minutes before detection is likely.
#[allow(clippy::type_complexity)]
fn correlate(
    incident: Option<&Incident>,
    live: &[&Record],
    scrub: &Scrub,
) -> (Option<(DateTime<Utc>, Option<DateTime<Utc>>)>, Vec<DeployRow>, usize) {
    let Some(inc) = incident else {
        return (None, Vec::new(), 0);
    };
    let started = inc.started();
    let detected = inc.milestones.get(&Milestone::Detected).copied().unwrap_or(started);
    let from = started.min(detected) - Duration::hours(CORRELATION_WINDOW_HOURS);
    let until = if inc.is_open() {
        None
    } else {
        inc.milestones.get(&Milestone::Resolved).copied()
    };
    let mut rows = Vec::new();
    let mut before = 0;
    for r in live {
        // Deploys the sources saw, and rollbacks sent from the cockpit (a mitigation).
        let (version, environment, status, rollback) = match &r.body.event {
            Event::DeployObserved {
                version,
                environment,
                status,
                rollback,
            } => (version.clone(), environment.clone(), status.clone(), *rollback),
            Event::RollbackFinished { to, ok, uncertain, .. } => {
                let status = match (ok, uncertain) {
                    (true, _) => "sent: OK",
                    (false, true) => "sent: OUTCOME UNKNOWN",
                    (false, false) => "sent: FAILED",
                };
                (to.clone(), String::new(), status.to_string(), true)
            }
            _ => continue,
        };
        let at = r.body.occurred_at;
        if at < from {
            before += 1;
            continue;
        }
        if until.is_some_and(|u| at > u) {
            continue;
        }
        let suspect = if rollback {
            "rollback"
        } else if at <= detected && detected - at <= Duration::minutes(LIKELY_SUSPECT_MINUTES) {
            "likely"
        } else {
            "possible"
        };
        rows.push(DeployRow {
            id: r.body.id.clone(),
            at,
            version: scrub.text(&version),
            environment: scrub.text(&environment),
            status: scrub.text(&status),
            rollback,
            suspect,
        });
    }
    (Some((from, until)), rows, before)
}

/// Time at each severity, from the start to the resolution: the declared severity, then each live
/// severity change in time order.
fn severity_time(inc: &Incident, live: &[&Record]) -> BTreeMap<IncidentSeverity, SeverityTime> {
    let start = inc.started();
    let declared = live
        .iter()
        .filter_map(|r| match &r.body.event {
            Event::IncidentDeclared { severity, .. } => Some((r.body.recorded_at, r.body.occurred_at, *severity)),
            _ => None,
        })
        .max_by_key(|(rec, occ, _)| (*rec, *occ))
        .map_or(inc.severity, |(_, _, s)| s);
    let mut changes: Vec<(DateTime<Utc>, IncidentSeverity)> = vec![(start, declared)];
    for r in live {
        if let Event::SeverityChanged { severity } = r.body.event {
            changes.push((r.body.occurred_at.max(start), severity));
        }
    }
    changes.sort_by_key(|(at, _)| *at);
    let end = if inc.is_open() {
        None
    } else {
        inc.milestones.get(&Milestone::Resolved).copied()
    };
    let mut out: BTreeMap<IncidentSeverity, SeverityTime> = BTreeMap::new();
    for (i, (at, sev)) in changes.iter().enumerate() {
        let slot = out.entry(*sev).or_default();
        match changes.get(i + 1).map(|(next, _)| *next).or(end) {
            Some(next) => slot.total += (next - *at).max(Duration::zero()),
            None => slot.open_since = Some(*at),
        }
    }
    out.retain(|_, t| t.total > Duration::zero() || t.open_since.is_some());
    out
}

/// Text and names as the profile shows them. Internal: sanitised to one line. Public: also strictly
/// redacted, and every known person's name replaced by their role or "responder N".
struct Scrub {
    public: Option<Public>,
}

struct Public {
    redactor: Redactor,
    /// Lower-cased name → alias.
    aliases: BTreeMap<String, String>,
    /// Matches any known name (case-insensitive, on word boundaries).
    names: Option<Regex>,
}

impl Scrub {
    fn new(profile: Profile, order: &[&Record], incident: Option<&Incident>) -> Scrub {
        if profile == Profile::Internal {
            return Scrub { public: None };
        }
        // People holding a role are named by the role they held first ("commander 2" for the next
        // one); everyone else, in order of first appearance, is "responder N".
        let mut aliases: BTreeMap<String, String> = BTreeMap::new();
        let mut per_role: BTreeMap<&str, usize> = BTreeMap::new();
        for (role, person, _) in incident.map(|i| i.role_history.as_slice()).unwrap_or_default() {
            aliases.entry(person.to_lowercase()).or_insert_with(|| {
                let n = per_role.entry(role.word()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    role.word().to_string()
                } else {
                    format!("{} {n}", role.word())
                }
            });
        }
        let mut responders = 0;
        for r in order {
            let mut people = vec![r.body.actor.as_str()];
            match &r.body.event {
                Event::IncidentDeclared { commander: Some(c), .. } => people.push(c),
                Event::RoleAssigned { person, .. } => people.push(person),
                _ => {}
            }
            for p in people {
                let key = p.to_lowercase();
                if p != SYSTEM_ACTOR && !p.trim().is_empty() && !aliases.contains_key(&key) {
                    responders += 1;
                    aliases.insert(key, format!("responder {responders}"));
                }
            }
        }
        let mut names: Vec<&String> = aliases.keys().collect();
        names.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        let alternatives: Vec<String> = names
            .iter()
            .map(|n| {
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                let (pre, post) = (
                    if word(n.chars().next()) { r"\b" } else { "" },
                    if word(n.chars().last()) { r"\b" } else { "" },
                );
                format!("{pre}{}{post}", regex::escape(n))
            })
            .collect();
        let names = if alternatives.is_empty() {
            None
        } else {
            Regex::new(&format!("(?i)(?:{})", alternatives.join("|"))).ok()
        };
        Scrub {
            public: Some(Public {
                redactor: Redactor::new(RedactionRules::strict()),
                aliases,
                names,
            }),
        }
    }

    /// Free text: a title, summary, reason, name of a thing.
    fn text(&self, s: &str) -> String {
        let s = one_line(s);
        let Some(p) = &self.public else {
            return s;
        };
        let (redacted, _) = p.redactor.redact(&s);
        match &p.names {
            Some(re) => re
                .replace_all(&redacted, |c: &regex::Captures<'_>| {
                    p.aliases
                        .get(&c[0].to_lowercase())
                        .cloned()
                        .unwrap_or_else(|| "responder".to_string())
                })
                .into_owned(),
            None => {
                // The pattern did not compile (it always should): replace names literally.
                let mut out = redacted;
                for (name, alias) in &p.aliases {
                    out = out.replace(name.as_str(), alias);
                }
                out
            }
        }
    }

    /// A person's name: as recorded (internal) or their alias (public).
    fn person(&self, name: &str) -> String {
        match &self.public {
            None => one_line(name),
            Some(p) => p
                .aliases
                .get(&name.to_lowercase())
                .cloned()
                .unwrap_or_else(|| "responder".to_string()),
        }
    }

    /// Who recorded an entry: the cockpit itself keeps its name.
    fn actor(&self, name: &str) -> String {
        if name == SYSTEM_ACTOR {
            name.to_string()
        } else {
            self.person(name)
        }
    }
}
