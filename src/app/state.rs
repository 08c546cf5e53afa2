//! `AppState`: the one owner of everything the cockpit knows and shows. Only `update` mutates it;
//! `ui::draw` reads it.

use chrono::{DateTime, Utc};
use tui_textarea::TextArea;

use super::keymap::Keymap;
use super::list::TextFilter;
use super::msg::{SourceId, SourceKind};
use super::pane::PaneId;
use super::panes::ListPane;
use super::panes::alerts::AlertsPane;
use super::panes::deploys::DeploysPane;
use super::panes::logs::LogsPane;
use super::panes::runbook::RunbookPane;
use super::panes::signals::SignalsPane;
use super::panes::slos::SlosPane;
use super::panes::timeline::TimelinePane;
use crate::domain::health::SourceHealth;
use crate::domain::incident::Incident;
use crate::domain::timefmt::Clock;
use crate::ui::theme::Theme;

#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub kind: SourceKind,
    pub name: String,
    pub health: SourceHealth,
    /// When this source's last `source.down` was recorded, while its outage is being reported: a
    /// source that flaps (a crash-looping log command) is recorded down once per quiet period,
    /// not on every cycle.
    pub down_recorded: Option<chrono::DateTime<chrono::Utc>>,
    /// Since when it has answered again after that outage (its `source.up` is recorded, dated
    /// then, once it has stayed up for the quiet period).
    pub up_since: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warn,
    Error,
}

/// A message for the user in the bottom line. Info fades after a few seconds; warnings and errors
/// stay until replaced or dismissed with Esc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A one-line text input (palette, filter) with its completion candidates.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub input: TextArea<'static>,
    pub candidates: Vec<String>,
}

impl Prompt {
    pub fn new(text: &str) -> Self {
        let mut input = TextArea::new(vec![text.to_string()]);
        input.move_cursor(tui_textarea::CursorMove::End);
        input.set_cursor_line_style(ratatui::style::Style::default());
        Self {
            input,
            candidates: Vec::new(),
        }
    }

    pub fn text(&self) -> String {
        let input: &TextArea<'_> = &self.input;
        input.lines().first().cloned().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub enum Modal {
    Help {
        scroll: usize,
    },
    Palette(Prompt),
    /// Live filter of the focused pane; `previous` is restored on Esc.
    Filter {
        prompt: Prompt,
        previous: Option<TextFilter>,
    },
    ConfirmQuit,
    /// The multi-line note editor.
    Note(NoteEditor),
    /// A new silence: editor, then confirmation.
    Silence(Box<super::silencing::SilenceForm>),
    /// The silences, with extend and expire.
    Silences(super::silencing::SilenceList),
    /// A runbook command waiting for the go-ahead, scaled to its risk.
    ConfirmStep(Box<super::runbook_run::StepConfirm>),
    /// A runbook step being skipped: its reason.
    SkipStep(Box<super::runbook_run::SkipPrompt>),
}

/// A note being written (tui-textarea): Ctrl-S records it, Esc discards it.
#[derive(Debug, Clone)]
pub struct NoteEditor {
    pub input: TextArea<'static>,
}

impl NoteEditor {
    pub fn new(text: &str) -> Self {
        let mut input = TextArea::new(text.lines().map(str::to_string).collect());
        input.move_cursor(tui_textarea::CursorMove::Bottom);
        input.move_cursor(tui_textarea::CursorMove::End);
        Self { input }
    }

    pub fn text(&self) -> String {
        let input: &TextArea<'_> = &self.input;
        input.lines().join("\n").trim().to_string()
    }
}

/// What the runtime tells the state about the world at startup.
#[derive(Debug, Clone)]
pub struct StateSetup {
    pub service: String,
    pub environment: String,
    /// Shown in the status bar, e.g. "DEMO ×10".
    pub banner: Option<String>,
    pub user: String,
    pub read_only: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    pub themes: Vec<Theme>,
    pub clock: Clock,
    pub log_cap_bytes: usize,
    /// Lines a second per log source (0: no limit).
    pub log_rate_limit: u32,
}

/// How the incident journal is doing, as the screen shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalStatus {
    /// The incident whose journal is open, if any.
    pub incident_id: Option<String>,
    /// A failed write: the error, and how many entries are held in memory. Shown until it clears.
    pub failure: Option<(String, usize)>,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub service: String,
    pub environment: String,
    pub banner: Option<String>,
    pub user: String,
    pub read_only: bool,
    pub focus: PaneId,
    pub zoomed: bool,
    pub modal: Option<Modal>,
    pub viewport: (u16, u16),
    pub sources: Vec<SourceInfo>,
    pub alerts: AlertsPane,
    pub slos: SlosPane,
    pub signals: SignalsPane,
    pub logs: LogsPane,
    pub deploys: DeploysPane,
    pub runbook: RunbookPane,
    pub timeline: TimelinePane,
    pub incident: Option<Incident>,
    pub notice: Option<Notice>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub themes: Vec<Theme>,
    pub clock: Clock,
    pub journal: JournalStatus,
    /// The canary watch, running or with its verdict.
    pub canary: Option<super::canary::CanaryWatch>,
}

impl AppState {
    pub fn new(setup: StateSetup) -> Self {
        Self {
            service: setup.service,
            environment: setup.environment,
            banner: setup.banner,
            user: setup.user,
            read_only: setup.read_only,
            focus: PaneId::Alerts,
            zoomed: false,
            modal: None,
            viewport: (80, 24),
            sources: Vec::new(),
            alerts: AlertsPane::default(),
            slos: SlosPane::default(),
            signals: SignalsPane::default(),
            logs: LogsPane::new(setup.log_cap_bytes).with_rate_limit(setup.log_rate_limit),
            deploys: DeploysPane::default(),
            runbook: RunbookPane::default(),
            timeline: TimelinePane::default(),
            incident: None,
            notice: None,
            keymap: if setup.read_only {
                setup.keymap.without(super::action::Action::is_write)
            } else {
                setup.keymap
            },
            theme: setup.theme,
            themes: setup.themes,
            clock: setup.clock,
            journal: JournalStatus::default(),
            canary: None,
        }
    }

    /// Registers a source; its id indexes `sources`.
    pub fn add_source(&mut self, kind: SourceKind, name: impl Into<String>) -> SourceId {
        self.sources.push(SourceInfo {
            kind,
            name: name.into(),
            health: SourceHealth::Loading,
            down_recorded: None,
            up_since: None,
        });
        SourceId(self.sources.len() - 1)
    }

    pub fn source(&self, id: SourceId) -> Option<&SourceInfo> {
        self.sources.get(id.0)
    }

    /// The sources that feed a pane.
    pub fn sources_of(&self, pane: PaneId) -> impl Iterator<Item = &SourceInfo> {
        // Without an Alertmanager, Prometheus's alerts fill the Alerts pane.
        let alerts_from = if self.sources.iter().any(|s| s.kind == SourceKind::Alertmanager) {
            SourceKind::Alertmanager
        } else {
            SourceKind::Prometheus
        };
        self.sources.iter().filter(move |s| match pane {
            PaneId::Alerts => s.kind == alerts_from,
            PaneId::Slos | PaneId::Signals => s.kind == SourceKind::Prometheus,
            PaneId::Logs => s.kind == SourceKind::Logs,
            PaneId::Deploys => s.kind == SourceKind::Deploys,
            PaneId::Runbook | PaneId::Timeline => false,
        })
    }

    pub fn pane(&self, pane: PaneId) -> &dyn ListPane {
        match pane {
            PaneId::Alerts => &self.alerts,
            PaneId::Slos => &self.slos,
            PaneId::Signals => &self.signals,
            PaneId::Logs => &self.logs,
            PaneId::Deploys => &self.deploys,
            PaneId::Runbook => &self.runbook,
            PaneId::Timeline => &self.timeline,
        }
    }

    pub fn pane_mut(&mut self, pane: PaneId) -> &mut dyn ListPane {
        match pane {
            PaneId::Alerts => &mut self.alerts,
            PaneId::Slos => &mut self.slos,
            PaneId::Signals => &mut self.signals,
            PaneId::Logs => &mut self.logs,
            PaneId::Deploys => &mut self.deploys,
            PaneId::Runbook => &mut self.runbook,
            PaneId::Timeline => &mut self.timeline,
        }
    }

    pub fn incident_open(&self) -> bool {
        self.incident.as_ref().is_some_and(Incident::is_open)
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>, now: DateTime<Utc>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
            at: now,
        });
    }
}
