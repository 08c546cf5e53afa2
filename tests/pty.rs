//! The real `warroom` binary in a pseudo-terminal: it draws, takes keys, and restores the terminal
//! (alternate screen left, cursor shown, raw mode off) on quit, SIGHUP, SIGTERM and panics.

#[path = "support/pty.rs"]
mod pty;

use nix::libc;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use portable_pty::{CommandBuilder, ExitStatus};
use pty::{Pty, escaped};
const ENTER_ALT: &str = "\x1b[?1049h";
const LEAVE_ALT: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const HIDE_CURSOR: &str = "\x1b[?25l";

/// `warroom demo` running in a pty, with its own config and data dirs.
struct Warroom {
    pty: Pty,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Warroom {
    type Target = Pty;
    fn deref(&self) -> &Pty {
        &self.pty
    }
}

impl std::ops::DerefMut for Warroom {
    fn deref_mut(&mut self) -> &mut Pty {
        &mut self.pty
    }
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
        let mut cmd = match script {
            None => {
                let mut cmd = pty::warroom_command(dir.path());
                cmd.args(["demo", "--speed", "1", "--seed", "1", "--config"]);
                cmd.arg(&config);
                cmd
            }
            Some(script) => {
                let mut cmd = CommandBuilder::new("bash");
                pty::hermetic(&mut cmd, dir.path());
                cmd.args(["--norc", "--noprofile", "-c", script, env!("CARGO_BIN_EXE_warroom")]);
                cmd.arg(&config);
                cmd
            }
        };
        for (name, value) in env {
            cmd.env(name, value);
        }
        Warroom {
            pty: Pty::spawn(cmd, cols, rows),
            _dir: dir,
        }
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
fn the_demo_rehearses_a_rollback_typed_into_the_real_binary() {
    let mut w = started(160, 45, "5 Deploys");
    // Focus Deploys, select the newest, ask for its rollback.
    let mark = w.mark();
    w.send(b"5");
    w.wait_for_after(mark, "\u{25b6}5 Deploys");
    let mark = w.mark();
    w.send(b"gR");
    w.wait_for_after(mark, "DESTRUCTIVE");
    w.wait_for_after(mark, "kubectl argo rollouts undo odin");
    // The service name, typed, then Enter: the demo's runner rehearses it and it is recorded.
    let mark = w.mark();
    w.send(b"odin\r");
    w.wait_for_after(mark, "rollback done; no [[probes]] are configured");
    w.send(b"q");
    // An open incident may ask first; the demo has none yet.
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
