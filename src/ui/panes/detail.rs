//! The detail box a zoomed pane shows under its list: everything about the selected alert (labels,
//! annotations, runbook link, the changes suspected of causing it, generator URL, silences) or the
//! selected log line (JSON pretty-printed, embedded stack traces unfolded, long text wrapped). All
//! text is sanitised again on the way out.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::app::state::AppState;
use crate::domain::alert::{Alert, AlertState};
use crate::domain::correlation;
use crate::domain::log::{LineFormat, LogRef};
use crate::domain::sanitize::sanitize;
use crate::ui::theme::Slot;

/// Splits `text` into rows of at most `width` columns (by display width), after sanitising it and
/// unfolding newlines.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for part in text.split('\n') {
        let clean = sanitize(part);
        let mut row = String::new();
        let mut used = 0;
        // The last space in the row: its byte index and the width up to and including it.
        let mut space: Option<(usize, usize)> = None;
        for ch in clean.chars() {
            let w = ch.width().unwrap_or(0);
            if used + w > width {
                if ch == ' ' {
                    // The space itself ends the row.
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                    space = None;
                    continue;
                }
                match space.filter(|&(_, at)| at > width / 2) {
                    // Words stay whole when the row can break at a space past its middle.
                    Some((index, at)) => {
                        let rest = row.split_off(index + 1);
                        row.truncate(index);
                        rows.push(std::mem::replace(&mut row, rest));
                        used -= at;
                    }
                    // A long token (a URL, a hash) is cut where it must be.
                    None => {
                        rows.push(std::mem::take(&mut row));
                        used = 0;
                    }
                }
                space = None;
            }
            row.push(ch);
            used += w;
            if ch == ' ' {
                space = Some((row.len() - 1, used));
            }
        }
        rows.push(row);
    }
    rows
}

fn field(state: &AppState, key: &str, value: &str, width: usize, out: &mut Vec<Line<'static>>) {
    let theme = &state.theme;
    let key_w = 14;
    let rows = wrap(value, width.saturating_sub(key_w + 1));
    for (i, row) in rows.into_iter().enumerate() {
        let label = if i == 0 {
            format!("{key:<key_w$} ")
        } else {
            " ".repeat(key_w + 1)
        };
        out.push(Line::from(vec![
            Span::styled(label, theme.style(Slot::Muted)),
            Span::styled(row, theme.style(Slot::Text)),
        ]));
    }
}

/// The selected deploy in full: what, where, who, when, its source's note, and what `R` would do.
pub fn deploy(
    state: &AppState,
    d: &crate::domain::deploy::Deploy,
    now: chrono::DateTime<chrono::Utc>,
    width: usize,
) -> Vec<Line<'static>> {
    use crate::domain::deploy::DeployKind;
    let mut out = Vec::new();
    let clock = &state.clock;
    let kind = match d.kind {
        DeployKind::Deploy => "deploy",
        DeployKind::Rollback => "rollback",
        DeployKind::Migration => "migration",
    };
    field(
        state,
        kind,
        &format!(
            "{} {} · {} in {} · {}",
            d.service,
            d.version,
            d.status.word(),
            d.environment,
            d.id
        ),
        width,
        &mut out,
    );
    let took = crate::domain::timefmt::short_duration(d.duration(now));
    let when = match d.finished_at {
        Some(end) => format!("{} → {} ({took})", clock.hms(d.started_at), clock.hms(end)),
        None => format!("since {} ({took} so far)", clock.hms(d.started_at)),
    };
    field(state, "when", &when, width, &mut out);
    if !d.author.is_empty() {
        field(state, "by", &d.author, width, &mut out);
    }
    if !d.note.is_empty() {
        field(state, "note", &d.note, width, &mut out);
    }
    // Exactly what R would do, or why it would not.
    let rollback = if state.read_only {
        "none in a read-only session".to_string()
    } else if let Some(f) = &state.deploys.in_flight {
        format!(
            "a rollback of {} to {} is running: wait for its answer",
            f.plan.service, f.plan.to_version
        )
    } else {
        match crate::app::rollback::preview(state, d) {
            Ok(plan) => {
                let caution = state
                    .deploys
                    .unknown_outcome
                    .as_ref()
                    .map(|u| {
                        format!(
                            " ⚠ the last rollback of {} to {} has an UNKNOWN outcome",
                            u.service, u.to_version
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "R rolls back to {} with: {}{caution}",
                    plan.to_version,
                    plan.method.call()
                )
            }
            Err(why) => why,
        }
    };
    field(state, "rollback", &rollback, width, &mut out);
    out
}

pub fn alert(state: &AppState, alert: &Alert, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let clock = &state.clock;
    let since = match alert.state {
        AlertState::Resolved { at } => format!("{} → resolved {}", clock.hms(alert.starts_at), clock.hms(at)),
        _ => format!("since {}", clock.hms(alert.starts_at)),
    };
    field(
        state,
        "alert",
        &format!(
            "{} · {} · {} · {since}",
            alert.name(),
            alert.state.word(),
            alert.severity().word()
        ),
        width,
        &mut out,
    );
    for (k, v) in &alert.annotations {
        field(state, k, v, width, &mut out);
    }
    use crate::app::runbook_run::{RunbookLink, link_for};
    let link = match link_for(state, alert) {
        RunbookLink::Local(id) => format!("{id} (o opens it)"),
        RunbookLink::Matched(id) => format!("{id}, matched by name or labels (o opens it)"),
        RunbookLink::Url(url) => format!("{url} (o copies it)"),
        RunbookLink::Missing(id) => format!("⚠ runbook://{id} is not a loaded runbook"),
        RunbookLink::None => "⚠ NONE: no runbook_url annotation and no runbook applies".to_string(),
    };
    field(state, "runbook", &link, width, &mut out);
    suspects(state, alert, width, &mut out);
    let labels: Vec<String> = alert.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    field(state, "labels", &labels.join(" "), width, &mut out);
    if let Some(url) = &alert.generator_url {
        field(state, "source", url, width, &mut out);
    }
    for id in &alert.silenced_by {
        let text = match state.alerts.silences.iter().find(|s| &s.id == id) {
            Some(s) => format!(
                "{} until {} ({}): {} · {{{}}} · id {id}",
                s.created_by,
                state.clock.hms(s.ends_at),
                crate::domain::silence::remaining(s.ends_at, state.alerts.as_of),
                s.comment,
                crate::domain::matcher::format_list(&s.matchers)
            ),
            None => format!("silence {id}"),
        };
        field(state, "silenced by", &text, width, &mut out);
    }
    if !alert.inhibited_by.is_empty() {
        field(
            state,
            "inhibited by",
            &state.alerts.inhibitors_of(alert).join(", "),
            width,
            &mut out,
        );
    }
    out
}

/// The changes before the alert started, most suspicious first (at most three); nothing when no
/// deploy is known at all.
fn suspects(state: &AppState, alert: &Alert, width: usize, out: &mut Vec<Line<'static>>) {
    if state.deploys.deploys.is_empty() {
        return;
    }
    let service = alert.labels.get("service").map(String::as_str);
    let ranked = correlation::rank(
        &state.deploys.deploys,
        alert.starts_at,
        service,
        correlation::DEFAULT_WINDOW,
    );
    let text = if ranked.is_empty() {
        format!(
            "none: no deploy or migration in the {} before it started",
            crate::domain::timefmt::short_duration(correlation::DEFAULT_WINDOW)
        )
    } else {
        ranked
            .iter()
            .take(3)
            .map(|s| s.reason.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    field(state, "suspects", &text, width, out);
}

pub fn log_line(state: &AppState, line: &LogRef<'_>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    field(
        state,
        "time",
        &format!(
            "{} · {} · {}",
            state.clock.hms(line.at),
            line.level.word().trim(),
            line.source
        ),
        width,
        &mut out,
    );
    if let Some(id) = line.request_id() {
        field(state, "request id", &format!("{id} (r filters to it)"), width, &mut out);
    }
    if let Some(id) = line.trace_id() {
        field(state, "trace id", id, width, &mut out);
    }
    if line.format == LineFormat::Logfmt {
        for (k, v) in logfmt_pairs(line.text) {
            field(
                state,
                k,
                &v.replace("\\n", "\n").replace("\\t", "    "),
                width,
                &mut out,
            );
        }
        return out;
    }
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line.text) {
        Ok(object) => {
            for (k, v) in &object {
                let text = match v {
                    serde_json::Value::String(s) => s.replace('\t', "    "),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                field(state, k, &text, width, &mut out);
            }
        }
        Err(_) => field(state, "line", line.text, width, &mut out),
    }
    out
}

/// The `key=value` pairs of a logfmt line in order (quoted values unquoted), bare words under "-".
fn logfmt_pairs(text: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let token_end = rest.find([' ', '=']).unwrap_or(rest.len());
        let (key, after) = rest.split_at(token_end);
        if let Some(value) = after.strip_prefix('=') {
            let (value, next) = if let Some(quoted) = value.strip_prefix('"') {
                let mut end = quoted.len();
                let mut escaped = false;
                for (i, c) in quoted.char_indices() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = i;
                            break;
                        }
                        _ => {}
                    }
                }
                (quoted[..end].replace("\\\"", "\""), quoted.get(end + 1..).unwrap_or(""))
            } else {
                let end = value.find(' ').unwrap_or(value.len());
                (value[..end].to_string(), &value[end..])
            };
            out.push((key, value));
            rest = next.trim_start();
        } else {
            out.push(("-", key.to_string()));
            rest = after.trim_start();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unfolds_newlines_cuts_by_width_and_stays_inert() {
        assert_eq!(wrap("abcdef\nxy", 4), ["abcd", "ef", "xy"]);
        assert_eq!(wrap("日本語", 4), ["日本", "語"]);
        let hostile = wrap("a\x1b[2Jb\u{202e}c", 80);
        assert_eq!(hostile, ["a⟪CSI 2J⟫b⟪RLO⟫c"]);
    }

    #[test]
    fn wrap_keeps_words_whole_and_cuts_only_long_tokens() {
        assert_eq!(
            wrap("it was cut off by a crash", 12),
            ["it was cut", "off by a", "crash"]
        );
        // A space where the row is full ends it, and is not carried over.
        assert_eq!(wrap("abcd efgh", 4), ["abcd", "efgh"]);
        // A token longer than the row is cut; a break early in the row is not taken.
        assert_eq!(
            wrap("x https://example.com/a/very/long/path", 12),
            ["x https://ex", "ample.com/a/", "very/long/pa", "th"]
        );
        for text in [
            "the quick brown fox jumps over the lazy dog again and again",
            "日本語の テキスト を 折り返す 日本語日本語日本語",
            "mixed 漢字 and emoji 🚨🚨🚨 in one line",
        ] {
            for width in 2..12 {
                for row in wrap(text, width) {
                    let shown = unicode_width::UnicodeWidthStr::width(row.as_str());
                    assert!(shown <= width, "{row:?} is {shown} columns at width {width}");
                }
            }
        }
    }

    fn suspect_rows(deploys: Vec<crate::domain::deploy::Deploy>) -> Vec<String> {
        use chrono::TimeZone;
        let mut state = AppState::new(crate::demo::test_setup("dark"));
        state.deploys.deploys = deploys;
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 23, 0, 0)
            .single()
            .unwrap_or_default();
        let a = Alert {
            fingerprint: "f".into(),
            labels: [("alertname", "OdinDown"), ("service", "odin")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: Default::default(),
            state: AlertState::Firing,
            starts_at: start,
            generator_url: None,
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
        };
        let rows: Vec<String> = alert(&state, &a, 200)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>())
            .collect();
        let Some(first) = rows.iter().position(|r| r.starts_with("suspects ")) else {
            return Vec::new();
        };
        rows[first..]
            .iter()
            .take_while(|r| r.starts_with("suspects ") || r.starts_with("               "))
            .map(|r| r.get(15..).unwrap_or("").trim_end().to_string())
            .collect()
    }

    #[test]
    fn the_alert_shows_its_top_three_suspects_or_that_there_are_none() {
        use crate::domain::deploy::{Deploy, DeployKind, DeployStatus};
        use chrono::TimeZone;
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 23, 0, 0)
            .single()
            .unwrap_or_default();
        let d = |id: &str, service: &str, kind, minutes: i64| Deploy {
            id: id.into(),
            service: service.into(),
            version: id.into(),
            environment: "production".into(),
            author: "ana".into(),
            kind,
            status: DeployStatus::Succeeded,
            started_at: start - chrono::Duration::minutes(minutes),
            finished_at: None,
            note: String::new(),
        };
        assert!(suspect_rows(Vec::new()).is_empty(), "no deploys known: no field");
        assert_eq!(
            suspect_rows(vec![d("old", "odin", DeployKind::Deploy, 180)]),
            ["none: no deploy or migration in the 2h00m before it started"]
        );
        assert_eq!(
            suspect_rows(vec![
                d("v1", "odin", DeployKind::Deploy, 100),
                d("v2", "payments", DeployKind::Deploy, 5),
                d("v3", "odin", DeployKind::Deploy, 10),
                d("m1", "odin", DeployKind::Migration, 30),
            ]),
            [
                "migration m1 30m00s before, same service (odin), OK",
                "deploy v3 10m00s before, same service (odin), OK",
                "deploy v1 1h40m before, same service (odin), OK",
            ]
        );
    }
}
