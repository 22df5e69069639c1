//! The few REST calls a benchmark makes, typed with `parley-protocol`.

use std::time::Duration;

use anyhow::{bail, Context};
use parley_protocol::rest::{
    AuthResponse, ChangeResponse, ChannelResponse, CreateChannelRequest, EditRequest, EventsResponse, LoginRequest,
    RegisterRequest, SearchResponse,
};
use serde::de::DeserializeOwned;

/// A registered user and its session token.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub token: String,
}

/// Every account the benchmark makes has this password.
pub const PASSWORD: &str = "parley-bench-password";

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    /// Where the server's `/metrics` is (not on its public port by default).
    metrics: Option<String>,
}

/// Server-side counters from `GET /metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCounters {
    pub messages_stored: u64,
    /// Messages and every other event (edits, reactions, joins).
    pub events_stored: u64,
    pub events_delivered: u64,
    pub store_errors: u64,
}

impl Api {
    /// `base` is `http://host:port`.
    pub fn new(base: String) -> anyhow::Result<Api> {
        // Registration waits on argon2 behind the server's hashing queue: be patient.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        Ok(Api { http, base, metrics: None })
    }

    /// Reads the server's counters from `url` (`http://127.0.0.1:9090/metrics`).
    pub fn with_metrics(self, url: Option<String>) -> Api {
        Api { metrics: url, ..self }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn register(&self, username: &str) -> anyhow::Result<Account> {
        let request = RegisterRequest {
            username: username.to_owned(),
            password: PASSWORD.to_owned(),
            display_name: None,
            invite: None,
        };
        let response = self.http.post(self.url("/api/v1/auth/register")).json(&request).send().await?;
        let auth: AuthResponse = answer(response).await.with_context(|| format!("registering {username}"))?;
        Ok(Account { id: auth.user.id, username: auth.user.username, token: auth.token })
    }

    pub async fn login(&self, username: &str) -> anyhow::Result<Account> {
        let request = LoginRequest { username: username.to_owned(), password: PASSWORD.to_owned() };
        let response = self.http.post(self.url("/api/v1/auth/login")).json(&request).send().await?;
        let auth: AuthResponse = answer(response).await.with_context(|| format!("logging in {username}"))?;
        Ok(Account { id: auth.user.id, username: auth.user.username, token: auth.token })
    }

    /// Creates a public channel; returns its id.
    pub async fn create_channel(&self, token: &str, name: &str) -> anyhow::Result<String> {
        let request = CreateChannelRequest { name: name.to_owned(), kind: "public".to_owned(), topic: None };
        let response = self.http.post(self.url("/api/v1/channels")).bearer_auth(token).json(&request).send().await?;
        let created: ChannelResponse = answer(response).await.with_context(|| format!("creating channel {name}"))?;
        Ok(created.channel.id)
    }

    pub async fn join(&self, token: &str, channel: &str) -> anyhow::Result<()> {
        let url = self.url(&format!("/api/v1/channels/{channel}/join"));
        let response = self.http.post(url).bearer_auth(token).send().await?;
        let _: ChannelResponse = answer(response).await.with_context(|| format!("joining {channel}"))?;
        Ok(())
    }

    /// How many messages one search finds (a page of at most 50); `None`
    /// when the server has no search (404).
    pub async fn search(&self, token: &str, query: &str) -> anyhow::Result<Option<usize>> {
        let url = self.url("/api/v1/search");
        let response = self.http.get(url).query(&[("q", query)]).bearer_auth(token).send().await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let found: SearchResponse = answer(response).await.with_context(|| format!("searching {query:?}"))?;
        Ok(Some(found.results.len()))
    }

    /// One page of events after `after`.
    pub async fn events_after(
        &self,
        token: &str,
        channel: &str,
        after: i64,
        limit: u32,
    ) -> anyhow::Result<EventsResponse> {
        let url = self.url(&format!("/api/v1/channels/{channel}/events?after={after}&limit={limit}"));
        let response = self.http.get(url).bearer_auth(token).send().await?;
        answer(response).await.context("paging events")
    }

    /// Edits message `seq`; says whether it stored (or, in a cluster,
    /// accepted) an event, which every member is then owed.
    pub async fn edit(
        &self,
        token: &str,
        channel: &str,
        seq: i64,
        body: &str,
        client_msg_id: &str,
    ) -> anyhow::Result<bool> {
        let url = self.url(&format!("/api/v1/channels/{channel}/messages/{seq}"));
        let request = EditRequest { body: body.to_owned(), client_msg_id: client_msg_id.to_owned() };
        changed(self.http.patch(url).bearer_auth(token).json(&request).send().await?).await
    }

    /// Adds reaction `emoji` (a `:shortcode:`) to message `seq`, as [`Api::edit`].
    pub async fn react(
        &self,
        token: &str,
        channel: &str,
        seq: i64,
        emoji: &str,
        client_msg_id: &str,
    ) -> anyhow::Result<bool> {
        let url = self.url(&format!("/api/v1/channels/{channel}/messages/{seq}/reactions/{emoji}"));
        let response = self.http.put(url).bearer_auth(token).query(&[("client_msg_id", client_msg_id)]).send().await?;
        changed(response).await
    }

    /// The counters of `/metrics`, or `None` when it is not known where they
    /// are (a `--url` without `--metrics-url`) or the server has none (the baseline).
    pub async fn counters(&self) -> Option<ServerCounters> {
        let response = self.http.get(self.metrics.as_deref()?).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let text = response.text().await.ok()?;
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
                .map(|v| v as u64)
        };
        Some(ServerCounters {
            messages_stored: value("parley_messages_stored_total")?,
            events_stored: value("parley_events_stored_total").unwrap_or(0),
            events_delivered: value("parley_events_delivered_total").unwrap_or(0),
            store_errors: value("parley_store_errors_total").unwrap_or(0),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// Whether a change's answer owes an event: 201 or 200 with the event, or
/// 202 (accepted, stored later); 200 with none changed nothing.
async fn changed(response: reqwest::Response) -> anyhow::Result<bool> {
    if response.status() == reqwest::StatusCode::ACCEPTED {
        return Ok(true);
    }
    let answer: ChangeResponse = answer(response).await?;
    Ok(answer.event.is_some())
}

/// The body of a 2xx answer, or an error naming the status and the server's error body.
async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> anyhow::Result<T> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("unexpected body: {text}"))
}
