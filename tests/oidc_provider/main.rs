//! The OAuth2/OIDC identity provider (Nhost Auth 0.46+, docs/oidc-provider.md), end to
//! end over HTTP against a real database: start-up checks, discovery, the authorization
//! endpoint, the consent UI's API, the key set, metadata-document clients, and (in the
//! token modules) the token, userinfo, introspection and revocation endpoints.

#[path = "../support/mod.rs"]
mod support;

mod cimd;
mod common;
mod consent_browser;
mod consent_page;
mod end_to_end;
mod flows;
mod grants;
mod introspect;
mod startup;
mod token;
mod userinfo;
