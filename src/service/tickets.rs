//! One-time tickets (email verification, magic links, password reset, email change, MFA).
//!
//! The client receives `<type>:<uuid>`; the `users.ticket` column stores
//! `<type>:sha256:<hex>` so a database leak does not hand out live tickets. Tickets that
//! upstream stored in clear (before a takeover) are still accepted.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketKind {
    VerifyEmail,
    PasswordlessEmail,
    PasswordReset,
    EmailConfirmChange,
    MfaTotp,
}

impl TicketKind {
    /// The prefix of the ticket value (also the `type` echoed after `/verify`).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verifyEmail",
            Self::PasswordlessEmail => "passwordlessEmail",
            Self::PasswordReset => "passwordReset",
            Self::EmailConfirmChange => "emailConfirmChange",
            Self::MfaTotp => "mfaTotp",
        }
    }

    /// The `type` parameter of emailed links (differs from the prefix, as upstream).
    pub fn link_type(self) -> &'static str {
        match self {
            Self::VerifyEmail => "emailVerify",
            Self::PasswordlessEmail => "signinPasswordless",
            Self::PasswordReset => "passwordReset",
            Self::EmailConfirmChange => "emailConfirmChange",
            Self::MfaTotp => "mfaTotp",
        }
    }

    pub fn ttl_secs(self) -> i64 {
        match self {
            Self::VerifyEmail => 30 * 24 * 3600,
            Self::MfaTotp => 5 * 60,
            _ => 3600,
        }
    }

    /// The kind named by a presented ticket's prefix (`otp:` is recognised separately).
    pub fn from_ticket(ticket: &str) -> Option<TicketKind> {
        let (prefix, _) = ticket.split_once(':')?;
        [
            Self::VerifyEmail,
            Self::PasswordlessEmail,
            Self::PasswordReset,
            Self::EmailConfirmChange,
            Self::MfaTotp,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
    }
}

/// A freshly issued ticket: what the client gets and what the database keeps.
pub struct IssuedTicket {
    pub value: String,
    pub stored: String,
}

impl std::fmt::Debug for IssuedTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedTicket(**redacted**)")
    }
}

/// A ticket a client presented (`/verify`, MFA sign-in, password reset); `Debug` hides
/// it.
pub struct Ticket(String);

impl Ticket {
    pub fn presented(value: String) -> Ticket {
        Ticket(value)
    }

    /// The kind its prefix names (`otp:` tickets have none: see [`Ticket::is_otp`]).
    /// A value holding NUL was never issued, and PostgreSQL cannot even compare it: it
    /// has no kind, so every consumer refuses it as an invalid ticket before any query.
    /// (JSON bodies never get here with NUL; `/verify`'s query can, and answers with its
    /// error redirect.)
    pub fn kind(&self) -> Option<TicketKind> {
        if self.0.contains('\0') {
            return None;
        }
        TicketKind::from_ticket(&self.0)
    }

    /// Upstream's email one-time codes, which `/verify` does not take.
    pub fn is_otp(&self) -> bool {
        self.0.starts_with("otp:")
    }

    /// The values it may be stored as (see [`lookup_forms`]).
    pub fn lookup_forms(&self) -> Vec<String> {
        lookup_forms(&self.0)
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            Some(kind) => write!(f, "Ticket({}:**redacted**)", kind.prefix()),
            None => f.write_str("Ticket(**redacted**)"),
        }
    }
}

pub fn issue(kind: TicketKind) -> IssuedTicket {
    let value = format!("{}:{}", kind.prefix(), uuid::Uuid::new_v4());
    let stored = stored_form(&value);
    IssuedTicket { value, stored }
}

/// The hashed form kept in `users.ticket`.
pub fn stored_form(ticket: &str) -> String {
    let prefix = ticket.split_once(':').map_or("", |(p, _)| p);
    format!(
        "{prefix}:sha256:{}",
        hex::encode(Sha256::digest(ticket.as_bytes()))
    )
}

/// The values a presented ticket may be stored as: hashed (ours) or clear (upstream's).
/// A presented value that looks like our stored form is never matched as clear text,
/// otherwise someone who can read the column could replay it.
pub fn lookup_forms(ticket: &str) -> Vec<String> {
    let mut forms = vec![stored_form(ticket)];
    if !ticket.contains(":sha256:") {
        forms.push(ticket.to_owned());
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_holding_nul_has_no_kind() {
        assert_eq!(
            Ticket::presented("verifyEmail:abc".into()).kind(),
            Some(TicketKind::VerifyEmail)
        );
        assert_eq!(Ticket::presented("verifyEmail:a\0c".into()).kind(), None);
        assert_eq!(Ticket::presented("mfaTotp:\0".into()).kind(), None);
    }

    #[test]
    fn issued_ticket_is_stored_hashed_with_its_type() {
        let t = issue(TicketKind::VerifyEmail);
        assert!(t.value.starts_with("verifyEmail:"));
        assert!(t.stored.starts_with("verifyEmail:sha256:"));
        assert!(!t.stored.contains(&t.value[12..]));
        assert_eq!(lookup_forms(&t.value)[0], t.stored);
        assert_eq!(
            TicketKind::from_ticket(&t.value),
            Some(TicketKind::VerifyEmail)
        );
        assert_eq!(TicketKind::from_ticket("bogus:1"), None);
        assert_eq!(
            lookup_forms(&t.stored).len(),
            1,
            "stored form is not accepted as clear text"
        );
    }
}
