//! `update`: the pure heart of the cockpit. It applies one `Msg` to the `AppState` completely and
//! returns the `Effect`s the runtime must carry out. No I/O, no clock reads (time comes in as `now`).

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::effect::{Effect, EventDraft};
use super::keymap::KeyChord;
use super::list::TextFilter;
use super::msg::{AlertVia, JournalEvent, Msg, SourceData, SourceUpdate};
use super::palette::{self, Command, CompletionContext};
use super::pane::PaneId;
use super::panes::ListPane;
use super::state::{AppState, Modal, NoteEditor, NoticeLevel, Prompt};
use crate::domain::alert::AlertState;
use crate::domain::alert_events;
use crate::domain::incident::{Incident, IncidentSeverity, IncidentStatus, Milestone};
use crate::domain::runbook::StepState;
use crate::domain::severity::Severity;
use crate::domain::slo::{self, SloState};
use crate::domain::timefmt::TimeZoneChoice;
use crate::domain::timeline::Durability;
use crate::domain::timeline::{Event, SYSTEM_ACTOR, TimelineEntry};
use crate::ui::layout;

/// What Ctrl-C says over unsaved typing.
const CTRL_C_AGAIN: &str = "unsaved text: Ctrl-C again quits and loses it (Ctrl-S saves a note, Esc closes)";

/// How long an informational notice stays in the bottom line.
pub const NOTICE_TTL: Duration = Duration::seconds(6);

pub fn update(state: &mut AppState, msg: Msg, now: DateTime<Utc>) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key, now),
        Msg::Resize { width, height } => {
            state.viewport = (width, height);
            keep_cursors_visible(state);
            Vec::new()
        }
        Msg::StepOutput { run, lines } => super::runbook_run::on_output(state, run, lines, now),
        Msg::StepFinished { run, result } => super::runbook_run::on_finished(state, run, result, now),
        Msg::VerifyDone { run, result } => super::runbook_run::on_verify(state, run, result, now),
        Msg::Work => {
            state.logs.scan_step(crate::app::panes::logs::SCAN_SLICE);
            logs_cursor_follow(state);
            Vec::new()
        }
        Msg::Tick => {
            state.alerts.set_time(now);
            if state
                .notice
                .as_ref()
                .is_some_and(|n| n.level == NoticeLevel::Info && now - n.at >= NOTICE_TTL)
            {
                state.notice = None;
            }
            let mut effects = super::runbook_run::on_tick(state, now);
            effects.extend(super::canary::on_tick(state, now));
            effects.extend(super::rollback::on_tick(state, now));
            effects
        }
        Msg::Source(update) => on_source(state, update),
        Msg::Recorded(entries) => {
            on_recorded(state, entries);
            Vec::new()
        }
        Msg::Journal(event) => on_journal(state, event, now),
        Msg::RequestDone { request, result } => super::silencing::on_done(state, request, result, now),
        Msg::RollbackDone { id, result } => super::rollback::on_done(state, id, result, now),
    }
}

pub(crate) fn system(at: DateTime<Utc>, event: Event) -> EventDraft {
    EventDraft {
        occurred_at: at,
        actor: Some(SYSTEM_ACTOR.to_string()),
        event,
        supersedes: None,
    }
}

/// An event a person did, now (the actor filled in as the cockpit's user).
pub(crate) fn human(at: DateTime<Utc>, event: Event) -> EventDraft {
    EventDraft {
        occurred_at: at,
        actor: None,
        event,
        supersedes: None,
    }
}

/// The effect that records `drafts`, or none for none.
pub(crate) fn record(drafts: Vec<EventDraft>) -> Vec<Effect> {
    if drafts.is_empty() {
        Vec::new()
    } else {
        vec![Effect::Record(drafts)]
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

fn on_key(state: &mut AppState, key: KeyEvent, now: DateTime<Utc>) -> Vec<Effect> {
    let chord = KeyChord::from_event(&key);
    if chord == KeyChord::new(KeyCode::Char('c'), KeyModifiers::CONTROL) {
        // Ctrl-C quits at once, except over unsaved typing: then it asks for a second Ctrl-C.
        let drafting = match &state.modal {
            Some(Modal::Note(editor)) => !editor.text().is_empty(),
            Some(Modal::Silence(_)) => true,
            _ => false,
        };
        if drafting && state.notice.as_ref().is_none_or(|n| n.text != CTRL_C_AGAIN) {
            state.notify(NoticeLevel::Warn, CTRL_C_AGAIN, now);
            return Vec::new();
        }
        return vec![Effect::Quit];
    }
    match state.modal.take() {
        None => match state.keymap.resolve(state.focus, chord) {
            Some(action) => apply_action(state, action, now),
            None => Vec::new(),
        },
        Some(Modal::Help { scroll }) => {
            let action = state.keymap.resolve(state.focus, chord);
            let max = crate::ui::help::max_scroll(&state.keymap, state.viewport.1);
            let page = crate::ui::help::visible_rows(state.viewport.1).max(1);
            let scroll = match action {
                Some(Action::Down) => Some((scroll + 1).min(max)),
                Some(Action::Up) => Some(scroll.saturating_sub(1)),
                Some(Action::HalfPageDown) => Some((scroll + page / 2).min(max)),
                Some(Action::HalfPageUp) => Some(scroll.saturating_sub(page / 2)),
                Some(Action::PageDown) => Some((scroll + page).min(max)),
                Some(Action::PageUp) => Some(scroll.saturating_sub(page)),
                Some(Action::Top) => Some(0),
                Some(Action::Bottom) => Some(max),
                Some(Action::Help | Action::Back | Action::Quit) => None,
                _ if key.code == KeyCode::Esc => None,
                _ => Some(scroll),
            };
            state.modal = scroll.map(|scroll| Modal::Help { scroll });
            Vec::new()
        }
        Some(Modal::Note(mut editor)) => {
            let save = chord == KeyChord::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
            if save {
                let text = editor.text();
                if text.is_empty() {
                    state.notify(NoticeLevel::Info, "empty note discarded", now);
                    return Vec::new();
                }
                return record(vec![human(now, Event::Note { text, public: false })]);
            }
            if key.code == KeyCode::Esc {
                state.notify(NoticeLevel::Info, "note discarded", now);
                return Vec::new();
            }
            editor.input.input(key);
            state.modal = Some(Modal::Note(editor));
            Vec::new()
        }
        Some(Modal::Silence(form)) => super::silencing::on_form_key(state, form, key, now),
        Some(Modal::Silences(list)) => super::silencing::on_list_key(state, list, key, now),
        Some(Modal::ConfirmStep(confirm)) => super::runbook_run::on_confirm_key(state, confirm, key, now),
        Some(Modal::SkipStep(skip)) => super::runbook_run::on_skip_key(state, skip, key, now),
        Some(Modal::ConfirmQuit) => {
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                vec![Effect::Quit]
            } else {
                state.notify(NoticeLevel::Info, "quit cancelled", now);
                Vec::new()
            }
        }
        Some(Modal::Palette(mut prompt)) => match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => match palette::parse(&prompt.text()) {
                Ok(command) => run_command(state, command, now),
                Err(message) => {
                    state.notify(NoticeLevel::Warn, message, now);
                    state.modal = Some(Modal::Palette(prompt));
                    Vec::new()
                }
            },
            KeyCode::Tab => {
                let candidates = completions(state, &prompt.text());
                let prefix = palette::common_prefix(&candidates);
                if candidates.len() == 1 {
                    let takes_arg = palette::ARG_COMMANDS.iter().any(|(n, _)| *n == prefix)
                        && !matches!(prefix.as_str(), "nofilter" | "resolve" | "q");
                    prompt = Prompt::new(&if takes_arg { format!("{prefix} ") } else { prefix });
                } else if prefix.len() > prompt.text().trim_start().len() {
                    prompt = Prompt::new(&prefix);
                }
                prompt.candidates = completions(state, &prompt.text());
                state.modal = Some(Modal::Palette(prompt));
                Vec::new()
            }
            _ => {
                prompt.input.input(key);
                prompt.candidates = completions(state, &prompt.text());
                state.modal = Some(Modal::Palette(prompt));
                Vec::new()
            }
        },
        Some(Modal::Filter { mut prompt, previous }) => match key.code {
            KeyCode::Esc => {
                state.pane_mut(state.focus).set_filter(previous);
                after_filter_change(state);
                Vec::new()
            }
            KeyCode::Enter => {
                after_filter_change(state);
                Vec::new()
            }
            _ => {
                prompt.input.input(key);
                let filter = TextFilter::new(&prompt.text());
                if filter != state.pane(state.focus).list().filter {
                    state.pane_mut(state.focus).set_filter(filter);
                    after_filter_change(state);
                }
                state.modal = Some(Modal::Filter { prompt, previous });
                Vec::new()
            }
        },
    }
}

fn completions(state: &AppState, line: &str) -> Vec<String> {
    let themes: Vec<String> = state.themes.iter().map(|t| t.name.clone()).collect();
    let runbooks: Vec<String> = state.runbook.library.iter().map(|r| r.id.clone()).collect();
    palette::complete(
        line,
        &CompletionContext {
            themes: &themes,
            runbooks: &runbooks,
        },
    )
}

/// After a filter changes, Logs and Timeline keep following the newest match.
fn after_filter_change(state: &mut AppState) {
    let follow = match state.focus {
        PaneId::Logs => state.logs.follow,
        PaneId::Timeline => state.timeline.follow,
        _ => false,
    };
    if follow {
        let rows = focused_rows(state);
        let pane = state.pane_mut(state.focus);
        let len = pane.visible_len();
        pane.list_mut().cursor.bottom(len, rows);
    }
}

/// Visible list rows of the focused pane at the current size.
fn focused_rows(state: &AppState) -> usize {
    rows_of(state, state.focus, state.zoomed)
}

pub fn apply_action(state: &mut AppState, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
    if state.read_only && action.is_write() {
        state.notify(
            NoticeLevel::Warn,
            format!("read-only session (--read-only): {} is disabled", action.name()),
            now,
        );
        return Vec::new();
    }
    match action {
        Action::Quit if state.incident_open() => {
            state.modal = Some(Modal::ConfirmQuit);
        }
        Action::Quit | Action::ForceQuit => return vec![Effect::Quit],
        Action::Suspend => return vec![Effect::Suspend],
        Action::Help => state.modal = Some(Modal::Help { scroll: 0 }),
        Action::CommandPalette => {
            let mut prompt = Prompt::new("");
            prompt.candidates = completions(state, "");
            state.modal = Some(Modal::Palette(prompt));
        }
        Action::Filter => {
            let previous = state.pane(state.focus).list().filter.clone();
            let prompt = Prompt::new(previous.as_ref().map_or("", TextFilter::text));
            state.modal = Some(Modal::Filter { prompt, previous });
        }
        Action::NextMatch | Action::PrevMatch => {
            let rows = focused_rows(state);
            let pane = state.pane_mut(state.focus);
            if pane.list().filter.is_none() {
                state.notify(NoticeLevel::Info, "no filter in this pane: press / to filter", now);
                return Vec::new();
            }
            let len = pane.visible_len();
            if len == 0 {
                state.notify(NoticeLevel::Info, "no matches", now);
                return Vec::new();
            }
            let cursor = &mut pane.list_mut().cursor;
            let next = if action == Action::NextMatch {
                (cursor.selected + 1) % len
            } else {
                (cursor.selected + len - 1) % len
            };
            cursor.selected = next;
            cursor.keep_visible(len, rows);
            stop_following(state);
        }
        Action::FocusNext => state.focus = state.focus.next(),
        Action::FocusPrev => state.focus = state.focus.prev(),
        Action::Focus(pane) => state.focus = pane,
        Action::Zoom => state.zoomed = !state.zoomed,
        Action::Back => {
            if state.zoomed {
                state.zoomed = false;
            } else if state.pane(state.focus).list().filter.is_some() {
                state.pane_mut(state.focus).set_filter(None);
                after_filter_change(state);
            } else {
                state.notice = None;
            }
        }
        Action::Down => navigate(state, |c, len, rows| c.move_by(1, len, rows)),
        Action::Up => navigate(state, |c, len, rows| c.move_by(-1, len, rows)),
        Action::HalfPageDown => navigate(state, |c, len, rows| c.move_by((rows / 2).max(1) as isize, len, rows)),
        Action::HalfPageUp => navigate(state, |c, len, rows| {
            c.move_by(-((rows / 2).max(1) as isize), len, rows)
        }),
        Action::PageDown => navigate(state, |c, len, rows| c.move_by(rows.max(1) as isize, len, rows)),
        Action::PageUp => navigate(state, |c, len, rows| c.move_by(-(rows.max(1) as isize), len, rows)),
        Action::Top => navigate(state, |c, _, _| c.top()),
        Action::Bottom => {
            navigate(state, |c, len, rows| c.bottom(len, rows));
            match state.focus {
                PaneId::Logs => state.logs.follow = true,
                PaneId::Timeline => state.timeline.follow = true,
                _ => {}
            }
        }
        Action::RefreshAll => {
            state.notify(NoticeLevel::Info, "refreshing every source", now);
            return vec![Effect::RefreshAll];
        }
        Action::ToggleTimezone => {
            state.clock.zone = match state.clock.zone {
                TimeZoneChoice::Utc => TimeZoneChoice::Local,
                TimeZoneChoice::Local => TimeZoneChoice::Utc,
            };
        }
        Action::ToggleFollow => {
            let rows = focused_rows(state);
            let follow = match state.focus {
                PaneId::Logs => &mut state.logs.follow,
                PaneId::Timeline => &mut state.timeline.follow,
                _ => {
                    state.notify(NoticeLevel::Info, "follow applies to the Logs and Timeline panes", now);
                    return Vec::new();
                }
            };
            *follow = !*follow;
            if *follow {
                let pane = state.pane_mut(state.focus);
                let len = pane.visible_len();
                pane.list_mut().cursor.bottom(len, rows);
            }
        }
        Action::ToggleStep => return toggle_step(state, now),
        Action::RunStep => return super::runbook_run::start_run(state, now),
        Action::VerifyStep => return super::runbook_run::check_selected(state, now),
        Action::SkipStep => return super::runbook_run::start_skip(state, now),
        Action::OpenRunbook => return super::runbook_run::open_for_alert(state, now),
        Action::Rollback => return super::rollback::start(state, now),
        Action::ToggleWrap | Action::ToggleTimestamps | Action::CycleLevel | Action::FilterRequest
            if state.focus != PaneId::Logs =>
        {
            state.notify(
                NoticeLevel::Info,
                format!("{} applies to the Logs pane (4)", action.name()),
                now,
            );
        }
        Action::ToggleWrap => state.logs.wrap = !state.logs.wrap,
        Action::ToggleTimestamps => state.logs.show_time = !state.logs.show_time,
        Action::CycleLevel => {
            use crate::domain::log::LogLevel;
            let next = match state.logs.min_level {
                None => Some(LogLevel::Debug),
                Some(LogLevel::Debug) => Some(LogLevel::Info),
                Some(LogLevel::Info) => Some(LogLevel::Warn),
                Some(LogLevel::Warn) => Some(LogLevel::Error),
                Some(_) => None,
            };
            return run_command(state, Command::Level(next), now);
        }
        Action::FilterRequest => {
            let selected = state.logs.list.cursor.selected;
            let id = state
                .logs
                .row(selected)
                .and_then(|l| l.request_id().or(l.trace_id()).map(str::to_string));
            let Some(id) = id else {
                if state.logs.list.filter.is_some() {
                    state.logs.set_filter(None);
                    logs_cursor_follow(state);
                } else {
                    state.notify(NoticeLevel::Info, "this line has no request or trace id", now);
                }
                return Vec::new();
            };
            let pattern = regex::escape(&id);
            let same = state.logs.list.filter.as_ref().is_some_and(|f| f.text() == pattern);
            state
                .logs
                .set_filter(if same { None } else { TextFilter::new(&pattern) });
            logs_cursor_follow(state);
        }
        Action::NextError | Action::PrevError | Action::NextWarning | Action::PrevWarning => {
            use crate::domain::log::LogLevel;
            if state.focus != PaneId::Logs {
                state.focus = PaneId::Logs;
            }
            let forward = matches!(action, Action::NextError | Action::NextWarning);
            let worst = if matches!(action, Action::NextError | Action::PrevError) {
                LogLevel::Error
            } else {
                LogLevel::Warn
            };
            let from = state.logs.list.cursor.selected;
            match state.logs.find_row(from, forward, |l| l.level <= worst) {
                Some(row) => jump_logs_to(state, row),
                None => state.notify(
                    NoticeLevel::Info,
                    format!(
                        "no {} {} line",
                        if forward { "later" } else { "earlier" },
                        if worst == LogLevel::Error { "error" } else { "warning" }
                    ),
                    now,
                ),
            }
        }
        Action::AddNote => {
            if !state.incident_open() {
                state.notify(
                    NoticeLevel::Warn,
                    "no open incident: declare one first (D, or :declare)",
                    now,
                );
                return Vec::new();
            }
            state.modal = Some(Modal::Note(NoteEditor::new("")));
        }
        Action::TogglePin => return toggle_pin(state, now),
        Action::Silence => {
            if state.focus == PaneId::Alerts {
                super::silencing::open_editor(state, now);
            } else {
                state.notify(NoticeLevel::Info, "silence from the Alerts pane (1)", now);
            }
        }
        Action::ListSilences => super::silencing::open_list(state, now),
        Action::ToggleGroup => {
            if state.focus == PaneId::Alerts && !state.alerts.toggle_fold() {
                state.notify(NoticeLevel::Info, "this alert is not in a group of several", now);
            }
            let rows = focused_rows(state);
            let len = state.pane(state.focus).visible_len();
            state.pane_mut(state.focus).list_mut().cursor.keep_visible(len, rows);
        }
        Action::DeclareIncident => {
            let text = declare_prefill(state);
            let mut prompt = Prompt::new(&text);
            prompt.candidates = completions(state, &text);
            state.modal = Some(Modal::Palette(prompt));
        }
    }
    Vec::new()
}

fn stop_following(state: &mut AppState) {
    match state.focus {
        PaneId::Logs => state.logs.follow = false,
        PaneId::Timeline => state.timeline.follow = false,
        _ => {}
    }
}

fn navigate(state: &mut AppState, step: impl FnOnce(&mut super::list::ListCursor, usize, usize)) {
    let rows = focused_rows(state);
    let pane = state.pane_mut(state.focus);
    let len = pane.visible_len();
    step(&mut pane.list_mut().cursor, len, rows);
    let at_bottom = len == 0 || pane.list().cursor.selected + 1 >= len;
    if !at_bottom {
        stop_following(state);
    }
}

fn keep_cursors_visible(state: &mut AppState) {
    for pane in PaneId::ALL {
        let rows = rows_of(state, pane, state.zoomed && pane == state.focus);
        let p = state.pane_mut(pane);
        let len = p.visible_len();
        p.list_mut().cursor.keep_visible(len, rows);
    }
}

fn toggle_step(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    if state.focus != PaneId::Runbook {
        return Vec::new();
    }
    let Some(runbook) = state.runbook.active_runbook() else {
        state.notify(NoticeLevel::Info, "no runbook shown: :runbook <id> opens one", now);
        return Vec::new();
    };
    let rows = state.runbook.visible_rows();
    let Some(step) = rows
        .get(state.runbook.list.cursor.selected)
        .and_then(|&i| runbook.steps.get(i))
    else {
        return Vec::new();
    };
    let Some(incident) = state.incident.as_ref().filter(|i| i.is_open()) else {
        state.notify(
            NoticeLevel::Warn,
            "no open incident: :declare SEV2 <title> first (progress lives in its timeline)",
            now,
        );
        return Vec::new();
    };
    let progress = incident.progress(&runbook.id);
    let current = progress.map_or(StepState::Todo, |p| p.state(&step.id));
    let next = if current == StepState::Done {
        StepState::Todo
    } else {
        StepState::Done
    };
    let mut drafts = Vec::new();
    if progress.is_none() {
        drafts.push(human(
            now,
            Event::RunbookAttached {
                runbook: runbook.id.clone(),
                title: runbook.title.clone(),
            },
        ));
    }
    drafts.push(human(
        now,
        Event::StepChanged {
            runbook: runbook.id.clone(),
            step: step.id.clone(),
            state: next,
            reason: None,
        },
    ));
    record(drafts)
}

/// Runs a palette command (for other modules: opening an alert's runbook is `:runbook ID`).
pub fn run_palette_command(state: &mut AppState, command: Command, now: DateTime<Utc>) -> Vec<Effect> {
    run_command(state, command, now)
}

fn run_command(state: &mut AppState, command: Command, now: DateTime<Utc>) -> Vec<Effect> {
    match command {
        Command::Action(action) => apply_action(state, action, now),
        Command::Focus(pane) => {
            state.focus = pane;
            Vec::new()
        }
        Command::Filter(text) => {
            state.pane_mut(state.focus).set_filter(TextFilter::new(&text));
            after_filter_change(state);
            Vec::new()
        }
        Command::ClearFilter => {
            state.pane_mut(state.focus).set_filter(None);
            after_filter_change(state);
            Vec::new()
        }
        Command::Theme(name) => {
            match state.themes.iter().find(|t| t.name == name) {
                Some(theme) => {
                    let theme = theme.clone();
                    state.notify(NoticeLevel::Info, format!("theme {}", theme.name), now);
                    state.theme = theme;
                }
                None => {
                    let known: Vec<_> = state.themes.iter().map(|t| t.name.as_str()).collect();
                    state.notify(
                        NoticeLevel::Warn,
                        format!("no theme \"{name}\" (known: {})", known.join(", ")),
                        now,
                    );
                }
            }
            Vec::new()
        }
        Command::Runbook(id) => {
            let Some(runbook) = state.runbook.find(&id).cloned() else {
                state.notify(NoticeLevel::Warn, format!("no runbook \"{id}\""), now);
                return Vec::new();
            };
            state.runbook.active = Some(runbook.id.clone());
            state.runbook.list = Default::default();
            state.focus = PaneId::Runbook;
            let attached = state
                .incident
                .as_ref()
                .is_some_and(|i| i.progress(&runbook.id).is_some());
            if state.incident_open() && !attached {
                return record(vec![human(
                    now,
                    Event::RunbookAttached {
                        runbook: runbook.id,
                        title: runbook.title,
                    },
                )]);
            }
            Vec::new()
        }
        Command::Declare { severity, title } => {
            if state.incident_open() {
                state.notify(NoticeLevel::Warn, "an incident is already open", now);
                return Vec::new();
            }
            record(declaration(state, severity, title, now))
        }
        Command::Note(Some(text)) => {
            if !state.incident_open() {
                state.notify(
                    NoticeLevel::Warn,
                    "no open incident: declare one first (D, or :declare)",
                    now,
                );
                return Vec::new();
            }
            record(vec![human(now, Event::Note { text, public: false })])
        }
        Command::Note(None) => apply_action(state, Action::AddNote, now),
        Command::Milestone { milestone, at } => {
            let Some(incident) = state
                .incident
                .as_ref()
                .filter(|i| i.is_open() || milestone == Milestone::Resolved)
            else {
                state.notify(NoticeLevel::Warn, "no incident to set a milestone on", now);
                return Vec::new();
            };
            let when = at.map_or(now, |hms| state.clock.at_time_of_day(now, hms));
            // A milestone already set is corrected: the new entry supersedes the old one.
            let superseded = state
                .timeline
                .entries
                .iter()
                .rev()
                .find(|e| {
                    matches!(e.event, Event::Milestone { milestone: m } if m == milestone)
                        && !incident.superseded.contains(&e.id)
                })
                .map(|e| e.id.clone());
            let mut draft = human(when, Event::Milestone { milestone });
            draft.supersedes = superseded;
            record(vec![draft])
        }
        Command::Role { role, person } => match incident_required(state, now) {
            Some(()) => record(vec![human(now, Event::RoleAssigned { role, person })]),
            None => Vec::new(),
        },
        Command::Status(status) => match incident_required(state, now) {
            Some(()) => record(vec![human(now, Event::StatusChanged { status })]),
            None => Vec::new(),
        },
        Command::Retract(reason) => retract_selected(state, reason, now),
        Command::Mitigation(plan) => {
            let slos = state
                .slos
                .budget_exhausted()
                .iter()
                .map(|r| r.spec.name.clone())
                .collect();
            let service = state.service.clone();
            record(vec![human(now, Event::MitigationPlan { plan, service, slos })])
        }
        Command::WatchCanary(length) => super::canary::start(state, length, now),
        Command::PromoteOverride(reason) => super::canary::override_hold(state, reason, now),
        Command::Input { name, value } => super::runbook_run::set_input(state, name, value, now),
        Command::Goto(hms) => {
            let at = state.clock.at_time_of_day(now, hms);
            state.focus = PaneId::Logs;
            match state.logs.row_at_time(at) {
                Some(row) => jump_logs_to(state, row),
                None => state.notify(NoticeLevel::Info, "no log lines", now),
            }
            Vec::new()
        }
        Command::Level(level) => {
            state.logs.set_min_level(level);
            logs_cursor_follow(state);
            let text = level.map_or("all levels".to_string(), |l| format!("{} and worse", l.word()));
            state.notify(NoticeLevel::Info, format!("logs: {text}"), now);
            Vec::new()
        }
        Command::Severity(severity) => match incident_required(state, now) {
            Some(()) => record(vec![human(now, Event::SeverityChanged { severity })]),
            None => Vec::new(),
        },
        Command::Resolve => {
            if !state.incident_open() {
                state.notify(NoticeLevel::Warn, "no open incident", now);
                return Vec::new();
            }
            record(vec![human(
                now,
                Event::StatusChanged {
                    status: IncidentStatus::Resolved,
                },
            )])
        }
    }
}

/// Warns and returns `None` when no incident is open.
fn incident_required(state: &mut AppState, now: DateTime<Utc>) -> Option<()> {
    if state.incident_open() {
        Some(())
    } else {
        state.notify(
            NoticeLevel::Warn,
            "no open incident: declare one first (D, or :declare)",
            now,
        );
        None
    }
}

/// The palette text `D` opens: a declaration prefilled from the selected (or most urgent) alert.
fn declare_prefill(state: &AppState) -> String {
    let alert = state
        .alerts
        .selected()
        .filter(|a| a.state.is_active())
        .or_else(|| state.alerts.book.alerts().iter().find(|a| a.state.is_active()));
    match alert {
        Some(a) => {
            let severity = match a.severity() {
                Severity::Page | Severity::Critical => "SEV2",
                Severity::Warning => "SEV3",
                Severity::Info | Severity::Unknown => "SEV4",
            };
            let what = if a.summary().is_empty() {
                a.name().to_string()
            } else {
                format!("{}: {}", a.name(), a.summary())
            };
            format!("declare {severity} {} {what}", state.service)
        }
        None => "declare SEV3 ".to_string(),
    }
}

/// Declaring records the declaration and the lead-up the cockpit already saw: the alerts firing now
/// (at their start times), the deploys of the last two hours, and `detected` at the first page.
fn declaration(state: &AppState, severity: IncidentSeverity, title: String, now: DateTime<Utc>) -> Vec<EventDraft> {
    let mut drafts = vec![human(
        now,
        Event::IncidentDeclared {
            title,
            severity,
            commander: Some(state.user.clone()),
        },
    )];
    let firing: Vec<_> = state
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    // The new incident's journal holds nothing yet: every alert firing now is its lead-up.
    drafts.extend(
        alert_events::missing(state.alerts.book.alerts(), &[], now)
            .into_iter()
            .filter(|e| matches!(e.event, Event::AlertFired { .. }))
            .map(|e| system(e.occurred_at, e.event)),
    );
    drafts.extend(recent_deploys(state, now, &[]));
    let first_page = firing
        .iter()
        .filter(|a| matches!(a.severity(), Severity::Page | Severity::Critical))
        .map(|a| a.starts_at)
        .min();
    if let Some(at) = first_page {
        drafts.push(human(
            at,
            Event::Milestone {
                milestone: Milestone::Detected,
            },
        ));
    }
    drafts
}

/// Pins the selected timeline entry for the postmortem, or unpins it.
/// Selects visible row `row` of the Logs pane and stops following there.
fn jump_logs_to(state: &mut AppState, row: usize) {
    let rows = rows_of(state, PaneId::Logs, state.zoomed && state.focus == PaneId::Logs);
    let len = state.logs.visible_len();
    state.logs.list.cursor.selected = row.min(len.saturating_sub(1));
    state.logs.list.cursor.keep_visible(len, rows);
    state.logs.follow = false;
}

/// After the Logs pane's rows changed: the bottom when following, else the selection in view.
fn logs_cursor_follow(state: &mut AppState) {
    let rows = rows_of(state, PaneId::Logs, state.zoomed && state.focus == PaneId::Logs);
    let len = state.logs.visible_len();
    if state.logs.follow {
        state.logs.list.cursor.bottom(len, rows);
    } else {
        state.logs.list.cursor.keep_visible(len, rows);
    }
}

/// Pins the selected log line into the incident's timeline as evidence.
fn pin_log_line(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    if !state.incident_open() {
        state.notify(NoticeLevel::Warn, "pins belong to an incident: declare one first", now);
        return Vec::new();
    }
    let Some(line) = state.logs.row(state.logs.list.cursor.selected) else {
        state.notify(NoticeLevel::Info, "no line selected", now);
        return Vec::new();
    };
    let event = Event::LogPinned {
        source: line.source.to_string(),
        origin: state.logs.origins.get(line.source).cloned(),
        stream: line.stream.map(str::to_string),
        logged_at: line.at,
        line: line.text.to_string(),
    };
    state.notify(NoticeLevel::Info, "line pinned to the timeline", now);
    record(vec![human(now, event)])
}

/// The selected Timeline entry, if it is in the incident's journal (else says why not).
fn selected_journaled_entry(state: &mut AppState, now: DateTime<Utc>) -> Option<TimelineEntry> {
    let rows = state.timeline.visible_rows();
    let entry = rows
        .get(state.timeline.list.cursor.selected)
        .and_then(|&i| state.timeline.entries.get(i))?
        .clone();
    if entry.durability == Durability::MemoryOnly {
        state.notify(
            NoticeLevel::Warn,
            "this entry is not in the incident's journal (it came before the incident)",
            now,
        );
        return None;
    }
    Some(entry)
}

/// `:retract <reason>`: withdraws the selected timeline entry of the open incident. It stays in
/// the journal, struck through, and the retraction is audited like what it withdraws.
fn retract_selected(state: &mut AppState, reason: String, now: DateTime<Utc>) -> Vec<Effect> {
    if state.focus != PaneId::Timeline || !state.incident_open() {
        state.notify(
            NoticeLevel::Info,
            "select an entry of the open incident in the Timeline pane (7) to retract it",
            now,
        );
        return Vec::new();
    }
    let Some(entry) = selected_journaled_entry(state, now) else {
        return Vec::new();
    };
    let mut draft = human(now, Event::Retracted { reason });
    draft.supersedes = Some(entry.id.clone());
    let what = crate::domain::sanitize::one_line(&entry.event.summary());
    state.notify(NoticeLevel::Info, format!("retracted: {what}"), now);
    record(vec![draft])
}

fn toggle_pin(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    if state.focus == PaneId::Logs {
        return pin_log_line(state, now);
    }
    if state.focus != PaneId::Timeline {
        return Vec::new();
    }
    if state.incident.is_none() {
        state.notify(NoticeLevel::Warn, "pins belong to an incident: declare one first", now);
        return Vec::new();
    }
    let Some(entry) = selected_journaled_entry(state, now) else {
        return Vec::new();
    };
    let target = entry.id.clone();
    let was_pinned = state.incident.as_ref().is_some_and(|i| i.is_pinned(&target));
    let event = if was_pinned {
        Event::Unpinned { target }
    } else {
        Event::Pinned { target }
    };
    record(vec![human(now, event)])
}

fn on_journal(state: &mut AppState, event: JournalEvent, now: DateTime<Utc>) -> Vec<Effect> {
    match event {
        JournalEvent::Opened { id, entries, notice } => {
            if state.journal.incident_id.as_deref() != Some(id.as_str()) {
                // Another incident: keep only what was never in a journal (the session's context)
                // and what is on its way to this one (a declaration just made, not yet synced).
                state.timeline.entries.retain(|e| e.durability != Durability::Durable);
            }
            state.journal.incident_id = Some(id);
            on_recorded(state, entries);
            if let Some(text) = notice {
                state.notify(NoticeLevel::Warn, text, now);
            }
            // Alerts that fired or ended while no cockpit watched this incident, and (for an
            // incident declared elsewhere) the deploys that led up to it.
            if state.incident_open() {
                let mut drafts = if state.alerts.via.is_some() {
                    alert_drafts(state, now)
                } else {
                    Vec::new()
                };
                let declared = state.incident.as_ref().map_or(now, Incident::started);
                let recorded: Vec<&TimelineEntry> = state
                    .timeline
                    .entries
                    .iter()
                    .filter(|e| e.durability != Durability::MemoryOnly)
                    .collect();
                drafts.extend(recent_deploys(state, declared, &recorded));
                return record(drafts);
            }
        }
        JournalEvent::Failed { error, held } => {
            state.journal.failure = Some((error, held));
        }
        JournalEvent::Recovered => {
            state.journal.failure = None;
            state.notify(
                NoticeLevel::Info,
                "journal writes work again: every held entry is on disk now",
                now,
            );
        }
        JournalEvent::Notice(text) => state.notify(NoticeLevel::Warn, text, now),
    }
    Vec::new()
}

/// The deploys of the two hours before `now` as timeline events, leaving out those `recorded`
/// already holds (same version, environment and status).
fn recent_deploys(state: &AppState, now: DateTime<Utc>, recorded: &[&TimelineEntry]) -> Vec<EventDraft> {
    state
        .deploys
        .deploys
        .iter()
        .filter(|d| now - d.started_at <= Duration::hours(2))
        .map(|d| {
            (
                d.finished_at.unwrap_or(d.started_at),
                Event::DeployObserved {
                    version: d.version.clone(),
                    environment: d.environment.clone(),
                    status: d.status.word().to_string(),
                    rollback: d.kind == crate::domain::deploy::DeployKind::Rollback,
                },
            )
        })
        .filter(|(_, event)| !recorded.iter().any(|e| &e.event == event))
        .map(|(at, event)| system(at, event))
        .collect()
}

/// The alert events the timeline lacks: against the incident's journal while one is open, else
/// against the session's in-memory context (all there is when no journal is kept).
fn alert_drafts(state: &AppState, now: DateTime<Utc>) -> Vec<EventDraft> {
    let journaled = state.incident_open() && state.journal.incident_id.is_some();
    let recorded: Vec<&TimelineEntry> = state
        .timeline
        .entries
        .iter()
        .filter(|e| !journaled || e.durability != Durability::MemoryOnly)
        .collect();
    let mut drafts = Vec::new();
    for e in alert_events::missing(state.alerts.book.alerts(), &recorded, now) {
        // A paging alert that fires during an incident gets the changes before it ranked.
        let suspects = match &e.event {
            Event::AlertFired { fingerprint, .. } if journaled => state
                .alerts
                .book
                .alerts()
                .iter()
                .find(|a| &a.fingerprint == fingerprint)
                .filter(|a| {
                    matches!(
                        a.severity(),
                        crate::domain::severity::Severity::Page | crate::domain::severity::Severity::Critical
                    )
                })
                .map(|a| {
                    let ranked = crate::domain::correlation::rank(
                        &state.deploys.deploys,
                        a.starts_at,
                        a.label("service"),
                        crate::domain::correlation::DEFAULT_WINDOW,
                    );
                    Event::SuspectsRanked {
                        alert: a.name().to_string(),
                        suspects: ranked.iter().take(5).map(|s| s.reason.clone()).collect(),
                    }
                }),
            _ => None,
        };
        let at = e.occurred_at;
        drafts.push(system(at, e.event));
        if let Some(event) = suspects.filter(|_| !state.deploys.deploys.is_empty()) {
            drafts.push(system(at, event));
        }
    }
    drafts
}

// ---------------------------------------------------------------------------------------------
// Sources

/// A source that fails again within this long after coming back is flapping: its outage is
/// recorded once (`source.down` at the first failure, `source.up` dated when it came back, once
/// it has stayed up this long), never once per cycle. The health mark still shows every change.
const FLAP_QUIET: chrono::Duration = chrono::Duration::minutes(5);

fn on_source(state: &mut AppState, update: SourceUpdate) -> Vec<Effect> {
    let at = update.at;
    let update_source = update.source.0;
    let Some(info) = state.sources.get_mut(update.source.0) else {
        return Vec::new();
    };
    let name = info.name.clone();
    let was_stale = info.health.is_stale();
    let mut drafts = Vec::new();
    let mut canary_effects = Vec::new();
    let data = match update.result {
        Err(error) => {
            // A source that flaps is recorded down once, then again only after it has stayed up
            // for a quiet period.
            info.up_since = None;
            if !was_stale && info.down_recorded.is_none() {
                info.down_recorded = Some(at);
                drafts.push(system(
                    at,
                    Event::SourceStale {
                        source: name,
                        error: error.to_string(),
                    },
                ));
            }
            info.health.failed(at, error);
            return record(drafts);
        }
        Ok(data) => {
            info.health.succeeded(at);
            if was_stale {
                info.up_since = Some(at);
            }
            if let Some(up) = info
                .up_since
                .filter(|&up| at - up >= FLAP_QUIET || info.down_recorded.is_none())
            {
                info.up_since = None;
                if info.down_recorded.take().is_some() {
                    drafts.push(system(up, Event::SourceRecovered { source: name }));
                }
            }
            data
        }
    };
    match data {
        SourceData::Reachable => {}
        SourceData::Alerts(set) => {
            let was = state.alerts.via;
            state.alerts.via = Some(set.via);
            if let Some(silences) = set.silences {
                state.alerts.set_silences(silences);
            }
            if was.is_some() && was != Some(set.via) {
                let text = match set.via {
                    AlertVia::PrometheusFallback | AlertVia::Prometheus => {
                        "no Alertmanager answers: alerts now come from Prometheus (no silences or inhibitions)"
                    }
                    AlertVia::Alertmanager => "Alertmanager answers again: alerts come from it",
                };
                state.notify(NoticeLevel::Warn, text, at);
            }
            state.alerts.set_time(at);
            state.alerts.apply_snapshot(set.alerts, at);
            state.runbook.orphans = state
                .alerts
                .book
                .alerts()
                .iter()
                .filter(|a| super::runbook_run::link_for(state, a) == super::runbook_run::RunbookLink::None)
                .map(|a| a.fingerprint.clone())
                .collect();
            drafts.extend(alert_drafts(state, at));
            let rows = rows_of(state, PaneId::Alerts, state.zoomed && state.focus == PaneId::Alerts);
            let len = state.alerts.visible_len();
            state.alerts.list.cursor.keep_visible(len, rows);
        }
        SourceData::Signals(readings) => state.signals.set_signals(readings),
        SourceData::Probes(results) => {
            // The smoke checks: probe results taken once the rollback's rollout had settled.
            let smoke =
                matches!(state.deploys.smoke, super::rollback::SmokeWait::AwaitingProbes { since } if at >= since);
            if smoke && !results.is_empty() {
                state.deploys.smoke = super::rollback::SmokeWait::Idle;
                let ok = results
                    .iter()
                    .all(|r| r.level() != crate::domain::severity::Level::Crit);
                let lines = results.iter().map(|r| format!("{}: {}", r.name, r.summary())).collect();
                drafts.push(system(at, Event::SmokeChecked { ok, results: lines }));
            }
            state.signals.set_probes(results)
        }
        SourceData::Slos(observations) => {
            let exhausted_before: Vec<String> = state
                .slos
                .budget_exhausted()
                .iter()
                .map(|r| r.spec.name.clone())
                .collect();
            let reports = observations.iter().map(slo::evaluate).collect();
            for (report, before) in state.slos.replace(reports) {
                let alarming = matches!(report.state, SloState::Page | SloState::Ticket);
                let was_alarming = matches!(before, Some(SloState::Page | SloState::Ticket));
                if alarming || was_alarming {
                    drafts.push(system(at, slo_event(&report, report.state.word())));
                }
                // An SLO starting to burn during an incident gets the changes before it ranked.
                if alarming && !was_alarming && state.incident_open() && !state.deploys.deploys.is_empty() {
                    let ranked = crate::domain::correlation::rank(
                        &state.deploys.deploys,
                        at,
                        Some(state.service.as_str()),
                        crate::domain::correlation::DEFAULT_WINDOW,
                    );
                    drafts.push(system(
                        at,
                        Event::SuspectsRanked {
                            alert: format!("SLO {} {}", report.spec.name, report.state.word()),
                            suspects: ranked.iter().take(5).map(|s| s.reason.clone()).collect(),
                        },
                    ));
                }
            }
            for report in state.slos.reports.iter().filter(|r| r.budget_exhausted()) {
                if !exhausted_before.contains(&report.spec.name) {
                    drafts.push(system(at, slo_event(report, "BUDGET EXHAUSTED")));
                }
            }
        }
        SourceData::LogsDropped(n) => state.logs.source_dropped += n,
        SourceData::Logs(lines) => {
            state.logs.push_limited(update_source, lines, at);
            let rows = rows_of(state, PaneId::Logs, state.zoomed && state.focus == PaneId::Logs);
            let len = state.logs.visible_len();
            if state.logs.follow {
                state.logs.list.cursor.bottom(len, rows);
            } else {
                state.logs.list.cursor.keep_visible(len, rows);
            }
        }
        SourceData::Deploys(deploys) => {
            let entry = state
                .sources
                .get(update_source)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for d in state.deploys.merge_from(&entry, deploys) {
                if let Some(length) = super::rollback::canary_length_for(state, &d, at) {
                    canary_effects.extend(super::canary::start_for_deploy(state, &d, length, at));
                }
                drafts.push(system(
                    d.finished_at.unwrap_or(d.started_at),
                    Event::DeployObserved {
                        version: d.version.clone(),
                        environment: d.environment.clone(),
                        status: d.status.word().to_string(),
                        rollback: d.kind == crate::domain::deploy::DeployKind::Rollback,
                    },
                ));
            }
            canary_effects.extend(super::rollback::on_deploys(state, &entry, at));
        }
    }
    let mut effects = record(drafts);
    effects.extend(canary_effects);
    // The canary watch weighs every SLO report and alert change.
    effects.extend(super::canary::on_slos(state, at));
    effects.extend(super::canary::on_alerts(state, at));
    effects
}

/// Rows for list items in `pane` on the current screen (the release-gate banner takes one).
fn rows_of(state: &AppState, pane: PaneId, zoomed: bool) -> usize {
    layout::list_rows_with_banner(state.viewport, pane, zoomed, state.slos.release_frozen())
}

fn slo_event(report: &slo::SloReport, state: &str) -> Event {
    Event::SloStateChanged {
        slo: report.spec.name.clone(),
        state: state.to_string(),
        burn_1h: report.burn(slo::BurnWindow::H1),
        burn_5m: report.burn(slo::BurnWindow::M5),
        budget_remaining: report.budget_remaining,
    }
}

/// The newest mitigation plan for `service` in the timeline that no entry retracts (a plan that
/// names no service counts for every one).
fn latest_plan(entries: &[TimelineEntry], service: &str) -> Option<crate::domain::slo::RecordedPlan> {
    let retracted: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter(|e| matches!(e.event, Event::Retracted { .. }))
        .filter_map(|e| e.supersedes.as_deref())
        .collect();
    entries
        .iter()
        .filter(|e| !retracted.contains(e.id.as_str()))
        .filter_map(|e| match &e.event {
            Event::MitigationPlan {
                plan,
                service: for_service,
                slos,
            } if for_service.is_empty() || for_service == service => Some(crate::domain::slo::RecordedPlan {
                id: e.id.clone(),
                by: e.actor.clone(),
                at: e.occurred_at,
                plan: plan.clone(),
                service: for_service.clone(),
                slos: slos.clone(),
            }),
            _ => None,
        })
        .max_by_key(|p| p.at)
}

fn on_recorded(state: &mut AppState, entries: Vec<TimelineEntry>) {
    for e in &entries {
        match &e.event {
            // An input a teammate (or this cockpit before a restart) set; secrets are not recorded.
            Event::InputSet {
                runbook,
                name,
                value: Some(value),
            } => {
                state
                    .runbook
                    .inputs
                    .entry(runbook.clone())
                    .or_default()
                    .insert(name.clone(), value.clone());
            }
            // Rollbacks sent by this cockpit before a restart, or by a teammate's: their deploys
            // are rollbacks, and an unknown outcome is still unknown.
            Event::RollbackStarted { entry, to, .. } if !entry.is_empty() => {
                state.deploys.mark_rollback(super::rollback::RollbackMark {
                    entry: entry.clone(),
                    to_version: to.clone(),
                    at: e.occurred_at,
                });
            }
            Event::RollbackFinished {
                entry,
                service,
                to,
                ok,
                uncertain,
                ..
            } if state.deploys.rollback.contains_key(entry) => {
                // Only rollbacks of the deploy sources this cockpit has; a success clears only
                // the unknown outcome of the same entry.
                if *uncertain {
                    state.deploys.unknown_outcome = Some(super::panes::deploys::UnknownOutcome {
                        entry: entry.clone(),
                        service: service.clone(),
                        to_version: to.clone(),
                    });
                } else if *ok
                    && state
                        .deploys
                        .unknown_outcome
                        .as_ref()
                        .is_some_and(|u| &u.entry == entry)
                {
                    state.deploys.unknown_outcome = None;
                }
            }
            _ => {}
        }
    }
    let plans_changed = entries
        .iter()
        .any(|e| matches!(e.event, Event::MitigationPlan { .. } | Event::Retracted { .. }));
    state.timeline.insert(entries);
    if plans_changed {
        state.slos.mitigation = latest_plan(&state.timeline.entries, &state.service);
    }
    state.incident = Incident::from_entries(&state.timeline.entries);
    if state.runbook.active.is_none()
        && let Some((id, _)) = state.incident.as_ref().and_then(|i| i.runbooks.first())
    {
        state.runbook.active = Some(id.clone());
    }
    let rows = rows_of(state, PaneId::Timeline, state.zoomed && state.focus == PaneId::Timeline);
    let len = state.timeline.visible_len();
    if state.timeline.follow {
        state.timeline.list.cursor.bottom(len, rows);
    } else {
        state.timeline.list.cursor.keep_visible(len, rows);
    }
}
