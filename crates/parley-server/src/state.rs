//! What every handler shares: the chat rules, auth, limits, metrics, config.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use parley_core::chat::Chat;
use parley_core::ports::Health;
use parley_core::presence::Presence;

use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::config::Config;
use crate::gateway::hub::Hub;
use crate::gateway::limits::SessionLimits;
use crate::metrics::Metrics;
use crate::rate::SendLimiter;

#[derive(Clone)]
pub struct AppState {
    pub chat: Chat,
    pub auth: Arc<Auth>,
    pub sends: Arc<SendLimiter>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub hub: Arc<Hub>,
    /// Live sessions per user and per client address.
    pub session_limits: Arc<SessionLimits>,
    /// What `/readyz` asks besides the store, by name: Kafka and Redis in
    /// cluster mode.
    pub ready_checks: Vec<(&'static str, Arc<dyn Health>)>,
    /// Cluster mode with Redis: who is online on any node.
    pub presence: Option<Arc<dyn Presence>>,
    /// Session tasks the app spawns itself (SSE); waited for at shutdown.
    pub tasks: TaskTracker,
}

impl AppState {
    /// Whether the request's `Origin` is the server itself (as named by `Host`)
    /// or one of the configured origins. No `Origin` is not allowed.
    pub fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let origin = origin.trim_end_matches('/');
        if self.config.allowed_origins.iter().any(|allowed| allowed == origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        matches!((host, authority), (Some(host), Some(authority)) if host.eq_ignore_ascii_case(authority))
    }
}
