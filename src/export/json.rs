//! The incident as one pretty-printed JSON object: facts, milestones, durations (ISO 8601), roles,
//! the head hash, and the current entries. Keys come in a fixed order (structs, not maps). The
//! internal profile also lists superseded entries with what replaced them; public leaves them out.

use serde::Serialize;

use super::view::{Replaced, Row, View};
use super::{iso_duration, rfc3339};

#[derive(Serialize)]
struct Export<'a> {
    incident_id: &'a str,
    title: Option<&'a str>,
    status: Option<&'a str>,
    severity: Option<&'a str>,
    owner: Option<&'a str>,
    milestones: Milestones,
    durations: Durations,
    roles: Vec<RoleOut<'a>>,
    head_hash: &'a str,
    warroom_version: &'a str,
    profile: &'a str,
    timezone: &'a str,
    entries: Vec<Entry<'a>>,
    superseded: Vec<SupersededEntry<'a>>,
}

#[derive(Serialize)]
struct Milestones {
    started: Option<String>,
    detected: Option<String>,
    acknowledged: Option<String>,
    mitigated: Option<String>,
    resolved: Option<String>,
}

#[derive(Serialize)]
struct Durations {
    ttd: Option<String>,
    tta: Option<String>,
    ttm: Option<String>,
    ttr: Option<String>,
}

#[derive(Serialize)]
struct RoleOut<'a> {
    role: &'a str,
    person: &'a str,
    from: String,
    to: Option<String>,
}

#[derive(Serialize)]
struct Entry<'a> {
    id: &'a str,
    time: String,
    kind: &'a str,
    actor: &'a str,
    summary: &'a str,
    pinned: bool,
    supersedes: Option<&'a str>,
}

#[derive(Serialize)]
struct SupersededEntry<'a> {
    id: &'a str,
    time: String,
    kind: &'a str,
    actor: &'a str,
    summary: &'a str,
    superseded_by: &'a str,
    /// `corrected` or `retracted`.
    how: &'a str,
    reason: Option<&'a str>,
}

fn entry(r: &Row) -> Entry<'_> {
    Entry {
        id: &r.id,
        time: rfc3339(r.occurred_at),
        kind: r.kind,
        actor: &r.actor,
        summary: &r.summary,
        pinned: r.pinned,
        supersedes: r.supersedes.as_deref(),
    }
}

pub(crate) fn render(v: &View) -> String {
    let m = |name: &str| v.milestone(name).map(rfc3339);
    let d = |name: &str| v.duration(name).map(iso_duration);
    let export = Export {
        incident_id: &v.incident_id,
        title: v.title.as_deref(),
        status: v.status,
        severity: v.severity,
        owner: v.owner.as_deref(),
        milestones: Milestones {
            started: m("started"),
            detected: m("detected"),
            acknowledged: m("acknowledged"),
            mitigated: m("mitigated"),
            resolved: m("resolved"),
        },
        durations: Durations {
            ttd: d("ttd"),
            tta: d("tta"),
            ttm: d("ttm"),
            ttr: d("ttr"),
        },
        roles: v
            .roles
            .iter()
            .map(|r| RoleOut {
                role: r.role,
                person: &r.person,
                from: rfc3339(r.from),
                to: r.to.map(rfc3339),
            })
            .collect(),
        head_hash: &v.head_hash,
        warroom_version: &v.version,
        profile: v.profile.word(),
        timezone: "UTC",
        entries: v.current().map(entry).collect(),
        superseded: v
            .rows
            .iter()
            .filter_map(|r| {
                let (by, how, reason) = match r.replaced.as_ref()? {
                    Replaced::Corrected { by } => (by.as_str(), "corrected", None),
                    Replaced::Retracted { by, reason } => (by.as_str(), "retracted", Some(reason.as_str())),
                };
                Some(SupersededEntry {
                    id: &r.id,
                    time: rfc3339(r.occurred_at),
                    kind: r.kind,
                    actor: &r.actor,
                    summary: &r.summary,
                    superseded_by: by,
                    how,
                    reason,
                })
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&export)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
    out.push('\n');
    out
}
