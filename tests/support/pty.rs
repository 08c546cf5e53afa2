//! A program in a pseudo-terminal for end-to-end tests: its output captured by a reader thread,
//! waits on what it wrote (never on time), keys sent, signals, its exit, and the pty's line
//! discipline. Included with `#[path = "support/pty.rs"] mod pty;`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// A hang guard for every wait, not a speed assertion.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// What the reader thread has seen on the master side so far.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    eof: bool,
}

/// The running program and its terminal. Killed on drop if still running.
pub struct Pty {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    captured: Arc<(Mutex<Captured>, Condvar)>,
}

/// `warroom` with hermetic data and config dirs under `dir`, `TERM=xterm-256color`, and none of
/// the variables that would change its behaviour inherited.
pub fn warroom_command(dir: &std::path::Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_warroom"));
    hermetic(&mut cmd, dir);
    cmd
}

/// Makes `cmd` hermetic as `warroom_command` does.
pub fn hermetic(cmd: &mut CommandBuilder, dir: &std::path::Path) {
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    cmd.env("WARROOM_DATA_DIR", dir.join("data"));
    cmd.env("XDG_CONFIG_HOME", dir.join("xdg"));
    for name in [
        "NO_COLOR",
        "WARROOM_CONFIG",
        "WARROOM_DEBUG_PANIC",
        "WARROOM_LOG",
        "RUST_BACKTRACE",
    ] {
        cmd.env_remove(name);
    }
}

impl Pty {
    /// Runs `cmd` on a `cols`x`rows` pty.
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        // Only the child may hold the slave, so the reader sees EOF once it exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let captured = Arc::new((Mutex::new(Captured::default()), Condvar::new()));
        let sink = Arc::clone(&captured);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                // portable-pty turns the EIO Linux returns once the slave is closed into Ok(0).
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, cond) = &*sink;
                let mut c = lock.lock().unwrap();
                if n == 0 {
                    c.eof = true;
                } else {
                    c.bytes.extend_from_slice(&buf[..n]);
                }
                cond.notify_all();
                if c.eof {
                    break;
                }
            }
        });
        Pty {
            child,
            master: pair.master,
            writer,
            captured,
        }
    }

    /// Everything written to the terminal so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.captured.0.lock().unwrap().bytes.clone()
    }

    /// Everything written to the terminal so far (lossy UTF-8).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.captured.0.lock().unwrap().bytes).into_owned()
    }

    /// How many bytes have been captured: a mark for `wait_for_after`.
    pub fn mark(&self) -> usize {
        self.captured.0.lock().unwrap().bytes.len()
    }

    /// Blocks until `ready(bytes, eof)` holds; panics with the escaped output at the deadline.
    pub fn wait_until(&self, what: &str, ready: impl Fn(&[u8], bool) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        let (lock, cond) = &*self.captured;
        let mut c = lock.lock().unwrap();
        loop {
            if ready(&c.bytes, c.eof) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let text = String::from_utf8_lossy(&c.bytes).into_owned();
                drop(c);
                panic!("timed out waiting for {what}; output so far:\n{}", escaped(&text));
            }
            c = cond.wait_timeout(c, left).unwrap().0;
        }
    }

    /// Blocks until `needle` appears in the output; panics at the deadline.
    pub fn wait_for(&self, needle: &str) {
        self.wait_for_after(0, needle);
    }

    /// Blocks until `needle` appears in the output written after `mark` (compared as bytes, as a
    /// mark may fall inside a multi-byte character).
    pub fn wait_for_after(&self, mark: usize, needle: &str) {
        let needle = needle.as_bytes();
        self.wait_until(&format!("{:?}", String::from_utf8_lossy(needle)), |bytes, _| {
            bytes[mark.min(bytes.len())..]
                .windows(needle.len())
                .any(|w| w == needle)
        });
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    pub fn pid(&self) -> Pid {
        let pid = self.child.process_id().expect("child pid");
        Pid::from_raw(i32::try_from(pid).expect("pid fits a pid_t"))
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("kill");
    }

    /// Waits for the child to exit and for the reader to drain the pty to EOF.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the program did not exit within {DEADLINE:?}; output so far:\n{}",
                    escaped(&self.output())
                );
            }
            // No event says a child exited or stopped: poll its state every 10 ms.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(10));
        };
        self.wait_until("EOF on the pty", |_, eof| eof);
        status
    }

    /// The pty's line discipline flags (`c_lflag`), read through the master.
    pub fn local_flags(&self) -> libc::tcflag_t {
        let fd: RawFd = self.master.as_raw_fd().expect("master fd");
        let mut t = std::mem::MaybeUninit::<libc::termios>::zeroed();
        // SAFETY: fd is the open master and `t` is a valid termios to fill.
        assert_eq!(
            unsafe { libc::tcgetattr(fd, t.as_mut_ptr()) },
            0,
            "tcgetattr on the master"
        );
        // SAFETY: tcgetattr succeeded, so `t` is initialised.
        unsafe { t.assume_init() }.c_lflag
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(self.pid(), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The tail of `text` with control characters made visible (lines kept), for failure messages.
pub fn escaped(text: &str) -> String {
    const TAIL: usize = 8000;
    let start = text.len().saturating_sub(TAIL);
    let start = (start..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let shown = text[start..]
        .split('\n')
        .map(|line| line.escape_debug().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    if start == 0 {
        shown
    } else {
        format!("[... {start} earlier bytes left out ...]\n{shown}")
    }
}
