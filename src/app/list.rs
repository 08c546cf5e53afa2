//! Selection, scrolling and filtering shared by every list-shaped pane: a cursor over the visible
//! rows and a case-insensitive text filter.

/// The selected row and the first row shown, over the rows that pass the filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    pub selected: usize,
    pub offset: usize,
}

impl ListCursor {
    /// Moves the selection by `delta` rows within `len`, keeping it visible in `height` rows.
    pub fn move_by(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            *self = Self::default();
            return;
        }
        let target = (self.selected as isize + delta).clamp(0, len as isize - 1);
        self.selected = target as usize;
        self.keep_visible(len, height);
    }

    pub fn top(&mut self) {
        *self = Self::default();
    }

    pub fn bottom(&mut self, len: usize, height: usize) {
        self.selected = len.saturating_sub(1);
        self.keep_visible(len, height);
    }

    /// Clamps after the list changed size and scrolls so the selection is on screen.
    pub fn keep_visible(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// After the visible rows changed to `rows` (sorted item keys), selects the item that was
    /// selected before, or the first visible one after it.
    pub fn reselect<K: Ord + Copy>(&mut self, before: Option<K>, rows: &[K]) {
        let at = before.map_or(0, |item| rows.partition_point(|&k| k < item));
        self.selected = at.min(rows.len().saturating_sub(1));
    }

    /// The rows to draw for a viewport of `height`: `offset..offset+height` clipped to `len`,
    /// adjusted so the selection is visible even if the state was not updated for this height.
    pub fn window(&self, len: usize, height: usize) -> (usize, usize) {
        let mut c = *self;
        c.keep_visible(len, height);
        (c.offset, (c.offset + height).min(len))
    }
}

/// A case-insensitive substring filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFilter {
    text: String,
    lower: String,
}

impl TextFilter {
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self {
            text: text.to_string(),
            lower: text.to_lowercase(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, haystack: &str) -> bool {
        if haystack.is_ascii() && self.lower.is_ascii() {
            haystack
                .as_bytes()
                .windows(self.lower.len())
                .any(|w| w.eq_ignore_ascii_case(self.lower.as_bytes()))
        } else {
            haystack.to_lowercase().contains(&self.lower)
        }
    }
}

/// The state every list pane shares: its cursor and its filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    pub cursor: ListCursor,
    pub filter: Option<TextFilter>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_moves_clamp_and_scroll() {
        let mut c = ListCursor::default();
        c.move_by(5, 20, 4);
        assert_eq!(c, ListCursor { selected: 5, offset: 2 });
        c.move_by(100, 20, 4);
        assert_eq!(
            c,
            ListCursor {
                selected: 19,
                offset: 16
            }
        );
        c.move_by(-2, 20, 4);
        assert_eq!(
            c,
            ListCursor {
                selected: 17,
                offset: 16
            }
        );
        c.move_by(-100, 20, 4);
        assert_eq!(c, ListCursor { selected: 0, offset: 0 });
        c.bottom(3, 10);
        assert_eq!(c, ListCursor { selected: 2, offset: 0 });
        c.move_by(1, 0, 10);
        assert_eq!(c, ListCursor::default());
    }

    #[test]
    fn window_follows_selection_for_any_height() {
        let c = ListCursor { selected: 9, offset: 0 };
        assert_eq!(c.window(10, 4), (6, 10));
        assert_eq!(c.window(3, 4), (0, 3));
    }

    #[test]
    fn filter_is_case_insensitive_and_trims() {
        let f = TextFilter::new(" ErrOR ").unwrap_or_else(|| panic!("non-empty"));
        assert!(f.matches("level=error msg=x"));
        assert!(f.matches("ÉRROR ERROR"));
        assert!(!f.matches("warn"));
        assert_eq!(TextFilter::new("   "), None);
    }
}
