//! Values parsed once at the edge. Holding one of these types means the value already
//! satisfies the contract, so the rest of the code never re-checks it.

pub mod access;
pub mod client_ip;
pub mod email;
pub mod one_time_code;
pub mod options;
pub mod password;
pub mod phone;
pub mod pkce;
pub mod policy;
pub mod redirect;
pub mod totp;
pub mod webauthn;

pub use access::EmailAccessList;
pub use email::Email;
pub use one_time_code::OneTimeCode;
pub use options::{SignUpOptions, SignUpOptionsInput};
pub use password::Password;
pub use phone::PhoneNumber;
pub use pkce::{CodeChallenge, CodeVerifier};
pub use redirect::RedirectAllowList;
