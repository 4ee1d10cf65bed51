//! Route policy: what each route of the table ([`super::routes`]) declares besides its
//! handler. The router applies the rate-limit buckets and Turnstile as layers on the route
//! itself, so no stage of the pipeline looks at the request path and `AUTH_API_PREFIX`
//! plays no part in them.

use crate::config::Config;

/// A rate-limit bucket besides the global one, which every request counts in (SPEC §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// The route sends email.
    Email,
    /// The route sends email only while `AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED` is on.
    EmailIfVerifying,
    Sms,
    BruteForce,
    Signups,
    /// The OAuth2 provider's client endpoints (`/oauth2/token`, `/oauth2/introspect`),
    /// per IP: Nhost Auth 0.52's `oauth2-server` bucket.
    OAuth2Server,
}

/// When a route counts in the email bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmailLimit {
    #[default]
    Never,
    Always,
    /// Read per request: `POST /change-env` can switch the setting at runtime.
    WhileVerificationRequired,
}

/// The buckets a route counts in, besides the global one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub email: EmailLimit,
    pub sms: bool,
    pub brute_force: bool,
    pub signups: bool,
    pub oauth2_server: bool,
}

impl Limits {
    /// The global bucket only (also what unrouted requests count in).
    pub const GLOBAL: Limits = Limits {
        email: EmailLimit::Never,
        sms: false,
        brute_force: false,
        signups: false,
        oauth2_server: false,
    };

    pub const fn of(buckets: &[Bucket]) -> Limits {
        let mut limits = Limits::GLOBAL;
        let mut i = 0;
        while i < buckets.len() {
            match buckets[i] {
                Bucket::Email => limits.email = EmailLimit::Always,
                Bucket::EmailIfVerifying => limits.email = EmailLimit::WhileVerificationRequired,
                Bucket::Sms => limits.sms = true,
                Bucket::BruteForce => limits.brute_force = true,
                Bucket::Signups => limits.signups = true,
                Bucket::OAuth2Server => limits.oauth2_server = true,
            }
            i += 1;
        }
        limits
    }
}

/// Whether Cloudflare Turnstile guards the route (when `AUTH_TURNSTILE_SECRET` is set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    NoChallenge,
    Turnstile,
}

/// A configuration switch that turns routes on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    AnonymousUsers,
    EmailPasswordless,
    OtpEmail,
    SmsPasswordless,
    Mfa,
    WebAuthn,
    ChangeEnv,
    /// The OAuth2 provider's built-in sign-in and consent page.
    OAuth2LoginPage,
}

impl Feature {
    pub fn enabled(self, config: &Config) -> bool {
        match self {
            Feature::AnonymousUsers => config.signup.enable_anonymous_users,
            Feature::EmailPasswordless => config.passwordless.email_passwordless_enabled,
            Feature::OtpEmail => config.passwordless.otp_email_enabled,
            Feature::SmsPasswordless => config.sms.sms_passwordless_enabled,
            Feature::Mfa => config.mfa.mfa_enabled,
            Feature::WebAuthn => config.webauthn.webauthn_enabled,
            Feature::ChangeEnv => config.server.enable_change_env,
            Feature::OAuth2LoginPage => {
                let c = &config.oauth2_provider;
                c.oauth2_provider_enabled && c.oauth2_provider_builtin_login_page
            }
        }
    }
}

/// What keeps a route from being used.
///
/// `Switch` and `Provider` answer 409 `disabled-endpoint`, and upstream checks them only
/// once the request's input is read (a malformed body answers 400 first; anonymous
/// sign-in answers `signup-disabled` first). A layer in front of the handler would change
/// that order, so the workflow checks them; the declaration here is verified against the
/// running server by `tests/api/routes.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// 409 `disabled-endpoint` while the feature is off (it can change at runtime).
    Switch(Feature),
    /// The OAuth or id-token provider the request names must be configured (409
    /// `disabled-endpoint`, or a redirect carrying that error on browser flows).
    Provider,
    /// Routed only when the feature is on at start-up (404 otherwise), as upstream.
    Mounted(Feature),
}

impl Gate {
    /// Whether the route is routed at all under this configuration.
    pub fn mounted(self, config: &Config) -> bool {
        match self {
            Gate::Mounted(feature) => feature.enabled(config),
            Gate::Open | Gate::Switch(_) | Gate::Provider => true,
        }
    }
}

/// The access token a route needs (upstream's `BearerAuth` / `BearerAuthElevated`).
///
/// Enforced by the handler's extractor (`Bearer`, `ElevatedBearer`, …), which runs before
/// the body is read, as upstream's validator; tests compare this declaration with the
/// extractors' answers and with the OpenAPI document's `security`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Public,
    /// A valid token is used when present.
    OptionalBearer,
    /// A token satisfying the elevated-claim policy is used when present.
    OptionalElevated,
    Bearer,
    /// `AUTH_REQUIRE_ELEVATED_CLAIM` applies (400 `elevated-claim-required`).
    Elevated,
    /// Like `Elevated`, but a user without any security key may add a first one.
    ElevatedFirstKey,
}

/// Everything a route declares besides its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub limits: Limits,
    pub challenge: Challenge,
    pub gate: Gate,
    pub auth: Auth,
}
