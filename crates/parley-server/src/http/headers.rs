//! The headers every response carries, and those of the API's answers.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

/// Other sites learn nothing of where a link was followed from (a channel's
/// or an invite's address); Parley's own requests keep it, and with it the
/// `Origin` of a same-origin POST that is not a `fetch` (a form), which
/// `no-referrer` would turn into `Origin: null`.
pub const REFERRER_POLICY: &str = "same-origin";
/// One year, this host only: a public URL that is https stays https. Not
/// `includeSubDomains`: Parley does not speak for its domain's other hosts.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";
/// An API answer is someone's data or a session token: no cache keeps it.
pub const API_CACHE_CONTROL: &str = "no-store";

/// On every response, errors and upgrades included: the web client's
/// Content-Security-Policy, `nosniff`, no framing, the referrer policy, and
/// HSTS when the public URL is https.
pub fn every_response<S: Clone + Send + Sync + 'static>(router: Router<S>, config: &Config) -> Router<S> {
    let set = |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    let router = router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::CONTENT_SECURITY_POLICY, crate::web::CONTENT_SECURITY_POLICY))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, REFERRER_POLICY));
    if config.public_url.as_ref().is_some_and(|url| url.is_https()) {
        router.layer(set(header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY))
    } else {
        router
    }
}

/// On every answer of `/api/v1` (and `/metrics`): `Cache-Control: no-store`.
pub fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(API_CACHE_CONTROL))
}
