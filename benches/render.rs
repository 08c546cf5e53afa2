//! Render benchmarks (criterion): a full render + diff of the demo at 200x50, and the bytes the
//! real crossterm backend writes for an unchanged frame, one new log line, and a full redraw.
//! Run: `cargo bench --bench render`; figures go to docs/performance.md.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;
use warroom::app::msg::{Msg, SourceData, SourceUpdate};
use warroom::app::runtime::{Runtime, TestShell};
use warroom::config::load::load_runbooks;
use warroom::demo;
use warroom::domain::log::LogLine;
use warroom::quiet::QuietBackend;
use warroom::sources::clock::TimeSource;

/// Counts bytes and write calls reaching the "terminal".
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<(usize, usize)>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut c) = self.0.lock() {
            c.0 += buf.len();
            c.1 += 1;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Counter {
    fn take(&self) -> (usize, usize) {
        self.0.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
    }
}

/// The busiest moment of the demo: just after the fast-burn page.
const T: i64 = 9 * 60 + 40;

/// A crossterm terminal of 200x50 writing into `counter`; a fixed viewport, because a writer that is
/// not a tty cannot be asked for its size.
fn fixed(counter: Counter) -> Terminal<QuietBackend<CrosstermBackend<io::BufWriter<Counter>>>> {
    let backend = QuietBackend::new(
        CrosstermBackend::new(io::BufWriter::with_capacity(256 * 1024, counter)),
        false,
    );
    Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 200, 50)),
        },
    )
    .expect("crossterm backend")
}

fn state() -> warroom::app::state::AppState {
    demo::state_at(
        demo::test_setup("dark"),
        load_runbooks(&[], std::path::Path::new(".")).0,
        1,
        T,
        (200, 50),
    )
}

fn render(c: &mut Criterion) {
    let state = state();
    let now = demo::fixed_start() + Duration::seconds(T);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    c.bench_function("render+diff demo 200x50 (TestBackend)", |b| {
        b.iter(|| {
            terminal
                .draw(|f| warroom::ui::draw(f, &state, now))
                .map(|_| ())
                .expect("draw")
        })
    });
    let counter = Counter::default();
    let mut terminal = fixed(counter.clone());
    c.bench_function("render+diff+encode demo 200x50 (crossterm, buffered)", |b| {
        b.iter(|| {
            terminal
                .draw(|f| warroom::ui::draw(f, &state, now))
                .map(|_| ())
                .expect("draw")
        })
    });
}

/// Bytes written per frame through the runtime's frame policy and the real crossterm backend.
fn bytes(_c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let counter = Counter::default();
    let terminal = fixed(counter.clone());
    let (_tx, rx) = mpsc::channel(16);
    let state = state();
    let logs = state
        .sources
        .iter()
        .position(|s| s.name == "logs")
        .map(warroom::app::msg::SourceId)
        .expect("logs source");
    let now = demo::fixed_start() + Duration::seconds(T);
    let mut runtime = Runtime::new(
        state,
        terminal,
        TimeSource::simulated(now, 0.0001),
        rx,
        Box::new(TestShell),
    );
    runtime.draw().expect("first frame");
    let first = counter.take();
    // A message that changes nothing on screen (a key bound to nothing) must write nothing.
    let unbound = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('x'),
        crossterm::event::KeyModifiers::NONE,
    );
    runtime.accept(Msg::Key(unbound)).expect("accept");
    let unchanged = runtime.draw_if_dirty().expect("draw");
    let idle = counter.take();
    runtime
        .accept(Msg::Source(SourceUpdate {
            source: logs,
            at: now,
            result: Ok(SourceData::Logs(vec![LogLine::new(
                now,
                "app".into(),
                "level=info msg=\"one more line\"",
            )])),
        }))
        .expect("accept");
    runtime.draw_if_dirty().expect("draw");
    let one_line = counter.take();
    runtime.terminal.clear().expect("clear");
    runtime.draw().expect("draw");
    let full = counter.take();
    runtime
        .terminal
        .draw(|f| warroom::ui::draw(f, &runtime.state, now))
        .expect("draw");
    let forced_unchanged = counter.take();
    println!("bytes/frame: first frame {} B in {} write(s)", first.0, first.1);
    println!(
        "bytes/frame: a message that changes nothing (frame rendered: {unchanged}) {} B in {} write(s)",
        idle.0, idle.1
    );
    println!(
        "bytes/frame: draw() called on an unchanged state {} B in {} write(s)",
        forced_unchanged.0, forced_unchanged.1
    );
    println!(
        "bytes/frame: one log line added (follow mode) {} B in {} write(s)",
        one_line.0, one_line.1
    );
    println!(
        "bytes/frame: full redraw after clear {} B in {} write(s)",
        full.0, full.1
    );
}

criterion_group!(benches, render, bytes);
criterion_main!(benches);
