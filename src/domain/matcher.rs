//! Alertmanager label matchers (`name="value"`, `!=`, `=~`, `!~`): parsing the text syntax amtool
//! and the Alertmanager API use, matching label sets, and printing them back.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, Self::Regex | Self::NotRegex)
    }

    pub fn is_equal(self) -> bool {
        matches!(self, Self::Equal | Self::Regex)
    }

    pub fn from_flags(is_regex: bool, is_equal: bool) -> Self {
        match (is_regex, is_equal) {
            (false, true) => Self::Equal,
            (false, false) => Self::NotEqual,
            (true, true) => Self::Regex,
            (true, false) => Self::NotRegex,
        }
    }
}

/// One matcher. A label the alert lacks has the empty value, as in Alertmanager.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// `^(?:value)$` for the regex operators.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

/// Why a matcher text does not parse, with the offending part quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("\"{0}\": a matcher needs a label name, an operator (=, !=, =~, !~) and a value")]
    Shape(String),
    #[error("\"{0}\" is not a label name (letters, digits and _, not starting with a digit)")]
    BadName(String),
    #[error("\"{text}\": the value's quote is not closed")]
    Unclosed { text: String },
    #[error("\"{text}\": unexpected text after the quoted value")]
    Trailing { text: String },
    #[error("\"{text}\": bad regular expression: {reason}")]
    BadRegex { text: String, reason: String },
    #[error("no matchers given")]
    Empty,
}

impl Matcher {
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, MatcherError> {
        if !is_label_name(name) {
            return Err(MatcherError::BadName(name.to_string()));
        }
        let regex = if op.is_regex() {
            Some(
                Regex::new(&format!("^(?:{value})$")).map_err(|e| MatcherError::BadRegex {
                    text: format!("{name}{}\"{value}\"", op.as_str()),
                    reason: e.to_string().lines().last().unwrap_or("").trim().to_string(),
                })?,
            )
        } else {
            None
        };
        Ok(Self {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// `name="value"` for an exact match.
    pub fn equal(name: &str, value: &str) -> Result<Self, MatcherError> {
        Self::new(name, MatchOp::Equal, value)
    }

    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.as_str())?;
        for ch in self.value.chars() {
            match ch {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Whether all `matchers` match `labels` (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// `a="b", c=~"d"`: the matchers written back as one line.
pub fn format_list(matchers: &[Matcher]) -> String {
    matchers.iter().map(Matcher::to_string).collect::<Vec<_>>().join(", ")
}

pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses one matcher: `name op value`, the value quoted (`"…"` with `\"`, `\\`, `\n` escapes) or
/// bare (`severity=page`).
pub fn parse_one(text: &str) -> Result<Matcher, MatcherError> {
    let text = text.trim();
    let Some(op_at) = text.find(['=', '!']) else {
        return Err(MatcherError::Shape(text.to_string()));
    };
    let name = text[..op_at].trim();
    let rest = &text[op_at..];
    let (op, value_text) = if let Some(v) = rest.strip_prefix("=~") {
        (MatchOp::Regex, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (MatchOp::NotRegex, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (MatchOp::Equal, v)
    } else {
        return Err(MatcherError::Shape(text.to_string()));
    };
    if name.is_empty() {
        return Err(MatcherError::Shape(text.to_string()));
    }
    let value_text = value_text.trim();
    let value = match value_text.strip_prefix('"') {
        Some(quoted) => unquote(quoted).map_err(|e| match e {
            Unquote::Unclosed => MatcherError::Unclosed { text: text.to_string() },
            Unquote::Trailing => MatcherError::Trailing { text: text.to_string() },
        })?,
        None if value_text.contains('"') => return Err(MatcherError::Shape(text.to_string())),
        None => value_text.to_string(),
    };
    Matcher::new(name, op, &value)
}

enum Unquote {
    Unclosed,
    Trailing,
}

/// The content of a quoted value whose opening quote was already taken.
fn unquote(quoted: &str) -> Result<String, Unquote> {
    let mut out = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, c)) => out.push(c),
                None => return Err(Unquote::Unclosed),
            },
            '"' => {
                return if quoted[i + 1..].trim().is_empty() {
                    Ok(out)
                } else {
                    Err(Unquote::Trailing)
                };
            }
            c => out.push(c),
        }
    }
    Err(Unquote::Unclosed)
}

/// Splits `text` at top-level commas (outside quotes).
pub fn split_top_level(text: &str, separators: &[char]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for ch in text.chars() {
        if in_quotes {
            current.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_quotes = false;
            }
            continue;
        }
        if separators.contains(&ch) {
            if !current.trim().is_empty() {
                parts.push(current.trim().to_string());
            }
            current.clear();
            continue;
        }
        if ch == '"' {
            in_quotes = true;
        }
        current.push(ch);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    parts
}

/// Parses a matcher list: `{a="b", c=~"d"}` (braces optional, commas between matchers).
pub fn parse_list(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut text = text.trim();
    if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        text = inner;
    }
    let matchers = split_top_level(text, &[','])
        .iter()
        .map(|part| parse_one(part))
        .collect::<Result<Vec<_>, _>>()?;
    if matchers.is_empty() {
        return Err(MatcherError::Empty);
    }
    Ok(matchers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_every_operator_quoted_and_bare() {
        let m = parse_list(r#"{alertname="Odin High", service=~"odin.*", env!=staging, team!~"db|infra"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let ops: Vec<_> = m.iter().map(|m| (m.name.as_str(), m.op, m.value.as_str())).collect();
        assert_eq!(
            ops,
            [
                ("alertname", MatchOp::Equal, "Odin High"),
                ("service", MatchOp::Regex, "odin.*"),
                ("env", MatchOp::NotEqual, "staging"),
                ("team", MatchOp::NotRegex, "db|infra"),
            ]
        );
    }

    #[test]
    fn matches_like_alertmanager_with_anchored_regexes_and_absent_labels_empty() {
        let l = labels(&[("service", "odin-api"), ("severity", "page")]);
        let check = |text: &str| parse_one(text).map(|m| m.matches(&l)).unwrap_or_else(|e| panic!("{e}"));
        assert!(check(r#"service=~"odin.*""#));
        assert!(!check(r#"service=~"odin""#), "regexes are anchored");
        assert!(check(r#"severity="page""#));
        assert!(check(r#"team="""#), "an absent label is empty");
        assert!(check(r#"team!~".+""#));
        assert!(!check(r#"severity!="page""#));
    }

    #[test]
    fn escapes_round_trip() {
        let m = parse_one(r#"summary="say \"hi\" \\ now""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.value, r#"say "hi" \ now"#);
        assert_eq!(m.to_string(), r#"summary="say \"hi\" \\ now""#);
        assert_eq!(parse_one(&m.to_string()), Ok(m));
        let list = parse_list(r#"a="x,y", b="z""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.len(), 2, "commas inside quotes do not split");
        assert_eq!(format_list(&list), r#"a="x,y", b="z""#);
    }

    #[test]
    fn bad_matchers_name_the_problem() {
        assert_eq!(parse_one("severity"), Err(MatcherError::Shape("severity".into())));
        assert_eq!(parse_one("1x=\"a\""), Err(MatcherError::BadName("1x".into())));
        assert!(matches!(parse_one(r#"a="open"#), Err(MatcherError::Unclosed { .. })));
        assert!(matches!(parse_one(r#"a="x" y"#), Err(MatcherError::Trailing { .. })));
        assert!(matches!(parse_one(r#"a=~"(""#), Err(MatcherError::BadRegex { .. })));
        assert_eq!(parse_list(" {} "), Err(MatcherError::Empty));
        assert_eq!(parse_one(r#"a=pa"ge"#), Err(MatcherError::Shape(r#"a=pa"ge"#.into())));
    }
}
