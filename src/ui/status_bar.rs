//! The top line: service and environment, incident state and elapsed time, the clock, one health
//! mark per source with the age of its data, and mode badges (demo, read-only). It picks the most
//! detailed form that fits; the sources' ages are the last thing given up.

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

/// One rung of the ladder from the most to the least detailed bar.
#[derive(Clone, Copy)]
struct Detail {
    source_names: bool,
    environment: bool,
    incident_word: bool,
    clock_seconds: bool,
    fresh_ages: bool,
    badges: bool,
}

const LADDER: [Detail; 6] = [
    Detail {
        source_names: true,
        environment: true,
        incident_word: true,
        clock_seconds: true,
        fresh_ages: true,
        badges: true,
    },
    Detail {
        source_names: false,
        environment: true,
        incident_word: true,
        clock_seconds: true,
        fresh_ages: true,
        badges: true,
    },
    Detail {
        source_names: false,
        environment: false,
        incident_word: false,
        clock_seconds: true,
        fresh_ages: true,
        badges: true,
    },
    Detail {
        source_names: false,
        environment: false,
        incident_word: false,
        clock_seconds: false,
        fresh_ages: true,
        badges: true,
    },
    Detail {
        source_names: false,
        environment: false,
        incident_word: false,
        clock_seconds: false,
        fresh_ages: true,
        badges: false,
    },
    Detail {
        source_names: false,
        environment: false,
        incident_word: false,
        clock_seconds: false,
        fresh_ages: false,
        badges: false,
    },
];

pub fn line(state: &AppState, now: DateTime<Utc>, width: u16) -> Line<'static> {
    let width = usize::from(width);
    let mut chosen = Vec::new();
    for detail in LADDER {
        let spans = parts(state, now, detail, width);
        let used: usize = spans.iter().map(|s| s.content.width()).sum();
        chosen = spans;
        if used <= width {
            break;
        }
    }
    Line::from(chosen)
}

fn parts(state: &AppState, now: DateTime<Utc>, d: Detail, width: usize) -> Vec<Span<'static>> {
    let theme = &state.theme;
    let bar = theme.style(Slot::StatusBar);
    let sep = || Span::styled("│", bar);
    let service = if d.environment {
        format!(" {} · {} ", state.service, state.environment)
    } else {
        format!(" {} ", state.service)
    };
    let mut spans = vec![Span::styled(service, theme.style(Slot::StatusAccent)), sep()];
    match &state.incident {
        Some(inc) => {
            let slot = if inc.is_open() { Slot::Crit } else { Slot::Ok };
            let word = if d.incident_word { "INCIDENT " } else { "" };
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
    let clock = if d.clock_seconds {
        state.clock.hms(now)
    } else {
        state.clock.hm(now)
    };
    spans.push(Span::styled(format!(" {clock} "), bar));
    spans.push(sep());
    for source in &state.sources {
        let label = if d.source_names {
            source.name.clone()
        } else {
            source.kind.short().to_string()
        };
        let (mark, slot) = match &source.health {
            SourceHealth::Loading => ("…".to_string(), Slot::StatusBar),
            SourceHealth::Fresh { at } if d.fresh_ages => (format!("✓{}", short_duration(now - *at)), Slot::StatusBar),
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
            if d.source_names {
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
    if d.badges {
        let mut badges = Vec::new();
        if let Some(banner) = &state.banner {
            badges.push(Span::styled(format!(" {banner} "), theme.style(Slot::StatusAccent)));
        }
        if state.read_only {
            badges.push(Span::styled(" READ-ONLY ", theme.style(Slot::Warn)));
        }
        let used: usize = spans.iter().chain(&badges).map(|s| s.content.width()).sum();
        if used < width {
            spans.push(Span::styled(" ".repeat(width - used), bar));
        }
        spans.extend(badges);
    } else if state.read_only {
        spans.push(Span::styled("RO ", theme.style(Slot::Warn)));
    }
    spans
}
