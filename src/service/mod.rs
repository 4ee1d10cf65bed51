//! Workflows. They take parsed domain values and the shared state, run the rules of
//! upstream's contract, and return plain data or an [`ApiError`](crate::error::ApiError);
//! they know nothing about HTTP.

pub mod auth;
pub mod email;
pub mod passwords;
pub mod policy;
pub mod session;
pub mod signin;
pub mod signup;
pub mod tickets;
pub mod user_check;
pub mod verify;
pub mod webauthn;
