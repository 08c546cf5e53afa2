//! End to end in a pseudo-terminal: the real `warroom` follows a log file, a hostile line is
//! appended to it (window title, clipboard, hyperlink, DCS, APC, PM, SOS, 8-bit C1 controls), and
//! the line shows up inert: nothing the cockpit writes to the terminal changes the title, writes
//! to the clipboard, opens a hyperlink or starts a device-control string. Then `q` quits cleanly.

#[path = "support/pty.rs"]
mod pty;

use std::io::Write;

use pty::Pty;

/// Plain text at the start of the hostile line, to know when it is on screen.
const TOKEN: &str = "hostile-7f3a";

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
    let mut cmd = pty::warroom_command(dir.path());
    cmd.arg("--config");
    cmd.arg(&config);
    let mut w = Pty::spawn(cmd, 120, 40);
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
