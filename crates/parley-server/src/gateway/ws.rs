//! `GET /api/v1/ws`: the WebSocket transport. Authenticated by the cookie
//! (when the Origin is allowed) or by the `token` of the first frame, `hello`.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures::{Sink, SinkExt, Stream, StreamExt};
use parley_core::model::User;
use parley_core::{Error, ErrorCode};
use parley_protocol::ClientFrame;

use super::close::CloseCode;
use super::limits::{refusal, Place};
use super::session::{self, error_frame, Inbound, Outbound, Settings};
use crate::client_addr::ClientAddr;
use crate::http::error::ApiError;
use crate::http::extract::cookie_token;
use crate::state::AppState;

/// Frames (and messages) above this close the socket with 1009.
pub const MAX_FRAME: usize = 64 * 1024;
/// tungstenite's read buffer starts at this size, per connection, and grows
/// only for a larger frame (its default, 128 KiB, would dominate the cost of
/// an idle socket; 4 KiB measured 3 KiB more per idle session than 1 KiB,
/// and 512 bytes 0.5 KiB less: most frames fit, and a larger one is read in
/// a few more calls).
const READ_BUFFER: usize = 512;
/// Frames are gathered up to this many bytes (or the session's flush)
/// before tungstenite writes them: 0 made one `send` per delivery. The
/// buffer's capacity is kept once grown, so a session that has written a
/// burst (a replay, a busy channel) holds up to about twice this; one that
/// only got `ready` holds what that took. 4 KiB measured 85–93 % of the
/// bare baseline's fan-out against 100–112 % for 8 KiB.
const WRITE_BUFFER: usize = 8 * 1024;
/// Bytes a session may have written but not yet flushed before writes fail.
const MAX_WRITE_BUFFER: usize = 8 * 1024 * 1024;
/// Echo mode's message limit: the largest message of Autobahn's case 9.
const ECHO_MAX: usize = 16 * 1024 * 1024;
/// How long a new socket may take to say `hello` (the upgrade request
/// itself is under the connection's header timeout, [`crate::connections`]).
const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// An address over its session limit is answered 429 here, before the
/// upgrade; a user over theirs learns it after `hello` (4029).
pub async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.config.ws_echo {
        // The fuzzing client's case 9 sends messages up to 16 MiB to an echo
        // server; Parley's own limit (64 KiB, 1009) is tested by its own tests.
        return configure(ws)
            .max_message_size(ECHO_MAX)
            .max_frame_size(ECHO_MAX)
            .max_write_buffer_size(2 * ECHO_MAX)
            .on_upgrade(echo);
    }
    let place = match state.session_limits.admit_address(client) {
        Ok(place) => place,
        Err(error) => return refusal(error),
    };
    // A cookie counts only from an allowed Origin: a page elsewhere must not
    // ride on it, and one that tries is refused (403) before the upgrade.
    // Without `Origin` (not a browser) the cookie is ignored and `hello`'s
    // token signs in, which needs no such check. A store that fails here is
    // kept as the error it is: it must not read as "signed out".
    let cookie_session = match cookie_token(&headers) {
        Some(token) if state.origin_allowed(&headers) => state.auth.authenticate(&token).await.map(Some),
        Some(_) if headers.contains_key(header::ORIGIN) => {
            return ApiError(Error::forbidden("this request must come from an allowed Origin")).into_response();
        }
        _ => Ok(None),
    };
    configure(ws).on_upgrade(move |socket| run(state, socket, cookie_session, place))
}

/// The transport settings of every Parley socket, echo mode included, so the
/// Autobahn run fuzzes exactly what serves clients.
fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
}

/// Echo mode (`--ws-echo`, conformance testing only): every text and binary
/// message goes back as it came; an oversized one closes with 1009 as in a
/// real session.
async fn echo(mut socket: WebSocket) {
    while let Some(message) = socket.recv().await {
        let reply = match message {
            Ok(Message::Text(text)) => Message::Text(text),
            Ok(Message::Binary(bytes)) => Message::Binary(bytes),
            // tungstenite answers a close by itself; reading on completes the handshake.
            Ok(_) => continue,
            Err(error) => {
                let (code, reason) = if is_too_large(&error) {
                    (CloseCode::TooLarge, "frame too large")
                } else if is_bad_utf8(&error) {
                    (CloseCode::BadData, "invalid UTF-8")
                } else {
                    (CloseCode::ProtocolError, "protocol error")
                };
                let _ =
                    socket.send(Message::Close(Some(CloseFrame { code: code.code(), reason: reason.into() }))).await;
                break;
            }
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

/// One socket's life. Both halves are boxed: this future lives as long as
/// the socket, and inline it would be the size of its largest state — the
/// hello and sign-in as much as the session.
/// `_address` is the socket's place under its address's session limit,
/// held until it closes.
async fn run(
    state: AppState,
    socket: WebSocket,
    cookie_session: Result<Option<(User, String)>, Error>,
    _address: Place,
) {
    state.metrics.connection_opened();
    let (sink, stream) = socket.split();
    let mut input = stream.map(inbound);
    let mut output = sink.with(|out: Outbound| futures::future::ready(Ok::<_, axum::Error>(message(out))));
    if let Some((user, token_hash, resume)) = Box::pin(handshake(&state, &mut input, &mut output, cookie_session)).await
    {
        match state.session_limits.admit_user(user.id) {
            Ok(place) => {
                let settings = Settings::websocket();
                Box::pin(session::serve(state.clone(), user, token_hash, resume, input, output, settings)).await;
                drop(place);
            }
            Err(error) => {
                let _ = output.send(error_frame(None, &error)).await;
                let _ = output.send(Outbound::Close(CloseCode::TooManySessions, "too many sessions")).await;
            }
        }
    }
    state.metrics.connection_closed();
}

/// The `hello` and who sent it; `None` once the client has been told why not.
async fn handshake<R, W>(
    state: &AppState,
    input: &mut R,
    output: &mut W,
    cookie_session: Result<Option<(User, String)>, Error>,
) -> Option<(User, String, session::Resume)>
where
    R: Stream<Item = Inbound> + Unpin,
    W: Sink<Outbound> + Unpin,
{
    let hello = tokio::time::timeout(HELLO_WITHIN, input.next()).await;
    let (token, resume) = match hello {
        Ok(Some(Inbound::Text(text))) => match ClientFrame::parse(&text) {
            Ok(ClientFrame::Hello { token, resume }) => (token, resume.unwrap_or_default()),
            Err(error) if error.frame_type == Some("hello") => {
                bad_hello(output, &error.into()).await;
                return None;
            }
            _ => {
                refuse(output, "the first frame must be hello").await;
                return None;
            }
        },
        Ok(Some(Inbound::TooLarge)) => {
            let _ = output.send(Outbound::Close(CloseCode::TooLarge, "frame too large")).await;
            return None;
        }
        _ => {
            refuse(output, "say hello first").await;
            return None;
        }
    };
    let authenticated = match token {
        Some(token) => state.auth.authenticate(&token).await.map(Some),
        None => cookie_session,
    };
    let (user, token_hash) = match authenticated {
        Ok(Some(found)) => found,
        Ok(None) | Err(Error { code: ErrorCode::Unauthenticated, .. }) => {
            refuse(output, "sign in first: no valid session").await;
            return None;
        }
        // The store could not say (PostgreSQL restarting): not a sign-out
        // (4001), but a server error the client resumes after (1011).
        Err(error) => {
            tracing::warn!(error = %error, "websocket session not started");
            let _ = output.send(error_frame(None, &error)).await;
            let _ = output.send(Outbound::Close(CloseCode::ServerError, "server error, resume")).await;
            return None;
        }
    };
    match session::parse_resume(&resume) {
        Ok(resume) => Some((user, token_hash, resume)),
        Err(error) => {
            bad_hello(output, &error).await;
            None
        }
    }
}

async fn bad_hello<W: Sink<Outbound> + Unpin>(output: &mut W, error: &Error) {
    let _ = output.send(error_frame(None, error)).await;
    let _ = output.send(Outbound::Close(CloseCode::BadHello, "malformed hello")).await;
}

async fn refuse<W: futures::Sink<Outbound> + Unpin>(output: &mut W, why: &str) {
    let _ = output.send(error_frame(None, &Error::unauthenticated(why))).await;
    let _ = output.send(Outbound::Close(CloseCode::Unauthenticated, "not authenticated")).await;
}

fn inbound(message: Result<Message, axum::Error>) -> Inbound {
    match message {
        Ok(Message::Text(text)) => Inbound::Text(text.as_str().to_owned()),
        Ok(Message::Binary(_)) => Inbound::Binary,
        Ok(Message::Ping(_) | Message::Pong(_)) => Inbound::Alive,
        Ok(Message::Close(_)) => Inbound::Closed,
        // tungstenite reports a message over `max_message_size` as a capacity error.
        Err(error) if is_too_large(&error) => Inbound::TooLarge,
        Err(error) if is_bad_utf8(&error) => Inbound::BadData,
        Err(error) if is_protocol_error(&error) => Inbound::Broken,
        Err(_) => Inbound::Closed,
    }
}

/// tungstenite's `CapacityError` ("Space limit exceeded: Message too long …");
/// axum does not expose the error type itself.
fn is_too_large(error: &axum::Error) -> bool {
    error.to_string().contains("Space limit exceeded")
}

/// tungstenite's `ProtocolError` (a reserved bit, a bad opcode, invalid
/// UTF-8, an oversized control frame …): the peer broke RFC 6455.
fn is_protocol_error(error: &axum::Error) -> bool {
    error.to_string().contains("WebSocket protocol error")
}

/// A text message that is not UTF-8 (RFC 6455 asks for 1007).
fn is_bad_utf8(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("UTF-8") || text.contains("utf-8") || text.contains("Utf8")
}

fn message(out: Outbound) -> Message {
    match out {
        Outbound::Frame(frame) => Message::Text(frame.text),
        Outbound::Ping => Message::Ping(Default::default()),
        Outbound::Close(code, reason) => Message::Close(Some(CloseFrame { code: code.code(), reason: reason.into() })),
    }
}
