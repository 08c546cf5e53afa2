//! The help overlay, generated from the live keymap: every binding with its action's description,
//! global first, then per pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::text::fit;
use super::theme::{Slot, Theme};
use crate::app::action::Action;
use crate::app::keymap::{Keymap, Scope};
use crate::app::pane::PaneId;
use crate::app::state::AppState;

/// The help text as (key column, description, is_heading) rows.
pub fn rows(keymap: &Keymap) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let scopes = std::iter::once(Scope::Global).chain(PaneId::ALL.into_iter().map(Scope::Pane));
    for scope in scopes {
        let actions: Vec<Action> = Action::all()
            .filter(|a| !keymap.keys_for(scope, *a).is_empty())
            .collect();
        if actions.is_empty() {
            continue;
        }
        let heading = match scope {
            Scope::Global => "Everywhere".to_string(),
            Scope::Pane(p) => format!("In {}", p.title()),
        };
        out.push((heading, String::new(), true));
        for action in actions {
            let keys: Vec<String> = keymap.keys_for(scope, action).iter().map(ToString::to_string).collect();
            out.push((keys.join(", "), action.description().to_string(), false));
        }
        out.push((String::new(), String::new(), false));
    }
    out.push(("Ctrl-C".into(), "always quits, from anywhere".into(), false));
    out
}

/// Number of lines in the help text.
pub fn line_count(keymap: &Keymap) -> usize {
    rows(keymap).len()
}

/// Lines of help visible on a screen `height` rows high (the popup leaves a row above and below
/// and has a border).
pub fn visible_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(4))
}

/// The furthest the help can scroll: its last line at the bottom of the popup.
pub fn max_scroll(keymap: &Keymap, height: u16) -> usize {
    line_count(keymap).saturating_sub(visible_rows(height))
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, scroll: usize) {
    let theme: &Theme = &state.theme;
    let width = area.width.saturating_sub(4).min(90);
    let height = area.height.saturating_sub(2);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.style(Slot::BorderFocus))
        .title(Span::styled(
            " Help — keys (j/k scroll, Esc closes) ",
            theme.style(Slot::TitleFocus),
        ))
        .style(theme.style(Slot::Text));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let key_width = 22.min(usize::from(inner.width) / 3);
    let lines: Vec<Line<'static>> = rows(&state.keymap)
        .into_iter()
        .skip(scroll.min(max_scroll(&state.keymap, area.height)))
        .take(usize::from(inner.height))
        .map(|(keys, description, heading)| {
            if heading {
                Line::from(Span::styled(keys, theme.style(Slot::Header)))
            } else {
                Line::from(vec![
                    Span::styled(fit(&keys, key_width), theme.style(Slot::StatusAccent)),
                    Span::styled(format!(" {description}"), theme.style(Slot::Text)),
                ])
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
