//! REST API tests against the real server on port 0, one binary for all.

mod accounts;
mod auth;
mod bots;
mod changes;
mod channels;
mod headers;
mod invites;
mod messages;
mod moderation;
mod openapi;
mod ops;
mod origin;
mod outgoing;
mod rate_limits;
