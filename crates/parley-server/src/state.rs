//! What every handler shares: the chat rules, auth, limits, metrics, config.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use parley_core::chat::Chat;
use parley_core::ports::Health;

use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::config::Config;
use crate::gateway::hub::Hub;
use crate::gateway::limits::SessionLimits;
use crate::metrics::Metrics;
use crate::origin::Origins;
use crate::rate::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub chat: Chat,
    pub auth: Arc<Auth>,
    /// Budgets of writes and expensive reads, per user or client address.
    pub rates: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub hub: Arc<Hub>,
    /// The origins that may use the session cookie.
    pub origins: Arc<Origins>,
    /// Live sessions per user and per client address.
    pub session_limits: Arc<SessionLimits>,
    /// What `/readyz` asks besides the store, by name: Kafka and Redis in
    /// cluster mode.
    pub ready_checks: Vec<(&'static str, Arc<dyn Health>)>,
    /// Session tasks the app spawns itself (SSE); waited for at shutdown.
    pub tasks: TaskTracker,
}

impl AppState {
    /// Whether the request's `Origin` is the server's own or an allowed one
    /// ([`crate::origin`]). No `Origin` is not allowed; `Host` is not asked.
    pub fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).is_some_and(|origin| self.origins.allows(origin))
    }
}
