//! Typed configuration, layered: defaults, then `parley.toml`, then `PARLEY_*`
//! environment variables, then flags. Loaded once and passed down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(name = "parley", version, about = "Parley: a self-hosted real-time chat server")]
pub struct Cli {
    /// Configuration file; `./parley.toml` is read when it exists.
    #[arg(long, env = "PARLEY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Apply schema migrations and exit.
    Migrate(StoreArgs),
}

#[derive(Debug, Default, Args)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "PARLEY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "PARLEY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// An origin (`https://chat.example.com`) allowed to make cookie-authenticated
    /// changes, besides the server's own. Repeat, or separate with commas.
    #[arg(long = "allowed-origin", env = "PARLEY_ALLOWED_ORIGIN", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Sends per second per user (burst twice that); 0 = no limit.
    #[arg(long, env = "PARLEY_SEND_RATE")]
    pub send_rate: Option<u32>,
    /// Conformance testing only: `/api/v1/ws` echoes every message instead
    /// of speaking Parley's protocol (for the Autobahn fuzzing client).
    #[arg(long, env = "PARLEY_WS_ECHO", hide = true)]
    pub ws_echo: bool,
}

/// `parley.toml`: every key optional, the same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    send_rate: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Origins allowed besides the server's own (compared with `Host`).
    pub allowed_origins: Vec<String>,
    pub send_rate: u32,
    /// Frames a live session may have queued before it is closed with 1008.
    pub session_queue: usize,
    /// `/api/v1/ws` echoes instead of serving sessions (Autobahn runs only).
    pub ws_echo: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            allowed_origins: Vec::new(),
            send_rate: 10,
            session_queue: crate::gateway::hub::SESSION_QUEUE,
            ws_echo: false,
        }
    }
}

impl Config {
    /// Builds the configuration of `serve` (or of `migrate`, which uses only the store part).
    pub fn load(file: Option<&Path>, args: &ServeArgs) -> anyhow::Result<Config> {
        let file = read_file(file)?;
        let defaults = Config::default();
        let mut allowed_origins = file.allowed_origins;
        allowed_origins.extend(args.allowed_origins.iter().cloned());
        let allowed_origins = allowed_origins
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        Ok(Config {
            listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
            data_dir: args.store.data_dir.clone().or(file.data_dir).unwrap_or(defaults.data_dir),
            allowed_origins,
            send_rate: args.send_rate.or(file.send_rate).unwrap_or(defaults.send_rate),
            session_queue: defaults.session_queue,
            ws_echo: args.ws_echo,
        })
    }
}

fn read_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None if Path::new("parley.toml").exists() => PathBuf::from("parley.toml"),
        None => return Ok(FileConfig::default()),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nsend-rate = 5\nallowed-origins = [\"https://a.example/\"]\n",
        )
        .unwrap();
        let args = ServeArgs { send_rate: Some(7), ..ServeArgs::default() };
        let config = Config::load(Some(&path), &args).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.send_rate, 7);
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.allowed_origins, vec!["https://a.example".to_owned()]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(Config::load(Some(&path), &ServeArgs::default()).is_err());
    }
}
