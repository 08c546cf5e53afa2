//! The runbook overlays: the confirmation of a command step (the command fully expanded, secrets
//! masked, hidden and bidi characters shown as markers; the go-ahead scaled to its risk) and the
//! prompt for a skipped step's reason.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::modal::centered;
use super::theme::Slot;
use crate::app::runbook_run::{SkipPrompt, StepConfirm};
use crate::app::state::AppState;
use crate::domain::runbook::Risk;

/// Cuts `line` into rows of `width` columns.
fn rows(line: &str, width: usize) -> Vec<String> {
    crate::ui::panes::detail::wrap(line, width)
}

pub fn render_confirm(frame: &mut Frame<'_>, area: Rect, state: &AppState, c: &StepConfirm) {
    let theme = &state.theme;
    // A rollback through a deploy API shows the HTTP call, not a shell command.
    let api_call = c
        .rollback
        .as_ref()
        .is_some_and(|p| !matches!(p.method, crate::domain::rollback::RollbackMethod::Command { .. }));
    let width = area.width.saturating_sub(4).min(100);
    let inner_w = usize::from(width.saturating_sub(2)).max(10);
    let mut command_rows: Vec<String> = Vec::new();
    for line in c.display.lines() {
        command_rows.extend(rows(line, inner_w.saturating_sub(4)));
    }
    let shown = command_rows
        .len()
        .min(usize::from(area.height.saturating_sub(12)).max(3));
    let height = (shown as u16 + 9).min(area.height);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let (slot, title) = match c.risk {
        Risk::Read => (Slot::BorderFocus, format!(" ▶ run {} (read-only) ", c.step)),
        Risk::Write => (Slot::Warn, format!(" △ run {} — it CHANGES things ", c.step)),
        Risk::Destructive => (Slot::Crit, format!(" ▲ run {} — DESTRUCTIVE ", c.step)),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(if c.risk == Risk::Read {
            BorderType::Rounded
        } else {
            BorderType::Double
        })
        .border_style(theme.style(slot))
        .title(Span::styled(title, theme.style(slot)))
        .style(theme.style(Slot::Text));
    let mut text = vec![
        Line::from(Span::styled(
            crate::domain::sanitize::one_line(&c.step_text),
            theme.style(Slot::Text),
        )),
        Line::from(Span::styled(
            if api_call {
                format!(
                    "{} · as {} · sent once, never retried · this exact call:",
                    c.lang, state.user
                )
            } else {
                format!(
                    "{} · timeout {}s · as {} · this exact command:",
                    c.lang,
                    c.timeout.as_secs(),
                    state.user
                )
            },
            theme.style(Slot::Muted),
        )),
    ];
    for row in command_rows.iter().take(shown) {
        text.push(Line::from(vec![
            Span::styled(if api_call { "  → " } else { "  $ " }, theme.style(Slot::Muted)),
            Span::styled(row.clone(), theme.style(Slot::Header)),
        ]));
    }
    if command_rows.len() > shown {
        text.push(Line::from(Span::styled(
            format!("  … {} more lines", command_rows.len() - shown),
            theme.style(Slot::Muted),
        )));
    }
    text.push(Line::from(""));
    let answer = match c.risk {
        Risk::Read => Line::from(vec![
            Span::styled(" Enter/y ", theme.style(Slot::Selection)),
            Span::styled(" run   ", theme.style(Slot::Text)),
            Span::styled(" n/Esc ", theme.style(Slot::Muted)),
            Span::styled(" don't", theme.style(Slot::Text)),
        ]),
        Risk::Write => Line::from(vec![
            Span::styled(" y ", theme.style(Slot::Warn)),
            Span::styled(" run   ", theme.style(Slot::Text)),
            Span::styled(" N/Enter/Esc ", theme.style(Slot::Selection)),
            Span::styled(" don't (default)", theme.style(Slot::Text)),
        ]),
        Risk::Destructive => Line::from(vec![
            Span::styled(
                format!(" type \"{}\" and Enter to run: ", c.expected),
                theme.style(Slot::Crit),
            ),
            Span::styled(format!("{}▏", c.typed), theme.style(Slot::Header)),
            Span::styled("   Esc: don't", theme.style(Slot::Muted)),
        ]),
    };
    text.push(answer);
    text.push(Line::from(Span::styled(
        "The run, its exit code and a digest of its output go to the timeline and the audit log; declining is recorded too.",
        theme.style(Slot::Muted),
    )));
    frame.render_widget(
        Paragraph::new(text)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(block),
        popup,
    );
}

pub fn render_skip(frame: &mut Frame<'_>, area: Rect, state: &AppState, s: &SkipPrompt) {
    let theme = &state.theme;
    let popup = centered(area, area.width.saturating_sub(4).min(80), 5);
    frame.render_widget(Clear, popup);
    let block = super::modal::prompt_block(theme, format!(" skip {} — why? Enter records · Esc cancels ", s.step));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut input = s.prompt.input.clone();
    input.set_style(theme.style(Slot::Text));
    input.set_cursor_style(
        theme
            .style(Slot::Selection)
            .add_modifier(ratatui::style::Modifier::REVERSED),
    );
    let [_, row, _] = Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(&input, row);
}
