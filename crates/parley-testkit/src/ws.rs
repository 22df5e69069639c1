//! A WebSocket client for tests: says `hello`, reads frames as JSON, reports close codes.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How long a test waits for any one frame.
const PATIENCE: Duration = Duration::from_secs(20);

impl WsClient {
    /// Opens `/api/v1/ws` without saying anything yet.
    pub async fn open(addr: SocketAddr) -> WsClient {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws")).await.expect("websocket connects");
        WsClient { socket }
    }

    /// Connects, says hello with `token` and `resume`, and returns the `ready` frame.
    pub async fn connect(addr: SocketAddr, token: &str, resume: Value) -> (WsClient, Value) {
        let mut client = WsClient::open(addr).await;
        client.send(json!({"type": "hello", "token": token, "resume": resume})).await;
        let ready = client.next_of("ready").await;
        (client, ready)
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket.send(Message::Text(frame.to_string().into())).await.expect("frame sent");
    }

    /// Sends a message and does not wait for its ack.
    pub async fn post(&mut self, reference: impl Into<Value>, channel: &str, client_msg_id: &str, body: &str) {
        self.send(json!({"type": "send", "ref": reference.into(), "channel_id": channel,
                         "client_msg_id": client_msg_id, "body": body}))
            .await;
    }

    /// The next JSON frame; panics on close or silence.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("frame read");
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON frame"),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Reads until the server closes; returns the close code (None if the
    /// connection ended without a close frame).
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(PATIENCE * 3, self.socket.next()).await.expect("closed in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Collects `event` frames of `channel` until one has `seq >= through`.
    pub async fn events_through(&mut self, channel: &str, through: i64) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let frame = self.next_of("event").await;
            let event = frame["event"].clone();
            if event["channel_id"] != channel {
                continue;
            }
            let seq = event["seq"].as_i64().expect("seq");
            events.push(event);
            if seq >= through {
                return events;
            }
        }
    }
}
