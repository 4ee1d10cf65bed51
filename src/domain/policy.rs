//! Sign-up policy computed once from the configuration: roles, locales, email lists,
//! redirect allow-list, password rules and avatars.

use md5::{Digest, Md5};
use serde_json::Value;

use crate::config::Config;
use crate::domain::options::{RedirectOptionsInput, SignUpOptionsInput};
use crate::domain::{EmailAccessList, Password, RedirectAllowList, SignUpOptions};
use crate::error::ErrorCode;

pub struct Policy {
    pub allowed_roles: Vec<String>,
    pub default_role: String,
    pub allowed_locales: Vec<String>,
    pub default_locale: String,
    pub email_access: EmailAccessList,
    pub redirects: RedirectAllowList,
    pub client_url: String,
    pub password_min_length: usize,
    gravatar: Option<(String, String)>,
}

impl Policy {
    pub fn from_config(config: &Config) -> Result<Policy, String> {
        use crate::config::parse::non_empty;
        let mut patterns: Vec<String> = Vec::new();
        if !config.client.client_url.is_empty() {
            patterns.push(config.client.client_url.clone());
        }
        patterns.extend(non_empty(&config.client.allow_redirect_urls));
        Ok(Policy {
            allowed_roles: config.allowed_roles(),
            default_role: config.signup.default_role.clone(),
            allowed_locales: config.allowed_locales(),
            default_locale: config.signup.default_locale.clone(),
            email_access: EmailAccessList::new(
                non_empty(&config.signup.block_emails),
                non_empty(&config.signup.allowed_emails),
                non_empty(&config.signup.block_email_domains),
                non_empty(&config.signup.allowed_email_domains),
            ),
            redirects: RedirectAllowList::new(patterns.iter().map(String::as_str))?,
            client_url: config.client.client_url.clone(),
            password_min_length: config.signup.password_min_length,
            gravatar: config.signup.gravatar_enabled.then(|| {
                (
                    config.signup.gravatar_default.as_str().to_owned(),
                    config.signup.gravatar_rating.as_str().to_owned(),
                )
            }),
        })
    }

    /// The allow/block lists (`invalid-email-password` when rejected, as upstream).
    pub fn check_email(&self, email: &str) -> Result<(), ErrorCode> {
        if self.email_access.allows(email) {
            Ok(())
        } else {
            Err(ErrorCode::InvalidEmailPassword)
        }
    }

    pub fn check_password(&self, password: &Password) -> Result<(), ErrorCode> {
        if password.byte_len() < self.password_min_length {
            return Err(ErrorCode::PasswordTooShort);
        }
        Ok(())
    }

    /// `redirectTo` or the client URL; rejected unless it matches the allow-list.
    pub fn resolve_redirect(&self, requested: Option<&str>) -> Result<String, ErrorCode> {
        match requested {
            None => Ok(self.client_url.clone()),
            Some(url) if self.redirects.allows(url) => Ok(url.to_owned()),
            Some(_) => Err(ErrorCode::RedirectToNotAllowed),
        }
    }

    pub fn resolve_redirect_options(
        &self,
        options: Option<&RedirectOptionsInput>,
    ) -> Result<String, ErrorCode> {
        self.resolve_redirect(options.and_then(|o| o.redirect_to.as_deref()))
    }

    /// A requested locale, or the default when absent or not allowed (silently, as upstream).
    pub fn resolve_locale(&self, requested: Option<&str>) -> String {
        match requested {
            Some(l) if self.allowed_locales.iter().any(|a| a == l) => l.to_owned(),
            _ => self.default_locale.clone(),
        }
    }

    /// Upstream's `ValidateSignUpOptions`: redirect, roles, default role, then defaults.
    pub fn resolve_signup_options(
        &self,
        input: Option<SignUpOptionsInput>,
        default_display_name: &str,
    ) -> Result<SignUpOptions, ErrorCode> {
        let input = input.unwrap_or_default();
        let redirect_to = self.resolve_redirect(input.redirect_to.as_deref())?;
        let allowed_roles = match input.allowed_roles {
            None => self.allowed_roles.clone(),
            Some(roles) => {
                if roles.iter().any(|r| !self.allowed_roles.contains(r)) {
                    return Err(ErrorCode::RoleNotAllowed);
                }
                // Duplicates would violate user_roles_user_id_role_key (upstream: 500).
                let mut unique: Vec<String> = Vec::with_capacity(roles.len());
                for r in roles {
                    if !unique.contains(&r) {
                        unique.push(r);
                    }
                }
                unique
            }
        };
        let default_role = input
            .default_role
            .unwrap_or_else(|| self.default_role.clone());
        if !allowed_roles.contains(&default_role) {
            return Err(ErrorCode::DefaultRoleMustBeInAllowedRoles);
        }
        Ok(SignUpOptions {
            allowed_roles,
            default_role,
            display_name: input
                .display_name
                .map(|d| d.into_inner())
                .unwrap_or_else(|| default_display_name.to_owned()),
            locale: self.resolve_locale(input.locale.as_ref().map(|l| l.as_str())),
            metadata: input.metadata.map(Value::Object).unwrap_or(Value::Null),
            redirect_to,
        })
    }

    /// The Gravatar URL for an email, or `""` when Gravatar is disabled.
    pub fn avatar_url(&self, email: &str) -> String {
        match &self.gravatar {
            None => String::new(),
            Some((default, rating)) => {
                let digest = Md5::digest(email.to_lowercase().as_bytes());
                format!(
                    "https://www.gravatar.com/avatar/{}?d={default}&r={rating}",
                    hex::encode(digest)
                )
            }
        }
    }
}
