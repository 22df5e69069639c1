//! Every setting, declared once: its flag, its environment variable and its
//! help (clap), and its key in `parley.toml` (serde, the flag's long name;
//! lists in the plural). The file and the command line parse into the same
//! structs; [`Layer::over`] puts the command line (flags, else the
//! environment) over the file, field by field as [`layered!`] declares them.
//! Defaults are the typed [`Config`](super::Config)'s.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use super::{RegistrationSetting, Role, Secret};
use crate::client_addr::TrustedProxy;
use crate::rate::RateLimitSetting;

/// A layer of settings over the one below it: a value set here wins; a list
/// is the one below's, then this one's (so the command line adds to the file).
pub trait Layer {
    fn over(self, below: Self) -> Self;
}

impl<T> Layer for Option<T> {
    fn over(self, below: Self) -> Self {
        self.or(below)
    }
}

impl<T> Layer for Vec<T> {
    fn over(self, mut below: Self) -> Self {
        below.extend(self);
        below
    }
}

impl Layer for bool {
    fn over(self, below: Self) -> Self {
        self || below
    }
}

/// Declares a struct of settings and its [`Layer`], which layers every field.
macro_rules! layered {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
    pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl Layer for $name {
            fn over(self, below: Self) -> Self {
                $name { $($field: Layer::over(self.$field, below.$field),)* }
            }
        }
    };
}

layered! {
    #[derive(Debug, Default, Args, Deserialize)]
    #[serde(default, rename_all = "kebab-case")]
    pub struct StoreArgs {
        /// Directory of the embedded SQLite database.
        #[arg(long, env = "PARLEY_DATA_DIR")]
        pub data_dir: Option<PathBuf>,
        /// PostgreSQL (`postgres://user:password@host/db`) instead of SQLite: the
        /// store every node of a cluster shares.
        #[arg(long, env = "PARLEY_DATABASE", hide_env_values = true)]
        pub database: Option<Secret>,
    }
}

layered! {
    #[derive(Debug, Default, Args, Deserialize)]
    #[serde(default, rename_all = "kebab-case")]
    pub struct ServeArgs {
        #[command(flatten)]
        #[serde(flatten)]
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
        /// Who may sign up: anyone (`open`), only with an invite link
        /// (`invite`, the default), or nobody (`closed`: `parley admin
        /// create-user`). The first account of a fresh server is its admin and
        /// needs no invite.
        #[arg(long, env = "PARLEY_REGISTRATION", value_enum)]
        pub registration: Option<RegistrationSetting>,
        /// Let outgoing webhooks reach private and loopback addresses (off: a
        /// webhook cannot probe the server's own network).
        #[arg(long, env = "PARLEY_WEBHOOK_ALLOW_PRIVATE")]
        pub webhook_allow_private: bool,
        /// A rate limit's budget, `CLASS=COUNT/WINDOW` (`channels=20/10m`;
        /// window in ms, s, m or h), or `CLASS=0` for none; `all` is every
        /// class but messages. Repeat, or separate with commas; later wins. The
        /// classes and their defaults: docs/operations.md, "Security".
        #[arg(long = "rate-limit", env = "PARLEY_RATE_LIMIT", value_delimiter = ',', value_name = "CLASS=COUNT/WINDOW")]
        pub rate_limits: Vec<RateLimitSetting>,
        #[command(flatten)]
        #[serde(flatten)]
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
}

layered! {
    /// What one client may hold of the server: the connection and session
    /// limits of docs/operations.md ("Security").
    #[derive(Debug, Default, Clone, Args, Deserialize)]
    #[serde(default, rename_all = "kebab-case")]
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
}
