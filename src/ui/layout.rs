//! Where everything goes on screen, as a pure function of the terminal size, the focus and the
//! zoom: three columns at 200x50, two at 120x40, one pane with a tab bar at 80x24.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::pane::PaneId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrangement {
    /// Every pane in three columns.
    Wide,
    /// Every pane in two columns.
    Medium,
    /// One pane at a time under a tab bar.
    Tabs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenLayout {
    pub arrangement: Arrangement,
    pub status: Rect,
    pub tabs: Option<Rect>,
    /// The release-gate banner under the status bar, while an error budget is exhausted.
    pub banner: Option<Rect>,
    pub panes: Vec<(PaneId, Rect)>,
    pub hint: Rect,
}

impl ScreenLayout {
    pub fn rect(&self, pane: PaneId) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }
}

pub fn arrangement(width: u16, height: u16) -> Arrangement {
    if width >= 150 && height >= 36 {
        Arrangement::Wide
    } else if width >= 100 && height >= 30 {
        Arrangement::Medium
    } else {
        Arrangement::Tabs
    }
}

pub fn compute(area: Rect, focus: PaneId, zoomed: bool) -> ScreenLayout {
    compute_with_banner(area, focus, zoomed, false)
}

/// The layout with, when `banner` is set, one full-width row for the release-gate banner.
pub fn compute_with_banner(area: Rect, focus: PaneId, zoomed: bool, banner: bool) -> ScreenLayout {
    let arrangement = arrangement(area.width, area.height);
    let tabbed = arrangement == Arrangement::Tabs || zoomed;
    let [status, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let (banner, rest) = if banner {
        let [banner, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rest);
        (Some(banner), rest)
    } else {
        (None, rest)
    };
    let [body, hint] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(rest);
    let (tabs, body) = if arrangement == Arrangement::Tabs && !zoomed {
        let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        (Some(tabs), body)
    } else {
        (None, body)
    };
    let panes = if tabbed {
        vec![(focus, body)]
    } else if arrangement == Arrangement::Wide {
        let [left, right] = Layout::horizontal([Constraint::Percentage(36), Constraint::Percentage(64)]).areas(body);
        let [alerts, slos, signals] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(12), Constraint::Length(12)]).areas(left);
        let [logs, bottom] = Layout::vertical([Constraint::Min(8), Constraint::Percentage(42)]).areas(right);
        let [timeline, side] =
            Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(bottom);
        let [runbook, deploys] = Layout::vertical([Constraint::Min(4), Constraint::Length(8)]).areas(side);
        vec![
            (PaneId::Alerts, alerts),
            (PaneId::Slos, slos),
            (PaneId::Signals, signals),
            (PaneId::Logs, logs),
            (PaneId::Deploys, deploys),
            (PaneId::Runbook, runbook),
            (PaneId::Timeline, timeline),
        ]
    } else {
        let [left, right] = Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)]).areas(body);
        let [alerts, slos, signals, deploys] = Layout::vertical([
            Constraint::Min(5),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(7),
        ])
        .areas(left);
        let [logs, runbook, timeline] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(8), Constraint::Length(9)]).areas(right);
        vec![
            (PaneId::Alerts, alerts),
            (PaneId::Slos, slos),
            (PaneId::Signals, signals),
            (PaneId::Logs, logs),
            (PaneId::Deploys, deploys),
            (PaneId::Runbook, runbook),
            (PaneId::Timeline, timeline),
        ]
    };
    ScreenLayout {
        arrangement,
        status,
        tabs,
        banner,
        panes,
        hint,
    }
}

/// Panes that show a detail box for the selected row when zoomed.
pub fn has_detail(pane: PaneId) -> bool {
    matches!(pane, PaneId::Alerts | PaneId::Logs | PaneId::Runbook | PaneId::Deploys)
}

/// Splits a zoomed pane's inner area into the list (top) and the detail box (bottom, 40 %).
pub fn split_detail(inner: Rect) -> (Rect, Rect) {
    let [list, detail] = Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(inner);
    (list, detail)
}

/// Header rows a pane draws above its list.
fn header_rows(pane: PaneId) -> u16 {
    match pane {
        PaneId::Alerts | PaneId::Signals | PaneId::Deploys => 1,
        PaneId::Slos | PaneId::Logs | PaneId::Runbook | PaneId::Timeline => 0,
    }
}

/// Rows available for list items in `pane` (inside the border, below its header, above a detail
/// box), or the rows it would get if it were focused, for panes not on screen in the tabbed layout.
pub fn list_rows(viewport: (u16, u16), pane: PaneId, zoomed: bool) -> usize {
    list_rows_with_banner(viewport, pane, zoomed, false)
}

/// `list_rows` with the release-gate banner shown or not.
pub fn list_rows_with_banner(viewport: (u16, u16), pane: PaneId, zoomed: bool, banner: bool) -> usize {
    let area = Rect::new(0, 0, viewport.0, viewport.1);
    let layout = compute_with_banner(area, pane, zoomed, banner);
    let rect = layout.rect(pane).unwrap_or_default();
    let mut inner = Rect::new(
        rect.x + 1,
        rect.y + 1,
        rect.width.saturating_sub(2),
        rect.height.saturating_sub(2),
    );
    if zoomed && has_detail(pane) {
        inner = split_detail(inner).0;
    }
    usize::from(inner.height.saturating_sub(header_rows(pane))).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_overlap(layout: &ScreenLayout, area: Rect) {
        let mut rects: Vec<Rect> = layout.panes.iter().map(|(_, r)| *r).collect();
        rects.push(layout.status);
        rects.push(layout.hint);
        rects.extend(layout.tabs);
        rects.extend(layout.banner);
        for (i, a) in rects.iter().enumerate() {
            assert!(
                area.contains(a.as_position()) || a.area() == 0,
                "{a:?} outside {area:?}"
            );
            assert!(
                a.right() <= area.right() && a.bottom() <= area.bottom(),
                "{a:?} outside {area:?}"
            );
            for b in &rects[i + 1..] {
                assert!(!a.intersects(*b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn every_size_lays_out_without_overlap() {
        for (w, h) in [
            (200, 50),
            (120, 40),
            (80, 24),
            (40, 10),
            (1, 1),
            (0, 0),
            (300, 100),
            (149, 35),
        ] {
            let area = Rect::new(0, 0, w, h);
            for zoomed in [false, true] {
                let layout = compute(area, PaneId::Logs, zoomed);
                no_overlap(&layout, area);
            }
        }
    }

    #[test]
    fn sizes_choose_arrangements() {
        assert_eq!(arrangement(200, 50), Arrangement::Wide);
        assert_eq!(arrangement(120, 40), Arrangement::Medium);
        assert_eq!(arrangement(80, 24), Arrangement::Tabs);
        let wide = compute(Rect::new(0, 0, 200, 50), PaneId::Alerts, false);
        assert_eq!(wide.panes.len(), 7);
        let tabs = compute(Rect::new(0, 0, 80, 24), PaneId::Logs, false);
        assert_eq!(tabs.panes, vec![(PaneId::Logs, Rect::new(0, 2, 80, 21))]);
        let zoomed = compute(Rect::new(0, 0, 200, 50), PaneId::Logs, true);
        assert_eq!(zoomed.panes, vec![(PaneId::Logs, Rect::new(0, 1, 200, 48))]);
    }
}
