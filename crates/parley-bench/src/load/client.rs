//! Opening a WebSocket session: TCP from a chosen source address, the
//! upgrade with a small read buffer, then `hello` and `ready`.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use parley_protocol::{ClientFrame, ServerFrame};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// Read at least this much at a time: tungstenite's default (128 KiB) times
/// ten thousand sessions would be more memory than the server uses.
const READ_BUFFER: usize = 16 * 1024;
const HELLO_WITHIN: Duration = Duration::from_secs(60);

/// Opens a TCP connection (from `source` if given) and upgrades it.
pub async fn connect(addr: SocketAddr, url: &str, source: Option<IpAddr>) -> anyhow::Result<Ws> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0)).with_context(|| format!("binding to {ip}"))?;
    }
    let stream = socket.connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// Says `hello` and waits for `ready`; returns each channel's `last_seq`.
pub async fn hello(
    ws: &mut Ws,
    token: Option<String>,
    resume: Option<BTreeMap<String, i64>>,
) -> anyhow::Result<HashMap<String, i64>> {
    let hello = serde_json::to_string(&ClientFrame::Hello { token, resume })?;
    ws.send(Message::Text(hello.into())).await?;
    let ready = async {
        while let Some(message) = ws.next().await {
            match message? {
                Message::Text(text) => {
                    if let Ok(ServerFrame::Ready { channels, .. }) = serde_json::from_str(text.as_str()) {
                        return Ok(channels.into_iter().map(|c| (c.id, c.last_seq)).collect());
                    }
                }
                Message::Close(frame) => bail!("closed before ready: {frame:?}"),
                _ => {}
            }
        }
        bail!("the connection ended before ready")
    };
    tokio::time::timeout(HELLO_WITHIN, ready).await.context("no ready within 60 s")?
}
