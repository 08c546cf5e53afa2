//! A runbook's front matter: the YAML between a leading `---` line and the next `---` (or `...`),
//! read into typed fields. Every problem is located on its line in the file: YAML syntax errors by
//! the YAML parser's own position, unknown keys and bad values by finding their key in the text.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_norway::Value;

use super::template::is_input_name;
use super::{Found, Input};
use crate::domain::matcher::{self, MatchOp};
use crate::domain::severity::Severity;

/// Every key the front matter may have.
pub const KEYS: [&str; 8] = [
    "id",
    "title",
    "owner",
    "review_by",
    "alerts",
    "labels",
    "min_severity",
    "inputs",
];

/// Every key an entry of `inputs` may have.
pub const INPUT_KEYS: [&str; 5] = ["name", "description", "default", "pattern", "secret"];

/// Where the front matter is: its YAML text and the line it starts on, and where the body starts.
pub struct Split<'a> {
    pub yaml: &'a str,
    /// 1-based line of the YAML's first line.
    pub yaml_line: usize,
    /// Byte offset of the body in the source.
    pub body_offset: usize,
}

/// Finds the front matter. No leading `---` line means there is none (the whole file is body).
pub fn split(source: &str) -> Result<Option<Split<'_>>, Found> {
    let mut lines = source.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    if first.trim_start_matches('\u{feff}').trim_end() != "---" {
        return Ok(None);
    }
    let yaml_start = first.len();
    let mut offset = yaml_start;
    for line in lines {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Ok(Some(Split {
                yaml: &source[yaml_start..offset],
                yaml_line: 2,
                body_offset: offset + line.len(),
            }));
        }
        offset += line.len();
    }
    Err(Found::fatal(
        1,
        "the front matter opened here is not closed by a `---` line",
    ))
}

/// The front matter's fields, as far as they could be read.
#[derive(Debug, Default)]
pub struct Front {
    pub id: Option<String>,
    pub title: Option<String>,
    pub owner: Option<String>,
    pub review_by: Option<NaiveDate>,
    /// Line of `review_by`, for the "past its review date" warning.
    pub review_by_line: usize,
    pub alerts: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub min_severity: Option<String>,
    pub inputs: Vec<Input>,
    /// Line of `id`, or of the front matter's start.
    pub id_line: usize,
}

/// Reads the YAML of the front matter; problems go to `found`.
pub fn read(split: &Split<'_>, found: &mut Vec<Found>) -> Front {
    let at = Locator::new(split.yaml, split.yaml_line);
    let mut front = Front {
        id_line: split.yaml_line.saturating_sub(1).max(1),
        review_by_line: split.yaml_line,
        ..Front::default()
    };
    let value: Value = match serde_norway::from_str(split.yaml) {
        Ok(v) => v,
        Err(e) => {
            let line = e
                .location()
                .map_or(split.yaml_line, |l| split.yaml_line + l.line().saturating_sub(1));
            found.push(Found::fatal(
                line,
                format!("front matter is not valid YAML: {}", strip_positions(&e.to_string())),
            ));
            return front;
        }
    };
    let map = match value {
        Value::Null => return front,
        Value::Mapping(m) => m,
        _ => {
            found.push(Found::fatal(
                split.yaml_line,
                "front matter must be `key: value` lines (a YAML mapping)",
            ));
            return front;
        }
    };
    for (key, value) in map {
        let Value::String(key) = key else {
            found.push(Found::error(split.yaml_line, "front matter keys must be text"));
            continue;
        };
        let line = at.top_key(&key);
        match key.as_str() {
            "id" => {
                front.id_line = line;
                match text(&value) {
                    Some(id) if is_runbook_id(&id) => front.id = Some(id),
                    Some(id) => {
                        found.push(Found::error(
                            line,
                            format!(
                                "id \"{id}\" must be lower-case letters, digits, `-`, `_`, `.` and `/` (it is the `runbook://ID` alerts link to)"
                            ),
                        ));
                        front.id = Some(id);
                    }
                    None => found.push(type_error(line, "id", "text")),
                }
            }
            "title" => match text(&value) {
                Some(t) if !t.trim().is_empty() => front.title = Some(t.trim().to_string()),
                Some(_) => found.push(Found::error(line, "title must not be empty")),
                None => found.push(type_error(line, "title", "text")),
            },
            "owner" => match text(&value) {
                Some(o) if !o.trim().is_empty() => front.owner = Some(o.trim().to_string()),
                Some(_) => found.push(Found::error(line, "owner must not be empty")),
                None => found.push(type_error(line, "owner", "text (a team or person)")),
            },
            "review_by" => {
                front.review_by_line = line;
                match text(&value).and_then(|t| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok()) {
                    Some(d) => front.review_by = Some(d),
                    None => found.push(Found::error(
                        line,
                        format!(
                            "review_by must be a date written YYYY-MM-DD (found {})",
                            describe(&value)
                        ),
                    )),
                }
            }
            "alerts" => front.alerts = alerts(&value, line, found),
            "labels" => front.labels = labels(&value, line, found),
            "min_severity" => match text(&value) {
                Some(s) if Severity::from_label(s.trim()) != Severity::Unknown => {
                    front.min_severity = Some(s.trim().to_string());
                }
                Some(s) => found.push(Found::error(
                    line,
                    format!("min_severity \"{s}\" is not an alert severity (page, critical, warning or info)"),
                )),
                None => found.push(type_error(line, "min_severity", "a severity word")),
            },
            "inputs" => front.inputs = inputs(&value, line, &at, found),
            other => {
                let hint = match other {
                    "severity" | "severity_min" | "minimum_severity" => " (did you mean `min_severity`?)".to_string(),
                    "alert" | "alertname" => " (did you mean `alerts`?)".to_string(),
                    "input" => " (did you mean `inputs`?)".to_string(),
                    _ => format!(" (known: {})", KEYS.join(", ")),
                };
                found.push(Found::error(line, format!("unknown front matter key `{other}`{hint}")));
            }
        }
    }
    front
}

/// A runbook id: what `runbook://ID` names.
pub fn is_runbook_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/'))
}

fn type_error(line: usize, key: &str, wanted: &str) -> Found {
    Found::error(line, format!("{key} must be {wanted}"))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Text, or a number or boolean written as text (for input defaults: `default: 5432`).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("\"{s}\""),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

/// Alert names: metric-name characters, as Prometheus allows in `alertname`.
fn is_alert_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn alerts(value: &Value, line: usize, found: &mut Vec<Found>) -> Vec<String> {
    let Value::Sequence(items) = value else {
        found.push(type_error(
            line,
            "alerts",
            "a list of alert names, e.g. [OdinHighErrorRate]",
        ));
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        match text(item) {
            Some(name) if is_alert_name(&name) => {
                if out.contains(&name) {
                    found.push(Found::warning(line, format!("alert `{name}` is listed twice")));
                } else {
                    out.push(name);
                }
            }
            Some(name) => found.push(Found::error(line, format!("\"{name}\" is not an alert name"))),
            None => found.push(Found::error(
                line,
                format!("alerts must hold alert names (found {})", describe(item)),
            )),
        }
    }
    out
}

fn labels(value: &Value, line: usize, found: &mut Vec<Found>) -> BTreeMap<String, String> {
    let Value::Mapping(map) = value else {
        found.push(type_error(
            line,
            "labels",
            "a mapping of label matchers, e.g. {service: odin}",
        ));
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let (Some(name), Some(wanted)) = (text(k), scalar(v)) else {
            found.push(Found::error(line, "labels must map label names to values"));
            continue;
        };
        if !matcher::is_label_name(&name) {
            found.push(Found::error(line, format!("\"{name}\" is not a label name")));
            continue;
        }
        if let Some(pattern) = wanted.strip_prefix("=~")
            && let Err(e) = matcher::Matcher::new(&name, MatchOp::Regex, pattern)
        {
            found.push(Found::error(line, format!("labels.{name}: {e}")));
            continue;
        }
        out.insert(name, wanted);
    }
    out
}

fn inputs(value: &Value, line: usize, at: &Locator<'_>, found: &mut Vec<Found>) -> Vec<Input> {
    let Value::Sequence(items) = value else {
        found.push(type_error(
            line,
            "inputs",
            "a list of inputs, e.g. [{name: namespace, default: odin}]",
        ));
        return Vec::new();
    };
    let starts = at.item_lines("inputs");
    let mut out: Vec<Input> = Vec::new();
    let mut names = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let item_line = starts.get(i).copied().unwrap_or(line);
        let key_line = |key: &str| at.key_in_item(&starts, i, key).unwrap_or(item_line);
        let Value::Mapping(map) = item else {
            found.push(Found::error(
                item_line,
                format!("each input must be a mapping with a name (found {})", describe(item)),
            ));
            continue;
        };
        let mut input = Input {
            line: item_line,
            ..Input::default()
        };
        let mut has_name = false;
        let mut compiled = None;
        for (k, v) in map {
            let Some(k) = text(k) else {
                found.push(Found::error(item_line, "input keys must be text"));
                continue;
            };
            let kl = key_line(&k);
            match k.as_str() {
                "name" => match text(v) {
                    Some(n) if is_input_name(&n) => {
                        input.name = n;
                        has_name = true;
                    }
                    Some(n) => found.push(Found::error(
                        kl,
                        format!(
                            "input name \"{n}\" must be letters, digits and `_`, not starting with a digit (it is written {{{{name}}}})"
                        ),
                    )),
                    None => found.push(type_error(kl, "an input's name", "text")),
                },
                "description" => match text(v) {
                    Some(d) => input.description = Some(d.trim().to_string()),
                    None => found.push(type_error(kl, "an input's description", "text")),
                },
                "default" => match scalar(v) {
                    Some(d) => input.default = Some(d),
                    None => found.push(type_error(kl, "an input's default", "text or a number")),
                },
                "pattern" => match text(v) {
                    Some(p) => {
                        match super::compile_pattern(&p) {
                            Ok(re) => compiled = Some(re),
                            Err(reason) => found.push(Found::error(
                                kl,
                                format!("pattern is not a valid regular expression: {reason}"),
                            )),
                        }
                        input.pattern = Some(p);
                    }
                    None => found.push(type_error(kl, "an input's pattern", "a regular expression (text)")),
                },
                "secret" => match v {
                    Value::Bool(b) => input.secret = *b,
                    _ => found.push(type_error(kl, "secret", "true or false")),
                },
                other => found.push(Found::error(
                    kl,
                    format!("unknown input key `{other}` (known: {})", INPUT_KEYS.join(", ")),
                )),
            }
        }
        if !has_name {
            if !map.contains_key("name") {
                found.push(Found::error(item_line, "this input has no name"));
            }
            continue;
        }
        if !names.insert(input.name.clone()) {
            found.push(Found::error(
                item_line,
                format!("input `{}` is declared twice", input.name),
            ));
            continue;
        }
        if input.secret && input.default.is_some() {
            found.push(Found::error(
                key_line("default"),
                format!(
                    "secret input `{}` must not have a default: it would be written in the runbook",
                    input.name
                ),
            ));
        }
        if let Some(default) = &input.default
            && let Err(e) = input.check_with(default, compiled.as_ref())
        {
            found.push(Found::error(key_line("default"), format!("default does not fit: {e}")));
        }
        out.push(input);
    }
    out
}

/// Removes the YAML parser's own ` at line L column C` (its lines count from the front matter).
fn strip_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            out.push_str(" at line ");
            rest = after;
            continue;
        }
        let tail = &after[digits..];
        match tail.strip_prefix(" column ") {
            Some(col) => rest = col.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Finds the lines of keys in the YAML text (the parsed value has no positions).
struct Locator<'a> {
    lines: Vec<&'a str>,
    /// File line of the YAML's first line.
    first: usize,
    /// The first unindented line of each top-level key (an index keeps many keys linear).
    top: BTreeMap<&'a str, usize>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Whether `line` holds `key:` as a key (at its start, after `- `, `{` or `,`).
fn has_key(line: &str, key: &str) -> bool {
    let mut from = 0;
    while let Some(i) = line.get(from..).and_then(|r| r.find(key)) {
        let at = from + i;
        let before = line[..at].trim_end_matches([' ', '"', '\'']);
        let after = line[at + key.len()..].trim_start_matches(['"', '\'']).trim_start();
        let starts = before.is_empty() || before.ends_with(['-', '{', ',']);
        if starts && after.starts_with(':') {
            return true;
        }
        from = at + key.len();
    }
    false
}

impl<'a> Locator<'a> {
    fn new(yaml: &'a str, first: usize) -> Self {
        let lines: Vec<&str> = yaml.lines().collect();
        let mut top = BTreeMap::new();
        for (i, line) in lines.iter().enumerate() {
            if indent(line) == 0
                && let Some((key, _)) = line.split_once(':')
            {
                top.entry(key.trim().trim_matches(['"', '\'']).trim()).or_insert(i);
            }
        }
        Self { lines, first, top }
    }

    /// Line of a top-level key (unindented), or of the front matter's start.
    fn top_key(&self, key: &str) -> usize {
        self.top.get(key).map_or(self.first, |i| self.first + i)
    }

    /// File lines of the entries of a block list under a top-level key (`- …` lines at the
    /// list's indentation); empty for a flow list (`[…]`), whose entries are then reported on
    /// the key's line.
    fn item_lines(&self, key: &str) -> Vec<usize> {
        let Some(&k) = self.top.get(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut item_indent = None;
        for (i, line) in self.lines.iter().enumerate().skip(k + 1) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let ind = indent(line);
            let is_item = trimmed == "-" || trimmed.starts_with("- ");
            if ind == 0 && !is_item {
                break;
            }
            if is_item && item_indent.is_none_or(|w| w == ind) {
                item_indent = Some(ind);
                out.push(self.first + i);
            }
        }
        out
    }

    /// File line of `key` inside the `n`th entry of a block list whose entries start at `starts`.
    fn key_in_item(&self, starts: &[usize], n: usize, key: &str) -> Option<usize> {
        let start = *starts.get(n)?;
        let end = starts.get(n + 1).copied().unwrap_or(self.first + self.lines.len());
        (start..end).find(|&line| self.lines.get(line - self.first).is_some_and(|l| has_key(l, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_stripped_from_yaml_messages() {
        assert_eq!(
            strip_positions(
                "did not find expected key at line 3 column 5, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(strip_positions("no position"), "no position");
        assert_eq!(strip_positions("odd at line x"), "odd at line x");
    }

    #[test]
    fn keys_are_found_at_the_start_after_dashes_and_in_flow_mappings() {
        assert!(has_key("pattern: x", "pattern"));
        assert!(has_key("  - name: x", "name"));
        assert!(has_key("- {name: a, pattern: b}", "pattern"));
        assert!(!has_key("description: the name: field", "name"));
        assert!(!has_key("names: x", "name"));
    }
}
