//! `GET /api/v1/stream?resume=<channel_id>:<seq>,…`: the same server frames
//! as Server-Sent Events (`event:` = the type, `data:` = the JSON). Sending
//! goes through REST.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use parley_core::id::ChannelId;
use parley_core::parse::parse_seq;
use parley_core::Error;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::PollSender;

use super::limits::refusal;
use super::session::{self, Inbound, Outbound, Resume, Settings};
use crate::client_addr::ClientAddr;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, Authed};
use crate::state::AppState;

/// Frames waiting for the HTTP response to take them. When full, the session
/// waits, its hub queue fills, and the hub closes it like a slow WebSocket.
const SSE_BUFFER: usize = 256;
/// At most this many channels in one `resume`.
const MAX_RESUME: usize = 10_000;

#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    #[serde(default)]
    resume: Option<String>,
}

/// Over the address's or the user's session limit: 429 before the stream starts.
pub async fn stream(
    State(state): State<AppState>,
    authed: Authed,
    ClientAddr(client): ClientAddr,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Response> {
    let resume = parse_resume(query.resume.as_deref().unwrap_or("")).map_err(|e| ApiError(e).into_response())?;
    let places = (
        state.session_limits.admit_address(client).map_err(refusal)?,
        state.session_limits.admit_user(authed.user.id).map_err(refusal)?,
    );
    let (sender, receiver) = mpsc::channel::<Outbound>(SSE_BUFFER);
    let output = PollSender::new(sender);
    let input = futures::stream::pending::<Inbound>();
    let session = session::serve(state.clone(), authed.user, authed.token_hash, resume, input, output, Settings::sse());
    state.tasks.spawn(async move {
        session.await;
        drop(places);
    });
    let events = ReceiverStream::new(receiver)
        .take_while(|out| futures::future::ready(!matches!(out, Outbound::Close(..))))
        .filter_map(|out| {
            futures::future::ready(match out {
                Outbound::Frame(frame) => Some(Ok(SseEvent::default().event(frame.kind).data(frame.text.as_str()))),
                _ => None,
            })
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `c1:5,c2:0` → {c1: 5, c2: 0}.
pub fn parse_resume(raw: &str) -> Result<Resume, Error> {
    let mut resume = Resume::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, seq) = part.split_once(':').ok_or_else(|| Error::bad_request("resume is channel_id:seq,…"))?;
        let id: ChannelId = id.parse()?;
        let seq: i64 = seq.parse().map_err(|_| Error::bad_request("resume seq must be a whole number"))?;
        resume.insert(id, parse_seq(seq, "resume seq")?);
        if resume.len() > MAX_RESUME {
            return Err(Error::bad_request("too many channels in resume"));
        }
    }
    Ok(resume)
}
