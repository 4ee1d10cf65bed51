//! `POST /link/*`: link another identity to the signed-in user.
pub mod idtoken;
