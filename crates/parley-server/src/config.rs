//! Typed configuration, layered: defaults, then `parley.toml`, then `PARLEY_*`
//! environment variables, then flags. Loaded once and passed down.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

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
}

#[derive(Debug, Default, Args)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "PARLEY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL (`postgres://user:password@host/db`) instead of SQLite: the
    /// store every node of a cluster shares.
    #[arg(long, env = "PARLEY_DATABASE", hide_env_values = true)]
    pub database: Option<Secret>,
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
    /// Where people reach this server (`https://chat.example.com`): then the
    /// server's only own origin, and HSTS when https. Without it, the listen
    /// address's own `http://` origins.
    #[arg(long, env = "PARLEY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Serve `/metrics` (and `/healthz`, `/readyz`) on this address too
    /// (`127.0.0.1:9090`). The public port serves `/metrics` only with
    /// `--metrics-token`.
    #[arg(long, env = "PARLEY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// `/metrics` on the public port, for `Authorization: Bearer <this>`.
    #[arg(long, env = "PARLEY_METRICS_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub metrics_token: Option<Secret>,
    /// Sends per second per user (burst twice that); 0 = no limit.
    #[arg(long, env = "PARLEY_SEND_RATE")]
    pub send_rate: Option<u32>,
    /// A rate limit's budget, `CLASS=COUNT/WINDOW` (`channels=20/10m`;
    /// window in ms, s, m or h), or `CLASS=0` for none; `all` is every
    /// class but messages. Repeat, or separate with commas; later wins. The
    /// classes and their defaults: docs/operations.md, "Security".
    #[arg(long = "rate-limit", env = "PARLEY_RATE_LIMIT", value_delimiter = ',', value_name = "CLASS=COUNT/WINDOW")]
    pub rate_limits: Vec<RateLimitSetting>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// A proxy (its IP address) whose `X-Forwarded-For` names the client:
    /// the rightmost address there that is not itself a trusted proxy.
    /// Repeat, or separate with commas. Without one, a client is its peer
    /// address.
    #[arg(long = "trusted-proxy", env = "PARLEY_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Kafka bootstrap servers (`host:port,…`): cluster mode. Needs `--database`.
    #[arg(long, env = "PARLEY_KAFKA")]
    pub kafka: Option<String>,
    /// What this node runs in cluster mode: the gateway, the processor, or both.
    #[arg(long, env = "PARLEY_ROLE", value_enum)]
    pub role: Option<Role>,
    /// Partitions of the Kafka topics Parley creates (existing ones are kept).
    #[arg(long, env = "PARLEY_KAFKA_PARTITIONS")]
    pub kafka_partitions: Option<i32>,
    /// Replication factor of the Kafka topics Parley creates; from 3 up they
    /// also get `min.insync.replicas=2`.
    #[arg(long, env = "PARLEY_KAFKA_REPLICATION")]
    pub kafka_replication: Option<i32>,
    /// Names Parley's topics (`<prefix>.events`, `<prefix>.commands`) and its
    /// processors' consumer group (`<prefix>.processors`): installations
    /// sharing one Kafka each take their own.
    #[arg(long, env = "PARLEY_KAFKA_PREFIX")]
    pub kafka_prefix: Option<String>,
    /// Redis (`redis://host:port`) for presence, typing and read markers
    /// across the nodes of a cluster; without it each node knows only its own
    /// sessions.
    #[arg(long, env = "PARLEY_REDIS", hide_env_values = true)]
    pub redis: Option<Secret>,
    /// Conformance testing only: `/api/v1/ws` echoes every message instead
    /// of speaking Parley's protocol (for the Autobahn fuzzing client).
    #[arg(long, env = "PARLEY_WS_ECHO", hide = true)]
    pub ws_echo: bool,
}

/// What one client may hold of the server: the connection and session
/// limits of docs/operations.md ("Security").
#[derive(Debug, Default, Clone, Args)]
pub struct LimitArgs {
    /// Seconds a client may take to send a request's headers: from
    /// connecting, or from the first byte of a later request.
    #[arg(long, env = "PARLEY_HEADER_TIMEOUT", value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// A request body must bring `--body-min-rate` bytes a second over
    /// every window of this many seconds (or end), or it is cut with 408.
    #[arg(long, env = "PARLEY_BODY_TIMEOUT", value_name = "SECONDS")]
    pub body_timeout: Option<u64>,
    /// The least rate, in bytes a second, at which a request body must arrive.
    #[arg(long, env = "PARLEY_BODY_MIN_RATE", value_name = "BYTES")]
    pub body_min_rate: Option<u64>,
    /// Seconds a kept-alive connection may sit idle between requests.
    #[arg(long, env = "PARLEY_KEEPALIVE_TIMEOUT", value_name = "SECONDS")]
    pub keepalive_timeout: Option<u64>,
    /// Open connections at most; beyond, new ones are closed at once. By
    /// default, and at most, the open-file limit less room for the store.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Live sessions (WebSocket and SSE) of one user on this node; 0 = no limit.
    #[arg(long, env = "PARLEY_MAX_SESSIONS_PER_USER")]
    pub max_sessions_per_user: Option<usize>,
    /// Live sessions from one client address (IPv6: one /64); 0 = no limit.
    #[arg(long, env = "PARLEY_MAX_SESSIONS_PER_ADDRESS")]
    pub max_sessions_per_address: Option<usize>,
}

/// `parley.toml`: every key optional, the same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    public_url: Option<String>,
    metrics_listen: Option<SocketAddr>,
    metrics_token: Option<Secret>,
    send_rate: Option<u32>,
    #[serde(default)]
    rate_limits: Vec<RateLimitSetting>,
    header_timeout: Option<u64>,
    body_timeout: Option<u64>,
    body_min_rate: Option<u64>,
    keepalive_timeout: Option<u64>,
    max_connections: Option<usize>,
    max_sessions_per_user: Option<usize>,
    max_sessions_per_address: Option<usize>,
    #[serde(default)]
    trusted_proxies: Vec<TrustedProxy>,
    database: Option<Secret>,
    kafka: Option<String>,
    role: Option<Role>,
    kafka_partitions: Option<i32>,
    kafka_replication: Option<i32>,
    kafka_prefix: Option<String>,
    redis: Option<Secret>,
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
    /// Flag, else `parley.toml`, else the default.
    fn load(args: &LimitArgs, file: &FileConfig) -> anyhow::Result<Limits> {
        let d = Limits::default();
        let seconds = |name: &str, set: Option<u64>, default: Duration| match set {
            None => Ok(default),
            Some(0) => Err(anyhow::anyhow!("{name} must be at least 1 second")),
            Some(secs) => Ok(Duration::from_secs(secs)),
        };
        let (per_user, per_address) = (args.max_sessions_per_user, args.max_sessions_per_address);
        Ok(Limits {
            header_timeout: seconds("header-timeout", args.header_timeout.or(file.header_timeout), d.header_timeout)?,
            body_timeout: seconds("body-timeout", args.body_timeout.or(file.body_timeout), d.body_timeout)?,
            body_min_rate: args.body_min_rate.or(file.body_min_rate).unwrap_or(d.body_min_rate),
            keepalive_timeout: seconds(
                "keepalive-timeout",
                args.keepalive_timeout.or(file.keepalive_timeout),
                d.keepalive_timeout,
            )?,
            max_connections: args.max_connections.or(file.max_connections),
            max_sessions_per_user: per_user.or(file.max_sessions_per_user).unwrap_or(d.max_sessions_per_user),
            max_sessions_per_address: per_address
                .or(file.max_sessions_per_address)
                .unwrap_or(d.max_sessions_per_address),
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
    /// Builds the configuration of `serve` (or of `migrate`, which uses only the store part).
    pub fn load(file: Option<&Path>, args: &ServeArgs) -> anyhow::Result<Config> {
        let file = read_file(file)?;
        let defaults = Config::default();
        let limits = Limits::load(&args.limits, &file)?;
        let mut rate_limits = file.rate_limits;
        rate_limits.extend(args.rate_limits.iter().copied());
        let mut trusted_proxies = file.trusted_proxies;
        trusted_proxies.extend(args.trusted_proxies.iter().copied());
        let mut allowed_origins = file.allowed_origins;
        allowed_origins.extend(args.allowed_origins.iter().cloned());
        let allowed_origins = allowed_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| parse_setting(o).map_err(|e| anyhow::anyhow!("allowed-origin: {e}")))
            .collect::<anyhow::Result<_>>()?;
        let public_url = args.public_url.clone().or(file.public_url);
        let public_url =
            public_url.map(|url| parse_setting(&url).map_err(|e| anyhow::anyhow!("public-url: {e}"))).transpose()?;
        let metrics_token = args.metrics_token.clone().or(file.metrics_token);
        if let Some(token) = &metrics_token {
            anyhow::ensure!(
                token.expose().len() >= MIN_METRICS_TOKEN,
                "metrics-token must be at least {MIN_METRICS_TOKEN} characters (e.g. `openssl rand -hex 32`)"
            );
        }
        let database = args.store.database.clone().or(file.database);
        let role = args.role.or(file.role);
        let cluster = match args.kafka.clone().or(file.kafka) {
            Some(kafka) => {
                anyhow::ensure!(
                    database.is_some(),
                    "cluster mode (--kafka) needs --database: every node shares the store"
                );
                Some(Cluster {
                    kafka,
                    role: role.unwrap_or_default(),
                    partitions: args.kafka_partitions.or(file.kafka_partitions).unwrap_or(12),
                    replication: args.kafka_replication.or(file.kafka_replication).unwrap_or(1),
                    prefix: args.kafka_prefix.clone().or(file.kafka_prefix).unwrap_or_else(|| "parley".into()),
                    redis: args.redis.clone().or(file.redis),
                })
            }
            None => {
                anyhow::ensure!(role.is_none_or(|r| r == Role::All), "--role needs cluster mode (--kafka)");
                anyhow::ensure!(args.redis.is_none() && file.redis.is_none(), "--redis needs cluster mode (--kafka)");
                None
            }
        };
        Ok(Config {
            database,
            cluster,
            listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
            data_dir: args.store.data_dir.clone().or(file.data_dir).unwrap_or(defaults.data_dir),
            allowed_origins,
            public_url,
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            metrics_token,
            send_rate: args.send_rate.or(file.send_rate).unwrap_or(defaults.send_rate),
            rate_limits,
            limits,
            trusted_proxies,
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
        assert_eq!(config.allowed_origins, vec!["https://a.example".parse::<Origin>().unwrap()]);
    }

    #[test]
    fn the_public_url_and_the_metrics_settings() {
        let serve = |extra: &[&str]| {
            let cli = Cli::try_parse_from([&["parley", "serve"], extra].concat()).unwrap();
            let Some(Command::Serve(args)) = cli.command else { unreachable!() };
            Config::load(None, &args)
        };
        let token = "0123456789abcdef";
        let config = serve(&[
            "--public-url",
            "https://Chat.example.com/",
            "--metrics-listen",
            "127.0.0.1:9090",
            "--metrics-token",
            token,
        ])
        .unwrap();
        assert_eq!(config.public_url.map(|u| u.to_string()).as_deref(), Some("https://chat.example.com"));
        assert_eq!(config.metrics_listen, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(config.metrics_token.as_ref().map(Secret::expose), Some(token));
        assert!(!format!("{:?}", config.metrics_token).contains(token));
        let defaults = serve(&[]).unwrap();
        assert!(defaults.public_url.is_none() && defaults.metrics_listen.is_none() && defaults.metrics_token.is_none());
        assert!(serve(&["--public-url", "https://chat.example.com/chat"]).is_err(), "a path");
        assert!(serve(&["--public-url", "chat.example.com"]).is_err(), "no scheme");
        assert!(serve(&["--allowed-origin", "https://a.example/x"]).is_err(), "a path");
        assert!(serve(&["--metrics-token", "short"]).is_err(), "a guessable token");
    }

    #[test]
    fn cluster_mode_needs_kafka_and_a_database_and_keeps_the_password_out_of_debug() {
        let args = |extra: &[&str]| {
            let cli = Cli::try_parse_from([&["parley", "serve"], extra].concat()).unwrap();
            match cli.command {
                Some(Command::Serve(args)) => args,
                _ => unreachable!(),
            }
        };
        let db = ["--database", "postgres://parley:hunter2@db/parley"];
        let config =
            Config::load(None, &args(&[&db[..], &["--kafka", "k:9092", "--role", "gateway"]].concat())).unwrap();
        let cluster = config.cluster.clone().unwrap();
        assert_eq!((cluster.kafka.as_str(), cluster.role, cluster.partitions), ("k:9092", Role::Gateway, 12));
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(Config::load(None, &args(&["--kafka", "k:9092"])).is_err(), "kafka without a database");
        assert!(Config::load(None, &args(&["--role", "processor"])).is_err(), "a role without kafka");
        assert!(Config::load(None, &args(&db)).unwrap().cluster.is_none(), "PostgreSQL alone is one node");
    }

    #[test]
    fn limits_come_from_flags_then_the_file_then_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        let file = "header-timeout = 3\nmax-sessions-per-user = 5\ntrusted-proxies = [\"10.0.0.1\"]\n";
        std::fs::write(&path, file).unwrap();
        let cli = Cli::try_parse_from([
            "parley",
            "serve",
            "--max-sessions-per-user",
            "7",
            "--keepalive-timeout",
            "30",
            "--trusted-proxy",
            "127.0.0.1,::1,192.168.0.0/16",
        ])
        .unwrap();
        let Some(Command::Serve(args)) = cli.command else { unreachable!() };
        let config = Config::load(Some(&path), &args).unwrap();
        let limits = config.limits;
        assert_eq!(limits.header_timeout, Duration::from_secs(3), "from the file");
        assert_eq!(limits.keepalive_timeout, Duration::from_secs(30), "from the flag");
        assert_eq!(limits.max_sessions_per_user, 7, "the flag beats the file");
        assert_eq!((limits.body_timeout, limits.body_min_rate), (Duration::from_secs(10), 1024), "defaults");
        assert_eq!((limits.max_sessions_per_address, limits.max_connections), (200, None));
        let proxies: Vec<TrustedProxy> =
            ["10.0.0.1", "127.0.0.1", "::1", "192.168.0.0/16"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(config.trusted_proxies, proxies);
        let zero =
            ServeArgs { limits: LimitArgs { header_timeout: Some(0), ..LimitArgs::default() }, ..ServeArgs::default() };
        assert!(Config::load(None, &zero).is_err(), "a timeout of 0 s");
    }

    #[test]
    fn rate_limits_are_the_file_s_then_the_flags_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "rate-limits = [\"channels=5/1m\", \"invites=0\"]\n").unwrap();
        let cli =
            Cli::try_parse_from(["parley", "serve", "--rate-limit", "channels=7/1h,all=0", "--rate-limit", "dms=1/1s"])
                .unwrap();
        let Some(Command::Serve(args)) = cli.command else { unreachable!() };
        let config = Config::load(Some(&path), &args).unwrap();
        let written: Vec<String> = config
            .rate_limits
            .iter()
            .map(|s| format!("{:?}={}", s.class, s.budget.map_or("0".into(), |b| b.to_string())))
            .collect();
        assert_eq!(
            written,
            ["Some(Channels)=5/1m", "Some(Invites)=0", "Some(Channels)=7/1h", "None=0", "Some(Dms)=1/1s"]
        );
        assert!(Cli::try_parse_from(["parley", "serve", "--rate-limit", "chanels=1/1s"]).is_err(), "a typo");
        std::fs::write(&path, "rate-limits = [\"channels=5\"]\n").unwrap();
        assert!(Config::load(Some(&path), &ServeArgs::default()).is_err(), "no window");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(Config::load(Some(&path), &ServeArgs::default()).is_err());
    }
}
