//! Email allow/block lists (`AUTH_ACCESS_CONTROL_*`): exact, case-sensitive matches, as
//! upstream compares them.

use std::collections::HashSet;

#[derive(Debug, Clone, Default)]
pub struct EmailAccessList {
    blocked_emails: HashSet<String>,
    allowed_emails: HashSet<String>,
    blocked_domains: HashSet<String>,
    allowed_domains: HashSet<String>,
}

impl EmailAccessList {
    pub fn new(
        blocked_emails: Vec<String>,
        allowed_emails: Vec<String>,
        blocked_domains: Vec<String>,
        allowed_domains: Vec<String>,
    ) -> Self {
        EmailAccessList {
            blocked_emails: blocked_emails.into_iter().collect(),
            allowed_emails: allowed_emails.into_iter().collect(),
            blocked_domains: blocked_domains.into_iter().collect(),
            allowed_domains: allowed_domains.into_iter().collect(),
        }
    }

    /// True when nothing is configured (every address passes).
    pub fn is_open(&self) -> bool {
        self.blocked_emails.is_empty()
            && self.allowed_emails.is_empty()
            && self.blocked_domains.is_empty()
            && self.allowed_domains.is_empty()
    }

    pub fn allows(&self, email: &str) -> bool {
        let mut parts = email.split('@');
        let (Some(_), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        if self.blocked_emails.contains(email) {
            return false;
        }
        if self.allowed_emails.contains(email) {
            return true;
        }
        if self.blocked_domains.contains(domain) {
            return false;
        }
        if self.allowed_domains.contains(domain) {
            return true;
        }
        self.allowed_emails.is_empty() && self.allowed_domains.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(be: &[&str], ae: &[&str], bd: &[&str], ad: &[&str]) -> EmailAccessList {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        EmailAccessList::new(v(be), v(ae), v(bd), v(ad))
    }

    #[test]
    fn open_list_accepts_everything_well_formed() {
        let l = list(&[], &[], &[], &[]);
        assert!(l.allows("a@b.c"));
        assert!(!l.allows("a@b@c"));
        assert!(!l.allows("nodomain"));
    }

    #[test]
    fn blocked_beats_allowed_domain_and_allowed_email_beats_blocked_domain() {
        let l = list(
            &["bad@ok.com"],
            &["vip@blocked.com"],
            &["blocked.com"],
            &["ok.com"],
        );
        assert!(!l.allows("bad@ok.com"));
        assert!(l.allows("vip@blocked.com"));
        assert!(!l.allows("x@blocked.com"));
        assert!(l.allows("x@ok.com"));
        assert!(
            !l.allows("x@other.com"),
            "allow-list present: others rejected"
        );
    }

    #[test]
    fn comparisons_are_exact_and_case_sensitive() {
        let l = list(&[], &[], &["blocked.com"], &[]);
        assert!(l.allows("x@BLOCKED.com"));
        assert!(l.allows("x@sub.blocked.com"));
    }
}
