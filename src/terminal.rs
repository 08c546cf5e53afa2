//! The terminal's lifecycle: entering raw mode and the alternate screen, restoring them on every
//! way out (quit, panic in any task, SIGTERM, SIGHUP, SIGINT), suspending on Ctrl-Z, and turning
//! OS signals into messages for the runtime.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

use crate::quiet::QuietBackend;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

/// The real terminal: crossterm writing through one buffer, flushed once per frame, and silent
/// when a frame changes nothing.
pub type RealTerminal = Terminal<QuietBackend<CrosstermBackend<BufWriter<Stdout>>>>;

/// Set while the alternate screen is up, so a restore happens at most once per entry.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Held while a frame is written and while the terminal is restored, so a panic hook on another
/// thread can never restore the terminal in the middle of a frame (which would leave that frame on
/// the main screen).
static SCREEN: Mutex<()> = Mutex::new(());

/// Permission to write a frame: holds the screen lock. `None` once the terminal was restored.
pub fn frame_permit() -> Option<MutexGuard<'static, ()>> {
    let guard = SCREEN.lock().unwrap_or_else(PoisonError::into_inner);
    ACTIVE.load(Ordering::SeqCst).then_some(guard)
}

/// Raw mode, alternate screen, hidden cursor; output buffered so a frame is one write.
pub fn enter() -> io::Result<RealTerminal> {
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, terminal::EnterAlternateScreen, cursor::Hide)?;
    Terminal::new(QuietBackend::new(
        CrosstermBackend::new(BufWriter::with_capacity(256 * 1024, io::stdout())),
        true,
    ))
}

/// Leaves the alternate screen, shows the cursor and turns raw mode off. Safe to call any number
/// of times and from a panic hook; errors (a hung-up terminal) are ignored.
pub fn restore() {
    // Wait briefly for a frame being written to finish. A panic inside drawing holds the lock on
    // this very thread, so after a short wait the restore goes ahead regardless.
    let mut guard = None;
    for _ in 0..50 {
        match SCREEN.try_lock() {
            Ok(g) => {
                guard = Some(g);
                break;
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                guard = Some(p.into_inner());
                break;
            }
            // A bounded wait on the way out (at most 100 ms), never on the runtime's path.
            #[allow(clippy::disallowed_methods)]
            Err(std::sync::TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
    drop(guard);
}

pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Restores the terminal before the default panic report is printed, whichever thread panics.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Signals the runtime reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsSignal {
    /// The SSH session or terminal went away.
    Hangup,
    Terminate,
    Interrupt,
    /// Someone asked us to stop (kill -TSTP): suspend like Ctrl-Z.
    Stop,
    /// Resumed after a stop: redraw everything.
    Continue,
}

/// Forwards SIGHUP, SIGTERM, SIGINT, SIGTSTP and SIGCONT as messages.
pub fn signals() -> io::Result<mpsc::Receiver<OsSignal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::channel(8);
    let kinds = [
        (SignalKind::hangup(), OsSignal::Hangup),
        (SignalKind::terminate(), OsSignal::Terminate),
        (SignalKind::interrupt(), OsSignal::Interrupt),
        (SignalKind::from_raw(nix::libc::SIGTSTP), OsSignal::Stop),
        (SignalKind::from_raw(nix::libc::SIGCONT), OsSignal::Continue),
    ];
    for (kind, what) in kinds {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(what).await.is_err() {
                    break;
                }
            }
        });
    }
    Ok(rx)
}

/// Restores the terminal and stops this process as Ctrl-Z would (SIGTSTP with its default action,
/// so the kernel leaves an orphaned process group running instead of stopping it for good when no
/// job-control shell could resume it); once continued, re-enters the cockpit's terminal mode. The
/// caller redraws everything afterwards.
pub fn suspend() -> io::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};
    restore();
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installs the default disposition for SIGTSTP; no handler code runs, and the previous
    // action (tokio's handler) is put back right after the signal was handled.
    let previous = unsafe { sigaction(Signal::SIGTSTP, &default) }.map_err(io::Error::from)?;
    let raised = raise(Signal::SIGTSTP);
    // SAFETY: reinstalls exactly the action that was in place before.
    let _ = unsafe { sigaction(Signal::SIGTSTP, &previous) };
    raised.map_err(io::Error::from)?;
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)
}

/// The OSC 52 sequence that puts `text` on the clipboard of the terminal the user sits at (it
/// travels through SSH and tmux with `set-clipboard on`). Only warroom's own text goes here.
pub fn osc52(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                encoded.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    format!("\x1b]52;c;{encoded}\x07")
}

#[cfg(test)]
mod osc52_tests {
    #[test]
    fn encodes_like_base64() {
        assert_eq!(super::osc52("hi"), "\x1b]52;c;aGk=\x07");
        assert_eq!(super::osc52("https://x"), "\x1b]52;c;aHR0cHM6Ly94\x07");
    }
}
