//! Timeline events: the closed vocabulary of what responders saw and did, each with who, when and a
//! one-line summary. The journal persists them; this module only describes them. Entries are never
//! edited: a correction is a new entry that `supersedes` the one it corrects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::incident::{IncidentSeverity, IncidentStatus, Milestone, Role};
use super::runbook::StepState;

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// ULID, unique across hosts and sortable by creation time.
    pub id: String,
    /// When it happened (a correction may move it).
    pub occurred_at: DateTime<Utc>,
    /// When it was written (never edited).
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub event: Event,
    /// The entry this one corrects or retracts.
    pub supersedes: Option<String>,
    /// Whether the entry is safely stored; the pane marks anything else.
    pub durability: Durability,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written and synced to disk.
    Durable,
    /// Handed to the writer, not yet synced.
    #[default]
    Pending,
    /// Kept in memory only: no incident is open, or the demo keeps no journal.
    MemoryOnly,
}

/// Who records automatic observations.
pub const SYSTEM_ACTOR: &str = "warroom";

/// The closed vocabulary. On disk an event is `"kind": "<name>"` plus its fields in `"data"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum Event {
    #[serde(rename = "incident.declared")]
    IncidentDeclared {
        title: String,
        severity: IncidentSeverity,
        commander: Option<String>,
    },
    #[serde(rename = "status.changed")]
    StatusChanged { status: IncidentStatus },
    #[serde(rename = "severity.changed")]
    SeverityChanged { severity: IncidentSeverity },
    #[serde(rename = "role.assigned")]
    RoleAssigned { role: Role, person: String },
    #[serde(rename = "milestone.set")]
    Milestone { milestone: Milestone },
    #[serde(rename = "note")]
    Note {
        text: String,
        /// Shown in public exports; notes are internal by default.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        public: bool,
    },
    #[serde(rename = "alert.fired")]
    AlertFired {
        alertname: String,
        fingerprint: String,
        severity: String,
        summary: String,
    },
    #[serde(rename = "alert.resolved")]
    AlertResolved {
        alertname: String,
        fingerprint: String,
        /// The start of the firing that ended (absent in records of earlier versions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started_at: Option<DateTime<Utc>>,
    },
    /// A silence was created in Alertmanager.
    #[serde(rename = "silence.created")]
    SilenceCreated {
        id: String,
        matchers: String,
        ends_at: DateTime<Utc>,
        comment: String,
        /// The active alerts it matched when it was created.
        matched: usize,
    },
    /// A silence was extended (Alertmanager may give the extended silence a new id).
    #[serde(rename = "silence.extended")]
    SilenceExtended {
        id: String,
        previous_id: String,
        matchers: String,
        ends_at: DateTime<Utc>,
    },
    #[serde(rename = "silence.expired")]
    SilenceExpired { id: String, matchers: String },
    /// A silence action that did not take effect (or whose effect is unknown).
    #[serde(rename = "silence.failed")]
    SilenceFailed {
        action: String,
        matchers: String,
        error: String,
    },
    #[serde(rename = "deploy.observed")]
    DeployObserved {
        version: String,
        environment: String,
        status: String,
        rollback: bool,
    },
    #[serde(rename = "source.down")]
    SourceStale { source: String, error: String },
    #[serde(rename = "source.up")]
    SourceRecovered { source: String },
    #[serde(rename = "runbook.attached")]
    RunbookAttached { runbook: String, title: String },
    #[serde(rename = "runbook.step")]
    StepChanged {
        runbook: String,
        step: String,
        state: StepState,
        reason: Option<String>,
    },
    #[serde(rename = "slo.state")]
    SloStateChanged {
        slo: String,
        state: String,
        burn_1h: Option<f64>,
        burn_5m: Option<f64>,
        budget_remaining: Option<f64>,
    },
    /// A confirmed rollback was sent: from which version to which, how (`command`, `argocd`,
    /// `github`) and the call as shown to the responder.
    #[serde(rename = "rollback.started")]
    RollbackStarted {
        /// The `[[deploys]]` entry (absent in records from before it was kept).
        #[serde(default)]
        entry: String,
        service: String,
        environment: String,
        from: String,
        to: String,
        method: String,
        call: String,
    },
    /// How the rollback call ended. `uncertain`: it may have taken effect even though it failed
    /// (a timeout): the deploy system must be checked before trying again.
    #[serde(rename = "rollback.finished")]
    RollbackFinished {
        #[serde(default)]
        entry: String,
        service: String,
        to: String,
        method: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        uncertain: bool,
        outcome: String,
        duration_ms: u64,
        /// A command rollback's saved output, and its SHA-256.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        saved_to: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// The smoke checks (probes) run right after a rollback finished, and how each came out.
    #[serde(rename = "rollback.smoke_checked")]
    SmokeChecked { ok: bool, results: Vec<String> },
    /// A canary watch started (`:watch canary 30m`, or by itself after a deploy of an entry
    /// with `canary` set, which `deploy` names).
    #[serde(rename = "canary.started")]
    CanaryStarted {
        minutes: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deploy: Option<String>,
    },
    /// Its verdict: promote, roll back, or held by the release gate.
    #[serde(rename = "canary.verdict")]
    CanaryVerdict {
        verdict: String,
        reason: String,
        worst: String,
        peak_burn_1h: f64,
    },
    /// Changes ranked as suspects when a paging alert fired (change correlation), best first.
    #[serde(rename = "change.suspects")]
    SuspectsRanked { alert: String, suspects: Vec<String> },
    /// The mitigation plan the error-budget policy asks for before releases resume.
    #[serde(rename = "slo.mitigation_plan")]
    MitigationPlan {
        plan: String,
        /// The service it is for, and the SLOs exhausted when it was recorded (absent in older
        /// records).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        service: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        slos: Vec<String>,
    },
    /// A runbook input was set (`:input`): its value, or none for a secret input (only that it
    /// was set). Restored in every cockpit that reads the journal.
    #[serde(rename = "runbook.input")]
    InputSet {
        runbook: String,
        name: String,
        value: Option<String>,
    },
    /// A runbook command step ran (the command as shown, secrets masked).
    #[serde(rename = "runbook.run")]
    StepRan {
        runbook: String,
        step: String,
        command: String,
        exit_code: Option<i32>,
        signal: Option<i32>,
        timed_out: bool,
        duration_ms: u64,
        output_bytes: u64,
        truncated: bool,
        /// SHA-256 of the saved, redacted output.
        digest: String,
        saved_to: Option<String>,
        error: Option<String>,
    },
    /// A responder declined to run a command step at its confirmation.
    #[serde(rename = "runbook.refused")]
    StepRefused {
        runbook: String,
        step: String,
        command: String,
        risk: String,
    },
    /// A log line a responder pinned as evidence (redacted like every entry before it is stored).
    #[serde(rename = "log.pinned")]
    LogPinned {
        source: String,
        /// The source's query (LogQL) or file/command, when it has one.
        origin: Option<String>,
        /// Loki stream labels of the line, when known.
        stream: Option<String>,
        logged_at: DateTime<Utc>,
        line: String,
    },
    /// Marks an entry for the postmortem's timeline.
    #[serde(rename = "entry.pinned")]
    Pinned { target: String },
    #[serde(rename = "entry.unpinned")]
    Unpinned { target: String },
    /// Withdraws the entry named by the record's `supersedes`.
    #[serde(rename = "entry.retracted")]
    Retracted { reason: String },
}

/// Every kind name, for filters and documentation.
pub const KINDS: [&str; 32] = [
    "incident.declared",
    "status.changed",
    "severity.changed",
    "role.assigned",
    "milestone.set",
    "note",
    "alert.fired",
    "alert.resolved",
    "silence.created",
    "silence.extended",
    "silence.expired",
    "silence.failed",
    "deploy.observed",
    "change.suspects",
    "canary.started",
    "rollback.started",
    "rollback.finished",
    "rollback.smoke_checked",
    "canary.verdict",
    "source.down",
    "source.up",
    "runbook.attached",
    "runbook.step",
    "runbook.input",
    "runbook.run",
    "runbook.refused",
    "slo.state",
    "slo.mitigation_plan",
    "log.pinned",
    "entry.pinned",
    "entry.unpinned",
    "entry.retracted",
];

impl Event {
    /// The kind name, as written on disk.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::IncidentDeclared { .. } => "incident.declared",
            Self::StatusChanged { .. } => "status.changed",
            Self::SeverityChanged { .. } => "severity.changed",
            Self::RoleAssigned { .. } => "role.assigned",
            Self::Milestone { .. } => "milestone.set",
            Self::Note { .. } => "note",
            Self::AlertFired { .. } => "alert.fired",
            Self::AlertResolved { .. } => "alert.resolved",
            Self::SilenceCreated { .. } => "silence.created",
            Self::SilenceExtended { .. } => "silence.extended",
            Self::SilenceExpired { .. } => "silence.expired",
            Self::SilenceFailed { .. } => "silence.failed",
            Self::DeployObserved { .. } => "deploy.observed",
            Self::SuspectsRanked { .. } => "change.suspects",
            Self::CanaryStarted { .. } => "canary.started",
            Self::RollbackStarted { .. } => "rollback.started",
            Self::RollbackFinished { .. } => "rollback.finished",
            Self::SmokeChecked { .. } => "rollback.smoke_checked",
            Self::CanaryVerdict { .. } => "canary.verdict",
            Self::SourceStale { .. } => "source.down",
            Self::SourceRecovered { .. } => "source.up",
            Self::RunbookAttached { .. } => "runbook.attached",
            Self::StepChanged { .. } => "runbook.step",
            Self::InputSet { .. } => "runbook.input",
            Self::StepRan { .. } => "runbook.run",
            Self::StepRefused { .. } => "runbook.refused",
            Self::SloStateChanged { .. } => "slo.state",
            Self::MitigationPlan { .. } => "slo.mitigation_plan",
            Self::LogPinned { .. } => "log.pinned",
            Self::Pinned { .. } => "entry.pinned",
            Self::Unpinned { .. } => "entry.unpinned",
            Self::Retracted { .. } => "entry.retracted",
        }
    }

    /// The short category shown in the timeline's kind column.
    pub fn category(&self) -> &'static str {
        match self {
            Self::IncidentDeclared { .. } | Self::StatusChanged { .. } | Self::SeverityChanged { .. } => "incident",
            Self::RoleAssigned { .. } => "role",
            Self::Milestone { .. } => "milestone",
            Self::Note { .. } => "note",
            Self::AlertFired { .. } | Self::AlertResolved { .. } => "alert",
            Self::SilenceCreated { .. }
            | Self::SilenceExtended { .. }
            | Self::SilenceExpired { .. }
            | Self::SilenceFailed { .. } => "silence",
            Self::DeployObserved { .. }
            | Self::SuspectsRanked { .. }
            | Self::CanaryStarted { .. }
            | Self::CanaryVerdict { .. }
            | Self::RollbackStarted { .. }
            | Self::RollbackFinished { .. }
            | Self::SmokeChecked { .. } => "deploy",
            Self::SourceStale { .. } | Self::SourceRecovered { .. } => "source",
            Self::RunbookAttached { .. }
            | Self::StepChanged { .. }
            | Self::InputSet { .. }
            | Self::StepRan { .. }
            | Self::StepRefused { .. } => "runbook",
            Self::SloStateChanged { .. } | Self::MitigationPlan { .. } => "slo",
            Self::Pinned { .. } | Self::Unpinned { .. } => "pin",
            Self::LogPinned { .. } => "log",
            Self::Retracted { .. } => "retract",
        }
    }

    /// A one-character symbol per category, so the kind reads without colour.
    pub fn symbol(&self) -> &'static str {
        match self.category() {
            "incident" => "◆",
            "role" => "☺",
            "milestone" => "⚑",
            "note" => "✎",
            "alert" => "●",
            "silence" => "◌",
            "deploy" => "⇪",
            "source" => "⚠",
            "runbook" => "☑",
            "slo" => "▼",
            "pin" => "★",
            "log" => "≡",
            _ => "↶",
        }
    }

    /// Whether a person did this (as opposed to the cockpit observing it).
    pub fn is_human(&self) -> bool {
        !matches!(
            self,
            Self::AlertFired { .. }
                | Self::AlertResolved { .. }
                | Self::DeployObserved { .. }
                | Self::SourceStale { .. }
                | Self::SourceRecovered { .. }
                | Self::SloStateChanged { .. }
                | Self::SuspectsRanked { .. }
        )
    }

    /// Whether the event changes the incident's lifecycle (also written to the audit log).
    pub fn is_lifecycle(&self) -> bool {
        matches!(
            self,
            Self::IncidentDeclared { .. }
                | Self::StatusChanged { .. }
                | Self::SeverityChanged { .. }
                | Self::RoleAssigned { .. }
                | Self::Milestone { .. }
        )
    }

    /// Whether the event goes to the audit log: lifecycle changes and every action on the world
    /// (silences), with or without an incident open.
    pub fn is_audited(&self) -> bool {
        self.is_lifecycle()
            || matches!(
                self,
                Self::SilenceCreated { .. }
                    | Self::SilenceExtended { .. }
                    | Self::SilenceExpired { .. }
                    | Self::SilenceFailed { .. }
                    | Self::StepRan { .. }
                    | Self::StepRefused { .. }
                    | Self::MitigationPlan { .. }
                    | Self::CanaryStarted { .. }
                    | Self::CanaryVerdict { .. }
                    | Self::RollbackStarted { .. }
                    | Self::RollbackFinished { .. }
                    | Self::SmokeChecked { .. }
                    // So the audit log's copy of an audited record can be seen withdrawn.
                    | Self::Retracted { .. }
            )
    }

    /// Whether the entry may appear in a public export.
    pub fn is_public(&self) -> bool {
        match self {
            Self::Note { public, .. } => *public,
            Self::SourceStale { .. } | Self::SourceRecovered { .. } | Self::RoleAssigned { .. } => false,
            Self::Pinned { .. } | Self::Unpinned { .. } | Self::Retracted { .. } => false,
            Self::LogPinned { .. } | Self::InputSet { .. } => false,
            Self::SilenceCreated { .. }
            | Self::SilenceExtended { .. }
            | Self::SilenceExpired { .. }
            | Self::SilenceFailed { .. } => false,
            _ => true,
        }
    }

    /// One line describing the event.
    pub fn summary(&self) -> String {
        match self {
            Self::IncidentDeclared {
                title,
                severity,
                commander,
            } => match commander {
                Some(c) => format!("declared {} \"{title}\", commander {c}", severity.word()),
                None => format!("declared {} \"{title}\"", severity.word()),
            },
            Self::StatusChanged { status } => format!("status → {}", status.word()),
            Self::SeverityChanged { severity } => format!("severity → {}", severity.word()),
            Self::RoleAssigned { role, person } => format!("{} → {person}", role.word()),
            Self::Milestone { milestone } => format!("milestone: {}", milestone.word()),
            Self::Note { text, .. } => text.clone(),
            Self::AlertFired {
                alertname,
                severity,
                summary,
                ..
            } => {
                if summary.is_empty() {
                    format!("{alertname} firing ({severity})")
                } else {
                    format!("{alertname} firing ({severity}): {summary}")
                }
            }
            Self::AlertResolved { alertname, .. } => format!("{alertname} resolved"),
            Self::SilenceCreated {
                matchers,
                ends_at,
                comment,
                matched,
                ..
            } => format!(
                "silenced {{{matchers}}} until {} UTC ({matched} alert{} matched): {comment}",
                ends_at.format("%Y-%m-%d %H:%M"),
                if *matched == 1 { "" } else { "s" }
            ),
            Self::SilenceExtended { matchers, ends_at, .. } => format!(
                "silence {{{matchers}}} extended until {} UTC",
                ends_at.format("%Y-%m-%d %H:%M")
            ),
            Self::SilenceExpired { matchers, .. } => format!("silence {{{matchers}}} expired"),
            Self::SilenceFailed {
                action,
                matchers,
                error,
            } => {
                format!("silence {action} {{{matchers}}} FAILED: {error}")
            }
            Self::DeployObserved {
                version,
                environment,
                status,
                rollback,
            } => {
                let what = if *rollback { "rollback to" } else { "deploy" };
                format!("{what} {version} in {environment}: {status}")
            }
            Self::SourceStale { source, error } => format!("{source} stale: {error}"),
            Self::SourceRecovered { source } => format!("{source} recovered"),
            Self::RunbookAttached { title, .. } => format!("runbook attached: {title}"),
            Self::StepChanged {
                step, state, reason, ..
            } => match reason {
                Some(r) => format!("step {step} {}: {r}", state.word()),
                None => format!("step {step} {}", state.word()),
            },
            Self::SloStateChanged {
                slo,
                state,
                burn_1h,
                burn_5m,
                budget_remaining,
            } => {
                let fmt = |b: &Option<f64>| b.map_or("—".to_string(), |b| format!("{b:.1}x"));
                let budget = budget_remaining.map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
                format!(
                    "SLO {slo} → {state} (burn 1h {}, 5m {}, budget left {budget})",
                    fmt(burn_1h),
                    fmt(burn_5m)
                )
            }
            Self::Pinned { target } => format!("pinned {}", short_id(target)),
            Self::Unpinned { target } => format!("unpinned {}", short_id(target)),
            Self::Retracted { reason } => format!("retracted: {reason}"),
            Self::LogPinned { source, line, .. } => format!("log {source}: {line}"),
            Self::SmokeChecked { ok, results } => format!(
                "smoke checks after the rollback: {} ({})",
                if *ok { "pass" } else { "FAIL" },
                results.join("; ")
            ),
            Self::CanaryStarted { minutes, deploy } => match deploy {
                Some(d) => format!("canary watch started: {minutes} minutes after deploy {d}"),
                None => format!("canary watch started: {minutes} minutes"),
            },
            Self::RollbackStarted {
                service,
                environment,
                from,
                to,
                method,
                call,
                ..
            } => format!("rollback of {service} in {environment} from {from} to {to} started ({method}: {call})"),
            Self::RollbackFinished {
                service,
                to,
                ok,
                uncertain,
                outcome,
                ..
            } => {
                let how = match (ok, uncertain) {
                    (true, _) => "done",
                    (false, true) => "OUTCOME UNKNOWN",
                    (false, false) => "FAILED",
                };
                format!("rollback of {service} to {to} {how}: {outcome}")
            }
            Self::CanaryVerdict {
                verdict,
                reason,
                worst,
                peak_burn_1h,
            } => format!(
                "canary verdict: {verdict} ({reason}; worst SLO state {worst}, peak 1h burn {peak_burn_1h:.1}x)"
            ),
            Self::SuspectsRanked { alert, suspects } => match suspects.first() {
                Some(first) => format!(
                    "suspects for {alert}: {first}{}",
                    if suspects.len() > 1 {
                        format!(" (+{} more)", suspects.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                None => format!("no change in the 2 h before {alert}"),
            },
            Self::MitigationPlan { plan, slos, .. } if !slos.is_empty() => {
                format!(
                    "mitigation plan for the exhausted error budget ({}): {plan}",
                    slos.join(", ")
                )
            }
            Self::MitigationPlan { plan, .. } => format!("mitigation plan for the exhausted error budget: {plan}"),
            Self::InputSet { runbook, name, value } => match value {
                Some(v) => format!("{runbook} input {name} = {v}"),
                None => format!("{runbook} input {name} set (secret, not recorded)"),
            },
            Self::StepRan {
                step,
                command,
                exit_code,
                signal,
                timed_out,
                duration_ms,
                digest,
                error,
                ..
            } => {
                let outcome = match (error, timed_out, exit_code, signal) {
                    (Some(e), _, _, _) => format!("could not run: {e}"),
                    (None, true, _, _) => "timed out, killed".to_string(),
                    (None, false, Some(code), _) => format!("exit {code}"),
                    (None, false, None, Some(sig)) => format!("killed by signal {sig}"),
                    _ => "ended".to_string(),
                };
                let digest = digest.get(..12).unwrap_or(digest);
                format!(
                    "ran {step}: `{command}` → {outcome} in {:.1}s (output sha256 {digest}…)",
                    *duration_ms as f64 / 1000.0
                )
            }
            Self::StepRefused {
                step, command, risk, ..
            } => {
                format!("declined to run {step} ({risk}): `{command}`")
            }
        }
    }
}

/// The last eight characters of an id: enough to tell entries apart on screen.
pub fn short_id(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_kind_and_data_and_back() {
        let e = Event::Note {
            text: "db failover started".into(),
            public: false,
        };
        let json = serde_json::to_string(&e).unwrap_or_default();
        assert_eq!(json, r#"{"kind":"note","data":{"text":"db failover started"}}"#);
        assert_eq!(serde_json::from_str::<Event>(&json).ok(), Some(e));
        let m = Event::Milestone {
            milestone: Milestone::Detected,
        };
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert_eq!(json, r#"{"kind":"milestone.set","data":{"milestone":"detected"}}"#);
    }

    #[test]
    fn every_kind_is_listed_and_unique() {
        let mut kinds = KINDS.to_vec();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len());
        for e in [
            Event::Note {
                text: String::new(),
                public: false,
            },
            Event::Pinned { target: String::new() },
            Event::Retracted { reason: String::new() },
        ] {
            assert!(KINDS.contains(&e.kind()));
        }
    }
}
