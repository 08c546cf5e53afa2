//! The health of a data source as the cockpit shows it: loading, fresh (with the age of its data),
//! stale since a failure (keeping the last good data), or disabled.

use chrono::{DateTime, Utc};

/// Why a fetch failed, as data the user sees (a stale badge, the status line), never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub kind: FetchErrorKind,
    /// One line of sanitised detail (an HTTP body snippet, an OS error), no secrets.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchErrorKind {
    Timeout,
    Connect,
    Status(u16),
    Decode,
    TooLarge,
    Exited(i32),
    Other,
}

impl FetchError {
    pub fn new(kind: FetchErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            FetchErrorKind::Timeout => "timed out".to_string(),
            FetchErrorKind::Connect => "cannot connect".to_string(),
            FetchErrorKind::Status(code) => format!("HTTP {code}"),
            FetchErrorKind::Decode => "bad response".to_string(),
            FetchErrorKind::TooLarge => "response too large".to_string(),
            FetchErrorKind::Exited(code) => format!("exited with status {code}"),
            FetchErrorKind::Other => "failed".to_string(),
        };
        if self.detail.is_empty() {
            write!(f, "{what}")
        } else {
            write!(f, "{what}: {}", self.detail)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceHealth {
    Loading,
    Fresh {
        at: DateTime<Utc>,
    },
    Stale {
        since: DateTime<Utc>,
        last_ok: Option<DateTime<Utc>>,
        error: FetchError,
    },
    Disabled {
        reason: String,
    },
}

impl SourceHealth {
    /// The time of the last good data, if any.
    pub fn last_ok(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Fresh { at } => Some(*at),
            Self::Stale { last_ok, .. } => *last_ok,
            Self::Loading | Self::Disabled { .. } => None,
        }
    }

    /// A successful fetch at `at`.
    pub fn succeeded(&mut self, at: DateTime<Utc>) {
        *self = Self::Fresh { at };
    }

    /// A failed fetch at `at`: stale since the first failure, keeping the last good time.
    pub fn failed(&mut self, at: DateTime<Utc>, error: FetchError) {
        let (since, last_ok) = match self {
            Self::Stale { since, last_ok, .. } => (*since, *last_ok),
            Self::Fresh { at: ok } => (at, Some(*ok)),
            Self::Loading | Self::Disabled { .. } => (at, None),
        };
        *self = Self::Stale { since, last_ok, error };
    }

    pub fn is_stale(&self) -> bool {
        matches!(self, Self::Stale { .. })
    }

    pub fn symbol(&self) -> &'static str {
        match self {
            Self::Loading => "…",
            Self::Fresh { .. } => "✓",
            Self::Stale { .. } => "✗",
            Self::Disabled { .. } => "–",
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            Self::Loading => "loading",
            Self::Fresh { .. } => "fresh",
            Self::Stale { .. } => "STALE",
            Self::Disabled { .. } => "off",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stale_keeps_the_first_failure_and_the_last_good_time() {
        let t = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default();
        let mut h = SourceHealth::Loading;
        h.succeeded(t(0));
        h.failed(t(10), FetchError::new(FetchErrorKind::Timeout, ""));
        h.failed(t(20), FetchError::new(FetchErrorKind::Status(503), "down"));
        assert_eq!(
            h,
            SourceHealth::Stale {
                since: t(10),
                last_ok: Some(t(0)),
                error: FetchError::new(FetchErrorKind::Status(503), "down")
            }
        );
        assert_eq!(h.last_ok(), Some(t(0)));
        h.succeeded(t(30));
        assert_eq!(h, SourceHealth::Fresh { at: t(30) });
    }
}
