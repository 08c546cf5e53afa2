//! Change correlation: the deploys, rollbacks and migrations in a window before an event (an alert
//! starting, an SLO changing state), ranked as suspects by how close they came before it and by
//! whether they touched the affected service. Pure: the event time is an argument.

use chrono::{DateTime, Duration, Utc};

use super::deploy::{Deploy, DeployKind};
use super::timefmt::short_duration;

/// How far before the event changes are suspects, unless asked otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::hours(2);

/// Score factors for how the change's service relates to the affected one.
const SAME_SERVICE: f64 = 1.0;
const UNKNOWN_SERVICE: f64 = 0.6;
const OTHER_SERVICE: f64 = 0.25;
/// Schema changes are a bit more suspicious than code rollouts.
const MIGRATION: f64 = 1.25;
/// A change at the very start of the window still scores this share of one at the event time.
const RECENCY_FLOOR: f64 = 0.2;

/// How a change's service relates to the affected service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceMatch {
    Same,
    /// The change or the event names no service.
    Unknown,
    Different,
}

impl ServiceMatch {
    /// Compares case-insensitively; an empty name is unknown.
    pub fn of(change: &str, affected: Option<&str>) -> Self {
        match affected.map(str::trim).filter(|s| !s.is_empty()) {
            Some(affected) if !change.trim().is_empty() => {
                if change.trim().eq_ignore_ascii_case(affected) {
                    Self::Same
                } else {
                    Self::Different
                }
            }
            _ => Self::Unknown,
        }
    }

    fn weight(self) -> f64 {
        match self {
            Self::Same => SAME_SERVICE,
            Self::Unknown => UNKNOWN_SERVICE,
            Self::Different => OTHER_SERVICE,
        }
    }
}

/// One ranked change.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    pub deploy: Deploy,
    /// Higher is more suspicious; in (0, 1.25].
    pub score: f64,
    /// How long before the event the change started.
    pub lead: Duration,
    pub service: ServiceMatch,
    /// One line: "migration 12m00s before, same service (odin)".
    pub reason: String,
}

/// The changes that started within `window` before `at` (inclusive at both ends), most suspicious
/// first; ties go to the later change, then to the id, so the order is stable. A change that
/// started after the event is never a suspect.
pub fn rank(deploys: &[Deploy], at: DateTime<Utc>, service: Option<&str>, window: Duration) -> Vec<Suspect> {
    let window_secs = window.num_seconds().max(1) as f64;
    let mut suspects: Vec<Suspect> = deploys
        .iter()
        .filter(|d| d.started_at <= at && at - d.started_at <= window)
        .map(|d| {
            let lead = at - d.started_at;
            let recency = 1.0 - (lead.num_seconds() as f64 / window_secs).clamp(0.0, 1.0);
            let matched = ServiceMatch::of(&d.service, service);
            let kind = if d.kind == DeployKind::Migration {
                MIGRATION
            } else {
                1.0
            };
            let score = (RECENCY_FLOOR + (1.0 - RECENCY_FLOOR) * recency) * matched.weight() * kind;
            Suspect {
                reason: reason(d, lead, matched),
                deploy: d.clone(),
                score,
                lead,
                service: matched,
            }
        })
        .collect();
    suspects.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.deploy.started_at.cmp(&a.deploy.started_at))
            .then_with(|| a.deploy.id.cmp(&b.deploy.id))
    });
    suspects
}

fn reason(d: &Deploy, lead: Duration, matched: ServiceMatch) -> String {
    let what = match d.kind {
        DeployKind::Deploy => "deploy",
        DeployKind::Rollback => "rollback",
        DeployKind::Migration => "migration",
    };
    let service = match matched {
        ServiceMatch::Same => format!("same service ({})", d.service),
        ServiceMatch::Unknown => "service unknown".to_string(),
        ServiceMatch::Different => format!("other service ({})", d.service),
    };
    format!(
        "{what} {} {} before, {service}, {}",
        d.version,
        short_duration(lead),
        d.status.word()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deploy::DeployStatus;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 23, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn change(id: &str, service: &str, kind: DeployKind, minutes_before: i64) -> Deploy {
        Deploy {
            id: id.into(),
            service: service.into(),
            version: format!("v-{id}"),
            environment: "production".into(),
            author: "ana".into(),
            kind,
            status: DeployStatus::Succeeded,
            started_at: at() - Duration::minutes(minutes_before),
            finished_at: None,
            note: String::new(),
        }
    }

    fn ids(deploys: &[Deploy], service: Option<&str>) -> Vec<String> {
        rank(deploys, at(), service, DEFAULT_WINDOW)
            .into_iter()
            .map(|s| s.deploy.id)
            .collect()
    }

    use DeployKind::{Deploy as D, Migration as M, Rollback as R};

    /// (case, changes, affected service, expected order)
    type Case = (&'static str, Vec<Deploy>, Option<&'static str>, Vec<&'static str>);

    #[test]
    fn ranking_table() {
        // (case, changes, affected service, expected order)
        let cases: Vec<Case> = vec![
            (
                "closer is more suspicious",
                vec![
                    change("a", "odin", D, 90),
                    change("b", "odin", D, 10),
                    change("c", "odin", D, 45),
                ],
                Some("odin"),
                vec!["b", "c", "a"],
            ),
            (
                "same service beats unknown beats different at equal lead",
                vec![
                    change("diff", "payments", D, 20),
                    change("same", "odin", D, 20),
                    change("unk", "", D, 20),
                ],
                Some("odin"),
                vec!["same", "unk", "diff"],
            ),
            (
                "same service an hour earlier still beats another service just before",
                vec![change("other", "payments", D, 2), change("ours", "odin", D, 60)],
                Some("odin"),
                vec!["ours", "other"],
            ),
            (
                "a migration outranks a deploy at the same time",
                vec![change("dep", "odin", D, 30), change("mig", "odin", M, 30)],
                Some("odin"),
                vec!["mig", "dep"],
            ),
            (
                "a migration does not outrank a much closer deploy",
                vec![change("mig", "odin", M, 100), change("dep", "odin", D, 5)],
                Some("odin"),
                vec!["dep", "mig"],
            ),
            (
                "outside the window or after the event: not a suspect",
                vec![
                    change("old", "odin", D, 121),
                    change("later", "odin", D, -5),
                    change("edge", "odin", D, 120),
                ],
                Some("odin"),
                vec!["edge"],
            ),
            (
                "no affected service: every change is unknown, recency decides",
                vec![change("x", "payments", R, 50), change("y", "odin", D, 40)],
                None,
                vec!["y", "x"],
            ),
            (
                "service names compare case-insensitively",
                vec![change("up", "ODIN", D, 30), change("other", "payments", D, 29)],
                Some("odin"),
                vec!["up", "other"],
            ),
        ];
        for (case, deploys, service, expected) in cases {
            assert_eq!(ids(&deploys, service), expected, "{case}");
        }
    }

    #[test]
    fn equal_scores_keep_a_stable_order() {
        let deploys = vec![change("b", "odin", D, 30), change("a", "odin", D, 30)];
        assert_eq!(ids(&deploys, Some("odin")), ["a", "b"]);
    }

    #[test]
    fn reasons_say_what_when_and_which_service() {
        let deploys = vec![
            change("m", "odin", M, 12),
            change("p", "payments", R, 30),
            change("u", "", D, 61),
        ];
        let reasons: Vec<String> = rank(&deploys, at(), Some("odin"), DEFAULT_WINDOW)
            .into_iter()
            .map(|s| s.reason)
            .collect();
        assert_eq!(
            reasons,
            [
                "migration v-m 12m00s before, same service (odin), OK",
                "deploy v-u 1h01m before, service unknown, OK",
                "rollback v-p 30m00s before, other service (payments), OK",
            ]
        );
    }

    #[test]
    fn scores_fall_with_lead_and_the_window_is_a_parameter() {
        let deploys = vec![change("a", "odin", D, 0), change("b", "odin", D, 59)];
        let ranked = rank(&deploys, at(), Some("odin"), Duration::hours(1));
        assert_eq!(ranked.len(), 2);
        assert!((ranked[0].score - 1.0).abs() < 1e-9, "{}", ranked[0].score);
        assert!(ranked[1].score < 0.25, "{}", ranked[1].score);
        assert_eq!(ranked[1].lead, Duration::minutes(59));
        assert!(rank(&deploys, at(), Some("odin"), Duration::minutes(30)).len() == 1);
    }
}
