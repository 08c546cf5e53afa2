//! The postmortem as one self-contained HTML page: inline CSS, no scripts (a Content-Security-Policy
//! forbids them), no external resources or links, every recorded string HTML-escaped. Same
//! sections as the Markdown; the front matter becomes a table of facts at the top.

use super::doc::{Block, Doc, Line, Span};
use super::view::View;
use super::{iso_duration, rfc3339};

const STYLE: &str = "\
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin-bottom:.5rem}
h2{font-size:1.25rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin-top:1.2rem}
table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
table.facts{width:auto}
table.facts th{font-weight:600}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:0 .2rem;border-radius:3px}
del{color:#6e7781}
.guide{color:#6e7781;font-style:italic;border-left:3px solid #d0d7de;padding-left:.6rem}
footer{margin-top:2.5rem;border-top:1px solid #d0d7de;color:#57606a;font-size:.9rem}
@media print{body{margin:0;max-width:none}}
";

pub(crate) fn render(v: &View, doc: &Doc) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<meta name=\"generator\" content=\"warroom {}\">\n",
        escape(&v.version)
    ));
    out.push_str(&format!("<title>Postmortem: {}</title>\n", escape(&doc.title)));
    out.push_str(&format!("<style>\n{STYLE}</style>\n</head>\n<body>\n"));
    out.push_str(&format!("<header>\n<h1>{}</h1>\n", escape(&doc.title)));
    facts(&mut out, v);
    out.push_str("</header>\n<main>\n");
    for section in &doc.sections {
        out.push_str(&format!("<section>\n<h2>{}</h2>\n", escape(section.heading)));
        for block in &section.blocks {
            write_block(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n<footer>\n<h2>Integrity</h2>\n<ul>\n");
    for l in &doc.footer {
        out.push_str(&format!("<li>{}</li>\n", inline(l)));
    }
    out.push_str("</ul>\n</footer>\n</body>\n</html>\n");
    out
}

fn facts(out: &mut String, v: &View) {
    let none = || "—".to_string();
    let mut rows: Vec<(String, String)> = vec![
        ("Incident".into(), format!("<code>{}</code>", escape(&v.incident_id))),
        ("Status".into(), v.status.map_or_else(none, escape)),
        ("Postmortem".into(), "draft".into()),
        ("Severity".into(), v.severity.map_or_else(none, escape)),
        ("Owner".into(), v.owner.as_deref().map_or_else(none, escape)),
        (
            "Authors".into(),
            if v.authors.is_empty() {
                none()
            } else {
                v.authors.iter().map(|a| escape(a)).collect::<Vec<_>>().join(", ")
            },
        ),
        ("Time zone".into(), "UTC".into()),
    ];
    for (name, t) in &v.milestones {
        rows.push((
            format!("Milestone: {name}"),
            t.map_or_else(none, |t| escape(&rfc3339(t))),
        ));
    }
    for (name, d) in &v.durations {
        rows.push((name.to_uppercase(), d.map_or_else(none, |d| escape(&iso_duration(d)))));
    }
    rows.push(("Profile".into(), escape(v.profile.word())));
    rows.push(("Warroom".into(), escape(&v.version)));
    rows.push(("Head hash".into(), format!("<code>{}</code>", escape(&v.head_hash))));
    out.push_str("<table class=\"facts\">\n");
    for (name, value) in rows {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{value}</td></tr>\n",
            escape(&name)
        ));
    }
    out.push_str("</table>\n");
}

fn write_block(out: &mut String, block: &Block) {
    match block {
        Block::Subheading(s) => out.push_str(&format!("<h3>{}</h3>\n", escape(s))),
        Block::Para(l) => out.push_str(&format!("<p>{}</p>\n", inline(l))),
        Block::Bullets(items) => {
            out.push_str("<ul>\n");
            for l in items {
                out.push_str(&format!("<li>{}</li>\n", inline(l)));
            }
            out.push_str("</ul>\n");
        }
        Block::Table { head, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for h in head {
                out.push_str(&format!("<th>{}</th>", escape(h)));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    out.push_str(&format!("<td>{}</td>", inline(cell)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Guide(g) => out.push_str(&format!("<p class=\"guide\">To write: {}</p>\n", escape(g))),
    }
}

fn inline(l: &Line) -> String {
    let mut out = String::new();
    for span in l {
        match span {
            Span::Text(t) => out.push_str(&escape(t)),
            Span::Code(c) => out.push_str(&format!("<code>{}</code>", escape(c))),
            Span::Struck(t) => out.push_str(&format!("<del>{}</del>", escape(t))),
            Span::Star => out.push_str("<span title=\"pinned\">⭐</span> "),
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
