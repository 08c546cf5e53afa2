//! The silence workflow, all of it pure: the editor (matchers prefilled from the selected alert or
//! group, duration, required comment), the confirmation that shows what the silence will match and
//! defaults to Cancel, the list of silences with extend and expire, and what happens when
//! Alertmanager answers (status line, timeline, audit log, refresh).

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::effect::{Effect, Request};
use super::msg::{AlertVia, RequestDone};
use super::state::{AppState, Modal, NoticeLevel};
use super::update::human;
use crate::domain::alert::AlertState;
use crate::domain::matcher::format_list;
use crate::domain::silence::{self, Silence, SilenceDraft, SilenceState};
use crate::domain::timeline::Event;

/// The default length of a new silence, and of an extension.
pub const DEFAULT_DURATION: &str = "1h";

/// Which of the two buttons of a confirmation is chosen; always starts on Cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Cancel,
    Confirm,
}

impl Choice {
    fn toggled(self) -> Self {
        match self {
            Self::Cancel => Self::Confirm,
            Self::Confirm => Self::Cancel,
        }
    }
}

fn line_input(text: &str) -> TextArea<'static> {
    let mut input = TextArea::new(vec![text.to_string()]);
    input.move_cursor(tui_textarea::CursorMove::End);
    input.set_cursor_line_style(ratatui::style::Style::default());
    input
}

fn text_of(input: &TextArea<'_>) -> String {
    input.lines().first().cloned().unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Matchers,
    Duration,
    Comment,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::Matchers, Field::Duration, Field::Comment];

    pub fn label(self) -> &'static str {
        match self {
            Self::Matchers => "matchers",
            Self::Duration => "duration",
            Self::Comment => "comment",
        }
    }
}

/// A silence being written, then confirmed.
#[derive(Debug, Clone)]
pub struct SilenceForm {
    pub matchers: TextArea<'static>,
    pub duration: TextArea<'static>,
    pub comment: TextArea<'static>,
    pub focus: Field,
    /// Set once the draft is valid and the responder asked to create it.
    pub confirm: Option<(SilenceDraft, Choice)>,
    /// Why the draft cannot be created yet.
    pub error: Option<String>,
}

impl SilenceForm {
    pub fn new(matchers: &str) -> Self {
        Self {
            matchers: line_input(matchers),
            duration: line_input(DEFAULT_DURATION),
            comment: line_input(""),
            // The matchers are prefilled; what is missing is the reason.
            focus: Field::Comment,
            confirm: None,
            error: None,
        }
    }

    pub fn input(&self, field: Field) -> &TextArea<'static> {
        match field {
            Field::Matchers => &self.matchers,
            Field::Duration => &self.duration,
            Field::Comment => &self.comment,
        }
    }

    fn input_mut(&mut self, field: Field) -> &mut TextArea<'static> {
        match field {
            Field::Matchers => &mut self.matchers,
            Field::Duration => &mut self.duration,
            Field::Comment => &mut self.comment,
        }
    }

    /// The draft as typed so far (for the live preview), or why it is not valid.
    pub fn draft(&self, author: &str) -> Result<SilenceDraft, silence::DraftError> {
        SilenceDraft::parse(
            &text_of(&self.matchers),
            &text_of(&self.duration),
            &text_of(&self.comment),
            author,
        )
    }

    fn step_focus(&mut self, forward: bool) {
        let i = Field::ALL.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = Field::ALL.len();
        self.focus = Field::ALL[if forward { (i + 1) % n } else { (i + n - 1) % n }];
    }
}

/// What the silence list is doing.
#[derive(Debug, Clone)]
pub enum ListStage {
    Browse,
    /// Expire the selected silence?
    ConfirmExpire(Choice),
    /// How much longer: the duration being typed.
    ExtendBy {
        input: Box<TextArea<'static>>,
        error: Option<String>,
    },
    ConfirmExtend {
        ends_at: DateTime<Utc>,
        choice: Choice,
    },
}

/// The list of silences (`S` in the Alerts pane).
#[derive(Debug, Clone)]
pub struct SilenceList {
    pub selected: usize,
    pub show_expired: bool,
    pub stage: ListStage,
}

impl SilenceList {
    pub fn new() -> Self {
        Self {
            selected: 0,
            show_expired: false,
            stage: ListStage::Browse,
        }
    }

    /// The silences listed, in order.
    pub fn rows<'a>(&self, silences: &'a [Silence]) -> Vec<&'a Silence> {
        let mut rows: Vec<&Silence> = silences
            .iter()
            .filter(|s| self.show_expired || s.state != SilenceState::Expired)
            .collect();
        rows.sort_by(|a, b| (a.state, a.ends_at, &a.id).cmp(&(b.state, b.ends_at, &b.id)));
        rows
    }
}

impl Default for SilenceList {
    fn default() -> Self {
        Self::new()
    }
}

fn read_only_refusal(state: &mut AppState, now: DateTime<Utc>) -> bool {
    if state.read_only {
        state.notify(
            NoticeLevel::Warn,
            "read-only session (--read-only): silences cannot be created, extended or expired",
            now,
        );
    }
    state.read_only
}

fn no_alertmanager(state: &mut AppState, now: DateTime<Utc>) -> bool {
    let known = state
        .sources
        .iter()
        .any(|s| s.kind == super::msg::SourceKind::Alertmanager);
    if !known {
        state.notify(
            NoticeLevel::Warn,
            "no Alertmanager configured: nothing can be silenced",
            now,
        );
    } else if state.alerts.via == Some(AlertVia::PrometheusFallback) {
        state.notify(
            NoticeLevel::Warn,
            "Alertmanager is unreachable (alerts come from Prometheus): silences cannot be changed now",
            now,
        );
        return true;
    }
    !known
}

/// `s` in the Alerts pane: a new silence for the selected alert or group.
pub fn open_editor(state: &mut AppState, now: DateTime<Utc>) {
    if read_only_refusal(state, now) || no_alertmanager(state, now) {
        return;
    }
    let matchers = if let Some(group) = state.alerts.selected_group() {
        silence::prefill_for_group(&group.labels)
    } else if let Some(alert) = state.alerts.selected() {
        silence::prefill_for_alert(alert)
    } else {
        state.notify(NoticeLevel::Info, "select an alert or a group to silence", now);
        return;
    };
    // Label values from the server are shown inert in the editor.
    let text = crate::domain::sanitize::one_line(&format_list(&matchers));
    state.modal = Some(Modal::Silence(Box::new(SilenceForm::new(&text))));
}

/// `S` in the Alerts pane: the silences.
pub fn open_list(state: &mut AppState, now: DateTime<Utc>) {
    if no_alertmanager(state, now) && state.alerts.silences.is_empty() {
        return;
    }
    state.modal = Some(Modal::Silences(SilenceList::new()));
}

fn is_ctrl(key: &KeyEvent, c: char) -> bool {
    key.code == KeyCode::Char(c) && key.modifiers.contains(KeyModifiers::CONTROL)
}

/// Keys while the silence editor is open. Returns the effects; puts the modal back unless closed.
pub fn on_form_key(state: &mut AppState, mut form: Box<SilenceForm>, key: KeyEvent, now: DateTime<Utc>) -> Vec<Effect> {
    if let Some((draft, choice)) = form.confirm.take() {
        match key.code {
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('h' | 'l') => {
                form.confirm = Some((draft, choice.toggled()));
            }
            KeyCode::Enter if choice == Choice::Confirm => {
                let matched = draft.preview(state.alerts.book.alerts()).len();
                state.notify(NoticeLevel::Info, "creating the silence…", now);
                return vec![Effect::Request(Request::CreateSilence {
                    matchers: draft.matchers,
                    starts_at: now,
                    ends_at: now + draft.duration,
                    created_by: draft.created_by,
                    comment: draft.comment,
                    matched,
                })];
            }
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n' | 'q') => {
                // Back to editing: nothing was sent.
                form.error = Some("not created: edit, or Esc to close".into());
            }
            _ => form.confirm = Some((draft, choice)),
        }
        state.modal = Some(Modal::Silence(form));
        return Vec::new();
    }
    match key.code {
        KeyCode::Esc => {
            state.notify(NoticeLevel::Info, "silence discarded", now);
            return Vec::new();
        }
        KeyCode::Tab | KeyCode::Down => form.step_focus(true),
        KeyCode::BackTab | KeyCode::Up => form.step_focus(false),
        KeyCode::Enter if form.focus != Field::Comment => form.step_focus(true),
        KeyCode::Enter => submit(state, &mut form),
        _ if is_ctrl(&key, 's') => submit(state, &mut form),
        _ => {
            let focus = form.focus;
            form.input_mut(focus).input(key);
            form.error = None;
        }
    }
    state.modal = Some(Modal::Silence(form));
    Vec::new()
}

fn submit(state: &AppState, form: &mut SilenceForm) {
    match form.draft(&state.user) {
        Ok(draft) => {
            form.error = None;
            form.confirm = Some((draft, Choice::Cancel));
        }
        Err(e) => form.error = Some(e.to_string()),
    }
}

/// Keys while the silence list is open.
pub fn on_list_key(state: &mut AppState, mut list: SilenceList, key: KeyEvent, now: DateTime<Utc>) -> Vec<Effect> {
    let rows: Vec<Silence> = list.rows(&state.alerts.silences).into_iter().cloned().collect();
    list.selected = list.selected.min(rows.len().saturating_sub(1));
    let selected = rows.get(list.selected).cloned();
    let stage = std::mem::replace(&mut list.stage, ListStage::Browse);
    match stage {
        ListStage::Browse => match key.code {
            KeyCode::Esc | KeyCode::Char('q' | 'S') => return Vec::new(),
            KeyCode::Down | KeyCode::Char('j') => list.selected = (list.selected + 1).min(rows.len().saturating_sub(1)),
            KeyCode::Up | KeyCode::Char('k') => list.selected = list.selected.saturating_sub(1),
            KeyCode::Char('a') => {
                list.show_expired = !list.show_expired;
                list.selected = 0;
            }
            KeyCode::Char('x') | KeyCode::Char('e') if !read_only_refusal(state, now) => match selected {
                Some(s) if s.state == SilenceState::Expired => {
                    state.notify(NoticeLevel::Info, "this silence has already expired", now);
                }
                Some(_) if key.code == KeyCode::Char('x') => list.stage = ListStage::ConfirmExpire(Choice::Cancel),
                Some(_) => {
                    list.stage = ListStage::ExtendBy {
                        input: Box::new(line_input(DEFAULT_DURATION)),
                        error: None,
                    };
                }
                None => {}
            },
            _ => {}
        },
        ListStage::ConfirmExpire(choice) => match (key.code, selected) {
            (KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::Char('h' | 'l'), _) => {
                list.stage = ListStage::ConfirmExpire(choice.toggled());
            }
            (KeyCode::Enter, Some(silence)) if choice == Choice::Confirm => {
                state.modal = Some(Modal::Silences(list));
                state.notify(NoticeLevel::Info, "expiring the silence…", now);
                return vec![Effect::Request(Request::ExpireSilence { silence })];
            }
            _ => {}
        },
        ListStage::ExtendBy { mut input, .. } => match key.code {
            KeyCode::Esc => {}
            KeyCode::Enter => {
                let text = text_of(&input);
                let parsed = humantime::parse_duration(text.trim())
                    .ok()
                    .and_then(|d| Duration::from_std(d).ok())
                    .filter(|d| *d > Duration::zero() && *d <= silence::MAX_SILENCE);
                match (parsed, selected) {
                    (Some(by), Some(s)) => {
                        list.stage = ListStage::ConfirmExtend {
                            ends_at: s.ends_at.max(now) + by,
                            choice: Choice::Cancel,
                        };
                    }
                    (None, _) => {
                        list.stage = ListStage::ExtendBy {
                            input,
                            error: Some(format!("\"{text}\" is not a duration of at most 30d (e.g. 30m, 2h)")),
                        };
                    }
                    (Some(_), None) => {}
                }
            }
            _ => {
                input.input(key);
                list.stage = ListStage::ExtendBy { input, error: None };
            }
        },
        ListStage::ConfirmExtend { ends_at, choice } => match (key.code, selected) {
            (KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::Char('h' | 'l'), _) => {
                list.stage = ListStage::ConfirmExtend {
                    ends_at,
                    choice: choice.toggled(),
                };
            }
            (KeyCode::Enter, Some(silence)) if choice == Choice::Confirm => {
                state.modal = Some(Modal::Silences(list));
                state.notify(NoticeLevel::Info, "extending the silence…", now);
                return vec![Effect::Request(Request::ExtendSilence { silence, ends_at })];
            }
            _ => {}
        },
    }
    state.modal = Some(Modal::Silences(list));
    Vec::new()
}

/// Alertmanager answered a silence request: say so, record it (timeline with an incident open,
/// audit log always), and poll again so the alerts show the change.
pub fn on_done(
    state: &mut AppState,
    request: Request,
    result: Result<RequestDone, String>,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let matchers = request.matchers_text();
    let event = match (&request, &result) {
        (_, Err(_)) => None,
        (
            Request::CreateSilence {
                ends_at,
                comment,
                matched,
                ..
            },
            Ok(done),
        ) => Some(Event::SilenceCreated {
            id: done.id.clone(),
            matchers: matchers.clone(),
            ends_at: *ends_at,
            comment: comment.clone(),
            matched: *matched,
        }),
        (Request::ExtendSilence { silence, ends_at }, Ok(done)) => Some(Event::SilenceExtended {
            id: done.id.clone(),
            previous_id: silence.id.clone(),
            matchers: matchers.clone(),
            ends_at: *ends_at,
        }),
        (Request::ExpireSilence { silence }, Ok(_)) => Some(Event::SilenceExpired {
            id: silence.id.clone(),
            matchers: matchers.clone(),
        }),
    };
    let (event, effects_after) = match (event, &result) {
        (Some(event), Ok(done)) => {
            let extra = if done.confirmed_after_timeout {
                " (the request timed out; the silence was found in Alertmanager's list)"
            } else {
                ""
            };
            state.notify(
                NoticeLevel::Info,
                format!(
                    "silence {} via {}: {{{matchers}}}{extra}",
                    verb_past(&request),
                    done.via
                ),
                now,
            );
            (event, vec![Effect::RefreshAll])
        }
        (_, Err(error)) => {
            state.notify(
                NoticeLevel::Error,
                format!("silence {} FAILED: {error}", request.verb()),
                now,
            );
            (
                Event::SilenceFailed {
                    action: request.verb().to_string(),
                    matchers,
                    error: error.clone(),
                },
                Vec::new(),
            )
        }
        (None, Ok(_)) => return Vec::new(),
    };
    // The editor closes once the silence exists; after a failure it stays closed too (the
    // responder decides whether to try again, never the cockpit).
    if matches!(state.modal, Some(Modal::Silence(_))) {
        state.modal = None;
    }
    let mut effects = vec![Effect::Record(vec![human(now, event)])];
    effects.extend(effects_after);
    effects
}

fn verb_past(request: &Request) -> &'static str {
    match request {
        Request::CreateSilence { .. } => "created",
        Request::ExtendSilence { .. } => "extended",
        Request::ExpireSilence { .. } => "expired",
    }
}

/// Alerts a silence in the list matches now (for the list's count column).
pub fn matching_now(state: &AppState, silence: &Silence) -> usize {
    state
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state != AlertState::Pending && a.state.is_active() && silence.matches(a))
        .count()
}
