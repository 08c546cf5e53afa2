//! Several real `warroom note` processes append to one incident at once while other writers are
//! killed with SIGKILL mid-flight and torn records are left behind: every acknowledged note must be
//! in the journal, and the chain must verify.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use warroom::journal::file::{self, JournalPaths};

const WRITERS: usize = 4;
const NOTES_EACH: usize = 250;

struct Env {
    _dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap_or_else(|e| panic!("{e}"));
        Env {
            data: dir.path().join("data"),
            config,
            _dir: dir,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
        cmd.args(args)
            .arg("--config")
            .arg(&self.config)
            .env("WARROOM_DATA_DIR", &self.data)
            .env("XDG_CONFIG_HOME", self.data.join("xdg"))
            .env_remove("WARROOM_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A small deterministic generator for kill delays.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

/// Leaves half a record at the end of the journal, as a writer killed mid-write would.
fn tear(paths: &JournalPaths) {
    let _lock = file::lock(paths).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read(&paths.file).unwrap_or_default();
    if !text.ends_with(b"\n") {
        return;
    }
    let body = &text[..text.len() - 1];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let half = &body[start..start + (body.len() - start) / 2];
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&paths.file)
        .unwrap_or_else(|e| panic!("{e}"));
    std::io::Write::write_all(&mut f, half).unwrap_or_else(|e| panic!("{e}"));
}

fn ids_in(path: &Path) -> BTreeSet<String> {
    let scan = file::scan(path).unwrap_or_else(|e| panic!("{e}"));
    scan.records.iter().map(|r| r.body.id.clone()).collect()
}

#[test]
fn concurrent_writers_and_killed_writers_lose_no_acknowledged_note() {
    let env = Env::new();
    let (code, out, err) = env.run(&[
        "incident",
        "declare",
        "--title",
        "concurrency drill",
        "--severity",
        "SEV3",
    ]);
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();
    let paths = JournalPaths::in_dir(&env.data.join("incidents").join(&id));
    let env = Arc::new(env);
    let done = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let env = Arc::clone(&env);
            let id = id.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for n in 0..NOTES_EACH {
                    let text = format!("writer {w} note {n}");
                    let (code, out, err) = env.run(&["note", "--incident", &id, &text]);
                    assert_eq!(code, 0, "writer {w} note {n}: {err}");
                    let entry = out.trim().to_string();
                    assert_eq!(entry.len(), 26, "a ULID is printed once the note is durable: {out:?}");
                    acked.push(entry);
                }
                acked
            })
        })
        .collect();

    let saboteur = {
        let env = Arc::clone(&env);
        let id = id.clone();
        let done = Arc::clone(&done);
        let paths = paths.clone();
        std::thread::spawn(move || {
            let mut rng = Lcg(0x5eed);
            let (mut killed, mut torn) = (0, 0);
            while !done.load(Ordering::SeqCst) {
                if rng.next(4) == 0 {
                    tear(&paths);
                    torn += 1;
                }
                let Ok(child) = env
                    .command(&["note", "--incident", &id, "victim"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                else {
                    continue;
                };
                // Kill it at a random moment of its life: before, during or after its append.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(Duration::from_micros(rng.next(20_000)));
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                let mut child = child;
                let _ = child.wait();
                killed += 1;
            }
            (killed, torn)
        })
    };

    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.join().unwrap_or_else(|_| panic!("a writer thread panicked")));
    }
    done.store(true, Ordering::SeqCst);
    let (killed, torn) = saboteur.join().unwrap_or_else(|_| panic!("the saboteur panicked"));
    assert!(
        killed > 10 && torn > 0,
        "the drill killed {killed} writers and tore {torn} records"
    );

    // The next writer repairs whatever tail the last killed writer left; then the chain verifies.
    let (code, _, err) = env.run(&["note", "--incident", &id, "after the drill"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = env.run(&["verify", "--incident", &id]);
    assert_eq!(code, 0, "verify failed: {out}{err}");
    assert!(out.contains("chain and checksums intact"), "{out}");

    let present = ids_in(&paths.file);
    let missing: Vec<&String> = acknowledged.iter().filter(|a| !present.contains(*a)).collect();
    assert_eq!(acknowledged.len(), WRITERS * NOTES_EACH);
    assert!(
        missing.is_empty(),
        "{} acknowledged notes are missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
}
