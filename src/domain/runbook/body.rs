//! A runbook's Markdown body, read with pulldown-cmark: the first `# heading`, the prose before the
//! first step, the steps (task-list items, at any depth, in document order) and the fenced code
//! blocks inside each step, with the line of each. Knows nothing of what the blocks mean.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::Found;

/// A task-list item as written.
#[derive(Debug, Default)]
pub struct RawStep {
    /// 1-based line of the item's `- [ ]`.
    pub line: usize,
    /// The item's first paragraph as text, `{#id}` included.
    pub text: String,
    pub checked: bool,
    pub blocks: Vec<Block>,
}

/// A fenced code block.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    pub info: String,
    pub code: String,
}

#[derive(Debug, Default)]
pub struct Body {
    pub title: Option<String>,
    pub description: String,
    pub steps: Vec<RawStep>,
    /// Fenced blocks outside every step.
    pub loose: Vec<Block>,
}

/// Byte offsets where lines start, for offset → line in O(log n).
pub struct Lines(Vec<usize>);

impl Lines {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        Self(starts)
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset).max(1)
    }
}

struct Item {
    start: usize,
    step: Option<usize>,
}

struct Code {
    line: usize,
    info: String,
    text: String,
    fenced: bool,
    closed: bool,
    owner: Option<usize>,
}

/// Reads the body, which starts at byte `offset` of `source`.
pub fn read(source: &str, offset: usize, lines: &Lines, found: &mut Vec<Found>) -> Body {
    let text = source.get(offset..).unwrap_or("");
    let mut body = Body::default();
    let mut items: Vec<Item> = Vec::new();
    // The step whose first paragraph is being read.
    let mut collecting: Option<usize> = None;
    let mut code: Option<Code> = None;
    let mut heading: Option<String> = None;
    let mut title_end: Option<usize> = None;
    let mut first_step: Option<usize> = None;
    for (event, range) in Parser::new_ext(text, Options::ENABLE_TASKLISTS).into_offset_iter() {
        if let Some(c) = code.as_mut() {
            match event {
                Event::Text(t) => c.text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    if let Some(c) = code.take() {
                        finish_code(c, &mut body, found);
                    }
                }
                _ => {}
            }
            continue;
        }
        if let Some(h) = heading.as_mut() {
            match event {
                Event::Text(t) | Event::Code(t) => h.push_str(&t),
                Event::SoftBreak | Event::HardBreak => h.push(' '),
                Event::End(TagEnd::Heading(HeadingLevel::H1)) => {
                    body.title = heading.take().map(|h| h.trim().to_string()).filter(|h| !h.is_empty());
                    title_end = Some(range.end);
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::Item) => items.push(Item {
                start: range.start,
                step: None,
            }),
            Event::End(TagEnd::Item) => {
                let was_step = items.pop().is_some_and(|i| i.step.is_some());
                if was_step {
                    collecting = None;
                }
            }
            Event::TaskListMarker(checked) => {
                if let Some(item) = items.last_mut().filter(|i| i.step.is_none()) {
                    item.step = Some(body.steps.len());
                    collecting = Some(body.steps.len());
                    first_step.get_or_insert(item.start);
                    body.steps.push(RawStep {
                        line: lines.line(offset + item.start),
                        checked,
                        ..RawStep::default()
                    });
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                collecting = None;
                let (fenced, info, closed) = match kind {
                    CodeBlockKind::Fenced(info) => (true, info.to_string(), is_closed(text.get(range.clone()))),
                    CodeBlockKind::Indented => (false, String::new(), true),
                };
                code = Some(Code {
                    line: lines.line(offset + range.start),
                    info,
                    text: String::new(),
                    fenced,
                    closed,
                    owner: items.iter().rev().find_map(|i| i.step),
                });
            }
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) if body.title.is_none() && title_end.is_none() => {
                collecting = None;
                heading = Some(String::new());
            }
            Event::Start(tag) if !is_inline(&tag) => collecting = None,
            Event::End(TagEnd::Paragraph) => collecting = None,
            Event::Code(t) => {
                if let Some(step) = collecting.and_then(|i| body.steps.get_mut(i)) {
                    step.text.push('`');
                    step.text.push_str(&t);
                    step.text.push('`');
                }
            }
            Event::Text(t) | Event::InlineMath(t) | Event::InlineHtml(t) => {
                if let Some(step) = collecting.and_then(|i| body.steps.get_mut(i)) {
                    step.text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(step) = collecting.and_then(|i| body.steps.get_mut(i)) {
                    step.text.push(' ');
                }
            }
            _ => {}
        }
    }
    if let Some(c) = code.take() {
        finish_code(c, &mut body, found);
    }
    let start = title_end.filter(|&e| first_step.is_none_or(|f| e <= f)).unwrap_or(0);
    let end = first_step.unwrap_or(text.len()).max(start);
    body.description = text.get(start..end).unwrap_or("").trim().to_string();
    for step in &mut body.steps {
        step.text = step.text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    body
}

fn is_inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

fn finish_code(c: Code, body: &mut Body, found: &mut Vec<Found>) {
    if !c.fenced {
        return;
    }
    if !c.closed {
        found.push(Found::fatal(
            c.line,
            "this code block is not closed (its closing fence is missing or indented differently)",
        ));
    }
    let block = Block {
        line: c.line,
        info: c.info.trim().to_string(),
        code: c.text,
    };
    match c.owner.and_then(|i| body.steps.get_mut(i)) {
        Some(step) => step.blocks.push(block),
        None => body.loose.push(block),
    }
}

/// Whether a fenced block's source ends with a closing fence at least as long as its opening one.
fn is_closed(source: Option<&str>) -> bool {
    let Some(source) = source else {
        return false;
    };
    let mut lines = source.lines();
    let Some(open) = lines.next().map(str::trim_start) else {
        return false;
    };
    let Some(fence) = open.chars().next().filter(|c| *c == '`' || *c == '~') else {
        return false;
    };
    let open_len = open.chars().take_while(|c| *c == fence).count();
    let Some(last) = lines.rfind(|l| !l.trim().is_empty()) else {
        return false;
    };
    // A list item's continuation may carry a `>` of a block quote; the fence itself is what counts.
    let last = last.trim().trim_start_matches('>').trim();
    !last.is_empty() && last.chars().all(|c| c == fence) && last.chars().count() >= open_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_lines() {
        let lines = Lines::new("a\nbc\n\nd");
        assert_eq!([0, 1, 2, 4, 5, 6].map(|o| lines.line(o)), [1, 1, 2, 2, 3, 4]);
    }

    #[test]
    fn fences_are_closed_only_by_a_long_enough_fence() {
        assert!(is_closed(Some("```sh\nls\n```\n")));
        assert!(is_closed(Some("````\n```\n````")));
        assert!(!is_closed(Some("````\nls\n```\n")));
        assert!(!is_closed(Some("```sh\nls\n")));
        assert!(!is_closed(Some("```")));
    }
}
