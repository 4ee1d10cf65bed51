//! The OAuth2/OIDC identity provider's endpoints (`/oauth2/*`; docs/oidc-provider.md).
//! Every answer of these routes is an OAuth2 answer (`{"error","error_description"}` on
//! failure), not the service's usual error body.

pub mod form;
pub mod introspect;
pub mod revoke;
pub mod token;
pub mod userinfo;
