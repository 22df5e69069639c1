//! The request body's clock: a body must keep arriving at a least rate, or
//! the request is answered 408 and its connection closed. A rate rather
//! than one deadline: a 1 MiB body on a slow link may take minutes, while a
//! few bytes trickled against a large `Content-Length` would hold the
//! connection for ever.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Body, Bytes, Frame, SizeHint};
use parley_core::Error;
use tokio::time::{Instant, Sleep};

use crate::http::error::ApiError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Set when a request's body was cut; the request's extension, so that
/// [`answer_too_slow`] knows.
#[derive(Clone, Default)]
pub struct TooSlow(Arc<AtomicBool>);

impl TooSlow {
    pub fn tripped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A request body that fails once a window of `window` passes, while it is
/// being read, bringing fewer than `least` bytes. The clock starts when the
/// body is first read: a handler that never reads it costs no timer.
pub struct MinRate<B> {
    inner: B,
    window: Duration,
    least: u64,
    /// Bytes come in the current window, and when it ends.
    got: u64,
    ends: Option<Pin<Box<Sleep>>>,
    too_slow: TooSlow,
}

impl<B> MinRate<B> {
    pub fn new(inner: B, window: Duration, least: u64, too_slow: TooSlow) -> Self {
        MinRate { inner, window, least, got: 0, ends: None, too_slow }
    }
}

impl<B> Body for MinRate<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let window = this.window;
        let ends = this.ends.get_or_insert_with(|| Box::pin(tokio::time::sleep(window)));
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.got += frame.data_ref().map_or(0, |data| data.len() as u64);
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(other) => return Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {}
        }
        // Waiting for the client: each window that ends must have brought enough.
        while ends.as_mut().poll(cx).is_ready() {
            if this.got < this.least {
                this.too_slow.0.store(true, Ordering::Relaxed);
                return Poll::Ready(Some(Err("the request body came too slowly".into())));
            }
            this.got = 0;
            ends.as_mut().reset(Instant::now() + window);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A layer of the router: a request whose body was cut is answered 408
/// (whatever its handler made of the broken body) and its connection closed,
/// since the rest of the body may still be on its way.
pub async fn answer_too_slow(request: Request, next: Next) -> Response {
    let too_slow = request.extensions().get::<TooSlow>().cloned();
    let response = next.run(request).await;
    if !too_slow.is_some_and(|t| t.tripped()) {
        return response;
    }
    let error = ApiError(Error::bad_request("the request body came too slowly"));
    let mut response = (StatusCode::REQUEST_TIMEOUT, error).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_at_the_end_of_a_window_and_a_steady_body_is_not() {
        let trickle = |every: Duration, chunk: usize, chunks: usize| {
            let frames = futures::stream::unfold(0, move |sent| async move {
                if sent == chunks {
                    return None;
                }
                tokio::time::sleep(every).await;
                Some((Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'x'; chunk]))), sent + 1))
            });
            let too_slow = TooSlow::default();
            let body =
                MinRate::new(StreamBody::new(Box::pin(frames)), Duration::from_secs(10), 10_240, too_slow.clone());
            (body, too_slow)
        };
        let started = Instant::now();
        let (body, too_slow) = trickle(Duration::from_secs(1), 100, 1000);
        assert!(body.collect().await.is_err());
        assert!(too_slow.tripped());
        assert_eq!(started.elapsed(), Duration::from_secs(10), "cut when the first window ends");

        let (body, too_slow) = trickle(Duration::from_millis(100), 2048, 300);
        assert_eq!(body.collect().await.unwrap().to_bytes().len(), 2048 * 300, "20 KiB/s for 30 s passes");
        assert!(!too_slow.tripped());
    }
}
