//! `QuietBackend`: wraps a ratatui backend so that a frame in which no cell changed writes nothing
//! at all. ratatui calls the backend for every frame; the crossterm backend would otherwise emit
//! colour resets and a cursor-hide sequence (about 25 bytes) even when nothing on screen changed.

use std::io;

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct QuietBackend<B> {
    inner: B,
    cursor_hidden: bool,
}

impl<B> QuietBackend<B> {
    /// Wraps `inner`; `cursor_hidden` says whether the cursor is hidden already.
    pub fn new(inner: B, cursor_hidden: bool) -> Self {
        Self { inner, cursor_hidden }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

impl<B: Backend> Backend for QuietBackend<B> {
    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_hidden {
            return Ok(());
        }
        self.inner.hide_cursor()?;
        self.cursor_hidden = true;
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()?;
        self.cursor_hidden = false;
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::CrosstermBackend;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::{Terminal, TerminalOptions, Viewport};

    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_unchanged_frame_writes_nothing_and_a_change_writes_only_the_change() {
        let out = Shared::default();
        let len = || out.0.borrow().len();
        {
            let backend = QuietBackend::new(CrosstermBackend::new(out.clone()), false);
            let options = TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 20, 2)),
            };
            let mut terminal = Terminal::with_options(backend, options).unwrap_or_else(|e| panic!("{e}"));
            let frame =
                |text: &'static str| move |f: &mut ratatui::Frame<'_>| f.render_widget(Paragraph::new(text), f.area());
            terminal.draw(frame("hello")).unwrap_or_else(|e| panic!("{e}"));
            let first = len();
            assert!(first > 0);
            terminal.draw(frame("hello")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(len(), first, "an unchanged frame wrote bytes");
            terminal.draw(frame("hellO")).unwrap_or_else(|e| panic!("{e}"));
            let written = len() - first;
            assert!(written > 0 && written < 40, "{written} bytes for one changed cell");
        }
    }
}
