//! The postmortem as Markdown (`postmortem.md`): YAML front matter with the incident's facts,
//! milestones and durations, then the document's sections, then the integrity footer. Recorded text
//! is escaped so it cannot turn into markup, raw HTML or table structure.

use super::doc::{Block, Doc, Line, Span};
use super::view::View;
use super::{iso_duration, rfc3339};

pub(crate) fn render(v: &View, doc: &Doc) -> String {
    let mut out = front_matter(v);
    out.push('\n');
    out.push_str(&format!("# {}\n", escape(&doc.title)));
    for section in &doc.sections {
        out.push_str(&format!("\n## {}\n", section.heading));
        for block in &section.blocks {
            out.push('\n');
            write_block(&mut out, block);
        }
    }
    out.push_str("\n## Integrity\n\n");
    for l in &doc.footer {
        out.push_str(&format!("- {}\n", inline(l)));
    }
    out
}

/// A YAML string (JSON's double-quoted strings are valid YAML).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

fn quoted_or_null(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), quoted)
}

fn front_matter(v: &View) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("incident_id: {}\n", quoted(&v.incident_id)));
    out.push_str(&format!("title: {}\n", quoted_or_null(v.title.as_deref())));
    out.push_str(&format!("status: {}\n", v.status.unwrap_or("null")));
    out.push_str("postmortem: draft  # draft | in-review | final\n");
    out.push_str(&format!("severity: {}\n", v.severity.unwrap_or("null")));
    out.push_str(&format!("owner: {}\n", quoted_or_null(v.owner.as_deref())));
    let authors: Vec<String> = v.authors.iter().map(|a| quoted(a)).collect();
    out.push_str(&format!("authors: [{}]\n", authors.join(", ")));
    out.push_str("timezone: UTC\n");
    out.push_str("generated_from:\n");
    out.push_str(&format!("  head_hash: {}\n", quoted(&v.head_hash)));
    out.push_str(&format!("  warroom: {}\n", quoted(&v.version)));
    out.push_str(&format!("  profile: {}\n", v.profile.word()));
    out.push_str("milestones:\n");
    for (name, t) in &v.milestones {
        out.push_str(&format!(
            "  {name}: {}\n",
            t.map_or_else(|| "null".to_string(), rfc3339)
        ));
    }
    out.push_str("durations:\n");
    for (name, d) in &v.durations {
        out.push_str(&format!(
            "  {name}: {}\n",
            d.map_or_else(|| "null".to_string(), iso_duration)
        ));
    }
    out.push_str("---\n");
    out
}

fn write_block(out: &mut String, block: &Block) {
    match block {
        Block::Subheading(s) => out.push_str(&format!("### {}\n", escape(s))),
        Block::Para(l) => out.push_str(&format!("{}\n", inline(l))),
        Block::Bullets(items) => {
            for l in items {
                out.push_str(&format!("- {}\n", inline(l)));
            }
        }
        Block::Table { head, rows } => {
            out.push_str(&format!("| {} |\n", head.join(" | ")));
            out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
            for row in rows {
                let cells: Vec<String> = row.iter().map(inline).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
        }
        Block::Guide(g) => out.push_str(&format!("<!-- {g} -->\n")),
    }
}

fn inline(l: &Line) -> String {
    let mut out = String::new();
    for span in l {
        match span {
            Span::Text(t) => out.push_str(&escape(t)),
            Span::Code(c) => out.push_str(&code(c)),
            Span::Struck(t) => out.push_str(&format!("~~{}~~", escape(t))),
            Span::Star => out.push_str("⭐ "),
        }
    }
    out
}

/// Escapes recorded text for Markdown (also inside table cells): markup characters get a
/// backslash, `<`, `>` and `&` become entities so no raw HTML survives, and a leading `-`, `+` or
/// `#` cannot start a list or heading.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '#' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// A code span long enough to hold any backticks inside; `|` escaped for tables.
fn code(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let body = s.replace('|', "\\|");
    if longest > 0 || body.starts_with(' ') || body.ends_with(' ') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_text_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("a | b *c* [x](y)"), "a \\| b \\*c\\* \\[x\\](y)");
        assert_eq!(escape("- not a list"), "\\- not a list");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x|y"), "`x\\|y`");
    }
}
