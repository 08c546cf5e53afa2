//! Per-pane state: each pane owns its data, its cursor and its filter, and knows which rows pass
//! the filter. `AppState` composes them; `update` routes messages to them.

pub mod alerts;
pub mod deploys;
pub mod logs;
pub mod runbook;
pub mod signals;
pub mod slos;
pub mod timeline;

use super::list::{ListView, TextFilter};

/// What navigation and filtering need from any list pane.
pub trait ListPane {
    fn list(&self) -> &ListView;
    fn list_mut(&mut self) -> &mut ListView;
    /// Number of rows that pass the filter.
    fn visible_len(&self) -> usize;
    /// Replaces the filter and recomputes what is visible, keeping the selection on the same item
    /// (or the next visible one after it).
    fn set_filter(&mut self, filter: Option<TextFilter>);
}

/// Implements [`ListPane`] for a pane whose rows are computed on demand by `visible_rows()`.
macro_rules! simple_list_pane {
    ($pane:ty) => {
        impl $crate::app::panes::ListPane for $pane {
            fn list(&self) -> &$crate::app::list::ListView {
                &self.list
            }
            fn list_mut(&mut self) -> &mut $crate::app::list::ListView {
                &mut self.list
            }
            fn visible_len(&self) -> usize {
                self.visible_rows().len()
            }
            fn set_filter(&mut self, filter: Option<$crate::app::list::TextFilter>) {
                let before = self.visible_rows().get(self.list.cursor.selected).copied();
                self.list.filter = filter;
                let rows = self.visible_rows();
                self.list.cursor.reselect(before, &rows);
            }
        }
    };
}
pub(crate) use simple_list_pane;
