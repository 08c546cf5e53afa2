//! The real `warroom` binary in a pseudo-terminal: it draws, takes keys, and restores the terminal
//! (alternate screen left, cursor shown, raw mode off) on quit, SIGHUP, SIGTERM and panics.

use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

const DEADLINE: Duration = Duration::from_secs(20);
const ENTER_ALT: &str = "\x1b[?1049h";
const LEAVE_ALT: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const HIDE_CURSOR: &str = "\x1b[?25l";

/// What the reader thread has seen on the master side so far.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    eof: bool,
}

/// `warroom demo` running in a pty, its output captured by a background thread.
struct Warroom {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    captured: Arc<(Mutex<Captured>, Condvar)>,
    _dir: tempfile::TempDir,
}

impl Warroom {
    /// Starts `warroom demo --speed 1` on a `cols`x`rows` pty with hermetic config and data dirs.
    fn spawn(cols: u16, rows: u16, env: &[(&str, &str)]) -> Warroom {
        Self::spawn_in(cols, rows, env, None)
    }

    /// Like `spawn`, but run by `bash -c SCRIPT` where the script refers to the binary as `"$0"`
    /// and to the config file as `"$1"` (e.g. a job-control shell that resumes a stopped job).
    fn spawn_in(cols: u16, rows: u16, env: &[(&str, &str)], script: Option<&str>) -> Warroom {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").expect("empty config");
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = match script {
            None => {
                let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_warroom"));
                cmd.args(["demo", "--speed", "1", "--seed", "1", "--config"]);
                cmd.arg(&config);
                cmd
            }
            Some(script) => {
                let mut cmd = CommandBuilder::new("bash");
                cmd.args(["--norc", "--noprofile", "-c", script, env!("CARGO_BIN_EXE_warroom")]);
                cmd.arg(&config);
                cmd
            }
        };
        cmd.cwd(dir.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("WARROOM_DATA_DIR", dir.path().join("data"));
        cmd.env("XDG_CONFIG_HOME", dir.path().join("xdg"));
        for name in [
            "NO_COLOR",
            "WARROOM_CONFIG",
            "WARROOM_DEBUG_PANIC",
            "WARROOM_LOG",
            "RUST_BACKTRACE",
        ] {
            cmd.env_remove(name);
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn warroom");
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
        Warroom {
            child,
            master: pair.master,
            writer,
            captured,
            _dir: dir,
        }
    }

    /// Everything written to the terminal so far (lossy UTF-8).
    fn output(&self) -> String {
        String::from_utf8_lossy(&self.captured.0.lock().unwrap().bytes).into_owned()
    }

    /// How many bytes have been captured: a mark for `wait_for_after`.
    fn mark(&self) -> usize {
        self.captured.0.lock().unwrap().bytes.len()
    }

    /// Blocks until `ready(bytes, eof)` holds; panics with the escaped output at the deadline.
    fn wait_until(&self, what: &str, ready: impl Fn(&[u8], bool) -> bool) {
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
    fn wait_for(&self, needle: &str) {
        self.wait_for_after(0, needle);
    }

    /// Blocks until `needle` appears in the output written after `mark` (compared as bytes, as a
    /// mark may fall inside a multi-byte character).
    fn wait_for_after(&self, mark: usize, needle: &str) {
        let needle = needle.as_bytes();
        self.wait_until(&format!("{:?}", String::from_utf8_lossy(needle)), |bytes, _| {
            bytes[mark..].windows(needle.len()).any(|w| w == needle)
        });
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    fn pid(&self) -> Pid {
        let pid = self.child.process_id().expect("child pid");
        Pid::from_raw(i32::try_from(pid).expect("pid fits a pid_t"))
    }

    fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("kill");
    }

    /// Waits for the child to exit and for the reader to drain the pty to EOF.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "warroom did not exit within {DEADLINE:?}; output so far:\n{}",
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
    fn local_flags(&self) -> libc::tcflag_t {
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

impl Drop for Warroom {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(self.pid(), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The tail of `text` with control characters made visible (lines kept), for failure messages.
fn escaped(text: &str) -> String {
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

/// The session (everything after the last ESC[?1049h) must leave the alternate screen, show the
/// cursor afterwards and not hide it again, and the pty must be back in canonical mode with echo.
/// Returns what was written after leaving the alternate screen.
fn assert_restored(w: &Warroom) -> String {
    let out = w.output();
    let Some(entered) = out.rfind(ENTER_ALT) else {
        panic!("never entered the alternate screen:\n{}", escaped(&out));
    };
    let session = &out[entered..];
    let Some(left) = session.find(LEAVE_ALT) else {
        panic!("alternate screen not left:\n{}", escaped(session));
    };
    let after = &session[left + LEAVE_ALT.len()..];
    let Some(shown) = after.rfind(SHOW_CURSOR) else {
        panic!(
            "cursor not shown after leaving the alternate screen:\n{}",
            escaped(session)
        );
    };
    assert!(
        !after[shown..].contains(HIDE_CURSOR),
        "cursor hidden again after the restore:\n{}",
        escaped(session)
    );
    let flags = w.local_flags();
    assert!(
        flags & libc::ICANON != 0 && flags & libc::ECHO != 0,
        "raw mode still on after exit (c_lflag {flags:o})"
    );
    after.to_string()
}

/// Starts the demo and waits for its first full frame; checks the pty is in raw mode.
fn started(cols: u16, rows: u16, ready: &str) -> Warroom {
    let w = Warroom::spawn(cols, rows, &[]);
    w.wait_for(ready);
    w.wait_for("DEMO ×1");
    let flags = w.local_flags();
    assert_eq!(
        flags & (libc::ICANON | libc::ECHO),
        0,
        "raw mode not on while running (c_lflag {flags:o})"
    );
    w
}

fn assert_exit_code(status: &ExitStatus, code: u32, output: &str) {
    assert!(
        status.signal().is_none() && status.exit_code() == code,
        "expected exit code {code}, got {status:?}; output:\n{}",
        escaped(output)
    );
}

#[test]
fn keys_drive_the_cockpit_and_q_quits_cleanly_at_120x40() {
    let mut w = started(120, 40, "Timeline");
    for title in [
        "1 Alerts",
        "2 SLOs",
        "3 Signals",
        "4 Logs",
        "5 Deploys",
        "6 Runbook",
        "7 Timeline",
    ] {
        w.wait_for(title);
    }
    let mark = w.mark();
    w.send(b"?");
    w.wait_for_after(mark, "Help — keys");
    // The panes under the overlay are repainted once it closes. Waiting for that also keeps the
    // next key out of the same read as Esc, which would turn it into Alt+key.
    let mark = w.mark();
    w.send(b"\x1b");
    w.wait_for_after(mark, "4 Logs");
    let mark = w.mark();
    w.send(b"\t");
    w.wait_for_after(mark, "▶2 SLOs");
    w.send(b"q");
    let status = w.wait_exit();
    assert_exit_code(&status, 0, &w.output());
    assert_restored(&w);
}

#[test]
fn ctrl_c_quits_cleanly() {
    let mut w = started(80, 24, "7 Timeline");
    w.send(b"\x03");
    let status = w.wait_exit();
    assert_exit_code(&status, 0, &w.output());
    assert_restored(&w);
}

/// Sends `signal` once the 80x24 tab bar is up; the cockpit must restore and exit with `code`.
fn ends_on_signal(signal: Signal, code: u32) {
    let mut w = started(80, 24, "7 Timeline");
    w.signal(signal);
    let status = w.wait_exit();
    assert_exit_code(&status, code, &w.output());
    assert_restored(&w);
}

#[test]
fn sighup_restores_the_terminal_and_exits_129() {
    ends_on_signal(Signal::SIGHUP, 129);
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    ends_on_signal(Signal::SIGTERM, 143);
}

#[test]
fn sigint_restores_the_terminal_and_exits_130() {
    ends_on_signal(Signal::SIGINT, 130);
}

/// Runs with `WARROOM_DEBUG_PANIC=where`: exit 101, terminal restored, then the panic reported.
fn panic_restores_the_terminal(place: &str) {
    let mut w = Warroom::spawn(120, 40, &[("WARROOM_DEBUG_PANIC", place)]);
    let status = w.wait_exit();
    assert_exit_code(&status, 101, &w.output());
    let after = assert_restored(&w);
    assert!(
        after.contains("injected panic"),
        "panic message not printed after leaving the alternate screen:\n{}",
        escaped(&w.output())
    );
}

#[test]
fn panic_in_a_background_task_restores_the_terminal() {
    panic_restores_the_terminal("task");
}

#[test]
fn panic_in_the_main_loop_restores_the_terminal() {
    panic_restores_the_terminal("main");
}

/// The process state letter from /proc (`T` when stopped).
fn process_state(pid: Pid) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()))
        .unwrap_or('?')
}

#[test]
fn ctrl_z_under_a_job_control_shell_stops_with_the_terminal_restored_and_fg_redraws_everything() {
    // The shell runs warroom as a foreground job; when it stops, the shell reports it and runs `fg`.
    let script = "set -m; \"$0\" demo --speed 1 --seed 1 --config \"$1\"; echo \"stopped=$?\"; fg; echo \"final=$?\"";
    let mut w = Warroom::spawn_in(120, 40, &[], Some(script));
    w.wait_for("7 Timeline");
    w.wait_for("DEMO ×1");
    let mark = w.mark();
    w.send(b"\x1a");
    w.wait_for_after(mark, LEAVE_ALT);
    // 148 = 128 + SIGTSTP: the job stopped (not exited) and the shell got the terminal back.
    w.wait_for_after(mark, "stopped=148");
    let left = w.output()[..].rfind(LEAVE_ALT).unwrap_or(0);
    assert!(
        w.output()[left..].contains(SHOW_CURSOR),
        "cursor not shown while suspended"
    );
    // `fg` continues the job (the shell does it at once): the cockpit takes the terminal back and
    // paints a whole frame after the shell's report.
    let resumed = w.output().find("stopped=148").unwrap_or(0);
    w.wait_for_after(resumed, ENTER_ALT);
    for title in ["1 Alerts", "4 Logs", "7 Timeline", "DEMO ×1"] {
        w.wait_for_after(resumed, title);
    }
    w.send(b"q");
    w.wait_for("final=0");
    let status = w.wait_exit();
    assert_exit_code(&status, 0, &w.output());
}

#[test]
fn ctrl_z_without_job_control_keeps_running_instead_of_freezing() {
    // Started directly on the pty (as `ssh -t host warroom` or a tmux command would), nobody could
    // resume a stopped warroom: the stop is refused by the kernel and the cockpit comes straight back.
    let mut w = started(120, 40, "Timeline");
    let mark = w.mark();
    w.send(b"\x1a");
    w.wait_for_after(mark, LEAVE_ALT);
    w.wait_for_after(mark, ENTER_ALT);
    for title in ["1 Alerts", "7 Timeline"] {
        w.wait_for_after(mark, title);
    }
    assert_ne!(
        process_state(w.pid()),
        'T',
        "warroom is stopped with no way to resume it"
    );
    let flags = w.local_flags();
    assert_eq!(
        flags & (libc::ICANON | libc::ECHO),
        0,
        "raw mode not back (c_lflag {flags:o})"
    );
    w.send(b"q");
    let status = w.wait_exit();
    assert_exit_code(&status, 0, &w.output());
    assert_restored(&w);
}

#[test]
fn no_color_draws_without_any_colour_sequence() {
    let mut w = Warroom::spawn(120, 40, &[("NO_COLOR", "1")]);
    w.wait_for("7 Timeline");
    w.wait_for("DEMO ×1");
    let out = w.output();
    for colour in ["[38;5;", "[48;5;", "[38;2;", "[48;2;", "[31m", "[32m", "[33m"] {
        assert!(
            !out.contains(colour),
            "colour sequence {colour:?} written despite NO_COLOR:\n{}",
            escaped(&out)
        );
    }
    assert!(
        out.contains("[7m") || out.contains(";7m"),
        "focus/selection not shown in reverse video"
    );
    w.send(b"q");
    let status = w.wait_exit();
    assert_exit_code(&status, 0, &w.output());
}

#[test]
fn nothing_is_printed_to_the_terminal_but_frames_and_logs_go_to_the_file() {
    let mut w = started(80, 24, "7 Timeline");
    w.send(b"q");
    let status = w.wait_exit();
    assert_exit_code(&status, 0, &w.output());
    let out = w.output();
    let session = &out[out.find(ENTER_ALT).unwrap_or(0)..out.rfind(LEAVE_ALT).unwrap_or(out.len())];
    for stray in [
        " INFO warroom",
        " WARN warroom",
        " DEBUG warroom",
        "warroom:",
        "panicked",
        "warroom starting",
    ] {
        assert!(
            !session.contains(stray),
            "{stray:?} printed while the UI was up:\n{}",
            escaped(session)
        );
    }
    let after = assert_restored(&w);
    assert!(
        after
            .trim_matches(|c: char| c.is_whitespace() || c.is_control() || "[?25h".contains(c))
            .is_empty(),
        "printed after the UI: {after:?}"
    );
    let log_dir = w._dir.path().join("data").join("logs");
    let logs: Vec<String> = std::fs::read_dir(&log_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        logs.iter().any(|l| l.contains("warroom starting")),
        "no log file with the start line in {}",
        log_dir.display()
    );
}
