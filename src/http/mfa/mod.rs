//! `/mfa/*`.
pub mod totp;
