//! Secrets in the config: `token = "${ENV}"` (resolved from the environment) or a literal, and
//! `token_file` (refused when group or others can read it). `Debug` never prints a secret.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer};

/// A secret as written in the config. Resolving it reads the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.env_name() {
            Some(name) => write!(f, "Secret(${{{name}}})"),
            None => f.write_str("Secret(<redacted>)"),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is readable by group or others (mode {mode:04o}); run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error("{path} is empty")]
    Empty { path: String },
}

impl Secret {
    pub fn literal(text: &str) -> Self {
        Self(text.to_string())
    }

    /// The variable name when written as `${NAME}`.
    pub fn env_name(&self) -> Option<&str> {
        self.0.strip_prefix("${").and_then(|s| s.strip_suffix('}'))
    }

    /// The secret value, from the environment (through `env`) or literally.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, SecretError> {
        match self.env_name() {
            Some(name) => env(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| SecretError::MissingEnv(name.to_string())),
            None => Ok(self.0.clone()),
        }
    }
}

/// Reads a token file, refusing one that group or others can read.
pub fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| SecretError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::TooOpen { path: shown, mode });
    }
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(SecretError::Empty { path: shown });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_literal_secret() {
        assert_eq!(format!("{:?}", Secret::literal("s3cr3t")), "Secret(<redacted>)");
        assert_eq!(
            format!("{:?}", Secret::literal("${PROM_TOKEN}")),
            "Secret(${PROM_TOKEN})"
        );
    }

    #[test]
    fn env_secrets_resolve_or_name_the_variable() {
        let env = |name: &str| (name == "SET").then(|| "tok".to_string());
        assert_eq!(Secret::literal("${SET}").resolve(&env), Ok("tok".into()));
        assert_eq!(
            Secret::literal("${UNSET}").resolve(&env),
            Err(SecretError::MissingEnv("UNSET".into()))
        );
        assert_eq!(Secret::literal("plain").resolve(&env), Ok("plain".into()));
    }

    #[test]
    fn token_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t");
        std::fs::write(&path, "abc\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            read_secret_file(&path),
            Err(SecretError::TooOpen { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_secret_file(&path), Ok("abc".into()));
    }
}
