//! Token material: signed access tokens (JWT) and opaque refresh tokens.

pub mod custom_claims;
pub mod encryption;
pub mod jwt;
pub mod password_hash;
pub mod refresh;
pub mod secret;

pub use jwt::{AccessClaims, JwtConfigError, JwtKeys, VerifiedToken};
