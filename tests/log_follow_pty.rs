//! End to end in a pseudo-terminal: the real `warroom` follows a log file, a hostile line is
//! appended to it (window title, clipboard, hyperlink, DCS, APC, PM, SOS, 8-bit C1 controls), and
//! the line shows up inert: nothing the cockpit writes to the terminal changes the title, writes
//! to the clipboard, opens a hyperlink or starts a device-control string. Then `q` quits cleanly.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

const DEADLINE: Duration = Duration::from_secs(20);
/// Plain text at the start of the hostile line, to know when it is on screen.
const TOKEN: &str = "hostile-7f3a";

/// What the reader thread has seen on the master side so far.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    eof: bool,
}

struct Warroom {
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    captured: Arc<(Mutex<Captured>, Condvar)>,
}

impl Warroom {
    /// The cockpit on `config` in a `cols`x`rows` pty, data under `dir`.
    fn spawn(dir: &Path, config: &Path, cols: u16, rows: u16) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_warroom"));
        cmd.arg("--config");
        cmd.arg(config);
        cmd.cwd(dir);
        cmd.env("TERM", "xterm-256color");
        cmd.env("WARROOM_DATA_DIR", dir.join("data"));
        cmd.env("XDG_CONFIG_HOME", dir.join("xdg"));
        for name in ["NO_COLOR", "WARROOM_CONFIG", "WARROOM_DEBUG_PANIC", "WARROOM_LOG"] {
            cmd.env_remove(name);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn warroom");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let captured = Arc::new((Mutex::new(Captured::default()), Condvar::new()));
        let sink = Arc::clone(&captured);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
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
        Self {
            child,
            _master: pair.master,
            writer,
            captured,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.captured.0.lock().unwrap().bytes.clone()
    }

    fn mark(&self) -> usize {
        self.captured.0.lock().unwrap().bytes.len()
    }

    /// Blocks until `needle` was written after `mark`; panics with the output at the deadline.
    fn wait_for_after(&self, mark: usize, needle: &str) {
        let needle = needle.as_bytes();
        let deadline = Instant::now() + DEADLINE;
        let (lock, cond) = &*self.captured;
        let mut c = lock.lock().unwrap();
        loop {
            if c.bytes[mark.min(c.bytes.len())..]
                .windows(needle.len())
                .any(|w| w == needle)
            {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || c.eof {
                let text = String::from_utf8_lossy(&c.bytes).escape_debug().to_string();
                drop(c);
                panic!(
                    "no {:?} on screen; output so far:\n{text}",
                    String::from_utf8_lossy(needle)
                );
            }
            c = cond.wait_timeout(c, left).unwrap().0;
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "warroom did not exit within {DEADLINE:?}");
            // No event says a child exited: poll its state every 10 ms.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Warroom {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every way the output could reach past the screen: OSC (title, clipboard, hyperlink), DCS,
/// APC, PM, SOS in their 7-bit form, C1 controls (as characters, or as raw bytes outside UTF-8),
/// and BEL (which ends an OSC).
fn terminal_escapes(out: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for (intro, what) in [
        (b"\x1b]".as_slice(), "OSC (ESC ])"),
        (b"\x1bP", "DCS (ESC P)"),
        (b"\x1b_", "APC (ESC _)"),
        (b"\x1b^", "PM (ESC ^)"),
        (b"\x1bX", "SOS (ESC X)"),
        (b"\x07", "BEL"),
    ] {
        if let Some(at) = out.windows(intro.len()).position(|w| w == intro) {
            let context = String::from_utf8_lossy(&out[at.saturating_sub(40)..(at + 60).min(out.len())]);
            found.push(format!("{what} at byte {at}: {:?}", context));
        }
    }
    for chunk in out.utf8_chunks() {
        if let Some(c) = chunk.valid().chars().find(|c| ('\u{80}'..='\u{9f}').contains(c)) {
            found.push(format!("C1 control U+{:04X} written as a character", c as u32));
        }
        if let Some(b) = chunk
            .invalid()
            .iter()
            .find(|b| matches!(b, 0x90 | 0x98 | 0x9b | 0x9c | 0x9d | 0x9e | 0x9f))
        {
            found.push(format!("8-bit C1 byte {b:#04x} written raw"));
        }
    }
    found
}

#[test]
fn a_hostile_line_appended_to_a_followed_file_is_shown_inert() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("app.log");
    std::fs::write(&log, "level=info msg=\"service started\" request_id=r-1\n").expect("log file");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[service]\nname = \"odin\"\nenvironment = \"test\"\n\n[[logs]]\nname = \"app\"\nfile = \"app.log\"\n",
    )
    .expect("config");
    let mut w = Warroom::spawn(dir.path(), &config, 120, 40);
    // The first frame, then the file's last line: the follower runs.
    w.wait_for_after(0, "4 Logs");
    w.wait_for_after(0, "service started");

    let mark = w.mark();
    let mut hostile = format!(
        "{TOKEN} \x1b]0;PWNED\x07 \x1b]2;PWNED2\x1b\\ \x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \
         \x1bP+q\x1b\\ \x1b_apc\x1b\\ \x1b^pm\x1b\\ \x1bXsos\x1b\\ \u{9d}0;C1TITLE\u{9c} \u{90}dcs\u{9c} \u{202e}bidi\u{202c} end"
    )
    .into_bytes();
    // And raw 8-bit C1 bytes, which are not UTF-8.
    hostile.extend_from_slice(b" \x9d0;RAW\x07 \x90raw\x9c\n");
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).expect("append");
    file.write_all(&hostile).expect("write hostile line");
    drop(file);
    w.wait_for_after(mark, TOKEN);

    w.send(b"q");
    let status = w.wait_exit();
    assert!(
        status.success(),
        "exit {status:?}; output:\n{}",
        String::from_utf8_lossy(&w.bytes()).escape_debug()
    );
    let out = w.bytes();
    let found = terminal_escapes(&out);
    assert!(found.is_empty(), "the terminal was sent:\n{}", found.join("\n"));
    // The check itself finds what it must (so a silent pass means something).
    assert!(!terminal_escapes(&hostile).is_empty());
    assert_eq!(terminal_escapes(b"\x1b]0;t\x07").len(), 2);
    assert_eq!(terminal_escapes("\u{9d}".as_bytes()).len(), 1);
}
