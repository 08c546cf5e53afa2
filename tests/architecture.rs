//! The layering rules of docs/architecture.md, checked mechanically: the pure layers (domain,
//! update, ui) import no I/O, async or terminal crates. (Clock reads are refused by clippy.toml.)

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn check(paths: &[&str], forbidden: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for p in paths {
        let path = root.join(p);
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    assert!(!files.is_empty());
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) && !line.trim_start().starts_with("//") {
                    violations.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
}

#[test]
fn domain_is_pure_data_and_math() {
    check(
        &["src/domain"],
        &[
            "tokio",
            "reqwest",
            "ratatui",
            "crossterm",
            "std::fs",
            "std::process",
            "std::env",
            "std::net",
        ],
    );
}

#[test]
fn update_and_views_do_no_io() {
    check(
        &[
            "src/app/update.rs",
            "src/app/panes",
            "src/app/keymap.rs",
            "src/app/palette.rs",
            "src/ui",
        ],
        &[
            "tokio",
            "reqwest",
            "std::fs",
            "std::process",
            "std::env",
            "std::net",
            "std::io",
            "spawn(",
        ],
    );
}

#[test]
fn every_module_says_what_it_owns() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap_or_default()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! line:\n{}",
        missing.join("\n")
    );
}
