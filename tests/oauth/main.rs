//! OAuth providers, id tokens and provider tokens, end to end: every provider is a local
//! server speaking its protocol (OAuth 2.0, OpenID Connect, OAuth 1.0a), and the tests
//! follow the browser's redirects through the service.

#[path = "../support/mod.rs"]
mod support;

mod fake_provider;
mod fake_twitter;
mod flow;
mod keys;

mod apple;
mod idtoken;
mod oidc;
mod provider_tokens;
mod providers;
mod rules;
mod signup;
mod state;

use fake_provider::FakeProvider;
use support::app::TestApp;

/// Flags enabling the OAuth 2.0 provider `name` against a fake: client `client-<name>`
/// with secret `secret-<name>`, endpoints `/authorize`, `/token` and `profile_path`.
pub fn oauth2_flags(name: &str, fake: &FakeProvider, profile_path: &str) -> Vec<String> {
    vec![
        format!("--{name}-enabled"),
        format!("--{name}-client-id=client-{name}"),
        format!("--{name}-client-secret=secret-{name}"),
        format!("--{name}-authorization-url={}", fake.url("/authorize")),
        format!("--{name}-token-url={}", fake.url("/token")),
        format!("--{name}-user-profile-url={}", fake.url(profile_path)),
    ]
}

/// A test server with these flags (and the test defaults of `TestApp`).
pub async fn app(flags: &[String], more: &[&str]) -> TestApp {
    let mut all: Vec<&str> = flags.iter().map(String::as_str).collect();
    all.extend_from_slice(more);
    TestApp::with(&all).await
}
