//! The test app: the real server on port 0 over a fresh data directory, and a
//! small HTTP client that speaks its REST API.

use std::net::SocketAddr;

use parley_core::accounts::Registration;
use parley_server::rate::RateLimitSetting;
use parley_server::{Application, Config};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub addr: SocketAddr,
    /// `--metrics-listen`'s address, when the config set one.
    pub metrics_addr: Option<SocketAddr>,
    pub http: reqwest::Client,
    pub data_dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A registered user of a [`TestApp`].
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub token: String,
}

/// Starts the server with no rate limits: tests register many users from
/// one address, and those that check a limit set it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server after `adjust` has had its say on the config.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_test_log();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.path().to_owned(),
        send_rate: 0,
        registration: Registration::Open,
        rate_limits: vec![RateLimitSetting::ALL_OFF],
        ..Config::default()
    };
    adjust(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let (addr, metrics_addr) = (app.local_addr(), app.metrics_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder().cookie_store(false).build().expect("http client");
    TestApp { addr, metrics_addr, http, data_dir, stop: Some(stop), task: Some(task) }
}

/// Logs only when `TEST_LOG=1`.
pub fn init_test_log() {
    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
        parley_server::telemetry::init();
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request with an optional bearer token and JSON body; returns
    /// the status and the JSON answer (`Value::Null` for an empty one).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("response body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn register(&self, username: &str) -> TestUser {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(serde_json::json!({"username": username, "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {username}: {body}");
        TestUser {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            username: body["user"]["username"].as_str().expect("username").to_owned(),
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// Creates a channel as `owner` and returns its id.
    pub async fn create_channel(&self, owner: &TestUser, name: &str, kind: &str) -> String {
        let (status, body) =
            self.post("/api/v1/channels", &owner.token, serde_json::json!({"name": name, "kind": kind})).await;
        assert_eq!(status, StatusCode::CREATED, "create channel: {body}");
        body["channel"]["id"].as_str().expect("channel id").to_owned()
    }

    /// Posts a message and returns the stored event.
    pub async fn send(&self, user: &TestUser, channel: &str, client_msg_id: &str, text: &str) -> Value {
        let (status, body) = self
            .post(
                &format!("/api/v1/channels/{channel}/messages"),
                &user.token,
                serde_json::json!({"body": text, "client_msg_id": client_msg_id}),
            )
            .await;
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "send: {status} {body}");
        body["event"].clone()
    }

    /// Stops the server the way SIGTERM does and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
