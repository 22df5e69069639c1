//! The browser client (`web/`), embedded at compile time and served at `/`.
//! Plain modules, no build step; every page is the same `index.html`, which
//! routes by path (`/c/<channel>`, `/c/<channel>/<seq>`, `/invite/<code>`).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// No inline script, nothing from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const INDEX: &str = include_str!("../../../web/index.html");
const CSS: &str = include_str!("../../../web/app.css");
const FAVICON: &str = include_str!("../../../web/favicon.svg");
const SCRIPTS: [(&str, &str); 13] = [
    ("actions.js", include_str!("../../../web/js/actions.js")),
    ("api.js", include_str!("../../../web/js/api.js")),
    ("auth.js", include_str!("../../../web/js/auth.js")),
    ("channel.js", include_str!("../../../web/js/channel.js")),
    ("connection.js", include_str!("../../../web/js/connection.js")),
    ("dialogs.js", include_str!("../../../web/js/dialogs.js")),
    ("dom.js", include_str!("../../../web/js/dom.js")),
    ("format.js", include_str!("../../../web/js/format.js")),
    ("main.js", include_str!("../../../web/js/main.js")),
    ("markdown.js", include_str!("../../../web/js/markdown.js")),
    ("sidebar.js", include_str!("../../../web/js/sidebar.js")),
    ("store.js", include_str!("../../../web/js/store.js")),
    ("switcher.js", include_str!("../../../web/js/switcher.js")),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/invite/{code}", get(index))
        .route("/c/{channel}", get(index))
        .route("/c/{channel}/{seq}", get(index))
        .route("/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON) }))
        .route("/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/js/{file}", get(script))
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

async fn script(Path(file): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(name, _)| *name == file) {
        Some((_, text)) => asset("text/javascript; charset=utf-8", text),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
