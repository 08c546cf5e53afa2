//! Runbooks as checklists: a title and ordered steps with stable ids, plus the progress of each
//! step (kept in the incident timeline, never in the runbook file).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    /// Alert names this runbook applies to.
    pub alerts: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    pub text: String,
    /// An executable command shown with the step, if any.
    pub command: Option<String>,
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

/// A parse problem with the line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RunbookError {
    pub line: usize,
    pub message: String,
}

/// Parses the runbook subset used so far: `key: value` front matter between `---` lines (`id`,
/// `title`, `alerts` as a `[A, B]` list), task-list steps `- [ ] text {#step-id}`, and a fenced code
/// block right after a step as its command. Step ids without `{#id}` are derived from the text.
pub fn parse(source: &str) -> Result<Runbook, RunbookError> {
    let mut lines = source.lines().enumerate().peekable();
    let mut front = BTreeMap::new();
    if lines.peek().is_some_and(|(_, l)| l.trim() == "---") {
        lines.next();
        let mut closed = false;
        for (n, line) in lines.by_ref() {
            if line.trim() == "---" {
                closed = true;
                break;
            }
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(RunbookError {
                    line: n + 1,
                    message: format!("front matter line is not `key: value`: {line}"),
                });
            };
            front.insert(key.trim().to_string(), value.trim().trim_matches('"').to_string());
        }
        if !closed {
            return Err(RunbookError {
                line: 1,
                message: "front matter is not closed by `---`".into(),
            });
        }
    }
    let mut title = front.get("title").cloned();
    let mut steps: Vec<Step> = Vec::new();
    let mut in_code: Option<(String, usize)> = None;
    for (n, line) in lines {
        let trimmed = line.trim_start();
        if let Some((code, _)) = in_code.as_mut() {
            if trimmed.starts_with("```") {
                let (code, _) = in_code.take().unwrap_or_default();
                if let Some(step) = steps.last_mut().filter(|s| s.command.is_none()) {
                    step.command = Some(code.trim_end().to_string());
                }
            } else {
                code.push_str(line.trim());
                code.push('\n');
            }
            continue;
        }
        if trimmed.starts_with("```") {
            in_code = Some((String::new(), n + 1));
        } else if let Some(rest) = trimmed.strip_prefix("# ").filter(|_| title.is_none()) {
            title = Some(rest.trim().to_string());
        } else if let Some(rest) = ["- [ ] ", "- [x] ", "- [X] ", "* [ ] "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        {
            let (text, id) = match rest.rfind("{#") {
                Some(start) if rest.trim_end().ends_with('}') => {
                    let id = rest[start + 2..rest.trim_end().len() - 1].trim().to_string();
                    (rest[..start].trim().to_string(), id)
                }
                _ => (rest.trim().to_string(), slug(rest)),
            };
            if steps.iter().any(|s| s.id == id) {
                return Err(RunbookError {
                    line: n + 1,
                    message: format!("duplicate step id `{id}`"),
                });
            }
            steps.push(Step {
                id,
                text,
                command: None,
            });
        }
    }
    if let Some((_, start)) = in_code {
        return Err(RunbookError {
            line: start,
            message: "code block is not closed".into(),
        });
    }
    let title = title.ok_or(RunbookError {
        line: 1,
        message: "no `title` in front matter and no `# heading`".into(),
    })?;
    let id = front.get("id").cloned().unwrap_or_else(|| slug(&title));
    let alerts = front
        .get("alerts")
        .map(|v| {
            v.trim_matches(['[', ']'])
                .split(',')
                .map(|a| a.trim().trim_matches('"').to_string())
                .filter(|a| !a.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Runbook {
        id,
        title,
        alerts,
        steps,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\nid: high-error-rate\ntitle: High Error Rate\nalerts: [OdinHighErrorRate, OdinErrorBudgetFastBurn]\n---\n\n# ignored heading\n\n- [ ] Identify scope {#scope}\n- [ ] Check recent deploys and migrations\n  ```sh\n  kubectl rollout history deploy/odin\n  ```\n";

    #[test]
    fn parses_front_matter_steps_ids_and_commands() {
        let rb = parse(SAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rb.id, "high-error-rate");
        assert_eq!(rb.title, "High Error Rate");
        assert_eq!(rb.alerts, ["OdinHighErrorRate", "OdinErrorBudgetFastBurn"]);
        assert_eq!(rb.steps.len(), 2);
        assert_eq!(rb.steps[0].id, "scope");
        assert_eq!(rb.steps[1].id, "check-recent-deploys-and-migrations");
        assert_eq!(
            rb.steps[1].command.as_deref(),
            Some("kubectl rollout history deploy/odin")
        );
    }

    #[test]
    fn duplicate_ids_and_unclosed_blocks_name_the_line() {
        let dup = "# T\n- [ ] a {#x}\n- [ ] b {#x}\n";
        assert_eq!(parse(dup).map_err(|e| e.line), Err(3));
        let open = "# T\n- [ ] a\n```\nls\n";
        assert_eq!(parse(open).map_err(|e| e.line), Err(3));
    }
}
