//! What the simulated responders (alice, commander; bob, ops lead) record in the timeline, timed
//! relative to what the model observes: the page, the fast burn, the rollback, the recovery.

use crate::domain::incident::{IncidentSeverity, IncidentStatus, Milestone, Role};
use crate::domain::runbook::StepState;
use crate::domain::timeline::Event;

pub const RUNBOOK: &str = "high-error-rate";

fn step(step: &str) -> Event {
    Event::StepChanged {
        runbook: RUNBOOK.into(),
        step: step.into(),
        state: StepState::Done,
        reason: None,
    }
}

fn note(text: &str) -> Event {
    Event::Note {
        text: text.into(),
        public: false,
    }
}

/// Entries after the high-error-rate page fires at `t`: declaration and triage.
pub fn on_page(t: i64) -> Vec<(i64, &'static str, Event)> {
    let d = t + 45;
    vec![
        (
            d,
            "alice",
            Event::IncidentDeclared {
                title: "odin: 5xx spike after 1.4.2 deploy".into(),
                severity: IncidentSeverity::Sev2,
                commander: Some("alice".into()),
            },
        ),
        (
            d,
            "alice",
            Event::RunbookAttached {
                runbook: RUNBOOK.into(),
                title: "High Error Rate".into(),
            },
        ),
        (
            d + 10,
            "alice",
            Event::RoleAssigned {
                role: Role::OpsLead,
                person: "bob".into(),
            },
        ),
        (d + 20, "alice", step("identify-scope")),
        (
            d + 25,
            "alice",
            note("errors confined to /api/checkout and /api/orders (500 and 503)"),
        ),
        (d + 50, "bob", step("check-recent-deploys")),
        (
            d + 55,
            "bob",
            note("1.4.2 rolled out at T+2m; errors began about 30 s later: prime suspect"),
        ),
        (d + 75, "bob", step("tail-logs")),
        (
            d + 80,
            "bob",
            note("NullPointerException in DiscountService.apply, new in 1.4.2"),
        ),
        (
            d + 85,
            "alice",
            Event::StatusChanged {
                status: IncidentStatus::Identified,
            },
        ),
    ]
}

/// Entries after the fast-burn alert fires at `t`.
pub fn on_fast_burn(t: i64) -> Vec<(i64, &'static str, Event)> {
    vec![
        (
            t + 5,
            "alice",
            Event::SeverityChanged {
                severity: IncidentSeverity::Sev1,
            },
        ),
        (
            t + 10,
            "alice",
            note("error budget fast burn is paging; rolling back to 1.4.1"),
        ),
    ]
}

/// Entries once the rollback finished at `t` and traffic recovered at `recovered`.
pub fn on_rollback_done(t: i64, recovered: i64) -> Vec<(i64, &'static str, Event)> {
    vec![
        (t + 5, "alice", step("rollback-or-hotfix")),
        (
            recovered + 20,
            "alice",
            Event::Milestone {
                milestone: Milestone::Mitigated,
            },
        ),
        (
            recovered + 25,
            "alice",
            Event::StatusChanged {
                status: IncidentStatus::Monitoring,
            },
        ),
    ]
}

/// Entries once every page has resolved at `t`.
pub fn on_all_clear(t: i64) -> Vec<(i64, &'static str, Event)> {
    vec![
        (t + 30, "bob", step("verify-recovery")),
        (
            t + 60,
            "alice",
            Event::StatusChanged {
                status: IncidentStatus::Resolved,
            },
        ),
        (t + 61, "alice", note("resolved; RCA owner alice, review on Tuesday")),
    ]
}
