//! Pure drawing: `draw(frame, &state, now)` lays out the screen and asks each pane module to draw
//! itself. Nothing here performs I/O, reads the clock or changes the state.

pub mod chrome;
pub mod help;
pub mod hint;
pub mod layout;
pub mod modal;
pub mod panes;
pub mod runbook_modal;
pub mod silence;
pub mod status_bar;
pub mod text;
pub mod theme;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

use crate::app::pane::PaneId;
use crate::app::state::{AppState, Modal};
use theme::Slot;

/// Writes lines top to bottom into `area`, each cut at its width. Cheaper than a `Paragraph`, which
/// measures and reflows every line: rows are prepared to fit already.
pub fn put_lines(frame: &mut Frame<'_>, area: Rect, lines: &[Line<'_>]) {
    let buffer = frame.buffer_mut();
    for (line, y) in lines.iter().zip(area.top()..area.bottom()) {
        buffer.set_line(area.x, y, line, area.width);
    }
}

/// The release gate, across the screen while any error budget is exhausted: the spec's policy
/// freezes releases until a mitigation plan exists.
fn render_gate_banner(frame: &mut Frame<'_>, area: Rect, state: &AppState, now: DateTime<Utc>) {
    let exhausted: Vec<String> = state
        .slos
        .budget_exhausted()
        .iter()
        .map(|r| {
            let left = r
                .budget_remaining
                .map_or(String::new(), |b| format!(" {:.1}%", b * 100.0));
            format!("{}{left}", r.spec.name)
        })
        .collect();
    let (text, slot) = match state.slos.plan_in_force(&state.service, now) {
        None => (
            format!(
                " ✖ RELEASES FROZEN · error budget exhausted: {} · a mitigation plan is required before new releases (:mitigation <plan>) ",
                exhausted.join(", ")
            ),
            Slot::NoticeError,
        ),
        Some(p) => (
            format!(
                " ⚠ error budget exhausted: {} · mitigation plan by {} at {}: {} ",
                exhausted.join(", "),
                crate::domain::sanitize::one_line(&p.by),
                state.clock.hm(p.at),
                crate::domain::sanitize::one_line(&p.plan)
            ),
            Slot::NoticeWarn,
        ),
    };
    let style = state.theme.style(slot);
    frame.buffer_mut().set_style(area, style);
    put_lines(
        frame,
        area,
        &[Line::from(Span::styled(
            text::fit(&text, usize::from(area.width)),
            style,
        ))],
    );
}

pub fn draw(frame: &mut Frame<'_>, state: &AppState, now: DateTime<Utc>) {
    let area = frame.area();
    let base = state.theme.style(Slot::Text);
    if base.bg.is_some() {
        // Themes with their own background paint the whole screen; others keep the terminal's.
        frame.render_widget(Block::default().style(base), area);
    }
    let screen = layout::compute_with_banner(area, state.focus, state.zoomed, state.slos.release_frozen());
    status_bar::render(frame, screen.status, state, now);
    if let Some(banner) = screen.banner {
        render_gate_banner(frame, banner, state, now);
    }
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
        Some(Modal::Note(editor)) => modal::render_note(frame, area, state, editor),
        Some(Modal::Silence(form)) => silence::render_form(frame, area, state, form, now),
        Some(Modal::ConfirmStep(c)) => runbook_modal::render_confirm(frame, area, state, c),
        Some(Modal::SkipStep(s)) => runbook_modal::render_skip(frame, area, state, s),
        Some(Modal::Silences(list)) => silence::render_list(frame, area, state, list, now),
        Some(Modal::Filter { .. }) | None => {}
    }
}

/// The tab bar of the one-pane layout: every pane with its digit, the focused one marked.
fn render_tabs(frame: &mut Frame<'_>, area: Rect, state: &AppState) {
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
    put_lines(frame, area, &[Line::from(spans)]);
}
