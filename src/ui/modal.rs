//! Modal overlays other than help: the command palette (input and completions) and the quit
//! confirmation, which defaults to staying.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::theme::Slot;
use crate::app::action::Action;
use crate::app::palette::ARG_COMMANDS;
use crate::app::state::{AppState, Prompt};
use crate::domain::timefmt::short_duration;

/// The frame of an input overlay (palette, note editor, skip reason): rounded, focused, titled.
pub(crate) fn prompt_block(theme: &super::theme::Theme, title: impl Into<String>) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.style(Slot::BorderFocus))
        .title(Span::styled(title.into(), theme.style(Slot::TitleFocus)))
        .style(theme.style(Slot::Text))
}

/// A `width` x `height` box in the middle of `area` (cut to fit).
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(r);
    r
}

fn describe(candidate: &str) -> String {
    let head = candidate.split_whitespace().next().unwrap_or("");
    ARG_COMMANDS
        .iter()
        .find(|(n, _)| *n == head)
        .map(|(_, d)| d.to_string())
        .or_else(|| Action::from_name(head).map(|a| a.description().to_string()))
        .unwrap_or_default()
}

pub fn render_palette(frame: &mut Frame<'_>, area: Rect, state: &AppState, prompt: &Prompt) {
    let theme = &state.theme;
    let shown = prompt.candidates.len().min(8) as u16;
    let width = area.width.saturating_sub(4).min(80);
    let popup = centered(area, width, shown + 3);
    frame.render_widget(Clear, popup);
    let block = prompt_block(theme, " : command — Tab completes, Enter runs, Esc closes ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [input_area, list_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let [colon, input_area] = Layout::horizontal([Constraint::Length(2), Constraint::Min(1)]).areas(input_area);
    frame.render_widget(
        Paragraph::new(Span::styled(": ", theme.style(Slot::StatusAccent))),
        colon,
    );
    let mut textarea = prompt.input.clone();
    textarea.set_style(theme.style(Slot::Text));
    textarea.set_cursor_style(
        theme
            .style(Slot::Selection)
            .add_modifier(ratatui::style::Modifier::REVERSED),
    );
    frame.render_widget(&textarea, input_area);
    let lines: Vec<Line<'static>> = prompt
        .candidates
        .iter()
        .take(usize::from(list_area.height))
        .map(|c| {
            Line::from(vec![
                Span::styled(format!("  {c:<18}"), theme.style(Slot::StatusAccent)),
                Span::styled(format!(" {}", describe(c)), theme.style(Slot::Muted)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list_area);
}

/// The note editor: a multi-line text area over the lower half of the screen.
pub fn render_note(frame: &mut Frame<'_>, area: Rect, state: &AppState, editor: &crate::app::state::NoteEditor) {
    let theme = &state.theme;
    let width = area.width.saturating_sub(4).min(100);
    let height = (area.height / 2).max(6).min(area.height);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let block = prompt_block(theme, " ✎ note for the incident timeline — Ctrl-S saves, Esc discards ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut textarea = editor.input.clone();
    textarea.set_style(theme.style(Slot::Text));
    textarea.set_cursor_line_style(ratatui::style::Style::default());
    textarea.set_cursor_style(
        theme
            .style(Slot::Selection)
            .add_modifier(ratatui::style::Modifier::REVERSED),
    );
    frame.render_widget(&textarea, inner);
}

/// What quitting does to the timeline, truthfully: entries kept only in memory are lost.
fn keep_or_lose(state: &AppState) -> &'static str {
    let in_memory = state
        .timeline
        .entries
        .iter()
        .any(|e| e.durability != crate::domain::timeline::Durability::Durable);
    if in_memory {
        "Quitting leaves it open, but entries held only in memory are LOST."
    } else {
        "Quitting leaves it open; its timeline is on disk."
    }
}

pub fn render_confirm_quit(frame: &mut Frame<'_>, area: Rect, state: &AppState, now: DateTime<Utc>) {
    let theme = &state.theme;
    let popup = centered(area, 60, 7);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.style(Slot::Warn))
        .title(Span::styled(" Quit warroom? ", theme.style(Slot::Warn)))
        .style(theme.style(Slot::Text));
    let what = state.incident.as_ref().map_or(String::new(), |i| {
        format!(
            "{} \"{}\" is {} ({} so far).",
            i.severity.word(),
            i.title,
            i.status.word(),
            short_duration(i.elapsed(now))
        )
    });
    let text = vec![
        Line::from(Span::styled(
            format!("An incident is open: {what}"),
            theme.style(Slot::Text),
        )),
        Line::from(Span::styled(keep_or_lose(state), theme.style(Slot::Muted))),
        Line::from(""),
        Line::from(vec![
            Span::styled(" y ", theme.style(Slot::Warn)),
            Span::styled(" quit    ", theme.style(Slot::Text)),
            Span::styled(" any other key ", theme.style(Slot::Selection)),
            Span::styled(" stay (default)", theme.style(Slot::Text)),
        ]),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), popup);
}
