//! REST query strings, read as axum reads them: the events page
//! (`?after=&before=&limit=`) and the SSE stream's `?resume=`.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use libfuzzer_sys::fuzz_target;
use parley_core::parse::{Page, PageLimit};
use parley_core::ErrorCode;
use parley_protocol::EventsQuery;
use parley_server::gateway::sse;
use serde::Deserialize;

/// `GET /api/v1/stream`'s query, as the handler reads it.
#[derive(Deserialize)]
struct StreamQuery {
    #[serde(default)]
    resume: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    let Some(query) = parley_fuzz::text(data) else { return };
    let Ok(uri) = format!("/api/v1/channels/c/events?{query}").parse::<Uri>() else { return };
    if let Ok(Query(q)) = Query::<EventsQuery>::try_from_uri(&uri) {
        let limit_ok = |limit: PageLimit| {
            let expected = q.limit.map_or(i64::from(PageLimit::DEFAULT), |l| l.min(i64::from(PageLimit::MAX)));
            assert_eq!(i64::from(limit.get()), expected);
        };
        match Page::parse(q.after, q.before, q.limit) {
            Ok(Page::After(after, limit)) => {
                assert!(after >= 0 && q.before.is_none() && Some(after) == q.after);
                limit_ok(limit);
            }
            Ok(Page::Before(before, limit)) => {
                assert!(q.after.is_none() && before == q.before && before.is_none_or(|b| b >= 0));
                limit_ok(limit);
            }
            Err(error) => assert_eq!(error.code, ErrorCode::BadRequest),
        }
    }
    if let Ok(Query(q)) = Query::<StreamQuery>::try_from_uri(&uri) {
        match sse::parse_resume(q.resume.as_deref().unwrap_or("")) {
            Ok(resume) => assert!(resume.values().all(|seq| *seq >= 0)),
            Err(error) => {
                assert_eq!(error.code, ErrorCode::BadRequest);
                parley_fuzz::assert_in_callers_terms(&error.message);
            }
        }
    }
});
