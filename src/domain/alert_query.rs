//! The Alerts pane's filter language: Alertmanager matchers (`severity="page"`,
//! `service=~"odin.*"`) plus `@state=firing`, `@age>15m`, `@silenced`, `@inhibited`, and bare words
//! matched as text anywhere in the alert. Terms are separated by spaces or commas and all must hold.

use chrono::{DateTime, Duration, Utc};

use super::alert::{Alert, AlertState};
use super::matcher::{self, Matcher, MatcherError};

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Label(Matcher),
    State(StateWanted),
    /// Age since the alert started; `true`: older than, `false`: younger than.
    Age {
        older: bool,
        than: Duration,
    },
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateWanted {
    Firing,
    Pending,
    Silenced,
    Inhibited,
    Active,
    Resolved,
}

impl StateWanted {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "firing" => Self::Firing,
            "pending" => Self::Pending,
            "silenced" => Self::Silenced,
            "inhibited" => Self::Inhibited,
            "active" => Self::Active,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }

    fn holds(self, state: AlertState) -> bool {
        match self {
            Self::Firing => state == AlertState::Firing,
            Self::Pending => state == AlertState::Pending,
            Self::Silenced => state == AlertState::Silenced,
            Self::Inhibited => state == AlertState::Inhibited,
            Self::Active => state.is_active(),
            Self::Resolved => !state.is_active(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    #[error("\"{0}\": @state= takes firing, pending, silenced, inhibited, active or resolved")]
    State(String),
    #[error("\"{0}\": write @age>15m or @age<1h")]
    Age(String),
    #[error("\"{0}\": unknown @ term (use @state=, @age>, @age<, @silenced, @inhibited)")]
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertQuery {
    pub terms: Vec<Term>,
}

impl AlertQuery {
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let mut terms = Vec::new();
        for token in matcher::split_top_level(text, &[' ', ',', '\t']) {
            terms.push(parse_term(&token)?);
        }
        Ok(Self { terms })
    }

    pub fn matches(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Label(m) => m.matches(&alert.labels),
            Term::State(wanted) => wanted.holds(alert.state),
            Term::Age { older, than } => {
                let age = now - alert.starts_at;
                if *older { age > *than } else { age < *than }
            }
            Term::Text(word) => text_matches(alert, word),
        })
    }
}

fn parse_term(token: &str) -> Result<Term, QueryError> {
    if let Some(rest) = token.strip_prefix('@') {
        let lower = rest.to_ascii_lowercase();
        if let Some(state) = lower.strip_prefix("state=") {
            return StateWanted::parse(state.trim_matches('"'))
                .map(Term::State)
                .ok_or_else(|| QueryError::State(token.to_string()));
        }
        if let Some(age) = lower.strip_prefix("age") {
            let (older, value) = if let Some(v) = age.strip_prefix(">=").or_else(|| age.strip_prefix('>')) {
                (true, v)
            } else if let Some(v) = age.strip_prefix("<=").or_else(|| age.strip_prefix('<')) {
                (false, v)
            } else {
                return Err(QueryError::Age(token.to_string()));
            };
            let than = humantime::parse_duration(value.trim())
                .ok()
                .and_then(|d| Duration::from_std(d).ok())
                .ok_or_else(|| QueryError::Age(token.to_string()))?;
            return Ok(Term::Age { older, than });
        }
        return match StateWanted::parse(&lower) {
            Some(state) => Ok(Term::State(state)),
            None => Err(QueryError::Unknown(token.to_string())),
        };
    }
    if token.contains(['=', '!']) && !token.starts_with(['=', '!']) {
        return Ok(Term::Label(matcher::parse_one(token)?));
    }
    Ok(Term::Text(token.trim_matches('"').to_lowercase()))
}

fn text_matches(alert: &Alert, lower_word: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(lower_word);
    has(alert.summary())
        || has(alert.state.word())
        || has(alert.severity().word())
        || alert.labels.values().any(|v| has(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::tests::{alert, at};

    fn q(text: &str) -> AlertQuery {
        AlertQuery::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn matchers_states_ages_and_words_combine() {
        let mut silenced = alert("b", "Latency", "warning", 0);
        silenced.state = AlertState::Silenced;
        silenced.labels.insert("service".into(), "odin-api".into());
        let mut firing = alert("a", "Errors", "page", 1000);
        firing.labels.insert("service".into(), "odin".into());
        let now = at(1000 + 20 * 60);
        let names = |query: &str| -> Vec<String> {
            [&firing, &silenced]
                .iter()
                .filter(|a| q(query).matches(a, now))
                .map(|a| a.name().to_string())
                .collect()
        };
        assert_eq!(names(r#"severity="page""#), ["Errors"]);
        assert_eq!(names(r#"service=~"odin.*""#), ["Errors", "Latency"]);
        assert_eq!(names("@silenced"), ["Latency"]);
        assert_eq!(names("@state=firing"), ["Errors"]);
        assert_eq!(names("@age>30m"), ["Latency"]);
        assert_eq!(names("@age<30m, service=~\"odin.*\""), ["Errors"]);
        assert_eq!(names("latency"), ["Latency"]);
        assert_eq!(names(""), ["Errors", "Latency"]);
    }

    #[test]
    fn bad_terms_say_what_is_wrong() {
        assert_eq!(
            AlertQuery::parse("@state=loud"),
            Err(QueryError::State("@state=loud".into()))
        );
        assert_eq!(AlertQuery::parse("@age=5m"), Err(QueryError::Age("@age=5m".into())));
        assert_eq!(AlertQuery::parse("@age>soon"), Err(QueryError::Age("@age>soon".into())));
        assert_eq!(AlertQuery::parse("@muted"), Err(QueryError::Unknown("@muted".into())));
        assert!(matches!(AlertQuery::parse(r#"sev="open"#), Err(QueryError::Matcher(_))));
    }
}
