//! A connection's clock: by when its request's headers must have come, and
//! how long it may sit idle between requests. hyper's own header timeout
//! starts again the moment a response is written, so under it an idle
//! kept-alive connection would get no longer than a request's headers do;
//! here the two are apart. Nothing runs while a request is being served:
//! its body has its own clock ([`super::body`]), and a stream (SSE) or an
//! upgraded WebSocket is watched by its session.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::cap::Permit;
use super::Timeouts;
use crate::metrics::Timeout;

/// What a connection is doing, shared by its socket, its requests and its watchdog.
pub struct Activity {
    /// Everything below is counted in milliseconds from here: the accept.
    opened: Instant,
    /// Requests whose response is not yet written.
    busy: AtomicUsize,
    /// When the last response was written; [`NEVER`] before the first.
    idle_since: AtomicU64,
    /// When the first byte of the next request came; [`NEVER`] until it does.
    head_from: AtomicU64,
    /// Woken when a deadline may have come nearer.
    nearer: Notify,
}

const NEVER: u64 = u64::MAX;

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: Instant::now(),
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(NEVER),
            head_from: AtomicU64::new(NEVER),
            nearer: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + std::time::Duration::from_millis(millis)
    }

    /// hyper has a request's headers: until its response is written, no
    /// deadline of this connection runs.
    pub fn request_started(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Relaxed);
        self.head_from.store(NEVER, Relaxed);
        Busy(self.clone())
    }

    /// Bytes came in. On an idle kept-alive connection they start the next
    /// request, whose headers are then timed from here; on a new connection
    /// they are timed from the accept whatever comes.
    fn read(&self) {
        if self.busy.load(Relaxed) == 0
            && self.idle_since.load(Relaxed) != NEVER
            && self.head_from.compare_exchange(NEVER, self.now(), Relaxed, Relaxed).is_ok()
        {
            self.nearer.notify_one();
        }
    }

    /// When this connection is to be closed, and why; `None` while serving.
    fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, Timeout)> {
        if self.busy.load(Relaxed) > 0 {
            return None;
        }
        let (idle_since, head_from) = (self.idle_since.load(Relaxed), self.head_from.load(Relaxed));
        Some(if idle_since == NEVER {
            (self.opened + timeouts.header, Timeout::Header)
        } else if head_from != NEVER {
            (self.at(head_from) + timeouts.header, Timeout::Header)
        } else {
            (self.at(idle_since) + timeouts.keepalive, Timeout::Idle)
        })
    }

    /// Resolves when a deadline passes, with which one.
    pub async fn expired(&self, timeouts: Timeouts) -> Timeout {
        loop {
            // Made before the deadline is read: a change in between is kept
            // as the Notify's permit and wakes the wait at once.
            let nearer = self.nearer.notified();
            match self.deadline(&timeouts) {
                None => nearer.await,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = nearer => continue,
                    }
                    // A request may have begun, or ended, while this slept.
                    if let Some((at, why)) = self.deadline(&timeouts) {
                        if at <= Instant::now() {
                            return why;
                        }
                    }
                }
            }
        }
    }
}

/// A request being served; dropped with its response's body, once written.
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Relaxed);
        activity.head_from.store(NEVER, Relaxed);
        if activity.busy.fetch_sub(1, Relaxed) == 1 {
            activity.nearer.notify_one();
        }
    }
}

/// A response body that keeps its request [`Busy`] until hyper is done with it.
pub struct Finished<B> {
    body: B,
    _busy: Busy,
}

impl<B> Finished<B> {
    pub fn new(body: B, busy: Busy) -> Self {
        Finished { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Finished<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the connection's [`Activity`] of every read, and
/// holding its place under the cap for as long as it is open (after an
/// upgrade, inside the WebSocket).
pub struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    _permit: Permit,
}

impl Watched {
    pub fn new(stream: TcpStream, activity: Arc<Activity>, permit: Permit) -> Self {
        Watched { stream, activity, _permit: permit }
    }
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        keepalive: Duration::from_secs(75),
        body_window: Duration::from_secs(10),
        body_least: 10_240,
    };

    #[tokio::test(start_paused = true)]
    async fn headers_are_timed_from_the_accept_then_idle_from_the_response_then_from_the_first_byte() {
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Timeout::Header);
        assert_eq!(started.elapsed(), TIMEOUTS.header, "a silent new connection");

        let activity = Activity::new();
        let busy = activity.request_started();
        let serving = tokio::time::timeout(Duration::from_secs(600), activity.expired(TIMEOUTS)).await;
        assert!(serving.is_err(), "nothing runs out while a request is served");
        drop(busy);
        let idle = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Timeout::Idle);
        assert_eq!(idle.elapsed(), TIMEOUTS.keepalive, "an idle kept-alive connection");

        let activity = Activity::new();
        drop(activity.request_started());
        tokio::time::sleep(Duration::from_secs(30)).await;
        let watch = tokio::spawn({
            let activity = activity.clone();
            async move { activity.expired(TIMEOUTS).await }
        });
        tokio::task::yield_now().await;
        activity.read();
        let first_byte = Instant::now();
        assert_eq!(watch.await.unwrap(), Timeout::Header);
        assert_eq!(first_byte.elapsed(), TIMEOUTS.header, "a later request's headers, from its first byte");
    }
}
