//! Severity of alerts and the ok/warn/crit level of signals, each with a word and a symbol so that
//! nothing is ever conveyed by colour alone.

/// Alert severity, most severe first (so `Ord` sorts the worst to the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Page,
    Critical,
    Warning,
    Info,
    Unknown,
}

impl Severity {
    /// Reads the conventional `severity` label value.
    pub fn from_label(value: &str) -> Self {
        let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(value));
        if is(&["page", "pager", "emergency"]) {
            Self::Page
        } else if is(&["critical", "crit", "error", "high"]) {
            Self::Critical
        } else if is(&["warning", "warn", "medium"]) {
            Self::Warning
        } else if is(&["info", "informational", "low", "none"]) {
            Self::Info
        } else {
            Self::Unknown
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Page => "PAGE",
            Self::Critical => "CRIT",
            Self::Warning => "WARN",
            Self::Info => "INFO",
            Self::Unknown => "----",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Page => "◆",
            Self::Critical => "▲",
            Self::Warning => "△",
            Self::Info => "·",
            Self::Unknown => "?",
        }
    }
}

/// The state of a measured value against its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Crit,
    Warn,
    Ok,
    NoData,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warn => "WARN",
            Self::Crit => "CRIT",
            Self::NoData => "NO DATA",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Warn => "△",
            Self::Crit => "▲",
            Self::NoData => "?",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_labels_map_to_ordered_severities() {
        assert_eq!(Severity::from_label("page"), Severity::Page);
        assert_eq!(Severity::from_label("Critical"), Severity::Critical);
        assert_eq!(Severity::from_label("warning"), Severity::Warning);
        assert_eq!(Severity::from_label("bogus"), Severity::Unknown);
        let mut all = vec![Severity::Info, Severity::Page, Severity::Unknown, Severity::Warning];
        all.sort();
        assert_eq!(
            all,
            vec![Severity::Page, Severity::Warning, Severity::Info, Severity::Unknown]
        );
    }
}
