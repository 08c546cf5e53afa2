//! `warroom runbook list | show ID | lint [PATH…]` and the runbook parts of `warroom check`: the
//! lint of every configured runbook, and the Prometheus alerting rules no runbook covers. Output
//! goes to the writers given; everything taken from a runbook file is sanitised before printing.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use unicode_width::UnicodeWidthStr;

use crate::cli::RunbookCommand;
use crate::config::load::{
    LoadOptions, Loaded, Problem, RunbookSource, load_without_broken_runbooks, parse_runbooks, runbook_sources,
};
use crate::domain::runbook::{self, LintSeverity, Runbook, StepKind};
use crate::domain::sanitize::{one_line, sanitize};
use crate::sources::http::{ClientError, Endpoint};
use crate::sources::prometheus::{PromError, parse_envelope};

/// Exit status: nothing wrong (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Exit status of `lint`: a runbook has errors.
pub const EXIT_LINT_ERRORS: u8 = 1;
/// Exit status: the configuration is unusable, an unknown id, or a runbook that does not load.
pub const EXIT_PROBLEM: u8 = 2;

/// Runs one `warroom runbook` command; returns the exit status.
pub fn run(
    command: &RunbookCommand,
    opts: &LoadOptions<'_>,
    today: NaiveDate,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    // `lint PATH…` needs no configuration at all.
    if let RunbookCommand::Lint { paths } = command
        && !paths.is_empty()
    {
        let (sources, problems) = sources_from_paths(paths);
        return lint(&sources, &problems, today, out);
    }
    let loaded = match load_without_broken_runbooks(opts) {
        Ok(l) => l,
        Err(problems) => {
            let _ = writeln!(err, "warroom: the configuration has problems:");
            for p in &problems {
                let _ = writeln!(err, "  {}", one_line(&p.to_string()));
            }
            return EXIT_PROBLEM;
        }
    };
    let (sources, read_problems) = configured_sources(&loaded);
    match command {
        RunbookCommand::Lint { .. } => lint(&sources, &read_problems, today, out),
        RunbookCommand::List => {
            let (runbooks, mut problems) = parse_runbooks(&sources);
            problems.extend(read_problems);
            list(&runbooks, out);
            report_unloaded(&problems, err)
        }
        RunbookCommand::Show { id } => {
            let (runbooks, mut problems) = parse_runbooks(&sources);
            problems.extend(read_problems);
            match runbooks.iter().find(|r| r.id == *id) {
                Some(rb) => {
                    show(rb, out);
                    EXIT_OK
                }
                None => {
                    report_unloaded(&problems, err);
                    let known: Vec<&str> = runbooks.iter().map(|r| r.id.as_str()).collect();
                    let _ = writeln!(
                        err,
                        "warroom: no runbook \"{}\" (known: {})",
                        one_line(id),
                        known.join(", ")
                    );
                    EXIT_PROBLEM
                }
            }
        }
    }
}

fn report_unloaded(problems: &[Problem], err: &mut dyn Write) -> u8 {
    if problems.is_empty() {
        return EXIT_OK;
    }
    let _ = writeln!(err, "warroom: runbooks that did not load:");
    for p in problems {
        let _ = writeln!(err, "  {}", one_line(&p.to_string()));
    }
    EXIT_PROBLEM
}

/// The directory the configured runbook directories are relative to (the config file's).
fn base_dir(loaded: &Loaded) -> PathBuf {
    loaded
        .config_file
        .as_ref()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn configured_sources(loaded: &Loaded) -> (Vec<RunbookSource>, Vec<Problem>) {
    runbook_sources(&loaded.config.runbooks.dirs, &base_dir(loaded))
}

/// Files named on the command line: a directory stands for its `*.md` files.
fn sources_from_paths(paths: &[PathBuf]) -> (Vec<RunbookSource>, Vec<Problem>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let unreadable = |path: &Path, e: std::io::Error| Problem {
        file: path.display().to_string(),
        line: None,
        key: None,
        message: format!("cannot read: {e}"),
    };
    for path in paths {
        let files = if path.is_dir() {
            match crate::config::load::files_with_extension(path, "md") {
                Ok(files) => files,
                Err(e) => {
                    problems.push(unreadable(path, e));
                    continue;
                }
            }
        } else {
            vec![path.clone()]
        };
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => sources.push(RunbookSource {
                    name: file.display().to_string(),
                    text,
                    builtin: false,
                }),
                Err(e) => problems.push(unreadable(&file, e)),
            }
        }
    }
    (sources, problems)
}

/// One lint finding in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub severity: LintSeverity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file,
            self.line,
            self.severity.word(),
            self.message
        )
    }
}

/// Lints every source (as of `today`), and warns where two files outside the shipped ones share
/// an id (the later replaces the earlier).
pub fn lint_sources(sources: &[RunbookSource], today: NaiveDate) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut ids: Vec<(String, &str)> = Vec::new();
    for source in sources {
        for p in runbook::lint_on(&source.text, today) {
            out.push(Finding {
                file: one_line(&source.name),
                line: p.line,
                severity: p.severity,
                message: one_line(&p.message),
            });
        }
        if source.builtin {
            continue;
        }
        if let Ok(rb) = runbook::parse(&source.text) {
            if let Some((_, other)) = ids.iter().find(|(id, _)| *id == rb.id) {
                out.push(Finding {
                    file: one_line(&source.name),
                    line: id_line(&source.text),
                    severity: LintSeverity::Warning,
                    message: format!(
                        "id `{}` is also the id of {}; this file replaces it",
                        one_line(&rb.id),
                        one_line(other)
                    ),
                });
            }
            ids.push((rb.id, source.name.as_str()));
        }
    }
    out
}

fn id_line(text: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with("id:") || l.starts_with("id :"))
        .map_or(1, |i| i + 1)
}

/// `warroom runbook lint`: every finding as `file:line: severity: message`, then a summary.
fn lint(sources: &[RunbookSource], read_problems: &[Problem], today: NaiveDate, out: &mut dyn Write) -> u8 {
    let findings = lint_sources(sources, today);
    for p in read_problems {
        let _ = writeln!(out, "{}: error: {}", one_line(&p.file), one_line(&p.message));
    }
    for f in &findings {
        let _ = writeln!(out, "{f}");
    }
    let errors = findings.iter().filter(|f| f.severity == LintSeverity::Error).count() + read_problems.len();
    let warnings = findings.len() + read_problems.len() - errors;
    let _ = writeln!(
        out,
        "{} runbook{}: {errors} error{}, {warnings} warning{}",
        sources.len(),
        plural(sources.len()),
        plural(errors),
        plural(warnings)
    );
    if errors > 0 { EXIT_LINT_ERRORS } else { EXIT_OK }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// For `warroom check`: lints the configured runbooks, printing each finding to `err`; returns
/// how many are errors.
pub fn check_runbooks(loaded: &Loaded, today: NaiveDate, err: &mut dyn Write) -> usize {
    let (sources, problems) = configured_sources(loaded);
    for p in &problems {
        let _ = writeln!(err, "  {}", one_line(&p.to_string()));
    }
    let findings = lint_sources(&sources, today);
    for f in &findings {
        let _ = writeln!(err, "  {f}");
    }
    problems.len() + findings.iter().filter(|f| f.severity == LintSeverity::Error).count()
}

/// Pads to a display width (cells, not bytes).
fn pad(text: &str, width: usize) -> String {
    let w = text.width();
    format!("{text}{}", " ".repeat(width.saturating_sub(w)))
}

/// `warroom runbook list`: one row per runbook.
pub fn list(runbooks: &[Runbook], out: &mut dyn Write) {
    let header = ["ID", "TITLE", "OWNER", "REVIEW BY", "STEPS", "APPLIES TO"];
    let rows: Vec<[String; 6]> = runbooks
        .iter()
        .map(|r| {
            [
                one_line(&r.id),
                one_line(&r.title),
                r.owner.as_deref().map_or_else(|| "-".into(), one_line),
                r.review_by.map_or_else(|| "-".into(), |d| d.to_string()),
                r.steps.len().to_string(),
                one_line(&r.applies_to_text()),
            ]
        })
        .collect();
    let mut widths = header.map(str::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&pad(cell, widths[i]));
                s.push_str("  ");
            }
        }
        s
    };
    let _ = writeln!(out, "{}", line(header));
    for row in &rows {
        let _ = writeln!(out, "{}", line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]));
    }
}

/// `warroom runbook show ID`: the runbook as the cockpit reads it, commands as written.
pub fn show(rb: &Runbook, out: &mut dyn Write) {
    let _ = writeln!(out, "{} — {}", one_line(&rb.id), one_line(&rb.title));
    let field = |out: &mut dyn Write, name: &str, value: &str| {
        let _ = writeln!(out, "  {} {}", pad(name, 11), value);
    };
    field(out, "owner", &rb.owner.as_deref().map_or_else(|| "-".into(), one_line));
    field(
        out,
        "review by",
        &rb.review_by.map_or_else(|| "-".into(), |d| d.to_string()),
    );
    field(out, "applies to", &one_line(&rb.applies_to_text()));
    for (i, input) in rb.inputs.iter().enumerate() {
        let mut text = one_line(&input.name);
        match (&input.default, input.secret) {
            (_, true) => text.push_str(" (secret)"),
            (Some(d), false) => text.push_str(&format!(" = {}", one_line(d))),
            (None, false) => text.push_str(" (required)"),
        }
        if let Some(p) = &input.pattern {
            text.push_str(&format!("  matching {}", one_line(p)));
        }
        if let Some(d) = &input.description {
            text.push_str(&format!("  — {}", one_line(d)));
        }
        field(out, if i == 0 { "inputs" } else { "" }, &text);
    }
    if !rb.description.is_empty() {
        let _ = writeln!(out);
        for line in rb.description.lines() {
            let _ = writeln!(out, "  {}", sanitize(line));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Steps");
    for (n, step) in rb.steps.iter().enumerate() {
        let kind = match &step.kind {
            StepKind::Check => "check".to_string(),
            StepKind::Command(c) => format!(
                "command · {} · risk {} · timeout {}",
                one_line(&c.lang),
                c.risk.word(),
                humantime::format_duration(c.timeout)
            ),
            StepKind::Verify(_) => "verify".to_string(),
            StepKind::Rollback { .. } => "rollback · the configured rollback of the newest deploy".to_string(),
        };
        let _ = writeln!(
            out,
            "{:>3}. {}  [{kind}]  line {}",
            n + 1,
            one_line(&step.id),
            step.line
        );
        let _ = writeln!(out, "     {}", one_line(&step.text));
        let (prompt, code) = match &step.kind {
            StepKind::Check | StepKind::Rollback { .. } => continue,
            StepKind::Command(c) => ("$", c.code.as_str()),
            StepKind::Verify(v) => {
                if let Some(d) = &v.description {
                    let _ = writeln!(out, "     holds when: {}", one_line(d));
                }
                ("?", v.promql.as_str())
            }
        };
        for (i, line) in code.lines().enumerate() {
            let lead = if i == 0 { prompt } else { " " };
            let _ = writeln!(out, "     {lead} {}", sanitize(line));
        }
    }
}

/// An alerting rule with no runbook the cockpit can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlinkedRule {
    pub alert: String,
    pub group: String,
    pub file: String,
    pub reason: String,
}

impl fmt::Display for UnlinkedRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "alerting rule {} (group \"{}\"",
            one_line(&self.alert),
            one_line(&self.group)
        )?;
        if !self.file.is_empty() {
            write!(f, " in {}", one_line(&self.file))?;
        }
        write!(f, "): {}", self.reason)
    }
}

/// Why the rules could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Fetch(#[from] PromError),
    #[error("not a rules answer: {0}")]
    Decode(String),
}

#[derive(Debug, Deserialize)]
struct RawRules {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
struct RawGroup {
    #[serde(default)]
    name: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
struct RawRule {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// Reads `/api/v1/rules` and returns the alerting rules no runbook covers: no `runbook_url`
/// (or a `runbook://ID` naming no known runbook), and no runbook applying by name or labels. A
/// URL of any other scheme (https, file) counts as a runbook kept elsewhere.
pub fn unlinked_rules(status: u16, body: &[u8], runbooks: &[Runbook]) -> Result<Vec<UnlinkedRule>, RulesError> {
    let data = parse_envelope(status, body)?;
    let raw: RawRules = serde_json::from_value(data).map_err(|e| RulesError::Decode(e.to_string()))?;
    let known: BTreeSet<&str> = runbooks.iter().map(|r| r.id.as_str()).collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for group in raw.groups {
        for rule in group.rules.into_iter().filter(|r| r.kind == "alerting") {
            let mut labels = rule.labels.clone();
            labels.insert("alertname".into(), rule.name.clone());
            let applies = runbooks.iter().any(|r| r.applies_to(&rule.name, &labels));
            let url = rule
                .annotations
                .get("runbook_url")
                .map(|u| u.trim())
                .filter(|u| !u.is_empty());
            let reason = match url {
                Some(u) => match u.strip_prefix("runbook://") {
                    Some(id) if known.contains(id.trim_end_matches('/')) => None,
                    Some(_) if applies => None,
                    Some(_) => Some(format!("its runbook_url {} names no known runbook", one_line(u))),
                    None => None,
                },
                None if applies => None,
                None => Some("no runbook_url annotation and no runbook applies to it by name or labels".to_string()),
            };
            if let Some(reason) = reason
                && seen.insert((rule.name.clone(), group.name.clone()))
            {
                out.push(UnlinkedRule {
                    alert: rule.name,
                    group: group.name.clone(),
                    file: group.file.clone(),
                    reason,
                });
            }
        }
    }
    Ok(out)
}

/// Fetches the configured Prometheus's alerting rules and returns those without a runbook.
/// `Ok(None)` when no Prometheus is configured.
pub async fn fetch_unlinked_rules(
    loaded: &Loaded,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Vec<UnlinkedRule>>, RulesError> {
    let Some(source) = &loaded.config.prometheus else {
        return Ok(None);
    };
    let endpoint = Endpoint::from_config("prometheus", source, &base_dir(loaded), env)?;
    let response = endpoint
        .get("/api/v1/rules", &[("type", "alert")])
        .await
        .map_err(PromError::Fetch)?;
    unlinked_rules(response.status, &response.body, &loaded.runbooks).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_without_a_resolvable_runbook_are_listed() {
        let runbooks: Vec<Runbook> = crate::config::load::BUILTIN_RUNBOOKS
            .iter()
            .filter_map(|(_, t)| runbook::parse(t).ok())
            .collect();
        let body = br#"{"status":"success","data":{"groups":[{"name":"odin","file":"/etc/rules/odin.yml","rules":[
            {"type":"alerting","name":"OdinHighErrorRate","labels":{"severity":"page"},"annotations":{}},
            {"type":"alerting","name":"OdinQueueBacklog","labels":{"severity":"info"},"annotations":{}},
            {"type":"alerting","name":"OdinTLSCertExpiry","labels":{},"annotations":{"runbook_url":"runbook://tls-expiry"}},
            {"type":"alerting","name":"TargetDown","labels":{},"annotations":{"runbook_url":"https://runbooks.example/TargetDown"}},
            {"type":"alerting","name":"OdinDown","labels":{},"annotations":{"runbook_url":"runbook://rollback"}},
            {"type":"recording","name":"odin:error_ratio:5m","query":"x"}
        ]}]}}"#;
        let unlinked = unlinked_rules(200, body, &runbooks).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = unlinked.iter().map(|u| u.alert.as_str()).collect();
        assert_eq!(names, ["OdinQueueBacklog", "OdinTLSCertExpiry"]);
        assert!(unlinked[1].reason.contains("runbook://tls-expiry"), "{}", unlinked[1]);
        assert!(unlinked_rules(200, b"OK", &runbooks).is_err());
    }
}
