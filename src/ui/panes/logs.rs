//! Draws the Logs pane: time (UTC or local, or hidden), level, source and text of each retained
//! line that passes the filter and level, cut at the edge or wrapped, with the filter's matches
//! highlighted; the title says what is dropped, paused, filtered or still being filtered.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use super::Ctx;
use crate::app::panes::ListPane;
use crate::app::panes::logs::LogQuery;
use crate::app::state::AppState;
use crate::domain::log::LogLevel;
use crate::ui::text::{fit, truncate};
use crate::ui::theme::{Slot, Theme};

pub fn summary(state: &AppState) -> String {
    let logs = &state.logs;
    let mut s = if logs.visible_len() == logs.buffer.len() {
        format!("{} lines", logs.buffer.len())
    } else {
        format!("{} of {} lines", logs.visible_len(), logs.buffer.len())
    };
    if logs.buffer.dropped > 0 {
        s.push_str(&format!(" · {} dropped (cap)", logs.buffer.dropped));
    }
    if logs.source_dropped > 0 {
        s.push_str(&format!(" · {} dropped by sources", logs.source_dropped));
    }
    if let Some(level) = logs.min_level {
        s.push_str(&format!(" · ≥{}", level.word()));
    }
    if let Some(done) = logs.scanning() {
        s.push_str(&format!(" · filtering {:.0}%", done * 100.0));
    }
    if logs.wrap {
        s.push_str(" · WRAP");
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

/// Splits `text` into pieces of at most `width` columns.
fn wrap_columns(text: &str, width: usize) -> Vec<&str> {
    let width = width.max(1);
    let mut out = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, ch) in text.char_indices() {
        let w = ch.width().unwrap_or(0);
        if used + w > width {
            out.push(&text[start..i]);
            start = i;
            used = 0;
        }
        used += w;
    }
    out.push(&text[start..]);
    out
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let logs = &state.logs;
    if logs.visible_len() == 0 {
        let msg = if logs.scanning().is_some() {
            "filtering…"
        } else if logs.list.filter.is_some() || logs.min_level.is_some() {
            "no line matches the filter"
        } else {
            crate::ui::chrome::empty_message(state, crate::app::pane::PaneId::Logs, "no log lines yet")
        };
        return ctx.empty(msg);
    }
    let wide = ctx.width >= 70;
    let src_w = if wide { 8 } else { 0 };
    let time_w = if logs.show_time { 10 } else { 0 };
    let prefix_w = 1 + time_w + 4 + if wide { src_w + 1 } else { 0 };
    let text_w = ctx.width.saturating_sub(prefix_w).max(1);
    let len = logs.visible_len();
    let selected = logs.list.cursor.selected;
    let mut window = ctx.window(logs.list.cursor, len, ctx.height);
    if logs.wrap {
        // Wrapped lines take several rows: start late enough that the selection still shows.
        let rows_of = |r: usize| logs.row(r).map_or(1, |l| wrap_columns(l.text, text_w).len());
        let mut start = window.start;
        while start < selected && (start..=selected).map(rows_of).sum::<usize>() > ctx.height {
            start += 1;
        }
        window = start..len;
    }
    let mut out = Vec::with_capacity(ctx.height);
    for row in window {
        if out.len() >= ctx.height {
            break;
        }
        let Some(line) = logs.row(row) else { continue };
        let mut spans = Vec::with_capacity(6);
        if logs.show_time {
            spans.push(Span::styled(
                format!("{} ", state.clock.hms(line.at)),
                theme.style(Slot::Muted),
            ));
        }
        spans.push(Span::styled(
            format!("{} ", line.level.word()),
            theme.style(level_slot(line.level)),
        ));
        if wide {
            spans.push(Span::styled(
                format!("{} ", fit(line.source, src_w)),
                theme.style(Slot::Muted),
            ));
        }
        let slot = level_slot(line.level);
        if logs.wrap {
            let pieces = wrap_columns(line.text, text_w);
            for (i, piece) in pieces.into_iter().enumerate() {
                if out.len() >= ctx.height {
                    break;
                }
                let mut row_spans = if i == 0 {
                    std::mem::take(&mut spans)
                } else {
                    vec![Span::raw(" ".repeat(prefix_w - 1))]
                };
                row_spans.extend(highlight(piece, logs.query.as_ref(), slot, theme));
                let l = Line::from(row_spans);
                out.push(if i == 0 { ctx.select(l, row == selected) } else { l });
            }
        } else {
            let text = truncate(line.text, text_w);
            spans.extend(highlight(&text, logs.query.as_ref(), slot, theme));
            out.push(ctx.select(Line::from(spans), row == selected));
        }
    }
    out
}

/// Splits `text` into spans with every match of the filter in the match style (none when the
/// filter is negated: nothing in a shown line matched it).
pub fn highlight(text: &str, query: Option<&LogQuery>, slot: Slot, theme: &Theme) -> Vec<Span<'static>> {
    let base = theme.style(slot);
    let Some(query) = query else {
        return vec![Span::styled(text.to_string(), base)];
    };
    let mut spans = Vec::new();
    let mut last = 0;
    for (start, end) in query.find_iter(text) {
        if end <= start || start < last {
            continue;
        }
        if start > last {
            spans.push(Span::styled(text[last..start].to_string(), base));
        }
        spans.push(Span::styled(text[start..end].to_string(), theme.style(Slot::Match)));
        last = end;
    }
    if last < text.len() {
        spans.push(Span::styled(text[last..].to_string(), base));
    }
    if spans.is_empty() {
        spans.push(Span::styled(String::new(), base));
    }
    spans
}
