//! The top line: service and environment, incident state and elapsed time, the clock, one health
//! mark per source with the age of its data, and mode badges (demo, read-only).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::theme::Slot;
use crate::app::state::AppState;
use crate::domain::health::SourceHealth;
use crate::domain::timefmt::short_duration;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, now: DateTime<Utc>) {
    frame.render_widget(
        Paragraph::new(line(state, now, area.width)).style(state.theme.style(Slot::StatusBar)),
        area,
    );
}

pub fn line(state: &AppState, now: DateTime<Utc>, width: u16) -> Line<'static> {
    let theme = &state.theme;
    let bar = theme.style(Slot::StatusBar);
    let narrow = width < 120;
    let mut spans = vec![Span::styled(
        format!(" {} · {} ", state.service, state.environment),
        theme.style(Slot::StatusAccent),
    )];
    let sep = || Span::styled("│", bar);
    spans.push(sep());
    match &state.incident {
        Some(inc) => {
            let slot = if inc.is_open() { Slot::Crit } else { Slot::Ok };
            let word = if narrow { "INC" } else { "INCIDENT" };
            spans.push(Span::styled(
                format!(
                    " {word} {} {} {} ",
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
        let label = if narrow {
            source.kind.short().to_string()
        } else {
            source.name.clone()
        };
        let (mark, slot) = match &source.health {
            SourceHealth::Loading => ("…".to_string(), Slot::StatusBar),
            SourceHealth::Fresh { at } => {
                (format!("✓{}", short_duration(now - *at)), Slot::StatusBar)
            }
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
        spans.push(Span::styled(format!(" {label} "), bar));
        spans.push(Span::styled(mark, theme.style(slot)));
    }
    if state.sources.is_empty() {
        spans.push(Span::styled(" no sources ", bar));
    }
    spans.push(Span::styled(" ", bar));
    let mut badges = Vec::new();
    if let Some(banner) = &state.banner {
        badges.push(Span::styled(
            format!(" {banner} "),
            theme.style(Slot::StatusAccent),
        ));
    }
    if state.read_only {
        badges.push(Span::styled(" READ-ONLY ", theme.style(Slot::Warn)));
    }
    // Right-align the badges when they fit.
    let used: usize = spans.iter().map(|s| s.content.width()).sum();
    let badge_width: usize = badges.iter().map(|s| s.content.width()).sum();
    if used + badge_width < usize::from(width) {
        spans.push(Span::styled(
            " ".repeat(usize::from(width) - used - badge_width),
            bar,
        ));
    }
    spans.extend(badges);
    Line::from(spans)
}
