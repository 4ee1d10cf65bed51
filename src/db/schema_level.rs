//! What the `auth` schema of the database offers, by migration level.
//!
//! A database is never moved past the level it was found at unless the operator asks
//! (`AUTH_MIGRATE_TO_LATEST`), so the service runs on any level from 18 (upstream
//! v0.42's last) to 27 (Nhost Auth 0.52's last). Code that touches a column or table of
//! a later level asks this value first instead of assuming the newest schema.

/// The level of the `auth` schema the service runs on (the golang-migrate version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaLevel(i64);

impl SchemaLevel {
    /// Upstream `nhost/hasura-auth` v0.42's last migration.
    pub const V0_42: SchemaLevel = SchemaLevel(18);
    /// Nhost Auth 0.52's last migration (`services/auth` of `nhost/nhost`).
    pub const V0_52: SchemaLevel = SchemaLevel(27);

    pub const fn new(version: i64) -> SchemaLevel {
        SchemaLevel(version)
    }

    pub const fn version(self) -> i64 {
        self.0
    }

    /// The longest `auth.users.locale` the schema stores: 2 before 19, 3 from 19 on.
    pub const fn locale_max_len(self) -> usize {
        if self.0 >= 19 { 3 } else { 2 }
    }

    /// The identity provider's tables (`oauth2_clients`, `oauth2_auth_requests`,
    /// `oauth2_authorization_codes`, `oauth2_refresh_tokens`): 20.
    pub const fn has_oauth2_tables(self) -> bool {
        self.0 >= 20
    }

    /// `auth.pkce_authorization_codes`: 21.
    pub const fn has_pkce_codes(self) -> bool {
        self.0 >= 21
    }

    /// Scope validation by trigger, accepting `graphql:role:<role>`: 22.
    pub const fn has_graphql_role_scopes(self) -> bool {
        self.0 >= 22
    }

    /// `auth.users.otp_attempts`: 23.
    pub const fn has_otp_attempts(self) -> bool {
        self.0 >= 23
    }

    /// `auth.users.new_phone_number`: 24.
    pub const fn has_new_phone_number(self) -> bool {
        self.0 >= 24
    }

    /// `auth.users.pending_sms_deanonymize_options`: 25.
    pub const fn has_pending_sms_deanonymize_options(self) -> bool {
        self.0 >= 25
    }

    /// Staged SMS sign-ups live in `new_phone_number` (data moved by 26, indexed by 27).
    pub const fn has_staged_sms_signups(self) -> bool {
        self.0 >= 27
    }
}

impl std::fmt::Display for SchemaLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_the_migration_that_brings_them() {
        let v18 = SchemaLevel::V0_42;
        assert_eq!(v18.locale_max_len(), 2);
        assert!(!v18.has_oauth2_tables() && !v18.has_pkce_codes() && !v18.has_otp_attempts());
        assert!(!v18.has_new_phone_number() && !v18.has_pending_sms_deanonymize_options());

        assert_eq!(SchemaLevel::new(19).locale_max_len(), 3);
        assert!(SchemaLevel::new(20).has_oauth2_tables());
        assert!(!SchemaLevel::new(20).has_pkce_codes());
        assert!(SchemaLevel::new(21).has_pkce_codes());
        assert!(!SchemaLevel::new(21).has_graphql_role_scopes());
        assert!(SchemaLevel::new(22).has_graphql_role_scopes());
        assert!(!SchemaLevel::new(22).has_otp_attempts());
        assert!(SchemaLevel::new(23).has_otp_attempts());
        assert!(!SchemaLevel::new(23).has_new_phone_number());
        assert!(SchemaLevel::new(24).has_new_phone_number());
        assert!(!SchemaLevel::new(24).has_pending_sms_deanonymize_options());
        assert!(SchemaLevel::new(25).has_pending_sms_deanonymize_options());
        assert!(!SchemaLevel::new(26).has_staged_sms_signups());

        let v27 = SchemaLevel::V0_52;
        assert_eq!(v27.locale_max_len(), 3);
        assert!(v27.has_oauth2_tables() && v27.has_pkce_codes() && v27.has_graphql_role_scopes());
        assert!(v27.has_otp_attempts() && v27.has_new_phone_number());
        assert!(v27.has_pending_sms_deanonymize_options() && v27.has_staged_sms_signups());
        assert!(SchemaLevel::V0_42 < SchemaLevel::V0_52);
    }
}
