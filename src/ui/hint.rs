//! The bottom line: the current notice if any, the filter prompt while filtering, else key hints
//! generated from the live keymap.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Slot;
use crate::app::action::Action;
use crate::app::keymap::Scope;
use crate::app::pane::PaneId;
use crate::app::state::{AppState, Modal, NoticeLevel};

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, _now: DateTime<Utc>) {
    let theme = &state.theme;
    if let Some(Modal::Filter { prompt, .. }) = &state.modal {
        let [label, input, help] = ratatui::layout::Layout::horizontal([
            ratatui::layout::Constraint::Length(10),
            ratatui::layout::Constraint::Min(10),
            ratatui::layout::Constraint::Length(28),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(Span::styled(" filter / ", theme.style(Slot::StatusAccent))),
            label,
        );
        let mut textarea = prompt.input.clone();
        textarea.set_style(theme.style(Slot::Text));
        textarea.set_cursor_style(
            theme
                .style(Slot::Selection)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        );
        frame.render_widget(&textarea, input);
        frame.render_widget(
            Paragraph::new(Span::styled(" Enter keep · Esc cancel ", theme.style(Slot::Hint))),
            help,
        );
        return;
    }
    if let Some((error, held)) = &state.journal.failure {
        // Loud and persistent until writes work again: nothing held here is on disk.
        let text = format!(" ✗ JOURNAL NOT WRITTEN: {error} — {held} entries held in memory, retrying ");
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(Slot::NoticeError))), area);
        return;
    }
    if let Some(notice) = &state.notice {
        let slot = match notice.level {
            NoticeLevel::Info => Slot::NoticeInfo,
            NoticeLevel::Warn => Slot::NoticeWarn,
            NoticeLevel::Error => Slot::NoticeError,
        };
        let prefix = match notice.level {
            NoticeLevel::Info => "",
            NoticeLevel::Warn => "⚠ ",
            NoticeLevel::Error => "✗ ERROR: ",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {prefix}{} ", notice.text), theme.style(slot))),
            area,
        );
        return;
    }
    super::put_lines(frame, area, &[hints(state)]);
}

/// "? help  : command  / filter ..." with the keys actually bound.
pub fn hints(state: &AppState) -> Line<'static> {
    let theme = &state.theme;
    let mut wanted = vec![
        (Action::Help, "help"),
        (Action::CommandPalette, "command"),
        (Action::Filter, "filter"),
        (Action::FocusNext, "next pane"),
        (Action::Zoom, if state.zoomed { "unzoom" } else { "zoom" }),
    ];
    match state.focus {
        PaneId::Logs | PaneId::Timeline => wanted.push((Action::ToggleFollow, "follow")),
        PaneId::Runbook => wanted.push((Action::ToggleStep, "done/todo")),
        _ => {}
    }
    wanted.push((Action::Quit, "quit"));
    let mut spans = vec![Span::raw(" ")];
    for (action, label) in wanted {
        let key = state
            .keymap
            .keys_for(Scope::Pane(state.focus), action)
            .into_iter()
            .chain(state.keymap.keys_for(Scope::Global, action))
            .next();
        if let Some(key) = key {
            spans.push(Span::styled(key.to_string(), theme.style(Slot::StatusAccent)));
            spans.push(Span::styled(format!(" {label}  "), theme.style(Slot::Hint)));
        }
    }
    Line::from(spans)
}
