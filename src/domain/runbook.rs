//! Runbooks as checklists (format: docs/runbook-format.md): YAML front matter, task-list steps with
//! stable ids, executable steps as fenced code blocks with attributes, verify steps as PromQL; the
//! parser, the linter, `{{input}}` expansion and masking, which alerts a runbook applies to, and the
//! progress of each step (kept in the incident timeline, never in the runbook file). Pure: the
//! caller passes `today` where a date matters.

mod body;
mod front;
mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

pub use template::{ExpandError, MASK, Piece, expand, is_input_name, mask, pieces, placeholders};

use crate::domain::matcher::{MatchOp, Matcher};
use crate::domain::severity::Severity;

/// Timeout of a command step without a `timeout` attribute.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest `timeout` a command step may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Languages whose blocks are commands.
pub const COMMAND_LANGS: [&str; 2] = ["sh", "bash"];
/// Attributes a command block may have.
pub const COMMAND_ATTRS: [&str; 2] = ["risk", "timeout"];
/// Attributes a verify block may have.
pub const VERIFY_ATTRS: [&str; 1] = ["description"];
/// Compiled size limit of an input pattern (a runbook is data: it must not exhaust memory).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runbook {
    /// What `runbook://ID` names; from the front matter, else derived from the title.
    pub id: String,
    pub title: String,
    /// Alert names this runbook applies to.
    pub alerts: Vec<String>,
    pub steps: Vec<Step>,
    pub owner: Option<String>,
    /// When the runbook is due for review (a lint warning once past).
    pub review_by: Option<NaiveDate>,
    /// Label matchers: `value` is an exact match, `=~regex` an anchored regular expression.
    pub labels: BTreeMap<String, String>,
    /// The least severe alert severity it applies to ("warning": warning, critical and page).
    pub min_severity: Option<String>,
    pub inputs: Vec<Input>,
    /// The prose before the first step (Markdown, as written).
    pub description: String,
}

/// A value a runbook's commands take, written `{{name}}` in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub description: Option<String>,
    pub default: Option<String>,
    /// A regular expression the whole value must match (anchored: `^(?:pattern)$`).
    pub pattern: Option<String>,
    /// Shown as `••••`, never recorded; cannot have a default.
    pub secret: bool,
    /// 1-based line of its entry in the front matter.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    pub text: String,
    /// The code of a command step (the same as in `kind`), for what only shows it.
    pub command: Option<String>,
    /// 1-based line of the step's `- [ ]` in the file.
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StepKind {
    /// Done by a person and checked off by hand.
    #[default]
    Check,
    /// Runs a command (after a confirmation scaled to its risk).
    Command(CommandStep),
    /// Checks itself when its PromQL condition holds (see [`verify_outcome`]).
    Verify(VerifyStep),
    /// Rolls the service's newest deploy back with the cockpit's configured rollback (the
    /// Deploys pane's `R`): a ```` ```rollback ```` block.
    Rollback { line: usize },
}

impl StepKind {
    pub fn word(&self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Command(_) => "command",
            Self::Verify(_) => "verify",
            Self::Rollback { .. } => "rollback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandStep {
    /// The block's language ("sh" or "bash"): what interprets `code`.
    pub lang: String,
    /// The code as written, `{{input}}` placeholders unexpanded.
    pub code: String,
    pub risk: Risk,
    pub timeout: Duration,
    /// 1-based line of the opening fence.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyStep {
    /// An instant PromQL query; placeholders unexpanded.
    pub promql: String,
    pub description: Option<String>,
    /// 1-based line of the opening fence.
    pub line: usize,
}

/// What running a command may do, and so how it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Risk {
    /// Only reads (kubectl get, logs, a SELECT): one key.
    Read,
    /// Changes something that is easy to change back: y/N, default N.
    Write,
    /// Hard to undo or interrupts service (a rollback, disabling accounts): typed confirmation.
    Destructive,
}

impl Risk {
    pub fn word(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Destructive => "destructive",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "destructive" => Some(Self::Destructive),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Todo,
    Running,
    Done,
    Skipped,
    Failed,
}

impl StepState {
    pub fn mark(self) -> &'static str {
        match self {
            Self::Todo => "[ ]",
            Self::Running => "[~]",
            Self::Done => "[x]",
            Self::Skipped => "[-]",
            Self::Failed => "[!]",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::Running => "running",
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// Who moved a step to its state, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProgress {
    pub state: StepState,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Progress of one runbook within an incident, keyed by step id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookProgress {
    pub steps: BTreeMap<String, StepProgress>,
}

impl RunbookProgress {
    pub fn state(&self, step_id: &str) -> StepState {
        self.steps.get(step_id).map_or(StepState::Todo, |p| p.state)
    }

    pub fn done_count(&self, runbook: &Runbook) -> usize {
        runbook
            .steps
            .iter()
            .filter(|s| matches!(self.state(&s.id), StepState::Done | StepState::Skipped))
            .count()
    }
}

/// A problem that stops the runbook from loading, with the line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RunbookError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintSeverity {
    Error,
    Warning,
}

impl LintSeverity {
    pub fn word(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One finding of [`lint`]: errors must be fixed, warnings should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintProblem {
    /// 1-based line in the file.
    pub line: usize,
    pub message: String,
    pub severity: LintSeverity,
}

impl fmt::Display for LintProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.severity.word(), self.message)
    }
}

/// Why an input value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("input `{name}` has no value and no default")]
    Missing { name: String },
    #[error("`{name}` is not an input of this runbook")]
    Unknown { name: String },
    #[error("the value of `{name}` does not match its pattern {pattern}")]
    NoMatch { name: String, pattern: String },
    #[error("the value of `{name}` contains a control character or line break")]
    Control { name: String },
    #[error("the pattern of `{name}` is not a valid regular expression: {reason}")]
    BadPattern { name: String, reason: String },
}

/// A problem found while reading; `fatal` ones stop [`parse`].
#[derive(Debug, Clone)]
struct Found {
    line: usize,
    severity: LintSeverity,
    message: String,
    fatal: bool,
}

impl Found {
    fn fatal(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            severity: LintSeverity::Error,
            message: message.into(),
            fatal: true,
        }
    }

    fn error(line: usize, message: impl Into<String>) -> Self {
        Self {
            fatal: false,
            ..Self::fatal(line, message)
        }
    }

    fn warning(line: usize, message: impl Into<String>) -> Self {
        Self {
            severity: LintSeverity::Warning,
            ..Self::error(line, message)
        }
    }
}

/// Compiles an input pattern, anchored.
fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string().lines().last().unwrap_or("").trim().to_string())
}

impl Input {
    /// Whether `value` may be used: one line without control characters, matching the pattern.
    pub fn check(&self, value: &str) -> Result<(), InputError> {
        match &self.pattern {
            Some(pattern) => {
                let re = compile_pattern(pattern).map_err(|reason| InputError::BadPattern {
                    name: self.name.clone(),
                    reason,
                })?;
                self.check_with(value, Some(&re))
            }
            None => self.check_with(value, None),
        }
    }

    /// [`Input::check`] with the pattern already compiled (`None`: a pattern that did not compile
    /// is not checked again here; lint reports it).
    fn check_with(&self, value: &str, re: Option<&regex::Regex>) -> Result<(), InputError> {
        if value.chars().any(char::is_control) {
            return Err(InputError::Control {
                name: self.name.clone(),
            });
        }
        let (Some(pattern), Some(re)) = (&self.pattern, re) else {
            return Ok(());
        };
        if re.is_match(value) {
            Ok(())
        } else {
            Err(InputError::NoMatch {
                name: self.name.clone(),
                pattern: pattern.clone(),
            })
        }
    }
}

impl Runbook {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Names of the secret inputs, for [`mask`].
    pub fn secret_names(&self) -> BTreeSet<String> {
        self.inputs
            .iter()
            .filter(|i| i.secret)
            .map(|i| i.name.clone())
            .collect()
    }

    /// Every input's value: the one `given`, else its default; each checked against its pattern.
    /// All problems are returned, not just the first.
    pub fn input_values(&self, given: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Vec<InputError>> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for name in given.keys().filter(|n| self.input(n).is_none()) {
            errors.push(InputError::Unknown { name: name.clone() });
        }
        for input in &self.inputs {
            let Some(value) = given.get(&input.name).or(input.default.as_ref()) else {
                errors.push(InputError::Missing {
                    name: input.name.clone(),
                });
                continue;
            };
            match input.check(value) {
                Ok(()) => {
                    values.insert(input.name.clone(), value.clone());
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(values) } else { Err(errors) }
    }

    /// The label matchers of `labels`; an entry whose regular expression does not compile is left
    /// out (lint reports it).
    pub fn label_matchers(&self) -> Vec<Matcher> {
        self.labels
            .iter()
            .filter_map(|(name, wanted)| match wanted.strip_prefix("=~") {
                Some(re) => Matcher::new(name, MatchOp::Regex, re).ok(),
                None => Matcher::equal(name, wanted).ok(),
            })
            .collect()
    }

    /// Whether this runbook applies to an alert. With `alerts` listed, the alert's name must be
    /// one of them; with `labels`, every matcher must match the alert's labels (both when both
    /// are given); with neither it applies to no alert. With `min_severity`, an alert whose
    /// `severity` label is less severe is left out (one with no recognisable severity is not).
    pub fn applies_to(&self, alert_name: &str, labels: &BTreeMap<String, String>) -> bool {
        if self.alerts.is_empty() && self.labels.is_empty() {
            return false;
        }
        if !self.alerts.is_empty() && !self.alerts.iter().any(|a| a == alert_name) {
            return false;
        }
        if !self.labels.is_empty() {
            let matchers = self.label_matchers();
            if matchers.len() != self.labels.len() || !matchers.iter().all(|m| m.matches(labels)) {
                return false;
            }
        }
        let wanted = self.min_severity.as_deref().map(Severity::from_label);
        let actual = labels
            .get("severity")
            .map_or(Severity::Unknown, |s| Severity::from_label(s));
        match wanted {
            Some(min) if min != Severity::Unknown && actual != Severity::Unknown => actual <= min,
            _ => true,
        }
    }

    /// "alerts A, B; labels service=odin; warning and worse", or "no alert" (for listings).
    pub fn applies_to_text(&self) -> String {
        let mut parts = Vec::new();
        if !self.alerts.is_empty() {
            parts.push(self.alerts.join(", "));
        }
        if !self.labels.is_empty() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| match v.strip_prefix("=~") {
                    Some(re) => format!("{k}=~{re}"),
                    None => format!("{k}={v}"),
                })
                .collect();
            parts.push(labels.join(","));
        }
        if parts.is_empty() {
            return "(opened by hand)".into();
        }
        if let Some(min) = &self.min_severity {
            parts.push(format!("{min}+"));
        }
        parts.join("; ")
    }
}

/// What a verify step's instant query answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VerifyAnswer<'a> {
    /// The sample values of an instant vector (empty: no series).
    Vector(&'a [f64]),
    Scalar(f64),
}

/// The verify rule, as for a Prometheus alerting rule's expression: the condition holds when the
/// query returns at least one series (write it as a filter, `… < 0.01`, not with `bool`), and a
/// scalar holds when it is neither 0 nor NaN. Returns the value that satisfied it (the first
/// series' value), or `None` when it does not hold.
pub fn verify_outcome(answer: VerifyAnswer<'_>) -> Option<f64> {
    match answer {
        VerifyAnswer::Vector(values) => values.first().copied(),
        VerifyAnswer::Scalar(v) => (v != 0.0 && !v.is_nan()).then_some(v),
    }
}

/// A stable id from text: lower-case words joined by `-`, at most six words.
pub fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// Parses a runbook. Fails only on what makes it unusable (front matter not closed or not YAML,
/// no title, a code block not closed); everything else [`lint`] reports is tolerated safely: an
/// unknown key is ignored, a command without a valid `risk` counts as destructive, a bad timeout
/// is the default, a duplicate step id gets a `-2` suffix.
pub fn parse(source: &str) -> Result<Runbook, RunbookError> {
    let Read { runbook, found, .. } = read(source);
    match found.into_iter().filter(|f| f.fatal).min_by_key(|f| f.line) {
        Some(f) => Err(RunbookError {
            line: f.line,
            message: f.message,
        }),
        None => Ok(runbook),
    }
}

/// Every problem in a runbook, by line: what stops it loading, and what is wrong or unsafe in it
/// (unknown keys and attributes, a missing or bad `risk` or `timeout`, duplicate step ids, inputs
/// used but not declared, bad patterns and defaults); warnings for what merely should change.
/// Date-independent: [`lint_on`] adds the review date check.
pub fn lint(source: &str) -> Vec<LintProblem> {
    to_problems(read(source).found)
}

/// [`lint`], plus a warning when `review_by` is before `today`.
pub fn lint_on(source: &str, today: NaiveDate) -> Vec<LintProblem> {
    let Read {
        runbook,
        mut found,
        review_by_line,
    } = read(source);
    if let Some(date) = runbook.review_by
        && date < today
        && !found.iter().any(|f| f.fatal)
    {
        found.push(Found::warning(
            review_by_line,
            format!("review_by {date} has passed: review the runbook and move the date"),
        ));
    }
    to_problems(found)
}

fn to_problems(found: Vec<Found>) -> Vec<LintProblem> {
    let mut out: Vec<LintProblem> = found
        .into_iter()
        .map(|f| LintProblem {
            line: f.line,
            message: f.message,
            severity: f.severity,
        })
        .collect();
    out.sort_by(|a, b| a.line.cmp(&b.line).then(a.severity.cmp(&b.severity)));
    out.dedup();
    out
}

/// A runbook as complete as the source allows, and every problem found on the way.
struct Read {
    runbook: Runbook,
    found: Vec<Found>,
    review_by_line: usize,
}

/// Reads everything, collecting every problem.
fn read(source: &str) -> Read {
    let mut found = Vec::new();
    let lines = body::Lines::new(source);
    let (front, body_offset) = match front::split(source) {
        Ok(Some(split)) => (front::read(&split, &mut found), split.body_offset),
        Ok(None) => (
            front::Front {
                id_line: 1,
                review_by_line: 1,
                ..front::Front::default()
            },
            0,
        ),
        Err(f) => {
            found.push(f);
            return Read {
                runbook: Runbook::default(),
                found,
                review_by_line: 1,
            };
        }
    };
    let body = body::read(source, body_offset, &lines, &mut found);
    let title = front.title.clone().or(body.title.clone());
    let title = match title {
        Some(t) => t,
        None => {
            // Broken front matter may hold the title: that problem is the one to report.
            if !found.iter().any(|f| f.fatal) {
                found.push(Found::fatal(1, "no `title` in the front matter and no `# heading`"));
            }
            String::new()
        }
    };
    let id = match &front.id {
        Some(id) => id.clone(),
        None => {
            if !title.is_empty() {
                found.push(Found::error(
                    front.id_line,
                    format!(
                        "no `id` in the front matter (alerts link to runbook://ID); it would be \"{}\"",
                        slug(&title)
                    ),
                ));
            }
            slug(&title)
        }
    };
    if front.owner.is_none() && !title.is_empty() {
        found.push(Found::warning(
            front.id_line,
            "no `owner`: who keeps this runbook true?",
        ));
    }
    if front.review_by.is_none() && !found.iter().any(|f| f.message.starts_with("review_by")) && !title.is_empty() {
        found.push(Found::warning(
            front.id_line,
            "no `review_by` date: runbooks rot unless someone reviews them",
        ));
    }
    let steps = steps(&body, &mut found);
    if steps.is_empty() {
        found.push(Found::error(
            lines.line(body_offset.min(source.len().saturating_sub(1))),
            "no steps: write each step as a task-list item, `- [ ] what to do {#step-id}`",
        ));
    }
    for block in &body.loose {
        if runnable(block) {
            found.push(Found::error(
                block.line,
                "this block would run but is not inside a step: indent it under its `- [ ]` item",
            ));
        }
    }
    check_inputs(&front.inputs, &steps, &mut found);
    let runbook = Runbook {
        id,
        title,
        alerts: front.alerts,
        steps,
        owner: front.owner,
        review_by: front.review_by,
        labels: front.labels,
        min_severity: front.min_severity,
        inputs: front.inputs,
        description: body.description,
    };
    Read {
        runbook,
        found,
        review_by_line: front.review_by_line,
    }
}

/// Whether an explicit step id is well formed.
fn is_step_id(id: &str) -> bool {
    id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn steps(body: &body::Body, found: &mut Vec<Found>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(body.steps.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut suffixes: BTreeMap<String, usize> = BTreeMap::new();
    for (n, raw) in body.steps.iter().enumerate() {
        let (text, explicit) = split_id(&raw.text);
        let mut id = match explicit {
            Some(id) if is_step_id(id) => id.to_string(),
            Some(id) => {
                found.push(Found::error(
                    raw.line,
                    format!("step id \"{id}\" must be letters, digits, `-`, `_` and `.`"),
                ));
                let s = slug(id);
                if s.is_empty() { format!("step-{}", n + 1) } else { s }
            }
            None => slug(text),
        };
        if text.is_empty() {
            found.push(Found::error(raw.line, "this step has no text"));
        }
        if id.is_empty() {
            id = format!("step-{}", n + 1);
        }
        if let Some(first) = seen.get(&id) {
            found.push(Found::error(
                raw.line,
                format!("duplicate step id `{id}` (first on line {first}): give one an explicit {{#id}}"),
            ));
            let base = id.clone();
            // Where the search for a free suffix resumes, so many duplicates stay linear.
            let k = suffixes.entry(base.clone()).or_insert(2);
            while seen.contains_key(&id) {
                id = format!("{base}-{k}");
                *k += 1;
            }
        }
        seen.insert(id.clone(), raw.line);
        if raw.checked {
            found.push(Found::warning(
                raw.line,
                "this step is checked in the file; progress lives in the incident, write `- [ ]`",
            ));
        }
        let kind = step_kind(raw, found);
        let command = match &kind {
            StepKind::Command(c) => Some(c.code.clone()),
            _ => None,
        };
        out.push(Step {
            id,
            text: text.to_string(),
            command,
            line: raw.line,
            kind,
        });
    }
    out
}

/// Splits `text {#id}` into the text and the id.
fn split_id(text: &str) -> (&str, Option<&str>) {
    let trimmed = text.trim_end();
    if let Some(inner) = trimmed.strip_suffix('}')
        && let Some(start) = inner.rfind("{#")
    {
        return (inner[..start].trim_end(), Some(inner[start + 2..].trim()));
    }
    (trimmed, None)
}

/// A fenced block's info string: ```` ```sh verify {risk=read timeout=30s} ````.
#[derive(Debug, Default, PartialEq, Eq)]
struct Info {
    lang: String,
    words: Vec<String>,
    attrs: Vec<(String, String)>,
    problems: Vec<String>,
}

fn parse_info(info: &str) -> Info {
    let mut out = Info::default();
    let (head, attrs) = match info.find('{') {
        Some(i) => (&info[..i], Some(&info[i + 1..])),
        None => (info, None),
    };
    let mut words = head.split_whitespace().map(str::to_string);
    out.lang = words.next().unwrap_or_default();
    out.words = words.collect();
    let Some(attrs) = attrs else {
        return out;
    };
    let Some(close) = attrs.rfind('}') else {
        out.problems.push("the attributes are not closed by `}`".into());
        return out;
    };
    if !attrs[close + 1..].trim().is_empty() {
        out.problems.push("text after the attributes' `}`".into());
    }
    let mut chars = attrs[..close].char_indices().peekable();
    let body = &attrs[..close];
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
            continue;
        }
        let mut end = i;
        while let Some(&(j, c)) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                end = j + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let key = &body[i..end];
        if key.is_empty() {
            out.problems.push(format!(
                "cannot read the attributes from `{}`: write them as key=value",
                body[i..].trim()
            ));
            return out;
        }
        if chars.peek().map(|&(_, c)| c) != Some('=') {
            out.attrs.push((key.to_string(), String::new()));
            continue;
        }
        chars.next();
        let mut value = String::new();
        if chars.peek().map(|&(_, c)| c) == Some('"') {
            chars.next();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    other => value.push(other),
                }
            }
            if !closed {
                out.problems.push(format!("the quoted value of `{key}` is not closed"));
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() || c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.attrs.push((key.to_string(), value));
    }
    out
}

fn is_command_lang(lang: &str) -> bool {
    COMMAND_LANGS.contains(&lang)
}

fn is_verify(info: &Info) -> bool {
    info.lang == "promql" && info.words.iter().any(|w| w == "verify")
}

/// The language of a block that runs the configured rollback.
pub const ROLLBACK_LANG: &str = "rollback";

/// Whether a block is meant to run (a command or a verify), wherever it is.
fn runnable(block: &body::Block) -> bool {
    let info = parse_info(&block.info);
    (is_command_lang(&info.lang) && !info.attrs.is_empty()) || is_verify(&info) || info.lang == ROLLBACK_LANG
}

fn step_kind(raw: &body::RawStep, found: &mut Vec<Found>) -> StepKind {
    let mut kind = StepKind::Check;
    let mut first_line = None;
    for block in &raw.blocks {
        let info = parse_info(&block.info);
        let this = if is_command_lang(&info.lang) {
            command(block, &info, found)
        } else if is_verify(&info) {
            verify(block, &info, found)
        } else if info.lang == ROLLBACK_LANG {
            if !info.attrs.is_empty() || !info.words.is_empty() {
                found.push(Found::error(
                    block.line,
                    "a `rollback` block takes no attributes: the rollback is the one configured for the deploy source",
                ));
            }
            StepKind::Rollback { line: block.line }
        } else {
            if !info.attrs.is_empty() {
                found.push(Found::error(
                    block.line,
                    format!(
                        "a `{}` block does not run, so it takes no attributes (commands are sh or bash blocks; checks are `promql verify`)",
                        if info.lang.is_empty() { "plain" } else { &info.lang }
                    ),
                ));
            }
            continue;
        };
        match first_line {
            None => {
                first_line = Some(block.line);
                kind = this;
            }
            Some(first) => found.push(Found::error(
                block.line,
                format!("this step already runs the block on line {first}: give each block its own step"),
            )),
        }
    }
    kind
}

fn command(block: &body::Block, info: &Info, found: &mut Vec<Found>) -> StepKind {
    for p in &info.problems {
        found.push(Found::error(block.line, p.clone()));
    }
    for w in &info.words {
        found.push(Found::error(
            block.line,
            format!("unknown word `{w}` after `{}`: attributes go in {{…}}", info.lang),
        ));
    }
    let mut risk = None;
    let mut timeout = None;
    let mut seen = BTreeSet::new();
    for (key, value) in &info.attrs {
        if !seen.insert(key.as_str()) {
            found.push(Found::error(block.line, format!("attribute `{key}` is given twice")));
            continue;
        }
        match key.as_str() {
            "risk" => match Risk::parse(value) {
                Some(r) => risk = Some(r),
                None => found.push(Found::error(
                    block.line,
                    format!("risk \"{value}\" must be read, write or destructive (taken as destructive)"),
                )),
            },
            "timeout" => match humantime::parse_duration(value) {
                Ok(d) if !d.is_zero() && d <= MAX_TIMEOUT => timeout = Some(d),
                Ok(_) => found.push(Found::error(
                    block.line,
                    format!("timeout \"{value}\" must be longer than 0 and at most 24h"),
                )),
                Err(_) => found.push(Found::error(
                    block.line,
                    format!("timeout \"{value}\" is not a duration such as 30s, 5m or 1h"),
                )),
            },
            other => found.push(Found::error(
                block.line,
                format!(
                    "unknown attribute `{other}` (a command takes {})",
                    COMMAND_ATTRS.join(" and ")
                ),
            )),
        }
    }
    if risk.is_none() && !info.attrs.iter().any(|(k, _)| k == "risk") {
        found.push(Found::error(
            block.line,
            format!(
                "this command has no risk: write ```{} {{risk=read}}``` (or write, destructive); until then it counts as destructive",
                info.lang
            ),
        ));
    }
    let code = block.code.trim_end().to_string();
    if code.trim().is_empty() {
        found.push(Found::error(block.line, "this command block is empty"));
    }
    StepKind::Command(CommandStep {
        lang: info.lang.clone(),
        code,
        risk: risk.unwrap_or(Risk::Destructive),
        timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        line: block.line,
    })
}

fn verify(block: &body::Block, info: &Info, found: &mut Vec<Found>) -> StepKind {
    for p in &info.problems {
        found.push(Found::error(block.line, p.clone()));
    }
    for w in info.words.iter().filter(|w| *w != "verify") {
        found.push(Found::error(block.line, format!("unknown word `{w}` after `promql`")));
    }
    let mut description = None;
    for (key, value) in &info.attrs {
        match key.as_str() {
            "description" if !value.trim().is_empty() => description = Some(value.trim().to_string()),
            "description" => found.push(Found::error(block.line, "description is empty")),
            other => found.push(Found::error(
                block.line,
                format!(
                    "unknown attribute `{other}` (a verify block takes {})",
                    VERIFY_ATTRS.join(", ")
                ),
            )),
        }
    }
    let promql = block.code.trim().to_string();
    if promql.is_empty() {
        found.push(Found::error(block.line, "this verify block has no query"));
    }
    if promql.split_whitespace().any(|w| w == "bool") {
        found.push(Found::warning(
            block.line,
            "`bool` makes the comparison return 0 or 1 instead of filtering, so the check always holds: drop `bool`",
        ));
    }
    StepKind::Verify(VerifyStep {
        promql,
        description,
        line: block.line,
    })
}

/// The code a step runs or queries, and its first line in the file.
fn step_code(step: &Step) -> Option<(&str, usize)> {
    match &step.kind {
        StepKind::Check | StepKind::Rollback { .. } => None,
        StepKind::Command(c) => Some((&c.code, c.line + 1)),
        StepKind::Verify(v) => Some((&v.promql, v.line + 1)),
    }
}

/// Placeholders against declared inputs: undeclared ones are errors, unused inputs and inputs
/// without a pattern that reach a shell command are warnings.
fn check_inputs(inputs: &[Input], steps: &[Step], found: &mut Vec<Found>) {
    let declared: BTreeMap<&str, &Input> = inputs.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut used = BTreeSet::new();
    let mut unchecked_in_shell = BTreeSet::new();
    for step in steps {
        let Some((code, first_line)) = step_code(step) else {
            continue;
        };
        let mut reported = BTreeSet::new();
        for (name, at) in placeholders(code) {
            let line = first_line + code.get(..at).map_or(0, |c| c.matches('\n').count());
            match declared.get(name) {
                Some(input) => {
                    used.insert(name.to_string());
                    if input.pattern.is_none() && matches!(step.kind, StepKind::Command(_)) {
                        unchecked_in_shell.insert(name.to_string());
                    }
                }
                None => {
                    if reported.insert(name) {
                        found.push(Found::error(
                            line,
                            format!("`{{{{{name}}}}}` is not a declared input: add it under `inputs:`"),
                        ));
                    }
                }
            }
        }
    }
    for input in inputs {
        if !used.contains(&input.name) {
            found.push(Found::warning(
                input.line,
                format!("input `{}` is declared but no step uses it", input.name),
            ));
        }
        if unchecked_in_shell.contains(&input.name) && !input.secret {
            found.push(Found::warning(
                input.line,
                format!(
                    "input `{}` has no pattern but goes into a shell command: any text would run; add a pattern",
                    input.name
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_strings_split_into_language_words_and_attributes() {
        let info = parse_info("sh {risk=read timeout=30s, note=\"a \\\"b\\\" c\"}");
        assert_eq!(info.lang, "sh");
        assert_eq!(
            info.attrs,
            vec![
                ("risk".to_string(), "read".to_string()),
                ("timeout".to_string(), "30s".to_string()),
                ("note".to_string(), "a \"b\" c".to_string())
            ]
        );
        assert!(info.problems.is_empty());
        let info = parse_info("promql verify");
        assert_eq!(
            (info.lang.as_str(), info.words.as_slice()),
            ("promql", ["verify".to_string()].as_slice())
        );
        assert!(!parse_info("sh {risk=read").problems.is_empty());
        assert!(!parse_info("sh {\"risk\":\"read\"}").problems.is_empty());
    }

    #[test]
    fn ids_split_off_the_end_of_the_text() {
        assert_eq!(split_id("Do it {#do-it}"), ("Do it", Some("do-it")));
        assert_eq!(split_id("Do {#x} it"), ("Do {#x} it", None));
        assert_eq!(split_id("Use `{a}`"), ("Use `{a}`", None));
    }

    #[test]
    fn verify_holds_on_any_series_or_a_truthy_scalar() {
        assert_eq!(verify_outcome(VerifyAnswer::Vector(&[0.0])), Some(0.0));
        assert_eq!(verify_outcome(VerifyAnswer::Vector(&[])), None);
        assert_eq!(verify_outcome(VerifyAnswer::Scalar(0.0)), None);
        assert_eq!(verify_outcome(VerifyAnswer::Scalar(f64::NAN)), None);
        assert_eq!(verify_outcome(VerifyAnswer::Scalar(2.0)), Some(2.0));
    }
}
