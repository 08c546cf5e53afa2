//! The postmortem's sections as a small document model (headings, paragraphs, lists, tables and
//! guidance for the author), built once from the view and written as Markdown or HTML, so the two
//! formats always carry the same content. The outline follows incident-anchors §2.6.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::view::{CORRELATION_WINDOW_HOURS, LIKELY_SUSPECT_MINUTES, Replaced, Row, View};
use super::{Profile, hms, iso_duration, rfc3339};
use crate::domain::timefmt::short_duration;
use crate::domain::timeline::short_id;

/// A piece of inline text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Span {
    Text(String),
    Code(String),
    /// Text struck through: an entry that is no longer current.
    Struck(String),
    /// The pinned marker.
    Star,
}

pub(crate) type Line = Vec<Span>;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// A level-3 heading (sections are level 2).
    Subheading(String),
    Para(Line),
    Bullets(Vec<Line>),
    Table {
        head: Vec<&'static str>,
        rows: Vec<Vec<Line>>,
    },
    /// Guidance for the author where a human must write: an HTML comment in Markdown, a visible
    /// hint in HTML.
    Guide(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub heading: &'static str,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    pub title: String,
    pub sections: Vec<Section>,
    /// The integrity footer.
    pub footer: Vec<Line>,
}

fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn line(s: impl Into<String>) -> Line {
    vec![text(s)]
}

fn at(t: DateTime<Utc>) -> String {
    rfc3339(t)
}

/// The postmortem document.
pub(crate) fn build(v: &View) -> Doc {
    let title = match &v.title {
        Some(t) => format!("{t} ({})", v.incident_id),
        None => format!("Incident {}", v.incident_id),
    };
    let sections = vec![
        Section {
            heading: "Summary",
            blocks: summary(v),
        },
        Section {
            heading: "Impact",
            blocks: impact(v),
        },
        Section {
            heading: "Detection",
            blocks: detection(v),
        },
        Section {
            heading: "Response",
            blocks: vec![Block::Guide(
                "Who responded and when; any delays in paging or escalation.",
            )],
        },
        Section {
            heading: "Responders and roles",
            blocks: responders(v),
        },
        Section {
            heading: "Timeline",
            blocks: timeline(v),
        },
        Section {
            heading: "Trigger / Leadup / Fault",
            blocks: vec![Block::Guide(
                "What triggered the incident, the lead-up to it, and the fault itself. The change \
                 correlation below lists the deploys in the window.",
            )],
        },
        Section {
            heading: "Contributing factors (root causes)",
            blocks: vec![Block::Guide(
                "Blameless: the conditions that made this possible or worse. Ask \"why\" until you reach \
                 something you can change.",
            )],
        },
        Section {
            heading: "Mitigation and resolution",
            blocks: mitigation(v),
        },
        Section {
            heading: "Runbooks and commands executed",
            blocks: runbooks(v),
        },
        Section {
            heading: "Change correlation",
            blocks: correlation(v),
        },
        Section {
            heading: "Lessons learned",
            blocks: vec![
                Block::Subheading("What went well".into()),
                Block::Guide("What helped: tooling, alerts, runbooks, people, luck aside."),
                Block::Subheading("What went wrong".into()),
                Block::Guide("What slowed detection, diagnosis or mitigation."),
                Block::Subheading("Where we got lucky".into()),
                Block::Guide("What could have made this much worse and did not, by chance."),
            ],
        },
        Section {
            heading: "Action items",
            blocks: vec![
                Block::Para(line("No action items were recorded in the journal.")),
                Block::Guide(
                    "Add a table: Action | Type (detect / prevent / mitigate / process) | Owner | Priority | Due | \
                     Tracker.",
                ),
            ],
        },
        Section {
            heading: "Runbook and alert updates required",
            blocks: vec![Block::Guide(
                "Runbooks and alerts to update after this incident, with owners.",
            )],
        },
        Section {
            heading: "Communications",
            blocks: vec![
                Block::Subheading("Internal summary".into()),
                Block::Guide("The summary sent to the rest of the company."),
                Block::Subheading("External message".into()),
                Block::Guide("For customers: summary, what happened, what we are doing about it."),
            ],
        },
        Section {
            heading: "Supporting information",
            blocks: supporting(v),
        },
    ];
    Doc {
        title,
        sections,
        footer: footer(v),
    }
}

fn summary(v: &View) -> Vec<Block> {
    let mut blocks = Vec::new();
    match (v.declared, v.severity, v.status) {
        (true, Some(sev), Some(status)) => {
            let mut facts = format!("{sev} incident, {status}.");
            if let Some(started) = v.milestone("started") {
                facts.push_str(&format!(" Started {}", at(started)));
                for (name, label) in [("ttd", "detected"), ("ttm", "mitigated"), ("ttr", "resolved")] {
                    if let Some(d) = v.duration(name) {
                        facts.push_str(&format!(", {label} after {}", short_duration(d)));
                    }
                }
                facts.push('.');
            }
            blocks.push(Block::Para(line(facts)));
        }
        _ => blocks.push(Block::Para(line("No incident was declared in this journal."))),
    }
    blocks.push(Block::Guide(
        "2–3 sentences: what happened, the impact, how long it lasted and how severe it was.",
    ));
    blocks
}

fn impact(v: &View) -> Vec<Block> {
    let mut rows: Vec<Vec<Line>> = Vec::new();
    for (sev, t) in &v.severity_time {
        let mut value = String::new();
        if t.total > chrono::Duration::zero() {
            value.push_str(&short_duration(t.total));
        }
        if let Some(since) = t.open_since {
            if !value.is_empty() {
                value.push_str(", and ");
            }
            value.push_str(&format!("since {} (still open)", at(since)));
        }
        rows.push(vec![
            line(format!("Time at {}", sev.word())),
            line(value),
            line("severity.changed"),
        ]);
    }
    if !v.alerts.is_empty() {
        let names: Vec<&str> = v.alerts.iter().map(|(n, _)| n.as_str()).collect();
        rows.push(vec![
            line("Alerts fired"),
            line(format!("{}: {}", v.alerts.len(), names.join(", "))),
            line("alert.fired"),
        ]);
    }
    for s in &v.slos {
        let budget = s.budget_remaining.map_or(String::new(), |b| {
            format!(", {:.1}% of the error budget left", b * 100.0)
        });
        rows.push(vec![
            line(format!("SLO {}", s.slo)),
            line(format!("{}{budget} (at {})", s.state, at(s.at))),
            line("slo.state"),
        ]);
    }
    let mut blocks = Vec::new();
    if rows.is_empty() {
        blocks.push(Block::Para(line("Nothing measurable was recorded.")));
    } else {
        blocks.push(Block::Table {
            head: vec!["Measure", "Value", "Source"],
            rows,
        });
    }
    blocks.push(Block::Guide(
        "Add what the journal cannot know: users or accounts affected, requests failed or slow, support \
         requests, and where each number comes from.",
    ));
    blocks
}

fn detection(v: &View) -> Vec<Block> {
    let mut blocks = Vec::new();
    if let Some(detected) = v.milestone("detected") {
        let ttd = v
            .duration("ttd")
            .map_or(String::new(), |d| format!(" (TTD {})", iso_duration(d)));
        blocks.push(Block::Para(line(format!("Detected at {}{ttd}.", at(detected)))));
    } else {
        blocks.push(Block::Para(line("No detection time was recorded.")));
    }
    if !v.alerts.is_empty() {
        blocks.push(Block::Bullets(
            v.alerts
                .iter()
                .map(|(name, when)| line(format!("{name} fired at {}", at(*when))))
                .collect(),
        ));
    }
    blocks.push(Block::Guide(
        "How was it detected (alert name and runbook link)? Could the time to detect be cut in half?",
    ));
    blocks
}

fn responders(v: &View) -> Vec<Block> {
    if v.roles.is_empty() {
        return vec![Block::Para(line("No roles were recorded."))];
    }
    let rows = v
        .roles
        .iter()
        .map(|r| {
            vec![
                line(r.role),
                line(r.person.clone()),
                line(at(r.from)),
                line(r.to.map_or_else(|| "—".to_string(), at)),
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        head: vec!["Role", "Person", "From", "To"],
        rows,
    }];
    if v.profile == Profile::Public {
        blocks.push(Block::Para(line(
            "People are named by their role; names are not published.",
        )));
    }
    blocks
}

fn timeline(v: &View) -> Vec<Block> {
    if v.rows.is_empty() {
        return vec![Block::Para(line("Nothing was recorded."))];
    }
    let mut blocks = vec![Block::Para(line(match v.profile {
        Profile::Internal => "All times UTC. ⭐ = pinned. Struck-through entries were corrected or retracted later.",
        Profile::Public => "All times UTC. ⭐ = pinned.",
    }))];
    let mut by_date: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in &v.rows {
        by_date
            .entry(r.occurred_at.format("%Y-%m-%d").to_string())
            .or_default()
            .push(r);
    }
    for (date, rows) in by_date {
        blocks.push(Block::Subheading(date));
        let rows = rows
            .into_iter()
            .map(|r| {
                vec![
                    line(hms(r.occurred_at)),
                    vec![Span::Code(r.kind.to_string())],
                    event_cell(v, r),
                    line(r.actor.clone()),
                    vec![Span::Code(short_id(&r.id).to_string())],
                ]
            })
            .collect();
        blocks.push(Block::Table {
            head: vec!["Time", "Kind", "Event", "Actor", "Id"],
            rows,
        });
    }
    blocks
}

fn event_cell(v: &View, r: &Row) -> Line {
    let mut cell = Vec::new();
    if r.pinned {
        cell.push(Span::Star);
    }
    match &r.replaced {
        Some(Replaced::Corrected { by }) => {
            cell.push(Span::Struck(r.summary.clone()));
            cell.push(text(format!(" (corrected by {})", short_id(by))));
        }
        Some(Replaced::Retracted { by, reason }) => {
            cell.push(Span::Struck(r.summary.clone()));
            cell.push(text(format!(" (retracted by {}: {reason})", short_id(by))));
        }
        None => {
            cell.push(text(r.summary.clone()));
            if v.profile == Profile::Internal
                && let Some(target) = &r.supersedes
            {
                cell.push(text(format!(" (corrects {})", short_id(target))));
            }
        }
    }
    if r.recorded_at - r.occurred_at >= chrono::Duration::minutes(5) {
        cell.push(text(format!(" · recorded {}", at(r.recorded_at))));
    }
    cell
}

fn mitigation(v: &View) -> Vec<Block> {
    let mut facts = Vec::new();
    for (milestone, duration, label) in [("mitigated", "ttm", "TTM"), ("resolved", "ttr", "TTR")] {
        if let Some(t) = v.milestone(milestone) {
            let d = v
                .duration(duration)
                .map_or(String::new(), |d| format!(" ({label} {})", iso_duration(d)));
            facts.push(line(format!("{} at {}{d}", capitalise(milestone), at(t))));
        }
    }
    for (id, title) in &v.runbooks {
        let n = v.steps.iter().filter(|s| s.runbook_id == *id).count();
        facts.push(line(format!(
            "Runbook used: {title} ({id}), {n} step update{}",
            if n == 1 { "" } else { "s" }
        )));
    }
    let mut blocks = Vec::new();
    if facts.is_empty() {
        blocks.push(Block::Para(line("Neither mitigation nor resolution was recorded.")));
    } else {
        blocks.push(Block::Bullets(facts));
    }
    blocks.push(Block::Guide(
        "What stopped the impact and what fixed it; include the runbooks used.",
    ));
    blocks
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn runbooks(v: &View) -> Vec<Block> {
    if v.steps.is_empty() {
        let mut blocks = vec![Block::Para(line("No runbook steps were recorded."))];
        if !v.runbooks.is_empty() {
            blocks.push(Block::Bullets(
                v.runbooks
                    .iter()
                    .map(|(id, title)| line(format!("Attached: {title} ({id})")))
                    .collect(),
            ));
        }
        return blocks;
    }
    let rows = v
        .steps
        .iter()
        .map(|s| {
            let step = match &s.reason {
                Some(r) => vec![Span::Code(s.step.clone()), text(format!(": {r}"))],
                None => vec![Span::Code(s.step.clone())],
            };
            vec![
                line(s.runbook.clone()),
                step,
                line(s.state),
                line(s.by.clone()),
                line(at(s.at)),
            ]
        })
        .collect();
    vec![
        Block::Table {
            head: vec!["Runbook", "Step", "State", "By", "Time"],
            rows,
        },
        Block::Guide("Commands run outside the runbooks, if any."),
    ]
}

fn correlation(v: &View) -> Vec<Block> {
    let Some((from, until)) = v.window else {
        return vec![Block::Para(line(
            "No incident was declared, so there is no window to correlate changes with.",
        ))];
    };
    let until_text = until.map_or_else(|| "now (still open)".to_string(), at);
    let mut blocks = vec![Block::Para(line(format!(
        "Deploys observed from {} ({CORRELATION_WINDOW_HOURS} h before the start or detection, whichever is earlier) \
         until {until_text}. Suspect by time: likely when at most {LIKELY_SUSPECT_MINUTES} min before detection, \
         otherwise possible.",
        at(from)
    )))];
    if v.deploys.is_empty() {
        blocks.push(Block::Para(line("No deploys were observed in the window.")));
    } else {
        let rows = v
            .deploys
            .iter()
            .map(|d| {
                let what = if d.rollback {
                    format!("rollback to {}", d.version)
                } else {
                    d.version.clone()
                };
                vec![
                    line(at(d.at)),
                    vec![Span::Code(what)],
                    line(d.environment.clone()),
                    line(d.status.clone()),
                    line(d.suspect),
                    vec![Span::Code(short_id(&d.id).to_string())],
                ]
            })
            .collect();
        blocks.push(Block::Table {
            head: vec!["Time", "Deploy", "Environment", "Status", "Suspect", "Id"],
            rows,
        });
    }
    for (when, alert, suspects) in &v.ranked {
        if suspects.is_empty() {
            blocks.push(Block::Para(line(format!(
                "When {alert} fired ({}), no change was found in the 2 h before it.",
                at(*when)
            ))));
            continue;
        }
        let listed = suspects
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect::<Vec<_>>()
            .join("; ");
        blocks.push(Block::Para(line(format!(
            "When {alert} fired ({}), the cockpit ranked these changes as suspects (by recency, service and kind): {listed}.",
            at(*when)
        ))));
    }
    if v.deploys_before_window > 0 {
        let n = v.deploys_before_window;
        blocks.push(Block::Para(line(format!(
            "{n} earlier deploy{} in the journal {} outside the window.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" }
        ))));
    }
    blocks.push(Block::Guide(
        "Mark the culprit, if any, and config changes or migrations the journal did not see.",
    ));
    blocks
}

fn supporting(v: &View) -> Vec<Block> {
    let pinned: Vec<Line> = v
        .rows
        .iter()
        .filter(|r| r.pinned && r.is_current())
        .map(|r| vec![Span::Star, text(format!("{} {}", at(r.occurred_at), r.summary))])
        .collect();
    let mut blocks = Vec::new();
    if pinned.is_empty() {
        blocks.push(Block::Para(line("Nothing was pinned.")));
    } else {
        blocks.push(Block::Para(line("Pinned entries:")));
        blocks.push(Block::Bullets(pinned));
    }
    blocks.push(Block::Guide(
        "Metric snapshots, log excerpts (redacted) and links that support the analysis.",
    ));
    blocks
}

fn footer(v: &View) -> Vec<Line> {
    let records = match v.record_count {
        0 => "an empty journal".to_string(),
        1 => "1 record".to_string(),
        n => format!("{n} records"),
    };
    let mut lines = vec![
        vec![
            text("Journal head hash: "),
            Span::Code(v.head_hash.clone()),
            text(format!(" (SHA-256 chain over {records}).")),
        ],
        line(format!(
            "Generated by warroom {} with the {} profile; all times UTC; the same journal gives the same bytes.",
            v.version,
            v.profile.word()
        )),
    ];
    let (rules, n) = &v.write_redaction;
    let written = if *n == 0 {
        "Redaction when written: nothing matched.".to_string()
    } else {
        format!(
            "Redaction when written: {} ({n} record{}).",
            rules.join(", "),
            if *n == 1 { "" } else { "s" }
        )
    };
    lines.push(line(match v.profile {
        Profile::Internal => written,
        // What was redacted from internal entries is itself internal.
        Profile::Public => "Public version: internal and superseded entries left out, text redacted with the strict \
                            rules, people named by their role."
            .to_string(),
    }));
    lines
}
