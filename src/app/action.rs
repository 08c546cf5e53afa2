//! `Action`: every user intent a key can be bound to, with the name used in the config's `[keys]`
//! and the command palette, and the one-line description the help overlay shows.

use super::pane::PaneId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Quit,
    ForceQuit,
    Suspend,
    Help,
    CommandPalette,
    Filter,
    NextMatch,
    PrevMatch,
    FocusNext,
    FocusPrev,
    Focus(PaneId),
    Zoom,
    Back,
    Up,
    Down,
    Top,
    Bottom,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    RefreshAll,
    ToggleTimezone,
    ToggleFollow,
    ToggleStep,
    AddNote,
    TogglePin,
    DeclareIncident,
    Silence,
    ListSilences,
    ToggleGroup,
    ToggleWrap,
    ToggleTimestamps,
    NextError,
    PrevError,
    NextWarning,
    PrevWarning,
    CycleLevel,
    FilterRequest,
    RunStep,
    VerifyStep,
    SkipStep,
    OpenRunbook,
    Rollback,
}

/// (action, config name, description), in the order the help overlay lists them.
const TABLE: &[(Action, &str, &str)] = &[
    (Action::Help, "help", "show this help (generated from the live keymap)"),
    (
        Action::CommandPalette,
        "command_palette",
        "open the command palette (Tab completes)",
    ),
    (
        Action::Filter,
        "filter",
        "filter the focused pane (live; Enter keeps, Esc cancels)",
    ),
    (Action::NextMatch, "next_match", "select the next match of the filter"),
    (
        Action::PrevMatch,
        "prev_match",
        "select the previous match of the filter",
    ),
    (Action::FocusNext, "focus_next", "focus the next pane"),
    (Action::FocusPrev, "focus_prev", "focus the previous pane"),
    (Action::Focus(PaneId::Alerts), "focus_alerts", "focus the Alerts pane"),
    (Action::Focus(PaneId::Slos), "focus_slos", "focus the SLOs pane"),
    (
        Action::Focus(PaneId::Signals),
        "focus_signals",
        "focus the Signals pane",
    ),
    (Action::Focus(PaneId::Logs), "focus_logs", "focus the Logs pane"),
    (
        Action::Focus(PaneId::Deploys),
        "focus_deploys",
        "focus the Deploys pane",
    ),
    (
        Action::Focus(PaneId::Runbook),
        "focus_runbook",
        "focus the Runbook pane",
    ),
    (
        Action::Focus(PaneId::Timeline),
        "focus_timeline",
        "focus the Timeline pane",
    ),
    (
        Action::Zoom,
        "zoom",
        "zoom the focused pane to the full screen (again to unzoom)",
    ),
    (
        Action::Back,
        "back",
        "go back: close the zoom, then clear the pane's filter",
    ),
    (Action::Down, "down", "select the next row"),
    (Action::Up, "up", "select the previous row"),
    (Action::Top, "top", "go to the first row"),
    (
        Action::Bottom,
        "bottom",
        "go to the last row (and follow, in Logs and Timeline)",
    ),
    (Action::HalfPageDown, "half_page_down", "scroll half a page down"),
    (Action::HalfPageUp, "half_page_up", "scroll half a page up"),
    (Action::PageDown, "page_down", "scroll a page down"),
    (Action::PageUp, "page_up", "scroll a page up"),
    (
        Action::ToggleFollow,
        "toggle_follow",
        "pause or resume following new lines",
    ),
    (
        Action::ToggleStep,
        "toggle_step",
        "mark the selected runbook step done / todo",
    ),
    (
        Action::ToggleTimezone,
        "toggle_timezone",
        "show times in UTC or local time",
    ),
    (
        Action::AddNote,
        "add_note",
        "write a note into the incident timeline (Ctrl-S saves, Esc cancels)",
    ),
    (
        Action::TogglePin,
        "toggle_pin",
        "pin the selected timeline entry for the postmortem (again unpins), or a log line as evidence",
    ),
    (
        Action::DeclareIncident,
        "declare_incident",
        "declare an incident, prefilled from the selected alert",
    ),
    (
        Action::Silence,
        "silence",
        "silence the selected alert or group (matchers prefilled; asks before creating)",
    ),
    (
        Action::ListSilences,
        "list_silences",
        "list silences (x expires, e extends, a shows expired)",
    ),
    (
        Action::ToggleGroup,
        "toggle_group",
        "fold or unfold the selected alert group",
    ),
    (
        Action::ToggleWrap,
        "toggle_wrap",
        "wrap long log lines, or cut them at the edge",
    ),
    (
        Action::ToggleTimestamps,
        "toggle_timestamps",
        "show or hide the time column of the Logs pane",
    ),
    (Action::NextError, "next_error", "jump to the next error line"),
    (Action::PrevError, "prev_error", "jump to the previous error line"),
    (
        Action::NextWarning,
        "next_warning",
        "jump to the next warning (or worse) line",
    ),
    (
        Action::PrevWarning,
        "prev_warning",
        "jump to the previous warning (or worse) line",
    ),
    (
        Action::CycleLevel,
        "cycle_level",
        "show lines at or above a level: all, debug, info, warn, error",
    ),
    (
        Action::FilterRequest,
        "filter_request",
        "filter the logs to the selected line's request id (or trace id); again to clear",
    ),
    (
        Action::RunStep,
        "run_step",
        "run the selected step's command (shows it expanded and asks first)",
    ),
    (
        Action::VerifyStep,
        "verify_step",
        "check the selected verify step's condition now",
    ),
    (
        Action::SkipStep,
        "skip_step",
        "skip the selected runbook step (asks for the reason)",
    ),
    (
        Action::OpenRunbook,
        "open_runbook",
        "open the selected alert's runbook (attached to the incident; a URL is copied)",
    ),
    (
        Action::Rollback,
        "rollback",
        "roll the selected deploy back to the one before it (Argo CD, GitHub or its command; type the service name; sent once)",
    ),
    (Action::RefreshAll, "refresh_all", "poll every source now"),
    (Action::Suspend, "suspend", "suspend to the shell (fg resumes)"),
    (Action::Quit, "quit", "quit (asks first while an incident is open)"),
    (Action::ForceQuit, "force_quit", "quit now"),
];

impl Action {
    /// Every action, in help order.
    pub fn all() -> impl Iterator<Item = Action> {
        TABLE.iter().map(|(a, _, _)| *a)
    }

    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(a, _, _)| *a == self)
            .map_or("unknown", |(_, n, _)| n)
    }

    pub fn description(self) -> &'static str {
        TABLE.iter().find(|(a, _, _)| *a == self).map_or("", |(_, _, d)| d)
    }

    /// Whether the action changes the world (removed in a `--read-only` session).
    pub fn is_write(self) -> bool {
        matches!(self, Action::Silence | Action::RunStep | Action::Rollback)
    }

    pub fn from_name(name: &str) -> Option<Action> {
        TABLE.iter().find(|(_, n, _)| *n == name).map(|(a, _, _)| *a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_unique_name_and_description() {
        let mut names: Vec<_> = Action::all().map(Action::name).collect();
        assert!(Action::all().all(|a| !a.description().is_empty()));
        assert!(Action::all().all(|a| Action::from_name(a.name()) == Some(a)));
        let before = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
