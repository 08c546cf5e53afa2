//! Timeline events: the closed vocabulary of what responders saw and did, each with who, when and a
//! one-line summary. The journal (a later layer) persists them; this module only describes them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::incident::{IncidentSeverity, IncidentStatus, Milestone, Role};
use super::runbook::StepState;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    #[serde(flatten)]
    pub event: Event,
    /// Whether the entry is safely stored; the pane marks anything else.
    #[serde(skip)]
    pub durability: Durability,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written and synced to disk.
    Durable,
    /// Handed to the writer, not yet synced.
    #[default]
    Pending,
    /// Kept in memory only (the demo, or a journal that cannot be written).
    MemoryOnly,
}

/// Who records automatic observations.
pub const SYSTEM_ACTOR: &str = "warroom";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    IncidentDeclared {
        title: String,
        severity: IncidentSeverity,
        commander: Option<String>,
    },
    StatusChanged {
        status: IncidentStatus,
    },
    SeverityChanged {
        severity: IncidentSeverity,
    },
    RoleAssigned {
        role: Role,
        person: String,
    },
    Milestone {
        milestone: Milestone,
    },
    Note {
        text: String,
    },
    AlertFired {
        alertname: String,
        fingerprint: String,
        severity: String,
        summary: String,
    },
    AlertResolved {
        alertname: String,
        fingerprint: String,
    },
    DeployObserved {
        version: String,
        environment: String,
        status: String,
        rollback: bool,
    },
    SourceStale {
        source: String,
        error: String,
    },
    SourceRecovered {
        source: String,
    },
    RunbookAttached {
        runbook: String,
        title: String,
    },
    StepChanged {
        runbook: String,
        step: String,
        state: StepState,
        reason: Option<String>,
    },
    SloStateChanged {
        slo: String,
        state: String,
        burn_1h: Option<f64>,
        burn_5m: Option<f64>,
        budget_remaining: Option<f64>,
    },
}

impl Event {
    /// The short category shown in the timeline's kind column.
    pub fn category(&self) -> &'static str {
        match self {
            Self::IncidentDeclared { .. } | Self::StatusChanged { .. } | Self::SeverityChanged { .. } => "incident",
            Self::RoleAssigned { .. } => "role",
            Self::Milestone { .. } => "milestone",
            Self::Note { .. } => "note",
            Self::AlertFired { .. } | Self::AlertResolved { .. } => "alert",
            Self::DeployObserved { .. } => "deploy",
            Self::SourceStale { .. } | Self::SourceRecovered { .. } => "source",
            Self::RunbookAttached { .. } | Self::StepChanged { .. } => "runbook",
            Self::SloStateChanged { .. } => "slo",
        }
    }

    /// Whether a person did this (as opposed to the cockpit observing it).
    pub fn is_human(&self) -> bool {
        matches!(
            self,
            Self::IncidentDeclared { .. }
                | Self::StatusChanged { .. }
                | Self::SeverityChanged { .. }
                | Self::RoleAssigned { .. }
                | Self::Milestone { .. }
                | Self::Note { .. }
                | Self::RunbookAttached { .. }
                | Self::StepChanged { .. }
        )
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
            Self::Note { text } => text.clone(),
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
        }
    }
}
