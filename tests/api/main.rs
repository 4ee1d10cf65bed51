//! HTTP API tests: each test starts its own server on a fresh database.

#[path = "../support/mod.rs"]
mod support;

mod anonymous;
mod audit;
mod contract;
mod email_flow;
mod hostile;
mod keys;
mod lockout;
mod metrics;
mod notifications;
mod openapi;
mod pkce;
mod postgres_tls;
mod resilience;
mod reuse;
mod routes;
mod sessions;
mod signin_email_password;
mod signout;
mod signup_email_password;
mod signup_routes;
mod system;
mod takeover;
mod takeover_052;
mod token;
mod user;
mod verify;
