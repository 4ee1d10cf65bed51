//! The OAuth2/OIDC identity provider (Nhost Auth 0.46+, docs/oidc-provider.md), end to
//! end over HTTP against a real database: start-up checks, discovery, the authorization
//! endpoint, the consent UI's API, the key set, metadata-document clients, the device
//! flow, and (in the token modules) the token, userinfo, introspection and revocation
//! endpoints; `interop` runs an independent relying party (Python's Authlib) against the
//! real binary.

#[path = "../support/mod.rs"]
mod support;

// The WebAuthn tests' software authenticator, for passkeys on the built-in page.
#[path = "../webauthn/authenticator.rs"]
#[allow(dead_code)]
mod authenticator;
mod cimd;
mod common;
mod consent_browser;
mod consent_page;
mod consent_passkey;
mod device;
mod device_browser;
mod device_page;
mod end_to_end;
mod flows;
mod grants;
mod interop;
mod introspect;
mod startup;
mod token;
mod userinfo;
