//! The incident: declared with a title and severity, moving through statuses, with roles and
//! milestones; everything is derived by folding timeline events, so the journal is the only truth.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::runbook::{RunbookProgress, StepProgress};
use super::timeline::{Event, TimelineEntry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum IncidentSeverity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl IncidentSeverity {
    pub fn word(self) -> &'static str {
        match self {
            Self::Sev1 => "SEV1",
            Self::Sev2 => "SEV2",
            Self::Sev3 => "SEV3",
            Self::Sev4 => "SEV4",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "SEV1" | "1" => Some(Self::Sev1),
            "SEV2" | "2" => Some(Self::Sev2),
            "SEV3" | "3" => Some(Self::Sev3),
            "SEV4" | "4" => Some(Self::Sev4),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentStatus {
    pub fn word(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Commander,
    OpsLead,
    CommsLead,
    Scribe,
}

impl Role {
    pub fn word(self) -> &'static str {
        match self {
            Self::Commander => "commander",
            Self::OpsLead => "ops lead",
            Self::CommsLead => "comms lead",
            Self::Scribe => "scribe",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    Started,
    Detected,
    Acknowledged,
    Mitigated,
    Resolved,
}

impl Milestone {
    pub fn word(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Detected => "detected",
            Self::Acknowledged => "acknowledged",
            Self::Mitigated => "mitigated",
            Self::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub title: String,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub declared_at: DateTime<Utc>,
    pub roles: BTreeMap<Role, String>,
    pub milestones: BTreeMap<Milestone, DateTime<Utc>>,
    /// Runbooks attached, in order, with their progress.
    pub runbooks: Vec<(String, RunbookProgress)>,
}

impl Incident {
    /// Folds the entries in order; `None` until an incident is declared.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a TimelineEntry>) -> Option<Self> {
        let mut incident: Option<Incident> = None;
        for entry in entries {
            apply(&mut incident, entry);
        }
        incident
    }

    pub fn is_open(&self) -> bool {
        self.status != IncidentStatus::Resolved
    }

    /// Elapsed time since declaration, frozen at resolution.
    pub fn elapsed(&self, now: DateTime<Utc>) -> Duration {
        let end = self
            .milestones
            .get(&Milestone::Resolved)
            .copied()
            .filter(|_| !self.is_open())
            .unwrap_or(now);
        end - self.declared_at
    }

    pub fn progress(&self, runbook: &str) -> Option<&RunbookProgress> {
        self.runbooks.iter().find(|(id, _)| id == runbook).map(|(_, p)| p)
    }
}

/// Applies one entry to the incident state.
pub fn apply(incident: &mut Option<Incident>, entry: &TimelineEntry) {
    let at = entry.occurred_at;
    match (&entry.event, incident.as_mut()) {
        (
            Event::IncidentDeclared {
                title,
                severity,
                commander,
            },
            _,
        ) => {
            let mut roles = BTreeMap::new();
            if let Some(c) = commander {
                roles.insert(Role::Commander, c.clone());
            }
            *incident = Some(Incident {
                title: title.clone(),
                severity: *severity,
                status: IncidentStatus::Investigating,
                declared_at: at,
                roles,
                milestones: BTreeMap::from([(Milestone::Started, at)]),
                runbooks: Vec::new(),
            });
        }
        (_, None) => {}
        (Event::StatusChanged { status }, Some(inc)) => {
            inc.status = *status;
            if *status == IncidentStatus::Resolved {
                inc.milestones.entry(Milestone::Resolved).or_insert(at);
            }
        }
        (Event::SeverityChanged { severity }, Some(inc)) => inc.severity = *severity,
        (Event::RoleAssigned { role, person }, Some(inc)) => {
            inc.roles.insert(*role, person.clone());
        }
        (Event::Milestone { milestone }, Some(inc)) => {
            inc.milestones.insert(*milestone, at);
            if *milestone == Milestone::Resolved {
                inc.status = IncidentStatus::Resolved;
            }
        }
        (Event::RunbookAttached { runbook, .. }, Some(inc)) => {
            if inc.progress(runbook).is_none() {
                inc.runbooks.push((runbook.clone(), RunbookProgress::default()));
            }
        }
        (
            Event::StepChanged {
                runbook, step, state, ..
            },
            Some(inc),
        ) => {
            if inc.progress(runbook).is_none() {
                inc.runbooks.push((runbook.clone(), RunbookProgress::default()));
            }
            if let Some((_, progress)) = inc.runbooks.iter_mut().find(|(id, _)| id == runbook) {
                progress.steps.insert(
                    step.clone(),
                    StepProgress {
                        state: *state,
                        by: entry.actor.clone(),
                        at,
                    },
                );
            }
        }
        (
            Event::Note { .. }
            | Event::AlertFired { .. }
            | Event::AlertResolved { .. }
            | Event::DeployObserved { .. }
            | Event::SourceStale { .. }
            | Event::SourceRecovered { .. }
            | Event::SloStateChanged { .. },
            Some(_),
        ) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::runbook::StepState;
    use crate::domain::timeline::Durability;
    use chrono::TimeZone;

    fn entry(s: i64, actor: &str, event: Event) -> TimelineEntry {
        TimelineEntry {
            id: format!("e{s}"),
            occurred_at: Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default(),
            actor: actor.into(),
            event,
            durability: Durability::Durable,
        }
    }

    #[test]
    fn folding_events_builds_the_incident() {
        let entries = vec![
            entry(0, "warroom", Event::Note { text: "before".into() }),
            entry(
                10,
                "alice",
                Event::IncidentDeclared {
                    title: "5xx".into(),
                    severity: IncidentSeverity::Sev2,
                    commander: Some("alice".into()),
                },
            ),
            entry(
                20,
                "alice",
                Event::SeverityChanged {
                    severity: IncidentSeverity::Sev1,
                },
            ),
            entry(
                30,
                "bob",
                Event::RoleAssigned {
                    role: Role::Scribe,
                    person: "bob".into(),
                },
            ),
            entry(
                40,
                "bob",
                Event::StepChanged {
                    runbook: "rb".into(),
                    step: "scope".into(),
                    state: StepState::Done,
                    reason: None,
                },
            ),
            entry(
                50,
                "alice",
                Event::Milestone {
                    milestone: Milestone::Mitigated,
                },
            ),
            entry(
                90,
                "alice",
                Event::StatusChanged {
                    status: IncidentStatus::Resolved,
                },
            ),
        ];
        let inc = Incident::from_entries(&entries).unwrap_or_else(|| panic!("declared"));
        assert_eq!(inc.severity, IncidentSeverity::Sev1);
        assert_eq!(inc.roles.get(&Role::Scribe).map(String::as_str), Some("bob"));
        assert_eq!(inc.progress("rb").map(|p| p.state("scope")), Some(StepState::Done));
        assert!(!inc.is_open());
        assert_eq!(
            inc.elapsed(entries[6].occurred_at + Duration::hours(1)),
            Duration::seconds(80)
        );
        assert!(inc.milestones.contains_key(&Milestone::Mitigated));
    }

    #[test]
    fn nothing_before_a_declaration_makes_an_incident() {
        let entries = vec![entry(
            0,
            "x",
            Event::StatusChanged {
                status: IncidentStatus::Monitoring,
            },
        )];
        assert_eq!(Incident::from_entries(&entries), None);
    }
}
