//! The OpenAPI document at `/api/v1/openapi.json` (src/http/openapi.json),
//! held to the server: every route is documented, every documented operation
//! is routed (and needs a session exactly when the document says so), and
//! real answers have the status codes and shapes the document gives them.

use std::collections::BTreeSet;
use std::time::Duration;

use parley_testkit::app::{spawn_app, spawn_app_with, TestApp};
use parley_testkit::ws::WsClient;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

/// Every (method, path) the routers of src/http/ serve: auth.rs, channels.rs,
/// invites.rs, messages.rs, changes.rs, the gateway and the document itself (mod.rs),
/// ops.rs. A route added there belongs here and in the document.
const ROUTED: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/reset"),
    ("get", "/api/v1/server"),
    ("post", "/api/v1/me/password"),
    ("get", "/api/v1/me/sessions"),
    ("delete", "/api/v1/me/sessions/{id}"),
    ("get", "/api/v1/me/blocks"),
    ("put", "/api/v1/me/blocks/{user_id}"),
    ("delete", "/api/v1/me/blocks/{user_id}"),
    ("get", "/api/v1/admin/users"),
    ("patch", "/api/v1/admin/users/{id}"),
    ("post", "/api/v1/admin/users/{id}/reset-link"),
    ("get", "/api/v1/admin/channels"),
    ("get", "/api/v1/admin/join-links"),
    ("post", "/api/v1/admin/join-links"),
    ("get", "/api/v1/admin/audit"),
    ("post", "/api/v1/admin/bots"),
    ("get", "/api/v1/admin/bots/{id}/tokens"),
    ("post", "/api/v1/admin/bots/{id}/tokens"),
    ("delete", "/api/v1/admin/bots/{id}/tokens/{token}"),
    ("get", "/api/v1/channels/{id}/webhooks"),
    ("post", "/api/v1/channels/{id}/webhooks"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("post", "/hooks/{secret}"),
    ("get", "/api/v1/channels/{id}/outgoing-webhooks"),
    ("post", "/api/v1/channels/{id}/outgoing-webhooks"),
    ("delete", "/api/v1/outgoing-webhooks/{id}"),
    ("get", "/api/v1/channels/{id}/invites"),
    ("delete", "/api/v1/invites/{code}"),
    ("patch", "/api/v1/channels/{id}"),
    ("delete", "/api/v1/channels/{id}"),
    ("delete", "/api/v1/channels/{id}/members/{user_id}"),
    ("get", "/api/v1/channels/{id}/bans"),
    ("put", "/api/v1/channels/{id}/bans/{user_id}"),
    ("delete", "/api/v1/channels/{id}/bans/{user_id}"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("get", "/api/v1/channels"),
    ("post", "/api/v1/channels"),
    ("get", "/api/v1/channels/public"),
    ("get", "/api/v1/channels/{id}"),
    ("post", "/api/v1/channels/{id}/join"),
    ("post", "/api/v1/channels/{id}/leave"),
    ("get", "/api/v1/channels/{id}/members"),
    ("put", "/api/v1/channels/{id}/preferences"),
    ("post", "/api/v1/dms"),
    ("post", "/api/v1/channels/{id}/invites"),
    ("get", "/api/v1/invites/{code}"),
    ("post", "/api/v1/invites/{code}/accept"),
    ("post", "/api/v1/channels/{id}/messages"),
    ("get", "/api/v1/channels/{id}/events"),
    ("post", "/api/v1/channels/{id}/read"),
    ("patch", "/api/v1/channels/{id}/messages/{seq}"),
    ("delete", "/api/v1/channels/{id}/messages/{seq}"),
    ("put", "/api/v1/channels/{id}/messages/{seq}/reactions/{emoji}"),
    ("delete", "/api/v1/channels/{id}/messages/{seq}/reactions/{emoji}"),
    ("get", "/api/v1/channels/{id}/pins"),
    ("get", "/api/v1/mentions"),
    ("get", "/api/v1/search"),
    ("put", "/api/v1/channels/{id}/pins/{seq}"),
    ("delete", "/api/v1/channels/{id}/pins/{seq}"),
    ("get", "/api/v1/channels/{id}/threads/{seq}"),
    ("put", "/api/v1/channels/{id}/members/{user_id}"),
    ("get", "/api/v1/ws"),
    ("get", "/api/v1/stream"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The servers here open `/metrics` on their port to this token.
const METRICS_TOKEN: &str = "openapi-test-metrics-token";

/// A well-formed id that names nothing, and an invite code likewise.
const SOME_ID: &str = "01900000-0000-7000-8000-000000000000";
const SOME_CODE: &str = "AAAAAAAAAAAAAAAAAAAAAA";

async fn document(app: &TestApp) -> Value {
    let response = app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    response.json().await.expect("the document is JSON")
}

/// The (method, path) pairs the document lists.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if METHODS.contains(&method.as_str()) {
                operations.insert((method.clone(), path.clone()));
            }
        }
    }
    operations
}

/// Whether the operation needs a session: some security requirement applies
/// and none of them is the empty one (which makes a session optional).
fn needs_session(doc: &Value, operation: &Value) -> bool {
    let security = operation.get("security").unwrap_or(&doc["security"]);
    let requirements = security.as_array().map(Vec::as_slice).unwrap_or_default();
    !requirements.is_empty() && requirements.iter().all(|r| r.as_object().is_some_and(|r| !r.is_empty()))
}

fn concrete(path: &str) -> String {
    path.replace("{id}", SOME_ID)
        .replace("{code}", SOME_CODE)
        .replace("{seq}", "1")
        .replace("{emoji}", "%F0%9F%91%8D")
        .replace("{user_id}", SOME_ID)
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => {
            let target = doc.pointer(pointer.strip_prefix('#').expect("a local $ref")).expect("the $ref resolves");
            resolve(doc, target)
        }
        None => value,
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_with_the_shared_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["version"], "1");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!((&schemes["bearer"]["type"], &schemes["bearer"]["scheme"]), (&json!("http"), &json!("bearer")));
    assert_eq!((&schemes["cookie"]["in"], &schemes["cookie"]["name"]), (&json!("cookie"), &json!("parley_session")));

    let schemas = &doc["components"]["schemas"];
    for name in ["Error", "User", "Channel", "Member", "Invite", "Event", "ClientFrame", "ServerFrame"] {
        assert!(schemas.get(name).is_some(), "no component schema {name}");
    }
    let mapping = schemas["Event"]["discriminator"]["mapping"].as_object().expect("Event has a discriminator");
    assert_eq!(schemas["Event"]["discriminator"]["propertyName"], "type");
    let types = [
        "channel_archived",
        "channel_deleted",
        "channel_renamed",
        "channel_unarchived",
        "member_banned",
        "member_joined",
        "member_left",
        "member_removed",
        "member_role_changed",
        "member_unbanned",
        "message",
        "message_deleted",
        "message_edited",
        "message_pinned",
        "message_unpinned",
        "reaction_added",
        "reaction_removed",
        "topic_changed",
    ];
    assert_eq!(mapping.keys().collect::<Vec<_>>(), types);

    // Every $ref points somewhere.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                found.extend(map.get("$ref").and_then(Value::as_str));
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50, "{}", found.len());
    for pointer in found {
        assert!(doc.pointer(pointer.trim_start_matches('#')).is_some(), "dangling $ref {pointer}");
    }
}

#[tokio::test]
async fn every_routed_endpoint_is_documented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (method, path) in ROUTED {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is routed but not documented");
        assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: no responses");
        // Each `{param}` of the path is declared as a path parameter.
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|p| p["in"] == "path" && p["required"] == true)
            .filter_map(|p| p["name"].as_str())
            .collect();
        let in_path: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        assert_eq!(declared, in_path, "{method} {path}: path parameters");
    }
    let routed: BTreeSet<(String, String)> = ROUTED.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let extra: Vec<_> = documented(&doc).difference(&routed).cloned().collect();
    assert!(extra.is_empty(), "documented but not in ROUTED: {extra:?}");
}

/// Each documented operation, called without a session, is answered by its
/// route: never 405, never the answer an unknown path gets; 401 exactly when
/// the document says it needs a session.
#[tokio::test]
async fn every_documented_endpoint_is_routed() {
    let app = spawn_app_with(|c| c.metrics_token = Some(METRICS_TOKEN.parse().unwrap())).await;
    let doc = document(&app).await;
    // What a path nobody routes gets, under /api/v1 and outside it.
    let mut unrouted = Vec::new();
    for path in ["/api/v1/surely-not-routed", "/surely-not-routed"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        unrouted.push(response.text().await.unwrap());
    }

    let operations = documented(&doc);
    assert_eq!(
        operations.len(),
        ROUTED.len(),
        "the document and ROUTED differ: see every_routed_endpoint_is_documented"
    );
    for (method, path) in &operations {
        let operation = &doc["paths"][path][method];
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.http.request(http_method, app.url(&concrete(path))).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed: {text}");
        assert!(
            !(status == StatusCode::NOT_FOUND && unrouted.contains(&text)),
            "{method} {path} is documented but not routed: {text:?}"
        );
        if needs_session(&doc, operation) {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} is documented as needing a session: {text}");
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["error"]["code"], "unauthenticated", "{method} {path}");
        } else {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path} is documented as public: {text}");
        }
        let documented_statuses = operation["responses"].as_object().unwrap();
        assert!(
            documented_statuses.contains_key(status.as_str()),
            "{method} {path} answered {status}, which the document does not list"
        );
    }
}

// ---- real answers against the documented schemas ----

/// Checks `value` against `schema` as far as the document uses JSON Schema
/// ($ref, allOf, oneOf with a discriminator or of exactly one match, type, const, enum, required,
/// properties, additionalProperties, items, lengths and bounds), and that an
/// object has no property the schema does not declare.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            check_part(doc, part, value, at)?;
        }
    }
    if let Some(choices) = schema["oneOf"].as_array().filter(|_| schema.get("discriminator").is_none()) {
        // Without a discriminator: exactly one of the choices (an event or null).
        let matching = choices.iter().filter(|choice| check(doc, choice, value, at).is_ok()).count();
        if matching != 1 {
            return Err(format!("{at}: {matching} of the oneOf choices match {value}"));
        }
    } else if let Some(choices) = schema["oneOf"].as_array() {
        let discriminator = &schema["discriminator"];
        let property = discriminator["propertyName"].as_str().ok_or(format!("{at}: oneOf without discriminator"))?;
        let tag = value[property].as_str().ok_or(format!("{at}: no {property}"))?;
        let target = discriminator["mapping"][tag].as_str().ok_or(format!("{at}: undocumented {property} {tag:?}"))?;
        let chosen = choices.iter().find(|c| c["$ref"] == target).ok_or(format!("{at}: mapping outside oneOf"))?;
        check(doc, chosen, value, at)?;
    }
    check_part(doc, schema, value, at)?;
    if let (Some(object), Some(declared)) = (value.as_object(), declared(doc, schema)) {
        if let Some(key) = object.keys().find(|k| !declared.contains(k.as_str())) {
            return Err(format!("{at}: undocumented property {key:?} in {value}"));
        }
    }
    Ok(())
}

/// The property names an object schema declares (through `$ref` and
/// `allOf`); `None` when it admits others.
fn declared<'a>(doc: &'a Value, schema: &'a Value) -> Option<BTreeSet<&'a str>> {
    let schema = resolve(doc, schema);
    if schema.get("additionalProperties").is_some() || schema.get("oneOf").is_some() {
        return None;
    }
    let mut names: BTreeSet<&str> =
        schema["properties"].as_object().map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
    for part in schema["allOf"].as_array().map(Vec::as_slice).unwrap_or_default() {
        names.extend(declared(doc, part)?);
    }
    (!names.is_empty()).then_some(names)
}

/// The keywords of one schema, without its `allOf` / `oneOf`.
fn check_part(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    let fail = |what: &str| Err(format!("{at}: {what} (got {value})"));
    if let Some(expected) = schema.get("const") {
        if value != expected {
            return fail(&format!("not {expected}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return fail("not in enum");
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| type_ok(t)) {
        return fail(&format!("not of type {types:?}"));
    }
    if let Some(n) = value.as_i64() {
        if schema["minimum"].as_i64().is_some_and(|min| n < min)
            || schema["maximum"].as_i64().is_some_and(|max| n > max)
        {
            return fail("out of bounds");
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| len < min)
            || schema["maxLength"].as_u64().is_some_and(|max| len > max)
        {
            return fail("length out of bounds");
        }
    }
    if let Some(items) = value.as_array() {
        if schema["minItems"].as_u64().is_some_and(|min| (items.len() as u64) < min)
            || schema["maxItems"].as_u64().is_some_and(|max| items.len() as u64 > max)
        {
            return fail("item count out of bounds");
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(doc, item_schema, item, &format!("{at}[{i}]"))?;
            }
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return fail(&format!("missing {name}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(field_schema) => check(doc, field_schema, field, &format!("{at}.{key}"))?,
                None => {
                    if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                        check(doc, extra, field, &format!("{at}.{key}"))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Calls the API and checks the answer against what the document says of
/// `method template` for that status; returns the JSON body.
async fn expect(
    app: &TestApp,
    doc: &Value,
    (method, template): (Method, &str),
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let mut request = app.http.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let got = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let what = format!("{method} {path} → {got}");
    assert_eq!(got, status, "{what}: {text}");

    let operation = &doc["paths"][template][method.as_str().to_lowercase()];
    let documented = operation["responses"].get(got.as_str()).unwrap_or_else(|| panic!("{what}: not documented"));
    let documented = resolve(doc, documented);
    let Some(content) = documented["content"].as_object() else {
        assert!(text.is_empty(), "{what}: documented without a body, answered {text:?}");
        return Value::Null;
    };
    let content_type = content_type.unwrap_or_else(|| panic!("{what}: no Content-Type"));
    let (media, media_type) = content
        .iter()
        .find(|(media, _)| content_type.starts_with(media.split(';').next().unwrap()))
        .unwrap_or_else(|| panic!("{what}: Content-Type {content_type} is not documented"));
    if !media.starts_with("application/json") {
        return Value::String(text);
    }
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    if let Err(error) = check(doc, &media_type["schema"], &value, "$") {
        panic!("{what}: the answer does not match the document: {error}");
    }
    value
}

#[tokio::test]
async fn real_answers_match_the_documented_responses() {
    let app = spawn_app_with(|c| c.metrics_token = Some(METRICS_TOKEN.parse().unwrap())).await;
    let doc = document(&app).await;
    let (get, post, patch) = (Method::GET, Method::POST, Method::PATCH);

    // Accounts and sessions.
    let op = (post.clone(), "/api/v1/auth/register");
    let register = |name: &str| json!({"username": name, "password": "correct horse", "display_name": name});
    let alice = expect(&app, &doc, op.clone(), op.1, None, Some(register("alice")), StatusCode::CREATED).await;
    let bob = expect(&app, &doc, op.clone(), op.1, None, Some(register("bob")), StatusCode::CREATED).await;
    expect(&app, &doc, op.clone(), op.1, None, Some(register("ALICE")), StatusCode::CONFLICT).await;
    expect(&app, &doc, op.clone(), op.1, None, Some(json!({"username": "al"})), StatusCode::BAD_REQUEST).await;
    let (alice_token, alice_id) = (alice["token"].as_str().unwrap(), alice["user"]["id"].as_str().unwrap());
    let (bob_token, bob_id) = (bob["token"].as_str().unwrap(), bob["user"]["id"].as_str().unwrap());
    let a = Some(alice_token);
    let b = Some(bob_token);

    let op = (post.clone(), "/api/v1/auth/login");
    let wrong = json!({"username": "alice", "password": "wrong horse"});
    expect(&app, &doc, op.clone(), op.1, None, Some(wrong), StatusCode::UNAUTHORIZED).await;
    let right = json!({"username": "bob", "password": "correct horse"});
    let second = expect(&app, &doc, op.clone(), op.1, None, Some(right), StatusCode::OK).await;
    let op = (post.clone(), "/api/v1/auth/logout");
    expect(&app, &doc, op.clone(), op.1, second["token"].as_str(), None, StatusCode::NO_CONTENT).await;
    expect(&app, &doc, op.clone(), op.1, second["token"].as_str(), None, StatusCode::UNAUTHORIZED).await;

    let op = (get.clone(), "/api/v1/me");
    expect(&app, &doc, op.clone(), op.1, a, None, StatusCode::OK).await;
    let op = (patch.clone(), "/api/v1/me");
    expect(&app, &doc, op.clone(), op.1, a, Some(json!({"display_name": " Alice "})), StatusCode::OK).await;
    expect(&app, &doc, op.clone(), op.1, a, Some(json!({"display_name": " "})), StatusCode::BAD_REQUEST).await;
    expect(&app, &doc, op.clone(), op.1, b, Some(json!({"display_name": "Alice"})), StatusCode::CONFLICT).await;
    let op = (get.clone(), "/api/v1/users");
    let found = expect(&app, &doc, op.clone(), "/api/v1/users?q=B", a, None, StatusCode::OK).await;
    assert_eq!(found["users"][0]["id"], bob_id);
    expect(&app, &doc, op.clone(), &format!("/api/v1/users?q={}", "b".repeat(33)), a, None, StatusCode::BAD_REQUEST)
        .await;
    let op = (get.clone(), "/api/v1/users/{id}");
    expect(&app, &doc, op.clone(), &format!("/api/v1/users/{bob_id}"), a, None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), &format!("/api/v1/users/{SOME_ID}"), a, None, StatusCode::NOT_FOUND).await;

    // Running the server: alice registered first and is its admin.
    let op = (get.clone(), "/api/v1/server");
    expect(&app, &doc, op.clone(), op.1, None, None, StatusCode::OK).await;
    let op = (get.clone(), "/api/v1/me/sessions");
    let sessions = expect(&app, &doc, op.clone(), op.1, b, None, StatusCode::OK).await;
    let session = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();
    let op = (Method::DELETE, "/api/v1/me/sessions/{id}");
    expect(&app, &doc, op.clone(), &format!("/api/v1/me/sessions/{SOME_ID}"), b, None, StatusCode::NOT_FOUND).await;
    let op = (post.clone(), "/api/v1/me/password");
    let change = json!({"current_password": "wrong horse", "new_password": "new horse"});
    expect(&app, &doc, op.clone(), op.1, b, Some(change), StatusCode::FORBIDDEN).await;
    expect(&app, &doc, op.clone(), op.1, b, Some(json!({})), StatusCode::BAD_REQUEST).await;
    let op = (get.clone(), "/api/v1/admin/users");
    expect(&app, &doc, op.clone(), op.1, a, None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), op.1, b, None, StatusCode::FORBIDDEN).await;
    let op = (patch.clone(), "/api/v1/admin/users/{id}");
    let bob_path = format!("/api/v1/admin/users/{bob_id}");
    expect(&app, &doc, op.clone(), &bob_path, a, Some(json!({"role": "member"})), StatusCode::OK).await;
    expect(&app, &doc, op.clone(), &bob_path, a, Some(json!({"role": "boss"})), StatusCode::BAD_REQUEST).await;
    let op = (post.clone(), "/api/v1/admin/users/{id}/reset-link");
    let link = expect(&app, &doc, op.clone(), &format!("{bob_path}/reset-link"), a, None, StatusCode::CREATED).await;
    let op = (post.clone(), "/api/v1/admin/join-links");
    let join_link = expect(&app, &doc, op.clone(), op.1, a, None, StatusCode::CREATED).await;
    let op = (get.clone(), "/api/v1/admin/join-links");
    expect(&app, &doc, op.clone(), op.1, a, None, StatusCode::OK).await;
    let op = (get.clone(), "/api/v1/admin/audit");
    expect(&app, &doc, op.clone(), op.1, a, None, StatusCode::OK).await;
    let op = (Method::DELETE, "/api/v1/invites/{code}");
    let join_code = join_link["invite"]["code"].as_str().unwrap();
    expect(&app, &doc, op.clone(), &format!("/api/v1/invites/{join_code}"), a, None, StatusCode::NO_CONTENT).await;
    let op = (post.clone(), "/api/v1/auth/reset");
    let reset = json!({"token": link["token"], "password": "correct horse"});
    let bob = expect(&app, &doc, op.clone(), op.1, None, Some(reset.clone()), StatusCode::OK).await;
    expect(&app, &doc, op.clone(), op.1, None, Some(reset), StatusCode::NOT_FOUND).await;
    let bob_token = bob["token"].as_str().unwrap();
    let b = Some(bob_token);
    let op = (Method::DELETE, "/api/v1/me/sessions/{id}");
    expect(&app, &doc, op.clone(), &format!("/api/v1/me/sessions/{session}"), b, None, StatusCode::NOT_FOUND).await;

    // Channels.
    let op = (post.clone(), "/api/v1/channels");
    let general = json!({"name": "general", "kind": "public", "topic": "hello"});
    let general = expect(&app, &doc, op.clone(), op.1, a, Some(general), StatusCode::CREATED).await;
    let general = general["channel"]["id"].as_str().unwrap().to_owned();
    let secret = json!({"name": "secret", "kind": "private"});
    let secret = expect(&app, &doc, op.clone(), op.1, a, Some(secret), StatusCode::CREATED).await;
    let secret = secret["channel"]["id"].as_str().unwrap().to_owned();
    let direct = json!({"name": "x", "kind": "direct"});
    expect(&app, &doc, op.clone(), op.1, a, Some(direct), StatusCode::BAD_REQUEST).await;
    let taken = json!({"name": "GENERAL", "kind": "private"});
    expect(&app, &doc, op.clone(), op.1, b, Some(taken), StatusCode::CONFLICT).await;
    let op = (get.clone(), "/api/v1/channels/public");
    expect(&app, &doc, op.clone(), op.1, b, None, StatusCode::OK).await;
    let op = (get.clone(), "/api/v1/channels/{id}");
    expect(&app, &doc, op.clone(), &format!("/api/v1/channels/{general}"), b, None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), &format!("/api/v1/channels/{secret}"), b, None, StatusCode::NOT_FOUND).await;

    // Messages: an outsider of a public channel, then a member.
    let op = (post.clone(), "/api/v1/channels/{id}/messages");
    let messages = format!("/api/v1/channels/{general}/messages");
    let message = |id: &str, body: &str| json!({"body": body, "client_msg_id": id});
    expect(&app, &doc, op.clone(), &messages, b, Some(message("b1", "hi")), StatusCode::FORBIDDEN).await;
    let join = (post.clone(), "/api/v1/channels/{id}/join");
    expect(&app, &doc, join.clone(), &format!("/api/v1/channels/{general}/join"), b, None, StatusCode::OK).await;
    expect(&app, &doc, join.clone(), &format!("/api/v1/channels/{secret}/join"), b, None, StatusCode::NOT_FOUND).await;
    expect(&app, &doc, op.clone(), &messages, a, Some(message("m1", "hello")), StatusCode::CREATED).await;
    expect(&app, &doc, op.clone(), &messages, a, Some(message("m1", "hello")), StatusCode::OK).await;
    let reply = json!({"body": "re", "client_msg_id": "m2", "reply_to_seq": 3});
    expect(&app, &doc, op.clone(), &messages, b, Some(reply), StatusCode::CREATED).await;
    expect(&app, &doc, op.clone(), &messages, a, Some(message("m3", "  ")), StatusCode::BAD_REQUEST).await;
    let long = message("m4", &"x".repeat(4001));
    expect(&app, &doc, op.clone(), &messages, a, Some(long), StatusCode::PAYLOAD_TOO_LARGE).await;

    let op = (post.clone(), "/api/v1/channels/{id}/read");
    let read = format!("/api/v1/channels/{general}/read");
    expect(&app, &doc, op.clone(), &read, b, Some(json!({"seq": 2})), StatusCode::NO_CONTENT).await;
    expect(&app, &doc, op.clone(), &read, b, Some(json!({"seq": -1})), StatusCode::BAD_REQUEST).await;
    let op = (get.clone(), "/api/v1/channels");
    let mine = expect(&app, &doc, op.clone(), op.1, b, None, StatusCode::OK).await;
    assert_eq!(mine["channels"][0]["last_read_seq"], 2);
    let op = (get.clone(), "/api/v1/channels/{id}/members");
    let members = format!("/api/v1/channels/{general}/members");
    expect(&app, &doc, op.clone(), &members, b, None, StatusCode::OK).await;

    // Moderation: alice owns general, bob is in it.
    let op = (patch.clone(), "/api/v1/channels/{id}");
    let general_path = format!("/api/v1/channels/{general}");
    let topic = json!({"client_msg_id": "t1", "topic": "news"});
    expect(&app, &doc, op.clone(), &general_path, a, Some(topic), StatusCode::CREATED).await;
    let rename = json!({"client_msg_id": "n1", "name": "secret"});
    expect(&app, &doc, op.clone(), &general_path, a, Some(rename), StatusCode::CONFLICT).await;
    expect(
        &app,
        &doc,
        op.clone(),
        &general_path,
        b,
        Some(json!({"client_msg_id": "n2", "topic": "x"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let op = (get.clone(), "/api/v1/channels/{id}/bans");
    expect(&app, &doc, op.clone(), &format!("{general_path}/bans"), a, None, StatusCode::OK).await;
    let op = (Method::PUT, "/api/v1/channels/{id}/bans/{user_id}");
    let ban = format!("{general_path}/bans/{SOME_ID}?client_msg_id=b1");
    expect(&app, &doc, op.clone(), &ban, a, None, StatusCode::CREATED).await;
    let op = (Method::DELETE, "/api/v1/channels/{id}/bans/{user_id}");
    let unban = format!("{general_path}/bans/{SOME_ID}?client_msg_id=b2");
    expect(&app, &doc, op.clone(), &unban, a, None, StatusCode::CREATED).await;
    let op = (Method::DELETE, "/api/v1/channels/{id}/members/{user_id}");
    let remove = format!("{general_path}/members/{alice_id}?client_msg_id=x1");
    expect(&app, &doc, op.clone(), &remove, a, None, StatusCode::BAD_REQUEST).await;
    let op = (Method::DELETE, "/api/v1/channels/{id}");
    let delete = format!("{general_path}?client_msg_id=d1&confirm=general");
    expect(&app, &doc, op.clone(), &delete, b, None, StatusCode::FORBIDDEN).await;

    // Bots and incoming webhooks.
    let op = (post.clone(), "/api/v1/admin/bots");
    let bot = expect(&app, &doc, op.clone(), op.1, a, Some(json!({"username": "ci-bot"})), StatusCode::CREATED).await;
    let bot_tokens = format!("/api/v1/admin/bots/{}/tokens", bot["user"]["id"].as_str().unwrap());
    let op = (post.clone(), "/api/v1/admin/bots/{id}/tokens");
    let token = expect(&app, &doc, op.clone(), &bot_tokens, a, None, StatusCode::CREATED).await;
    let op = (get.clone(), "/api/v1/admin/bots/{id}/tokens");
    expect(&app, &doc, op.clone(), &bot_tokens, a, None, StatusCode::OK).await;
    let op = (Method::DELETE, "/api/v1/admin/bots/{id}/tokens/{token}");
    let revoke = format!("{bot_tokens}/{}", token["token_id"].as_str().unwrap());
    expect(&app, &doc, op.clone(), &revoke, a, None, StatusCode::NO_CONTENT).await;
    let op = (post.clone(), "/api/v1/channels/{id}/webhooks");
    let hooks = format!("{general_path}/webhooks");
    let made = expect(&app, &doc, op.clone(), &hooks, a, Some(json!({"name": "Grafana"})), StatusCode::CREATED).await;
    let op = (get.clone(), "/api/v1/channels/{id}/webhooks");
    expect(&app, &doc, op.clone(), &hooks, a, None, StatusCode::OK).await;
    let op = (post.clone(), "/hooks/{secret}");
    let hook_path = made["path"].as_str().unwrap();
    expect(&app, &doc, op.clone(), hook_path, None, Some(json!({"text": "alert"})), StatusCode::OK).await;
    expect(&app, &doc, op.clone(), hook_path, None, Some(json!({})), StatusCode::BAD_REQUEST).await;
    let op = (Method::DELETE, "/api/v1/webhooks/{id}");
    let hook_id = made["webhook"]["id"].as_str().unwrap();
    expect(&app, &doc, op.clone(), &format!("/api/v1/webhooks/{hook_id}"), a, None, StatusCode::NO_CONTENT).await;

    let op = (post.clone(), "/api/v1/channels/{id}/outgoing-webhooks");
    let outgoing = format!("{general_path}/outgoing-webhooks");
    let refused = json!({"url": "http://127.0.0.1:9/hook"});
    expect(&app, &doc, op.clone(), &outgoing, a, Some(refused), StatusCode::BAD_REQUEST).await;
    let op = (get.clone(), "/api/v1/channels/{id}/outgoing-webhooks");
    expect(&app, &doc, op.clone(), &outgoing, a, None, StatusCode::OK).await;
    let op = (Method::DELETE, "/api/v1/outgoing-webhooks/{id}");
    expect(&app, &doc, op.clone(), &format!("/api/v1/outgoing-webhooks/{SOME_ID}"), a, None, StatusCode::NOT_FOUND)
        .await;

    // Invites.
    let op = (post.clone(), "/api/v1/channels/{id}/invites");
    let invites = format!("/api/v1/channels/{secret}/invites");
    expect(&app, &doc, op.clone(), &invites, a, None, StatusCode::CREATED).await;
    let limits = json!({"max_uses": 1, "expires_in_seconds": 60});
    let invite = expect(&app, &doc, op.clone(), &invites, a, Some(limits), StatusCode::CREATED).await;
    expect(&app, &doc, op.clone(), &invites, a, Some(json!({"max_uses": 0})), StatusCode::BAD_REQUEST).await;
    expect(&app, &doc, op.clone(), &invites, b, None, StatusCode::NOT_FOUND).await;
    let code = invite["invite"]["code"].as_str().unwrap();
    let op = (get.clone(), "/api/v1/invites/{code}");
    expect(&app, &doc, op.clone(), &format!("/api/v1/invites/{code}"), None, None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), &format!("/api/v1/invites/{SOME_CODE}"), None, None, StatusCode::NOT_FOUND).await;
    let op = (post.clone(), "/api/v1/invites/{code}/accept");
    expect(&app, &doc, op.clone(), &format!("/api/v1/invites/{code}/accept"), b, None, StatusCode::OK).await;

    // DMs.
    let op = (post.clone(), "/api/v1/dms");
    let dm =
        expect(&app, &doc, op.clone(), op.1, a, Some(json!({"user_ids": [bob_id, alice_id]})), StatusCode::OK).await;
    assert_eq!(dm["channel"]["members"].as_array().unwrap().len(), 2);
    expect(&app, &doc, op.clone(), op.1, a, Some(json!({"user_ids": [alice_id]})), StatusCode::BAD_REQUEST).await;
    expect(&app, &doc, op.clone(), op.1, a, Some(json!({"user_ids": [SOME_ID]})), StatusCode::NOT_FOUND).await;
    let dm = dm["channel"]["id"].as_str().unwrap().to_owned();
    let op = (post.clone(), "/api/v1/channels/{id}/leave");
    expect(&app, &doc, op.clone(), &format!("/api/v1/channels/{dm}/leave"), b, None, StatusCode::FORBIDDEN).await;
    expect(&app, &doc, op.clone(), &format!("/api/v1/channels/{general}/leave"), b, None, StatusCode::NO_CONTENT).await;

    // The log now holds these event types, each checked against the document as served.
    let op = (get.clone(), "/api/v1/channels/{id}/events");
    let events = format!("/api/v1/channels/{general}/events");
    let page = expect(&app, &doc, op.clone(), &format!("{events}?after=0"), a, None, StatusCode::OK).await;
    let types: BTreeSet<&str> = page["events"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    let expected = ["member_banned", "member_joined", "member_left", "member_unbanned", "message", "topic_changed"];
    assert_eq!(types, BTreeSet::from(expected));
    expect(&app, &doc, op.clone(), &format!("{events}?before=3&limit=1"), a, None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), &format!("{events}?limit=0"), a, None, StatusCode::BAD_REQUEST).await;
    expect(&app, &doc, op.clone(), &format!("{events}?after=1&before=2"), a, None, StatusCode::BAD_REQUEST).await;
    let revoked = second["token"].as_str();
    expect(&app, &doc, op.clone(), &events, revoked, None, StatusCode::UNAUTHORIZED).await;
    expect(&app, &doc, op.clone(), &format!("/api/v1/channels/{secret}/events"), b, None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), &format!("/api/v1/channels/{dm}/events"), a, None, StatusCode::OK).await;

    // Operations and the document itself.
    for path in ["/healthz", "/readyz", "/api/v1/openapi.json"] {
        expect(&app, &doc, (get.clone(), path), path, None, None, StatusCode::OK).await;
    }
    let op = (get.clone(), "/metrics");
    expect(&app, &doc, op.clone(), op.1, Some(METRICS_TOKEN), None, StatusCode::OK).await;
    expect(&app, &doc, op.clone(), op.1, a, None, StatusCode::UNAUTHORIZED).await;

    // Live: the frames of a WebSocket session and of a stream.
    let frame_schema = json!({"$ref": "#/components/schemas/ServerFrame"});
    let (mut ws, ready) = WsClient::connect(app.addr, alice_token, json!({ general.clone(): 0 })).await;
    check(&doc, &frame_schema, &ready, "ready").unwrap();
    for event in ws.events_through(&general, 5).await {
        check(&doc, &frame_schema, &json!({"type": "event", "event": event}), "event").unwrap();
    }
    ws.send(json!({"type": "ping", "ref": "p"})).await;
    check(&doc, &frame_schema, &ws.next_of("pong").await, "pong").unwrap();
    ws.post(7, &general, "m5", "live").await;
    check(&doc, &frame_schema, &ws.next_of("ack").await, "ack").unwrap();
    ws.send(json!({"type": "dance"})).await;
    check(&doc, &frame_schema, &ws.next_of("error").await, "error").unwrap();
    ws.send(json!({"type": "read", "channel_id": general, "seq": 99})).await;
    check(&doc, &frame_schema, &ws.next_of("read_marker").await, "read_marker").unwrap();

    let response = app
        .http
        .get(app.url(&format!("/api/v1/stream?resume={general}:0")))
        .bearer_auth(alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    let documented = doc["paths"]["/api/v1/stream"]["get"]["responses"]["200"]["content"].as_object().unwrap();
    assert!(documented.keys().any(|media| content_type.starts_with(media.as_str())), "{content_type}");
    let mut response = response;
    let mut text = String::new();
    let mut seen = 0;
    while seen < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk()).await.unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk.expect("the stream goes on")).unwrap());
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            let field = |name: &str| message.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
            let (Some(event), Some(data)) = (field("event:"), field("data:")) else { continue };
            let frame: Value = serde_json::from_str(data).unwrap();
            assert_eq!(frame["type"], event);
            check(&doc, &json!({"$ref": "#/components/schemas/StreamFrame"}), &frame, event).unwrap();
            seen += 1;
        }
    }
}

/// `GET /api/v1/ws` upgrades (101), as documented.
#[tokio::test]
async fn the_websocket_endpoint_upgrades() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["paths"]["/api/v1/ws"]["get"]["responses"]["101"].is_object());
    let (_socket, response) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", app.addr)).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
}
