//! REST query strings, read as axum reads them: the events page
//! (`?after=&before=&limit=`), people search's `?q=` and the SSE stream's
//! `?resume=`.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use libfuzzer_sys::fuzz_target;
use parley_core::parse::{Page, PageLimit};
use parley_core::search::{words, PeopleQuery};
use parley_core::ErrorCode;
use parley_protocol::{EventsQuery, UsersQuery};
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
    if let Ok(Query(UsersQuery { q: Some(q) })) = Query::<UsersQuery>::try_from_uri(&uri) {
        people_search(&q);
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

/// `?q=`: refused only when long; and a person whose display name is `q`
/// finds themselves by typing any start of it.
fn people_search(q: &str) {
    let name = q.trim();
    let query = match PeopleQuery::parse(q) {
        Ok(query) => query,
        Err(error) => {
            assert!(name.chars().count() > PeopleQuery::MAX && error.code == ErrorCode::BadRequest);
            return;
        }
    };
    assert_eq!(query.text(), name.to_lowercase());
    let stored = words(name);
    for (end, c) in name.char_indices() {
        let typed = PeopleQuery::parse(&name[..end + c.len_utf8()]).expect("a shorter query");
        assert!(
            stored.starts_with(typed.words()),
            "{:?} does not find {name:?}: {:?} in {stored:?}",
            typed.text(),
            typed.words()
        );
    }
}
