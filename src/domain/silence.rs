//! Silences: what Alertmanager holds (matchers, time range, author, comment, state), the draft a
//! responder edits before creating one, and which alerts a silence matches.

use chrono::{DateTime, Duration, Utc};

use super::alert::Alert;
use super::matcher::{self, Matcher, MatcherError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    Active,
    Pending,
    Expired,
}

impl SilenceState {
    pub fn from_api(state: &str) -> Self {
        match state {
            "active" => Self::Active,
            "pending" => Self::Pending,
            _ => Self::Expired,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Pending => "PENDING",
            Self::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
    pub state: SilenceState,
}

impl Silence {
    pub fn matches(&self, alert: &Alert) -> bool {
        matcher::all_match(&self.matchers, &alert.labels)
    }
}

/// Sorts silences for the list: active first, then pending, then expired; the soonest to end first.
pub fn sort_for_list(silences: &mut [Silence]) {
    silences.sort_by(|a, b| (a.state, a.ends_at, &a.id).cmp(&(b.state, b.ends_at, &b.id)));
}

/// A silence being written: matchers and comment as typed, a duration, the author.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceDraft {
    pub matchers: Vec<Matcher>,
    pub duration: Duration,
    pub comment: String,
    pub created_by: String,
}

/// Why a draft cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error("matchers: {0}")]
    Matchers(#[from] MatcherError),
    #[error("duration \"{0}\" is not a duration (write e.g. 30m, 1h, 2h30m)")]
    Duration(String),
    #[error("the duration must be positive and at most 30 days")]
    DurationRange,
    #[error("a comment is required: say why (it is what the next responder reads)")]
    NoComment,
    #[error("every matcher matches the empty value: this silence would mute every alert")]
    MatchesEverything,
}

/// The longest silence the cockpit creates.
pub const MAX_SILENCE: Duration = Duration::days(30);

impl SilenceDraft {
    /// Checks and builds a draft from what the editor holds.
    pub fn parse(matchers: &str, duration: &str, comment: &str, created_by: &str) -> Result<Self, DraftError> {
        let matchers = matcher::parse_list(matchers)?;
        // Alertmanager refuses a silence whose every matcher matches "" (it would match all).
        if matchers.iter().all(|m| m.matches_value("")) {
            return Err(DraftError::MatchesEverything);
        }
        let parsed =
            humantime::parse_duration(duration.trim()).map_err(|_| DraftError::Duration(duration.to_string()))?;
        let duration = Duration::from_std(parsed).map_err(|_| DraftError::DurationRange)?;
        if duration <= Duration::zero() || duration > MAX_SILENCE {
            return Err(DraftError::DurationRange);
        }
        let comment = comment.trim();
        if comment.is_empty() {
            return Err(DraftError::NoComment);
        }
        Ok(Self {
            matchers,
            duration,
            comment: comment.to_string(),
            created_by: created_by.to_string(),
        })
    }

    /// The active alerts this silence would match.
    pub fn preview<'a>(&self, alerts: &'a [Alert]) -> Vec<&'a Alert> {
        alerts
            .iter()
            .filter(|a| a.state.is_active() && matcher::all_match(&self.matchers, &a.labels))
            .collect()
    }
}

/// The matchers a new silence of `alert` starts with: its name and the labels that identify the
/// failing thing, not every label (a silence on `instance` and `pod` hides the next restart).
pub fn prefill_for_alert(alert: &Alert) -> Vec<Matcher> {
    const IDENTIFYING: [&str; 6] = ["alertname", "service", "job", "instance", "namespace", "env"];
    IDENTIFYING
        .iter()
        .filter_map(|k| alert.labels.get(*k).map(|v| (*k, v)))
        .filter_map(|(k, v)| Matcher::equal(k, v).ok())
        .collect()
}

/// The matchers for a whole group: its label values.
pub fn prefill_for_group(labels: &[(String, String)]) -> Vec<Matcher> {
    labels.iter().filter_map(|(k, v)| Matcher::equal(k, v).ok()).collect()
}

/// How long until `ends_at`, or since, as "42m left" / "ended 5m ago".
pub fn remaining(ends_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if ends_at > now {
        format!("{} left", super::timefmt::short_duration(ends_at - now))
    } else {
        format!("ended {} ago", super::timefmt::short_duration(now - ends_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::AlertState;
    use crate::domain::alert::tests::alert;

    #[test]
    fn a_draft_needs_matchers_a_sane_duration_and_a_comment() {
        let ok = SilenceDraft::parse(r#"alertname="X""#, "1h", " deploy fix ", "alice");
        assert_eq!(ok.as_ref().map(|d| d.duration), Ok(Duration::hours(1)));
        assert_eq!(ok.map(|d| d.comment), Ok("deploy fix".to_string()));
        assert_eq!(
            SilenceDraft::parse(r#"alertname="X""#, "1h", "  ", "a"),
            Err(DraftError::NoComment)
        );
        assert_eq!(
            SilenceDraft::parse(r#"alertname="X""#, "soon", "c", "a"),
            Err(DraftError::Duration("soon".into()))
        );
        assert_eq!(
            SilenceDraft::parse(r#"alertname="X""#, "40d", "c", "a"),
            Err(DraftError::DurationRange)
        );
        assert_eq!(
            SilenceDraft::parse(r#"alertname=~".*""#, "1h", "c", "a"),
            Err(DraftError::MatchesEverything)
        );
        assert!(matches!(
            SilenceDraft::parse("alertname", "1h", "c", "a"),
            Err(DraftError::Matchers(_))
        ));
    }

    #[test]
    fn preview_lists_the_active_alerts_it_would_match() {
        let mut resolved = alert("c", "Errors", "page", 0);
        resolved.state = AlertState::Resolved {
            at: crate::domain::alert::tests::at(5),
        };
        let alerts = vec![
            alert("a", "Errors", "page", 0),
            alert("b", "Latency", "page", 0),
            resolved,
        ];
        let draft = SilenceDraft::parse(r#"alertname="Errors""#, "1h", "c", "a").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = draft.preview(&alerts).iter().map(|a| a.fingerprint.as_str()).collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn prefill_takes_identifying_labels_only() {
        let mut a = alert("a", "Errors", "page", 0);
        a.labels.insert("pod".into(), "odin-7d9".into());
        a.labels.insert("service".into(), "odin".into());
        let text = matcher::format_list(&prefill_for_alert(&a));
        assert_eq!(text, r#"alertname="Errors", service="odin""#);
    }
}
