//! Adapters for the outside world. Each one hides a protocol behind a small type so the
//! services never see SMTP, HTTP APIs or file layouts.

pub mod audit_webhook;
pub mod cimd;
pub mod email;
pub mod hasura;
pub mod hibp;
pub mod html_page;
pub mod memcached;
pub mod oauth;
pub mod qr;
pub mod redis_counters;
pub mod sms;
pub mod turnstile;
pub mod webauthn;
