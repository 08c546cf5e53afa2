//! Draws the Runbook pane: the shown runbook's steps with their state, kind (a command and its
//! risk, a verify condition), who moved them and when; zoomed, the selected step in full (its
//! command expanded with secrets masked, its condition) and the output of its latest run.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::runbook_run::{ActiveRun, input_values};
use crate::app::state::AppState;
use crate::domain::runbook::{Risk, StepKind, StepState};
use crate::ui::text::{fit, truncate};
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let Some(rb) = state.runbook.active_runbook() else {
        return String::new();
    };
    let done = state
        .incident
        .as_ref()
        .and_then(|i| i.progress(&rb.id))
        .map_or(0, |p| p.done_count(rb));
    let running = state
        .runbook
        .runs
        .iter()
        .filter(|r| r.runbook == rb.id && r.result.is_none())
        .count();
    let mut s = format!("{} · {done}/{} done", rb.title, rb.steps.len());
    if running > 0 {
        s.push_str(&format!(" · {running} running"));
    }
    if state.read_only {
        s.push_str(" · READ-ONLY: commands disabled");
    }
    s
}

/// Whether this cockpit is running the step: a command of it, or a rollback it started.
fn running_here(state: &AppState, runbook: &str, step: &str) -> bool {
    state
        .runbook
        .runs
        .iter()
        .any(|r| r.runbook == runbook && r.step == step && r.result.is_none())
        || state
            .deploys
            .in_flight
            .as_ref()
            .and_then(|f| f.step.as_ref())
            .is_some_and(|(r, s)| r == runbook && s == step)
}

fn kind_badge(kind: &StepKind) -> (&'static str, Slot) {
    match kind {
        StepKind::Check => ("  ", Slot::Muted),
        StepKind::Command(c) => match c.risk {
            Risk::Read => ("$ ", Slot::Muted),
            Risk::Write => ("$△", Slot::Warn),
            Risk::Destructive => ("$▲", Slot::Crit),
        },
        StepKind::Verify(_) => ("✓?", Slot::Muted),
        StepKind::Rollback { .. } => ("↺▲", Slot::Crit),
    }
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let Some(rb) = state.runbook.active_runbook() else {
        let msg = if state.runbook.library.is_empty() {
            "no runbooks loaded"
        } else {
            "no runbook attached: :runbook <id> opens one (o on an alert opens its runbook)"
        };
        return ctx.empty(msg);
    };
    let progress = state.incident.as_ref().and_then(|i| i.progress(&rb.id));
    let rows = state.runbook.visible_rows();
    let mut out = Vec::new();
    for row in ctx.window(state.runbook.list.cursor, rows.len(), ctx.height) {
        let Some(step) = rows.get(row).and_then(|&i| rb.steps.get(i)) else {
            continue;
        };
        let p = progress.and_then(|p| p.steps.get(&step.id));
        let running = running_here(state, &rb.id, &step.id);
        let st = if running {
            StepState::Running
        } else {
            p.map_or(StepState::Todo, |p| p.state)
        };
        // Recorded running, but not by this cockpit: another session runs it, or it was cut off.
        let elsewhere = st == StepState::Running && !running;
        let slot = match st {
            StepState::Done => Slot::Ok,
            StepState::Running if elsewhere => Slot::Stale,
            StepState::Running => Slot::Warn,
            StepState::Failed => Slot::Crit,
            StepState::Skipped => Slot::Muted,
            StepState::Todo => Slot::Text,
        };
        let word = if elsewhere { "running?" } else { st.word() };
        let who = p
            .map(|p| format!(" — {} {}", p.by, state.clock.hm(p.at)))
            .unwrap_or_default();
        let (badge, badge_slot) = kind_badge(&step.kind);
        let text_w = ctx.width.saturating_sub(1 + 4 + 9 + 3 + who.chars().count());
        let spans = vec![
            Span::styled(format!("{} ", st.mark()), theme.style(slot)),
            Span::styled(format!("{} ", fit(word, 8)), theme.style(slot)),
            Span::styled(format!("{badge} "), theme.style(badge_slot)),
            Span::styled(
                truncate(&format!("{}. {}", row + 1, step.text), text_w),
                theme.style(Slot::Text),
            ),
            Span::styled(who, theme.style(Slot::Muted)),
        ];
        out.push(ctx.select(Line::from(spans), row == state.runbook.list.cursor.selected));
    }
    out
}

/// The selected step in full, for the zoomed pane's detail box.
pub fn detail(state: &AppState, width: usize) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let Some(rb) = state.runbook.active_runbook() else {
        return Vec::new();
    };
    let rows = state.runbook.visible_rows();
    let Some(step) = rows
        .get(state.runbook.list.cursor.selected)
        .and_then(|&i| rb.steps.get(i))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut put = |key: &str, value: &str, slot: Slot| {
        for (i, row) in crate::ui::panes::detail::wrap(value, width.saturating_sub(15))
            .into_iter()
            .enumerate()
        {
            let label = if i == 0 { format!("{key:<14} ") } else { " ".repeat(15) };
            out.push(Line::from(vec![
                Span::styled(label, theme.style(Slot::Muted)),
                Span::styled(row, theme.style(slot)),
            ]));
        }
    };
    put(
        "step",
        &format!("{} {{#{}}} (line {})", step.text, step.id, step.line),
        Slot::Text,
    );
    let recorded = state
        .incident
        .as_ref()
        .and_then(|i| i.progress(&rb.id))
        .and_then(|p| p.steps.get(&step.id));
    if let Some(p) = recorded.filter(|p| p.state == StepState::Running && !running_here(state, &rb.id, &step.id)) {
        let what_now = if matches!(step.kind, StepKind::Rollback { .. }) {
            // Running it again could roll back twice: look first.
            "look at the Deploys pane and the deploy system before anything else; space marks it done once the rollback shows there"
        } else {
            "x runs it again; space marks it done; s skips it"
        };
        put(
            "running?",
            &format!(
                "recorded running by {} at {}, but not in this cockpit: another session runs it, or it was cut off (a crash, a dropped SSH session) and its end was never recorded. {what_now}",
                p.by,
                state.clock.hm(p.at)
            ),
            Slot::Warn,
        );
    }
    match &step.kind {
        StepKind::Check => put("kind", "a check: space marks it done, s skips it", Slot::Muted),
        StepKind::Command(c) => {
            let secrets: std::collections::BTreeSet<String> =
                rb.inputs.iter().filter(|i| i.secret).map(|i| i.name.clone()).collect();
            let shown = crate::domain::runbook::mask(&c.code, &input_values(state, rb), &secrets);
            put(
                "command",
                &format!(
                    "{} · risk {} · timeout {}s · x runs it",
                    c.lang,
                    c.risk.word(),
                    c.timeout.as_secs()
                ),
                Slot::Muted,
            );
            for line in shown.lines() {
                put("", &format!("$ {line}"), Slot::Header);
            }
        }
        StepKind::Verify(v) => {
            put(
                "verify",
                "holds when this PromQL returns a result (v checks now; every 30s by itself)",
                Slot::Muted,
            );
            put("", &v.promql, Slot::Header);
        }
        StepKind::Rollback { .. } => put(
            "rollback",
            "the configured rollback of the newest deploy (as R in Deploys) · x runs it",
            Slot::Muted,
        ),
    }
    if !rb.inputs.is_empty() {
        let values = input_values(state, rb);
        let text: Vec<String> = rb
            .inputs
            .iter()
            .map(|i| match (values.get(&i.name), i.secret) {
                (Some(_), true) => format!("{}=••••", i.name),
                (Some(v), false) => format!("{}={v}", i.name),
                (None, _) => format!("{}=(unset)", i.name),
            })
            .collect();
        put(
            "inputs",
            &format!("{} (:input NAME VALUE)", text.join(" ")),
            Slot::Muted,
        );
    }
    let last: Option<&ActiveRun> = state
        .runbook
        .runs
        .iter()
        .rev()
        .find(|r| r.runbook == rb.id && r.step == step.id);
    if let Some(run) = last {
        let status = match &run.result {
            None => "running…".to_string(),
            Some(r) if r.succeeded() => format!("exit 0 in {:.1}s", r.duration.as_secs_f64()),
            Some(r) => match (&r.error, r.timed_out, r.exit_code) {
                (Some(e), _, _) => format!("could not run: {e}"),
                (None, true, _) => "timed out, killed".to_string(),
                (None, false, Some(code)) => format!("exit {code} in {:.1}s", r.duration.as_secs_f64()),
                _ => "killed".to_string(),
            },
        };
        put(
            "last run",
            &format!("{} · {status}", state.clock.hms(run.started_at)),
            Slot::Text,
        );
        if let Some(path) = run.result.as_ref().and_then(|r| r.saved_to.as_ref()) {
            put("saved", &path.display().to_string(), Slot::Muted);
        }
        for line in run.output.iter().rev().take(200).collect::<Vec<_>>().into_iter().rev() {
            out.push(Line::from(Span::styled(format!("  {line}"), theme.style(Slot::Text))));
        }
    }
    out
}
