//! The seven panes of the cockpit, their order, numbers and names.

/// A pane of the cockpit; the order is the focus order and the digit that jumps to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PaneId {
    Alerts,
    Slos,
    Signals,
    Logs,
    Deploys,
    Runbook,
    Timeline,
}

impl PaneId {
    pub const ALL: [PaneId; 7] = [
        Self::Alerts,
        Self::Slos,
        Self::Signals,
        Self::Logs,
        Self::Deploys,
        Self::Runbook,
        Self::Timeline,
    ];

    /// 1-based position, the digit that focuses it.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).map_or(0, |i| i + 1)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Alerts => "Alerts",
            Self::Slos => "SLOs",
            Self::Signals => "Signals",
            Self::Logs => "Logs",
            Self::Deploys => "Deploys",
            Self::Runbook => "Runbook",
            Self::Timeline => "Timeline",
        }
    }

    /// The name used in the config's `[keys.<pane>]` tables and in `:focus <pane>`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alerts => "alerts",
            Self::Slos => "slos",
            Self::Signals => "signals",
            Self::Logs => "logs",
            Self::Deploys => "deploys",
            Self::Runbook => "runbook",
            Self::Timeline => "timeline",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name || p.title().eq_ignore_ascii_case(name))
    }

    pub fn next(self) -> Self {
        Self::ALL[self.number() % Self::ALL.len()]
    }

    pub fn prev(self) -> Self {
        Self::ALL[(self.number() + Self::ALL.len() - 2) % Self::ALL.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_order_wraps_both_ways() {
        assert_eq!(PaneId::Alerts.next(), PaneId::Slos);
        assert_eq!(PaneId::Timeline.next(), PaneId::Alerts);
        assert_eq!(PaneId::Alerts.prev(), PaneId::Timeline);
        assert_eq!(PaneId::Logs.number(), 4);
        assert_eq!(PaneId::from_name("slos"), Some(PaneId::Slos));
        assert_eq!(PaneId::from_name("Timeline"), Some(PaneId::Timeline));
    }
}
