//! The browser client (`web/`), embedded at compile time and served at `/`.
//! Plain modules, no build step; every page is the same `index.html`, which
//! routes by path (`/c/<channel>`, `/c/<channel>/<seq>`, `/invite/<code>`,
//! `/reset/<token>`).
//! An installable app: a manifest, icons, and a service worker (`/sw.js`)
//! that keeps every file here, versioned by their contents, so the client
//! opens without a network.

use std::fmt::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// No inline script, nothing from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const INDEX: &str = include_str!("../../../web/index.html");
const CSS: &str = include_str!("../../../web/app.css");
const FAVICON: &str = include_str!("../../../web/favicon.svg");
const MANIFEST: &str = include_str!("../../../web/manifest.webmanifest");
const WORKER: &str = include_str!("../../../web/sw.js");
const ICONS: [(&str, &[u8]); 3] = [
    ("icon-192.png", include_bytes!("../../../web/icon-192.png")),
    ("icon-512.png", include_bytes!("../../../web/icon-512.png")),
    ("icon-maskable-512.png", include_bytes!("../../../web/icon-maskable-512.png")),
];
const SCRIPTS: [(&str, &str); 19] = [
    ("account.js", include_str!("../../../web/js/account.js")),
    ("actions.js", include_str!("../../../web/js/actions.js")),
    ("admin.js", include_str!("../../../web/js/admin.js")),
    ("api.js", include_str!("../../../web/js/api.js")),
    ("auth.js", include_str!("../../../web/js/auth.js")),
    ("channel.js", include_str!("../../../web/js/channel.js")),
    ("complete.js", include_str!("../../../web/js/complete.js")),
    ("connection.js", include_str!("../../../web/js/connection.js")),
    ("dialogs.js", include_str!("../../../web/js/dialogs.js")),
    ("dom.js", include_str!("../../../web/js/dom.js")),
    ("format.js", include_str!("../../../web/js/format.js")),
    ("main.js", include_str!("../../../web/js/main.js")),
    ("markdown.js", include_str!("../../../web/js/markdown.js")),
    ("members.js", include_str!("../../../web/js/members.js")),
    ("moderation.js", include_str!("../../../web/js/moderation.js")),
    ("notify.js", include_str!("../../../web/js/notify.js")),
    ("sidebar.js", include_str!("../../../web/js/sidebar.js")),
    ("store.js", include_str!("../../../web/js/store.js")),
    ("switcher.js", include_str!("../../../web/js/switcher.js")),
];

pub fn router() -> Router<AppState> {
    let icons = ICONS.iter().fold(Router::new(), |router, (name, bytes)| {
        router.route(&format!("/{name}"), get(move || async move { asset("image/png", *bytes) }))
    });
    icons
        .route("/", get(index))
        .route("/invite/{code}", get(index))
        .route("/reset/{token}", get(index))
        .route("/c/{channel}", get(index))
        .route("/c/{channel}/{seq}", get(index))
        .route("/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON) }))
        .route("/favicon/{count}", get(favicon_counting))
        .route("/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/js/{file}", get(script))
        .route("/manifest.webmanifest", get(|| async { asset("application/manifest+json", MANIFEST) }))
        .route("/sw.js", get(|| async { asset("text/javascript; charset=utf-8", worker()) }))
}

/// Every file of the client but the worker, as the worker caches them.
fn shell() -> Vec<(String, &'static [u8])> {
    let mut files = vec![
        ("/".to_owned(), INDEX.as_bytes()),
        ("/app.css".to_owned(), CSS.as_bytes()),
        ("/favicon.svg".to_owned(), FAVICON.as_bytes()),
        ("/manifest.webmanifest".to_owned(), MANIFEST.as_bytes()),
    ];
    files.extend(SCRIPTS.iter().map(|(name, text)| (format!("/js/{name}"), text.as_bytes())));
    files.extend(ICONS.iter().map(|(name, bytes)| (format!("/{name}"), *bytes)));
    files
}

/// The worker, told its shell and a version that changes with any file of it.
fn worker() -> &'static str {
    static WORKER_JS: OnceLock<String> = OnceLock::new();
    WORKER_JS.get_or_init(|| {
        let files = shell();
        let mut digest = Sha256::new();
        for (path, bytes) in &files {
            digest.update(path.as_bytes());
            digest.update((bytes.len() as u64).to_le_bytes());
            digest.update(bytes);
        }
        digest.update(WORKER.as_bytes());
        let version = digest.finalize().iter().take(8).fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
        let shell = serde_json::to_string(&paths).unwrap_or_else(|_| "[]".to_owned());
        WORKER.replace("__VERSION__", &version).replace("__SHELL__", &shell)
    })
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

/// The favicon with a red count of unread mentions (`/favicon/3.svg`; 10
/// and more show `9+`), which the client puts in the tab while it has some.
async fn favicon_counting(Path(count): Path<String>) -> Response {
    let Some(count) = count.strip_suffix(".svg").and_then(|n| n.parse::<u32>().ok()).filter(|n| *n >= 1) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let shown = if count > 9 { "9+".to_owned() } else { count.to_string() };
    let badge = format!(
        "<circle cx=\"23\" cy=\"9\" r=\"9\" fill=\"#e03131\"/><text x=\"23\" y=\"13\" font-family=\"sans-serif\" \
         font-size=\"{}\" font-weight=\"700\" fill=\"#fff\" text-anchor=\"middle\">{shown}</text></svg>",
        if shown.len() > 1 { 10 } else { 12 }
    );
    asset("image/svg+xml", FAVICON.trim_end().replace("</svg>", &badge))
}

async fn script(Path(file): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(name, _)| *name == file) {
        Some((_, text)) => asset("text/javascript; charset=utf-8", *text),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
