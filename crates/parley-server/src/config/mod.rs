//! Typed configuration, layered: defaults, then `parley.toml`, then `PARLEY_*`
//! environment variables, then flags. Each setting is declared once, in
//! [`args`]; loaded once here and passed down.

mod args;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use parley_core::accounts::Registration;
use serde::Deserialize;

use self::args::Layer;
pub use self::args::{LimitArgs, ServeArgs, StoreArgs};
use crate::client_addr::TrustedProxy;
use crate::origin::{parse_setting, Origin};
use crate::rate::RateLimitSetting;

/// A shorter `--metrics-token` is refused: it guards the public port.
const MIN_METRICS_TOKEN: usize = 16;

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
    Serve(Box<ServeArgs>),
    /// Apply schema migrations and exit.
    Migrate(StoreArgs),
    /// Work on the store directly, for whoever runs the machine: an account
    /// locked out of the server, a first admin. On SQLite, with the server stopped.
    Admin(AdminArgs),
    /// Write every user, channel, membership and event as JSON Lines into a
    /// new directory (docs/operations.md, "Export").
    Export(ExportArgs),
    /// Read what `parley export` wrote into an empty store, or a Slack
    /// workspace's export (`--slack`) into any store (docs/operations.md,
    /// "Import" and "Moving from Slack"). With the server stopped.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The directory `parley export` wrote, or with `--slack` the .zip file
    /// Slack's workspace export gives.
    pub source: PathBuf,
    /// `SOURCE` is a Slack export: its users, channels (and private channels
    /// and DMs when it has them), messages, threads and reactions are added
    /// (again: nothing twice).
    #[arg(long)]
    pub slack: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A directory to create, or an empty one.
    #[arg(long)]
    pub out: PathBuf,
    /// Include users' password hashes (argon2id), so that they can sign in
    /// with their passwords after an import.
    #[arg(long)]
    pub with_credentials: bool,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub action: AdminAction,
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an account (the server's admin with `--admin`).
    CreateUser {
        username: String,
        #[arg(long)]
        admin: bool,
        /// Its password; without it one is made up and printed.
        #[arg(long, env = "PARLEY_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Make an account an admin of the server (and active again).
    Promote { username: String },
    /// Set an account's password and end its sessions.
    ResetPassword {
        username: String,
        /// The new password; without it one is made up and printed.
        #[arg(long, env = "PARLEY_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

/// Who may sign up (`--registration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistrationSetting {
    /// Anyone who reaches the server.
    Open,
    /// Only with an invite link: a channel's, or an admin's join link.
    Invite,
    /// Nobody; `parley admin create-user` makes accounts.
    Closed,
}

impl From<RegistrationSetting> for Registration {
    fn from(setting: RegistrationSetting) -> Registration {
        match setting {
            RegistrationSetting::Open => Registration::Open,
            RegistrationSetting::Invite => Registration::Invite,
            RegistrationSetting::Closed => Registration::Closed,
        }
    }
}

/// What a node runs in cluster mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Gateway and processor.
    #[default]
    All,
    /// HTTP, WebSocket, SSE and the web client; no processor.
    Gateway,
    /// Only the processor (and `/healthz`, `/readyz`, `/metrics`).
    Processor,
}

impl Role {
    pub fn gateway(self) -> bool {
        self != Role::Processor
    }

    pub fn processor(self) -> bool {
        self != Role::Gateway
    }
}

/// A value kept out of logs and `Debug` output (a database URL with its password).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Cluster mode: where Kafka is, and how topics Parley creates are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub kafka: String,
    pub role: Role,
    pub partitions: i32,
    pub replication: i32,
    /// Of the topics, the processors' group and the Redis keys.
    pub prefix: String,
    pub redis: Option<Secret>,
}

/// What one client may hold of the server (docs/operations.md, "Security").
/// The defaults are far from what a working client does, so that only a
/// client that holds on without doing anything meets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// To send a request's headers. A client sends them in one packet at
    /// once; 10 s is many round trips of a poor mobile link.
    pub header_timeout: Duration,
    /// A body must bring `body_min_rate × body_timeout` bytes in every
    /// window this long (or end). 1 KiB/s is 8 kbit/s, below any link that
    /// works; a body that stalls for 10 s is cut.
    pub body_timeout: Duration,
    pub body_min_rate: u64,
    /// Idle between two requests of a kept-alive connection. Above nginx's
    /// upstream `keepalive_timeout` (60 s), so that the proxy lets go of its
    /// pooled connections before Parley closes them under a request it is
    /// sending (which nginx does not retry for a POST).
    pub keepalive_timeout: Duration,
    /// Open connections at most; `None`: the open-file limit allows (the
    /// most, also when set: [`crate::connections::cap`]).
    pub max_connections: Option<usize>,
    /// Live sessions per user on this node, and per client address; 0 = no
    /// limit. 20 tabs and devices of one person; 200 people behind one NAT.
    pub max_sessions_per_user: usize,
    pub max_sessions_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            body_min_rate: 1024,
            keepalive_timeout: Duration::from_secs(75),
            max_connections: None,
            max_sessions_per_user: 20,
            max_sessions_per_address: 200,
        }
    }
}

impl Limits {
    /// The layered settings, else the default.
    fn load(args: LimitArgs) -> anyhow::Result<Limits> {
        let d = Limits::default();
        let seconds = |name: &str, set: Option<u64>, default: Duration| match set {
            None => Ok(default),
            Some(0) => Err(anyhow::anyhow!("{name} must be at least 1 second")),
            Some(secs) => Ok(Duration::from_secs(secs)),
        };
        Ok(Limits {
            header_timeout: seconds("header-timeout", args.header_timeout, d.header_timeout)?,
            body_timeout: seconds("body-timeout", args.body_timeout, d.body_timeout)?,
            body_min_rate: args.body_min_rate.unwrap_or(d.body_min_rate),
            keepalive_timeout: seconds("keepalive-timeout", args.keepalive_timeout, d.keepalive_timeout)?,
            max_connections: args.max_connections,
            max_sessions_per_user: args.max_sessions_per_user.unwrap_or(d.max_sessions_per_user),
            max_sessions_per_address: args.max_sessions_per_address.unwrap_or(d.max_sessions_per_address),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Origins allowed besides the server's own ([`crate::origin`]).
    pub allowed_origins: Vec<Origin>,
    /// The server's origin as people reach it; `None`: the listen address's.
    pub public_url: Option<Origin>,
    /// A listener of its own for `/metrics`, `/healthz` and `/readyz`.
    pub metrics_listen: Option<SocketAddr>,
    /// Opens `/metrics` on the public port to `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    pub send_rate: u32,
    /// Who may sign up; the first account of a fresh server always may,
    /// unless it is `Closed`.
    pub registration: Registration,
    /// Outgoing webhooks may reach private and loopback addresses.
    pub webhook_allow_private: bool,
    /// An outgoing webhook's first retry waits this long; each next one twice the last.
    pub webhook_backoff: Duration,
    /// Budgets other than the defaults of [`crate::rate::TABLE`], in order.
    pub rate_limits: Vec<RateLimitSetting>,
    pub limits: Limits,
    /// Peers whose `X-Forwarded-For` is believed ([`crate::client_addr`]).
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Frames a live session may have queued before it is closed with 1008.
    pub session_queue: usize,
    /// `/api/v1/ws` echoes instead of serving sessions (Autobahn runs only).
    pub ws_echo: bool,
    /// PostgreSQL instead of the SQLite file under `data_dir`.
    pub database: Option<Secret>,
    /// Cluster mode (Kafka); `None` is embedded.
    pub cluster: Option<Cluster>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            allowed_origins: Vec::new(),
            public_url: None,
            metrics_listen: None,
            metrics_token: None,
            send_rate: 10,
            registration: Registration::Invite,
            webhook_allow_private: false,
            webhook_backoff: Duration::from_secs(1),
            rate_limits: Vec::new(),
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            session_queue: crate::gateway::hub::SESSION_QUEUE,
            ws_echo: false,
            database: None,
            cluster: None,
        }
    }
}

impl Config {
    /// Builds the configuration of `serve` (or of `migrate`, which uses only
    /// the store part): `args` (flags, else the environment) over the file.
    pub fn load(file: Option<&Path>, args: ServeArgs) -> anyhow::Result<Config> {
        let set = args.over(read_file(file)?);
        let defaults = Config::default();
        let allowed_origins = set
            .allowed_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| parse_setting(o).map_err(|e| anyhow::anyhow!("allowed-origin: {e}")))
            .collect::<anyhow::Result<_>>()?;
        let public_url = set
            .public_url
            .map(|url| parse_setting(&url).map_err(|e| anyhow::anyhow!("public-url: {e}")))
            .transpose()?;
        if let Some(token) = &set.metrics_token {
            anyhow::ensure!(
                token.expose().len() >= MIN_METRICS_TOKEN,
                "metrics-token must be at least {MIN_METRICS_TOKEN} characters (e.g. `openssl rand -hex 32`)"
            );
        }
        let database = set.store.database;
        let cluster = match set.kafka {
            Some(kafka) => {
                anyhow::ensure!(
                    database.is_some(),
                    "cluster mode (--kafka) needs --database: every node shares the store"
                );
                Some(Cluster {
                    kafka,
                    role: set.role.unwrap_or_default(),
                    partitions: set.kafka_partitions.unwrap_or(12),
                    replication: set.kafka_replication.unwrap_or(1),
                    prefix: set.kafka_prefix.unwrap_or_else(|| "parley".into()),
                    redis: set.redis,
                })
            }
            None => {
                anyhow::ensure!(set.role.is_none_or(|r| r == Role::All), "--role needs cluster mode (--kafka)");
                anyhow::ensure!(set.redis.is_none(), "--redis needs cluster mode (--kafka)");
                None
            }
        };
        Ok(Config {
            database,
            cluster,
            listen: set.listen.unwrap_or(defaults.listen),
            data_dir: set.store.data_dir.unwrap_or(defaults.data_dir),
            allowed_origins,
            public_url,
            metrics_listen: set.metrics_listen,
            metrics_token: set.metrics_token,
            send_rate: set.send_rate.unwrap_or(defaults.send_rate),
            registration: set.registration.map_or(defaults.registration, Registration::from),
            webhook_allow_private: set.webhook_allow_private,
            webhook_backoff: defaults.webhook_backoff,
            rate_limits: set.rate_limits,
            limits: Limits::load(set.limits)?,
            trusted_proxies: set.trusted_proxies,
            session_queue: defaults.session_queue,
            ws_echo: set.ws_echo,
        })
    }
}

/// `parley.toml` (or `explicit`), in the same structs as the command line;
/// a key that names no setting is refused, so that a typo is not ignored.
fn read_file(explicit: Option<&Path>) -> anyhow::Result<ServeArgs> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None if Path::new("parley.toml").exists() => PathBuf::from("parley.toml"),
        None => return Ok(ServeArgs::default()),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let settings = ServeArgs::augment_args(clap::Command::new("parley"));
    let known: Vec<String> = settings.get_arguments().map(|arg| arg.get_id().as_str().replace('_', "-")).collect();
    if let Some(key) = table.keys().find(|key| !known.contains(key)) {
        anyhow::bail!("parsing {}: unknown setting `{key}`", path.display());
    }
    table.try_into().with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests;
