//! The incident: declared with a title and severity, moving through statuses, with roles and
//! milestones; everything is derived by folding timeline events, so the journal is the only truth.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::runbook::{RunbookProgress, StepProgress};
use super::severity::Severity;
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
    /// Every holder of every role in order: (role, person, from), for the responders table.
    pub role_history: Vec<(Role, String, DateTime<Utc>)>,
    pub milestones: BTreeMap<Milestone, DateTime<Utc>>,
    /// Runbooks attached, in order, with their progress.
    pub runbooks: Vec<(String, RunbookProgress)>,
    /// Ids of entries pinned for the postmortem.
    pub pinned: BTreeSet<String>,
    /// Ids of entries superseded by a correction or retracted.
    pub superseded: BTreeSet<String>,
}

/// The standard durations, from the milestones: TTD = detected − started, TTA = acknowledged −
/// detected, TTM = mitigated − started, TTR = resolved − started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durations {
    pub ttd: Option<Duration>,
    pub tta: Option<Duration>,
    pub ttm: Option<Duration>,
    pub ttr: Option<Duration>,
}

impl Incident {
    /// Folds the entries into the incident; `None` until one is declared. The latest declaration
    /// comes first, then every other entry in recording order (a milestone recorded with the
    /// declaration may have happened before it). Entries that a later entry supersedes (a
    /// correction or a retraction) do not count.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a TimelineEntry>) -> Option<Self> {
        let entries: Vec<&TimelineEntry> = entries.into_iter().collect();
        let superseded: BTreeSet<String> = entries.iter().filter_map(|e| e.supersedes.clone()).collect();
        let live: Vec<&TimelineEntry> = entries.into_iter().filter(|e| !superseded.contains(&e.id)).collect();
        let declaration = live
            .iter()
            .filter(|e| matches!(e.event, Event::IncidentDeclared { .. }))
            .max_by_key(|e| (e.recorded_at, e.occurred_at))?;
        let mut incident: Option<Incident> = None;
        apply(&mut incident, declaration);
        let mut rest: Vec<&TimelineEntry> = live
            .iter()
            .copied()
            .filter(|e| !matches!(e.event, Event::IncidentDeclared { .. }))
            .collect();
        rest.sort_by_key(|e| (e.recorded_at, e.occurred_at));
        for entry in &rest {
            apply(&mut incident, entry);
        }
        if let Some(inc) = incident.as_mut() {
            inc.superseded = superseded;
            if !inc.milestones.contains_key(&Milestone::Detected)
                && let Some(first) = first_alert(&rest)
            {
                inc.milestones.insert(Milestone::Detected, first);
            }
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
        end - self.started()
    }

    /// When the incident started: the `started` milestone (which a correction may move earlier than
    /// the declaration), else the declaration.
    pub fn started(&self) -> DateTime<Utc> {
        self.milestones
            .get(&Milestone::Started)
            .copied()
            .unwrap_or(self.declared_at)
    }

    pub fn durations(&self) -> Durations {
        let m = |k| self.milestones.get(&k).copied();
        let between = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| a.zip(b).map(|(a, b)| b - a);
        Durations {
            ttd: between(m(Milestone::Started), m(Milestone::Detected)),
            tta: between(m(Milestone::Detected), m(Milestone::Acknowledged)),
            ttm: between(m(Milestone::Started), m(Milestone::Mitigated)),
            ttr: between(m(Milestone::Started), m(Milestone::Resolved)),
        }
    }

    pub fn progress(&self, runbook: &str) -> Option<&RunbookProgress> {
        self.runbooks.iter().find(|(id, _)| id == runbook).map(|(_, p)| p)
    }

    pub fn is_pinned(&self, id: &str) -> bool {
        self.pinned.contains(id)
    }
}

/// When the first alert worth detecting fired: the earliest page or critical alert on the journal,
/// else the earliest warning. Informational alerts (a watchdog that always fires) never count.
fn first_alert(entries: &[&TimelineEntry]) -> Option<DateTime<Utc>> {
    let fired = |wanted: &[Severity]| {
        entries
            .iter()
            .filter(|e| e.durability != crate::domain::timeline::Durability::MemoryOnly)
            .filter_map(|e| match &e.event {
                Event::AlertFired { severity, .. } if wanted.contains(&Severity::from_label(severity)) => {
                    Some(e.occurred_at)
                }
                _ => None,
            })
            .min()
    };
    fired(&[Severity::Page, Severity::Critical]).or_else(|| fired(&[Severity::Warning]))
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
            let mut role_history = Vec::new();
            if let Some(c) = commander {
                roles.insert(Role::Commander, c.clone());
                role_history.push((Role::Commander, c.clone(), at));
            }
            *incident = Some(Incident {
                title: title.clone(),
                severity: *severity,
                status: IncidentStatus::Investigating,
                declared_at: at,
                roles,
                role_history,
                milestones: BTreeMap::from([(Milestone::Started, at)]),
                runbooks: Vec::new(),
                pinned: BTreeSet::new(),
                superseded: BTreeSet::new(),
            });
        }
        (_, None) => {}
        (Event::StatusChanged { status }, Some(inc)) => {
            inc.status = *status;
            if *status == IncidentStatus::Resolved {
                inc.milestones.entry(Milestone::Resolved).or_insert(at);
            } else {
                // Reopened: the resolution no longer holds.
                inc.milestones.remove(&Milestone::Resolved);
            }
        }
        (Event::SeverityChanged { severity }, Some(inc)) => inc.severity = *severity,
        (Event::RoleAssigned { role, person }, Some(inc)) => {
            inc.roles.insert(*role, person.clone());
            inc.role_history.push((*role, person.clone(), at));
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
        (Event::Pinned { target }, Some(inc)) => {
            inc.pinned.insert(target.clone());
        }
        (Event::Unpinned { target }, Some(inc)) => {
            inc.pinned.remove(target);
        }
        (
            Event::Note { .. }
            | Event::AlertFired { .. }
            | Event::AlertResolved { .. }
            | Event::SilenceCreated { .. }
            | Event::SilenceExtended { .. }
            | Event::SilenceExpired { .. }
            | Event::SilenceFailed { .. }
            | Event::DeployObserved { .. }
            | Event::SourceStale { .. }
            | Event::SourceRecovered { .. }
            | Event::SloStateChanged { .. }
            | Event::LogPinned { .. }
            | Event::MitigationPlan { .. }
            | Event::SuspectsRanked { .. }
            | Event::CanaryStarted { .. }
            | Event::RollbackStarted { .. }
            | Event::RollbackFinished { .. }
            | Event::SmokeChecked { .. }
            | Event::CanaryVerdict { .. }
            | Event::StepRan { .. }
            | Event::InputSet { .. }
            | Event::StepRefused { .. }
            | Event::Retracted { .. },
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
        let at = Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default();
        TimelineEntry {
            id: format!("e{s}"),
            occurred_at: at,
            recorded_at: at,
            actor: actor.into(),
            event,
            supersedes: None,
            durability: Durability::Durable,
        }
    }

    #[test]
    fn folding_events_builds_the_incident() {
        let entries = vec![
            entry(
                0,
                "warroom",
                Event::Note {
                    text: "before".into(),
                    public: false,
                },
            ),
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
    fn corrections_supersede_milestones_and_durations_follow() {
        let declared = entry(
            0,
            "alice",
            Event::IncidentDeclared {
                title: "x".into(),
                severity: IncidentSeverity::Sev2,
                commander: None,
            },
        );
        let detected = entry(
            120,
            "alice",
            Event::Milestone {
                milestone: Milestone::Detected,
            },
        );
        // The detection was really at 60 s: a correction supersedes the first milestone entry.
        let mut corrected = entry(
            60,
            "alice",
            Event::Milestone {
                milestone: Milestone::Detected,
            },
        );
        corrected.id = "fix".into();
        corrected.supersedes = Some(detected.id.clone());
        let ack = entry(
            90,
            "bob",
            Event::Milestone {
                milestone: Milestone::Acknowledged,
            },
        );
        let mitigated = entry(
            600,
            "bob",
            Event::Milestone {
                milestone: Milestone::Mitigated,
            },
        );
        let resolved = entry(
            900,
            "alice",
            Event::StatusChanged {
                status: IncidentStatus::Resolved,
            },
        );
        let entries = vec![declared, detected, corrected, ack, mitigated, resolved];
        let inc = Incident::from_entries(&entries).unwrap_or_else(|| panic!("declared"));
        let d = inc.durations();
        assert_eq!(d.ttd, Some(Duration::seconds(60)));
        assert_eq!(d.tta, Some(Duration::seconds(30)));
        assert_eq!(d.ttm, Some(Duration::seconds(600)));
        assert_eq!(d.ttr, Some(Duration::seconds(900)));
        assert!(inc.superseded.contains("e120"));
    }

    #[test]
    fn pins_unpins_and_retractions() {
        let declared = entry(
            0,
            "alice",
            Event::IncidentDeclared {
                title: "x".into(),
                severity: IncidentSeverity::Sev3,
                commander: None,
            },
        );
        let note = entry(
            10,
            "bob",
            Event::Note {
                text: "db is fine".into(),
                public: false,
            },
        );
        let pin = entry(20, "bob", Event::Pinned { target: "e10".into() });
        let sev = entry(
            30,
            "bob",
            Event::SeverityChanged {
                severity: IncidentSeverity::Sev1,
            },
        );
        let mut retract = entry(
            40,
            "bob",
            Event::Retracted {
                reason: "wrong incident".into(),
            },
        );
        retract.supersedes = Some("e30".into());
        let inc = Incident::from_entries(&[
            declared.clone(),
            note.clone(),
            pin.clone(),
            sev.clone(),
            retract.clone(),
        ])
        .unwrap_or_else(|| panic!("declared"));
        assert!(inc.is_pinned("e10"));
        assert_eq!(
            inc.severity,
            IncidentSeverity::Sev3,
            "a retracted severity change does not count"
        );
        let unpin = entry(50, "bob", Event::Unpinned { target: "e10".into() });
        let inc =
            Incident::from_entries(&[declared, note, pin, sev, retract, unpin]).unwrap_or_else(|| panic!("declared"));
        assert!(!inc.is_pinned("e10"));
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
