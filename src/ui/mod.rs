//! Pure drawing: `draw(frame, &state, now)` lays out the screen and asks each pane module to draw
//! itself. Nothing here performs I/O, reads the clock or changes the state.

pub mod chrome;
pub mod help;
pub mod hint;
pub mod layout;
pub mod modal;
pub mod panes;
pub mod status_bar;
pub mod text;
pub mod theme;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::pane::PaneId;
use crate::app::state::{AppState, Modal};
use theme::Slot;

pub fn draw(frame: &mut Frame<'_>, state: &AppState, now: DateTime<Utc>) {
    let area = frame.area();
    frame.render_widget(Block::default().style(state.theme.style(Slot::Text)), area);
    let screen = layout::compute(area, state.focus, state.zoomed);
    status_bar::render(frame, screen.status, state, now);
    if let Some(tabs) = screen.tabs {
        render_tabs(frame, tabs, state);
    }
    let single = screen.panes.len() == 1;
    for (pane, rect) in &screen.panes {
        let focused = *pane == state.focus && (!single || state.zoomed || screen.tabs.is_some());
        panes::render(frame, *rect, state, *pane, focused || single, now);
    }
    hint::render(frame, screen.hint, state, now);
    match &state.modal {
        Some(Modal::Help { scroll }) => help::render(frame, area, state, *scroll),
        Some(Modal::Palette(prompt)) => modal::render_palette(frame, area, state, prompt),
        Some(Modal::ConfirmQuit) => modal::render_confirm_quit(frame, area, state, now),
        Some(Modal::Filter { .. }) | None => {}
    }
}

/// The tab bar of the one-pane layout: every pane with its digit, the focused one marked.
fn render_tabs(frame: &mut Frame<'_>, area: ratatui::layout::Rect, state: &AppState) {
    let theme = &state.theme;
    let mut spans = Vec::new();
    for pane in PaneId::ALL {
        let (text, slot) = if pane == state.focus {
            (format!("▶{} {} ", pane.number(), pane.title()), Slot::TitleFocus)
        } else {
            (format!(" {} {} ", pane.number(), pane.title()), Slot::Muted)
        };
        spans.push(Span::styled(text, theme.style(slot)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
