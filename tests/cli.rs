//! The command line as users and scripts see it: `warroom paths`, `warroom check` (offline and
//! probing a loopback server), exit codes, and problems printed with file, line and key.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use support::{run_warroom, text};

fn write_config(dir: &Path, body: &str) -> String {
    let path = dir.join("config.toml");
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

/// Serves `status` to every request on a loopback port until the test ends.
fn http_server(status: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn paths_prints_every_location_and_honours_the_environment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_warroom(dir.path(), &["paths"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for label in [
        "config file",
        "config dir",
        "themes dir",
        "data dir",
        "incidents dir",
        "log dir",
        "log file",
    ] {
        assert!(stdout.contains(label), "{label} missing:\n{stdout}");
    }
    let data = dir.path().join("data").display().to_string();
    assert!(stdout.contains(&format!("{data}/incidents")), "{stdout}");
    assert!(stdout.contains(&format!("{data}/logs")), "{stdout}");
}

#[test]
fn check_offline_accepts_the_defaults_and_a_valid_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_warroom(dir.path(), &["check", "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("defaults only"));
    let config = write_config(dir.path(), "[service]\nname = \"billing\"\n[ui]\ntheme = \"light\"\n");
    let out = run_warroom(dir.path(), &["check", "--offline", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("billing / production"), "{stdout}");
    assert!(stdout.contains("theme       light"), "{stdout}");
}

#[test]
fn check_exits_2_listing_every_problem_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = write_config(
        dir.path(),
        "[service]\nname = \"odin\"\ncolour = \"red\"\n\n[[signals]]\nname = \"x\"\nquery = \"up\"\nwarn = \"high\"\n\n[keys]\n\"hyper-q\" = \"quit\"\n\"x\" = \"explode\"\n",
    );
    let out = run_warroom(dir.path(), &["check", "--offline", "--config", &config]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for expected in [
        format!("{config}:3: service.colour: unknown key"),
        format!("{config}:8: signals[0].warn: invalid type"),
        format!("{config}:11: keys.hyper-q: bad key \"hyper-q\""),
        format!("{config}:12: keys.x: unknown action \"explode\""),
    ] {
        assert!(stderr.contains(&expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(stderr.contains("4 problems"), "{stderr}");
}

#[test]
fn a_named_config_file_that_is_missing_is_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = dir.path().join("nope.toml").display().to_string();
    let out = run_warroom(dir.path(), &["check", "--config", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&missing));
    // The cockpit refuses to start on it too, before touching the terminal.
    let out = run_warroom(dir.path(), &["demo", "--config", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stdout).contains("\x1b[?1049h"), "the terminal was touched");
}

#[test]
fn check_probes_sources_and_names_the_unreachable_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let up = http_server("200 OK");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        format!("http://{}", l.local_addr().unwrap_or_else(|e| panic!("{e}")))
    };
    let config = write_config(
        dir.path(),
        &format!("[prometheus]\nurl = \"{up}\"\n\n[[alertmanager]]\nurl = \"{closed}\"\n"),
    );
    let out = run_warroom(dir.path(), &["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stdout.contains(&format!("reachable   prometheus ({up}/-/ready): HTTP 200")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("alertmanager[0]: {closed}/-/ready: cannot connect")),
        "{stderr}"
    );

    let config = write_config(dir.path(), &format!("[prometheus]\nurl = \"{up}\"\n"));
    let out = run_warroom(dir.path(), &["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("ok\n"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_warroom(dir.path(), &["demo", "--speed", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a speed"));
    let out = run_warroom(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
