//! The top line: service and environment, incident state and elapsed time, the clock, one health
//! mark per source with the age of its data, and mode badges (demo, read-only). It picks the most
//! detailed form that fits the width.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::theme::Slot;
use crate::app::state::AppState;
use crate::domain::health::SourceHealth;
use crate::domain::timefmt::short_duration;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, now: DateTime<Utc>) {
    frame.buffer_mut().set_style(area, state.theme.style(Slot::StatusBar));
    super::put_lines(frame, area, &[line(state, now, area.width)]);
}

/// How much detail the bar shows: 0 is everything, 3 the most compact.
const DETAILS: [u8; 4] = [0, 1, 2, 3];

pub fn line(state: &AppState, now: DateTime<Utc>, width: u16) -> Line<'static> {
    let width = usize::from(width);
    for detail in DETAILS {
        let (spans, badges) = parts(state, now, detail);
        let used: usize = spans.iter().chain(&badges).map(|s| s.content.width()).sum();
        if used <= width || detail == 3 {
            return assemble(state, spans, badges, width);
        }
    }
    Line::default()
}

fn assemble(
    state: &AppState,
    mut spans: Vec<Span<'static>>,
    badges: Vec<Span<'static>>,
    width: usize,
) -> Line<'static> {
    let used: usize = spans.iter().chain(&badges).map(|s| s.content.width()).sum();
    if used < width {
        spans.push(Span::styled(
            " ".repeat(width - used),
            state.theme.style(Slot::StatusBar),
        ));
    }
    spans.extend(badges);
    Line::from(spans)
}

fn parts(state: &AppState, now: DateTime<Utc>, detail: u8) -> (Vec<Span<'static>>, Vec<Span<'static>>) {
    let theme = &state.theme;
    let bar = theme.style(Slot::StatusBar);
    let sep = || Span::styled("│", bar);
    let service = match detail {
        0 | 1 => format!(" {} · {} ", state.service, state.environment),
        2 => format!(" {}·{} ", state.service, state.environment),
        _ => format!(" {} ", state.service),
    };
    let mut spans = vec![Span::styled(service, theme.style(Slot::StatusAccent)), sep()];
    match &state.incident {
        Some(inc) => {
            let slot = if inc.is_open() { Slot::Crit } else { Slot::Ok };
            let word = match detail {
                0 => "INCIDENT ",
                1 => "INC ",
                _ => "",
            };
            spans.push(Span::styled(
                format!(
                    " {word}{} {} {} ",
                    inc.severity.word(),
                    inc.status.word(),
                    short_duration(inc.elapsed(now))
                ),
                theme.style(slot),
            ));
        }
        None => spans.push(Span::styled(" no incident ", bar)),
    }
    spans.push(sep());
    spans.push(Span::styled(format!(" {} ", state.clock.hms(now)), bar));
    spans.push(sep());
    for source in &state.sources {
        let label = if detail == 0 {
            source.name.clone()
        } else {
            source.kind.short().to_string()
        };
        let (mark, slot) = match &source.health {
            SourceHealth::Loading => ("…".to_string(), Slot::StatusBar),
            SourceHealth::Fresh { at } if detail < 2 => (format!("✓{}", short_duration(now - *at)), Slot::StatusBar),
            SourceHealth::Fresh { .. } => ("✓".to_string(), Slot::StatusBar),
            SourceHealth::Stale { last_ok, .. } => (
                format!(
                    "✗STALE{}",
                    last_ok
                        .map(|t| format!(" {}", short_duration(now - t)))
                        .unwrap_or_default()
                ),
                Slot::Stale,
            ),
            SourceHealth::Disabled { .. } => ("–off".to_string(), Slot::StatusBar),
        };
        spans.push(Span::styled(
            if detail < 3 {
                format!(" {label} ")
            } else {
                format!(" {label}")
            },
            bar,
        ));
        spans.push(Span::styled(mark, theme.style(slot)));
    }
    if state.sources.is_empty() {
        spans.push(Span::styled(" no sources", bar));
    }
    spans.push(Span::styled(" ", bar));
    let mut badges = Vec::new();
    if let Some(banner) = &state.banner {
        badges.push(Span::styled(format!(" {banner} "), theme.style(Slot::StatusAccent)));
    }
    if state.read_only {
        badges.push(Span::styled(
            if detail < 2 { " READ-ONLY " } else { " RO " },
            theme.style(Slot::Warn),
        ));
    }
    (spans, badges)
}
