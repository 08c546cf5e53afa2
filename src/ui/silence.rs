//! The silence overlays: the editor with its live preview of the alerts the silence would match and
//! the confirmation (Cancel chosen by default), and the silence list with extend and expire.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::modal::centered;
use super::panes::alerts::severity_slot;
use super::text::fit;
use super::theme::Slot;
use crate::app::silencing::{Choice, Field, ListStage, SilenceForm, SilenceList, matching_now};
use crate::app::state::AppState;
use crate::domain::matcher::format_list;
use crate::domain::silence::{SilenceState, remaining};
use crate::domain::timefmt::short_duration;

fn frame_block(state: &AppState, title: String, warn: bool) -> Block<'static> {
    let theme = &state.theme;
    let slot = if warn { Slot::Warn } else { Slot::BorderFocus };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if warn { BorderType::Double } else { BorderType::Rounded })
        .border_style(theme.style(slot))
        .title(Span::styled(
            title,
            theme.style(if warn { Slot::Warn } else { Slot::TitleFocus }),
        ))
        .style(theme.style(Slot::Text))
}

/// `[ Cancel ]  [ Create silence ]` with the chosen one highlighted.
fn buttons(state: &AppState, choice: Choice, confirm_word: &str) -> Line<'static> {
    let theme = &state.theme;
    let style = |chosen: bool, slot: Slot| {
        if chosen {
            theme
                .style(Slot::Selection)
                .add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            theme.style(slot)
        }
    };
    Line::from(vec![
        Span::raw(" "),
        Span::styled(" Cancel ", style(choice == Choice::Cancel, Slot::Text)),
        Span::raw("   "),
        Span::styled(
            format!(" {confirm_word} "),
            style(choice == Choice::Confirm, Slot::Warn),
        ),
        Span::styled("   ←/→ choose · Enter", theme.style(Slot::Muted)),
    ])
}

pub fn render_form(frame: &mut Frame<'_>, area: Rect, state: &AppState, form: &SilenceForm, now: DateTime<Utc>) {
    let theme = &state.theme;
    let width = area.width.saturating_sub(4).min(110);
    let height = area.height.saturating_sub(2).min(22);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let confirming = form.confirm.is_some();
    let title = if confirming {
        " ◌ Create this silence? ".to_string()
    } else {
        " ◌ new silence — Tab: next field · Enter on comment or Ctrl-S: review · Esc: discard ".to_string()
    };
    let block = frame_block(state, title, confirming);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    if inner.height < 4 {
        return;
    }
    let label_w = 10u16;
    for (i, field) in Field::ALL.iter().enumerate() {
        let row = Rect::new(inner.x, inner.y + i as u16, inner.width, 1);
        let [label, input] = Layout::horizontal([Constraint::Length(label_w), Constraint::Min(1)]).areas(row);
        let focused = !confirming && form.focus == *field;
        let mark = if focused { "▶" } else { " " };
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("{mark}{:<9}", field.label()),
                theme.style(if focused { Slot::TitleFocus } else { Slot::Muted }),
            )),
            label,
        );
        let mut textarea = form.input(*field).clone();
        textarea.set_style(theme.style(Slot::Text));
        textarea.set_cursor_style(if focused {
            theme
                .style(Slot::Selection)
                .add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            theme.style(Slot::Text)
        });
        frame.render_widget(&textarea, input);
    }
    let draft = form.draft(&state.user);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let ends = match &draft {
        Ok(d) => format!(
            "ends {} (in {})",
            state.clock.hms(now + d.duration),
            short_duration(d.duration)
        ),
        Err(_) => String::new(),
    };
    lines.push(Line::from(vec![
        Span::styled(format!(" {:<9}", "author"), theme.style(Slot::Muted)),
        Span::styled(format!("{}   {ends}", state.user), theme.style(Slot::Text)),
    ]));
    let matchers_only = crate::domain::matcher::parse_list(form.matchers.lines().first().map_or("", String::as_str));
    let preview: Vec<&crate::domain::alert::Alert> = match &matchers_only {
        Ok(m) => state
            .alerts
            .book
            .alerts()
            .iter()
            .filter(|a| a.state.is_active() && crate::domain::matcher::all_match(m, &a.labels))
            .collect(),
        Err(_) => Vec::new(),
    };
    let heading = match &matchers_only {
        Ok(_) if preview.is_empty() => "─ matches NO active alert now (it will still mute future ones) ".to_string(),
        Ok(_) => format!(
            "─ matches {} active alert{} now ",
            preview.len(),
            if preview.len() == 1 { "" } else { "s" }
        ),
        Err(e) => format!("─ matchers: {e} "),
    };
    lines.push(Line::from(Span::styled(
        fit(
            &format!("{heading}{}", "─".repeat(usize::from(inner.width))),
            usize::from(inner.width),
        ),
        theme.style(Slot::Border),
    )));
    let room = usize::from(inner.height).saturating_sub(3 + lines.len() + 2);
    for a in preview.iter().take(room) {
        let sev = a.severity();
        lines.push(Line::from(vec![
            Span::styled(
                fit(&format!("  {} {}", a.state.symbol(), a.state.word()), 13),
                theme.style(severity_slot(sev)),
            ),
            Span::styled(
                fit(&format!("{} {}", sev.symbol(), sev.word()), 7),
                theme.style(severity_slot(sev)),
            ),
            Span::styled(
                fit(
                    &format!("{}  {}", a.name(), a.summary()),
                    usize::from(inner.width).saturating_sub(19),
                ),
                theme.style(Slot::Text),
            ),
        ]));
    }
    if preview.len() > room {
        lines.push(Line::from(Span::styled(
            format!("  … and {} more", preview.len() - room),
            theme.style(Slot::Muted),
        )));
    }
    let bottom_y = inner.y + 3;
    let bottom = Rect::new(inner.x, bottom_y, inner.width, inner.height.saturating_sub(3));
    let tail: Vec<Line<'static>> = match (&form.confirm, &form.error) {
        (Some((_, choice)), _) => vec![Line::from(""), buttons(state, *choice, "Create silence")],
        (None, Some(error)) => vec![Line::from(Span::styled(format!(" ✗ {error}"), theme.style(Slot::Crit)))],
        (None, None) => Vec::new(),
    };
    let keep = usize::from(bottom.height).saturating_sub(tail.len());
    lines.truncate(keep);
    lines.extend(tail);
    frame.render_widget(Paragraph::new(lines), bottom);
}

pub fn render_list(frame: &mut Frame<'_>, area: Rect, state: &AppState, list: &SilenceList, now: DateTime<Utc>) {
    let theme = &state.theme;
    let width = area.width.saturating_sub(4).min(140);
    let height = area.height.saturating_sub(2).min(24);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let all = &state.alerts.silences;
    let rows = list.rows(all);
    let hidden = all.iter().filter(|s| s.state == SilenceState::Expired).count();
    let title = format!(
        " ◌ silences: {} shown{} — j/k move · x expire · e extend · a {} expired · Esc close ",
        rows.len(),
        if list.show_expired || hidden == 0 {
            String::new()
        } else {
            format!(", {hidden} expired hidden")
        },
        if list.show_expired { "hide" } else { "show" }
    );
    let block = frame_block(state, title, false);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let w = usize::from(inner.width);
    let mut lines = vec![Line::from(Span::styled(
        fit(
            &format!(
                " {:<8} {:<16} {:<12} {:>7}  COMMENT / MATCHERS",
                "STATE", "ENDS", "BY", "MATCHES"
            ),
            w,
        ),
        theme.style(Slot::Header),
    ))];
    let footer = match &list.stage {
        ListStage::Browse => 0,
        _ => 2,
    };
    // Two rows per silence: what and why, then the matchers.
    let body = (usize::from(inner.height).saturating_sub(1 + footer) / 2).max(1);
    let start = list.selected.saturating_sub(body.saturating_sub(1));
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(" no silences", theme.style(Slot::Muted))));
    }
    for (i, s) in rows.iter().enumerate().skip(start).take(body) {
        let slot = match s.state {
            SilenceState::Active => Slot::Text,
            SilenceState::Pending => Slot::Warn,
            SilenceState::Expired => Slot::Muted,
        };
        let chosen = i == list.selected;
        let text = format!(
            "{}{:<8} {:<16} {:<12} {:>7}  {}",
            if chosen { "▶" } else { " " },
            s.state.word(),
            fit(&remaining(s.ends_at, now), 16),
            fit(&s.created_by, 12),
            matching_now(state, s),
            s.comment
        );
        let style = if chosen {
            theme.style(Slot::Selection)
        } else {
            theme.style(slot)
        };
        lines.push(Line::from(Span::styled(fit(&text, w), style)));
        lines.push(Line::from(Span::styled(
            fit(&format!("{:49}{{{}}}", "", format_list(&s.matchers)), w),
            theme.style(Slot::Muted),
        )));
    }
    let selected = rows.get(list.selected);
    let what = selected.map_or(String::new(), |s| format!("{{{}}}", format_list(&s.matchers)));
    match &list.stage {
        ListStage::Browse => {}
        ListStage::ConfirmExpire(choice) => {
            lines.push(Line::from(Span::styled(
                fit(&format!(" Expire the silence {what} now? Its alerts notify again."), w),
                theme.style(Slot::Warn),
            )));
            lines.push(buttons(state, *choice, "Expire"));
        }
        ListStage::ExtendBy { input, error } => {
            let typed = input.lines().first().cloned().unwrap_or_default();
            lines.push(Line::from(Span::styled(
                fit(
                    &format!(" Extend {what} by: {typed}▏ (Enter to review, Esc to cancel)"),
                    w,
                ),
                theme.style(Slot::TitleFocus),
            )));
            lines.push(Line::from(Span::styled(
                error.as_ref().map_or(String::new(), |e| format!(" ✗ {e}")),
                theme.style(Slot::Crit),
            )));
        }
        ListStage::ConfirmExtend { ends_at, choice } => {
            lines.push(Line::from(Span::styled(
                fit(
                    &format!(
                        " Extend {what} until {} ({})?",
                        state.clock.hms(*ends_at),
                        remaining(*ends_at, now)
                    ),
                    w,
                ),
                theme.style(Slot::Warn),
            )));
            lines.push(buttons(state, *choice, "Extend"));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
