//! Draws the Logs pane: time, level, source and text of each retained line that passes the filter,
//! with the filter's matches highlighted.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::panes::ListPane;
use crate::app::state::AppState;
use crate::domain::log::LogLevel;
use crate::ui::text::{fit, truncate};
use crate::ui::theme::{Slot, Theme};

pub fn summary(state: &AppState) -> String {
    let logs = &state.logs;
    let mut s = format!("{} lines", logs.buffer.len());
    if logs.buffer.dropped > 0 {
        s.push_str(&format!(" · {} dropped (cap)", logs.buffer.dropped));
    }
    s.push_str(if logs.follow { " · FOLLOW" } else { " · PAUSED" });
    s
}

pub fn level_slot(level: LogLevel) -> Slot {
    match level {
        LogLevel::Error => Slot::Crit,
        LogLevel::Warn => Slot::Warn,
        LogLevel::Info => Slot::Text,
        LogLevel::Debug | LogLevel::Unknown => Slot::Muted,
    }
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let logs = &state.logs;
    if logs.visible_len() == 0 {
        let msg = if logs.list.filter.is_some() {
            "no line matches the filter"
        } else {
            crate::ui::chrome::empty_message(state, crate::app::pane::PaneId::Logs, "no log lines yet")
        };
        return ctx.empty(msg);
    }
    let wide = ctx.width >= 70;
    let src_w = if wide { 8 } else { 0 };
    let text_w = ctx.width.saturating_sub(1 + 10 + 4 + if wide { src_w + 1 } else { 0 });
    let mut out = Vec::with_capacity(ctx.height);
    for row in ctx.window(logs.list.cursor, logs.visible_len(), ctx.height) {
        let Some(line) = logs.row(row) else { continue };
        let mut spans = vec![
            Span::styled(format!("{} ", state.clock.hms(line.at)), theme.style(Slot::Muted)),
            Span::styled(format!("{} ", line.level.word()), theme.style(level_slot(line.level))),
        ];
        if wide {
            spans.push(Span::styled(
                format!("{} ", fit(&line.source, src_w)),
                theme.style(Slot::Muted),
            ));
        }
        let text = truncate(&line.text, text_w);
        spans.extend(highlight(
            &text,
            logs.list.filter.as_ref().map(|f| f.text()),
            level_slot(line.level),
            theme,
        ));
        out.push(ctx.select(Line::from(spans), row == logs.list.cursor.selected));
    }
    out
}

/// Splits `text` into spans with every case-insensitive occurrence of `needle` in the match style.
pub fn highlight(text: &str, needle: Option<&str>, slot: Slot, theme: &Theme) -> Vec<Span<'static>> {
    let base = theme.style(slot);
    let Some(needle) = needle.filter(|n| !n.is_empty() && n.is_ascii() && text.is_ascii()) else {
        return vec![Span::styled(text.to_string(), base)];
    };
    let lower = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut last = 0;
    for (pos, _) in lower.match_indices(&needle) {
        if pos > last {
            spans.push(Span::styled(text[last..pos].to_string(), base));
        }
        spans.push(Span::styled(
            text[pos..pos + needle.len()].to_string(),
            theme.style(Slot::Match),
        ));
        last = pos + needle.len();
    }
    if last < text.len() {
        spans.push(Span::styled(text[last..].to_string(), base));
    }
    spans
}
