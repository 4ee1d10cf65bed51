//! The email workflows end to end, against real PostgreSQL and a real SMTP server started
//! by each test: password reset and change, email verification and change, magic links,
//! email one-time codes, deanonymisation, `/verify`, `/change-env`, Postmark delivery, and
//! what a failed send leaves behind (nothing).

#[path = "../support/mod.rs"]
mod support;

mod common;

mod change_env;
mod deanonymize;
mod email_change;
mod failed_send;
mod otp;
mod password;
mod passwordless;
mod postmark;
mod templates;
mod verification;
mod verify;
