//! Where warroom keeps things: the config file (from `--config`, `WARROOM_CONFIG` or the platform's
//! config directory), the data directory (`WARROOM_DATA_DIR` or the platform's), logs, incidents and
//! user themes.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    /// Whether the config file was named explicitly (then it must exist).
    pub config_explicit: bool,
    pub config_dir: PathBuf,
    pub themes_dir: PathBuf,
    pub data_dir: PathBuf,
    pub incidents_dir: PathBuf,
    pub log_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot find a home directory for warroom's files; set WARROOM_CONFIG and WARROOM_DATA_DIR")]
pub struct NoHome;

impl Paths {
    /// Resolves every path; `env` reads the environment (injected for tests).
    pub fn resolve(cli_config: Option<PathBuf>, env: &dyn Fn(&str) -> Option<String>) -> Result<Paths, NoHome> {
        let dirs = directories::ProjectDirs::from("", "", "warroom");
        let env_path = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let explicit = cli_config.or_else(|| env_path("WARROOM_CONFIG"));
        let config_dir = match (&explicit, &dirs) {
            (_, Some(d)) => d.config_dir().to_path_buf(),
            (Some(file), None) => file.parent().map(PathBuf::from).unwrap_or_default(),
            (None, None) => return Err(NoHome),
        };
        let data_dir = match (env_path("WARROOM_DATA_DIR"), &dirs) {
            (Some(d), _) => d,
            (None, Some(d)) => d.data_dir().to_path_buf(),
            (None, None) => return Err(NoHome),
        };
        Ok(Paths {
            config_file: explicit.clone().unwrap_or_else(|| config_dir.join("config.toml")),
            config_explicit: explicit.is_some(),
            themes_dir: config_dir.join("themes"),
            config_dir,
            incidents_dir: data_dir.join("incidents"),
            log_dir: data_dir.join("logs"),
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_platform_dirs() {
        let env = |name: &str| match name {
            "WARROOM_CONFIG" => Some("/etc/warroom/prod.toml".to_string()),
            "WARROOM_DATA_DIR" => Some("/var/lib/warroom".to_string()),
            _ => None,
        };
        let p = Paths::resolve(None, &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.config_file, PathBuf::from("/etc/warroom/prod.toml"));
        assert!(p.config_explicit);
        assert_eq!(p.incidents_dir, PathBuf::from("/var/lib/warroom/incidents"));
        assert_eq!(p.log_dir, PathBuf::from("/var/lib/warroom/logs"));
        let cli = Paths::resolve(Some("/tmp/x.toml".into()), &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cli.config_file,
            PathBuf::from("/tmp/x.toml"),
            "--config wins over WARROOM_CONFIG"
        );
    }
}
