//! The route table: every route of the API with its handler and its policy (rate-limit
//! buckets, Turnstile, feature gate, access token). [`super::router`] builds the router
//! from this table only, so a route cannot exist without a declared policy.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::policy::{Auth, Bucket, Challenge, Feature, Gate, Limits, Policy};
use super::{change_env, elevate, link, mfa, oauth2, pat, signin, signout, signup, system, token};
use super::{user, verify};
use crate::http::state::SharedState;

/// Where a route is mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mount {
    /// Under `AUTH_API_PREFIX`.
    Api,
    /// At the root, and only when `AUTH_API_PREFIX` is set (outside the API: not metered).
    RootWhenPrefixed,
}

/// One path of the API: its methods, handlers and policy.
pub struct Route {
    pub path: &'static str,
    /// The methods as the contract lists them (axum also answers `HEAD` on `GET` routes).
    pub methods: Vec<Method>,
    pub policy: Policy,
    pub mount: Mount,
    /// Whether the OpenAPI document we serve lists the route: upstream's operations,
    /// and ours documented beside them (the provider's built-in pages).
    pub in_contract: bool,
    /// Whether the client (user agent, IP) is captured for the request: routes that may
    /// start a session or write an audit event need it; read-only routes skip the work.
    pub captures_client: bool,
    /// Methods whose access token differs from `policy.auth` (`POST /oauth2/login`
    /// needs the user's token, its `GET` does not).
    pub auth_overrides: Vec<(Method, Auth)>,
    pub(super) handlers: MethodRouter<SharedState>,
}

fn route<H, T>(
    method: Method,
    path: &'static str,
    handler: H,
    buckets: &'static [Bucket],
    challenge: Challenge,
    gate: Gate,
    auth: Auth,
) -> Route
where
    H: Handler<T, SharedState>,
    T: 'static,
{
    let filter = if method == Method::GET {
        MethodFilter::GET
    } else {
        MethodFilter::POST
    };
    Route {
        path,
        methods: vec![method],
        policy: Policy {
            limits: Limits::of(buckets),
            challenge,
            gate,
            auth,
        },
        mount: Mount::Api,
        in_contract: true,
        captures_client: true,
        auth_overrides: Vec::new(),
        handlers: on(filter, handler),
    }
}

fn get<H: Handler<T, SharedState>, T: 'static>(
    path: &'static str,
    handler: H,
    buckets: &'static [Bucket],
    challenge: Challenge,
    gate: Gate,
    auth: Auth,
) -> Route {
    route(Method::GET, path, handler, buckets, challenge, gate, auth)
}

fn post<H: Handler<T, SharedState>, T: 'static>(
    path: &'static str,
    handler: H,
    buckets: &'static [Bucket],
    challenge: Challenge,
    gate: Gate,
    auth: Auth,
) -> Route {
    route(Method::POST, path, handler, buckets, challenge, gate, auth)
}

impl Route {
    /// A `POST` handler on the same path, under the same policy.
    fn and_post<H: Handler<T, SharedState>, T: 'static>(mut self, handler: H) -> Route {
        self.methods.push(Method::POST);
        self.handlers = self.handlers.post(handler);
        self
    }

    /// A `POST` handler on the same path, under the same policy except its access token.
    fn and_post_with_auth<H: Handler<T, SharedState>, T: 'static>(
        mut self,
        handler: H,
        auth: Auth,
    ) -> Route {
        self.auth_overrides.push((Method::POST, auth));
        self.and_post(handler)
    }

    /// The access token `method` needs on this route.
    pub fn auth_for(&self, method: &Method) -> Auth {
        self.auth_overrides
            .iter()
            .find(|(m, _)| m == method)
            .map_or(self.policy.auth, |(_, auth)| *auth)
    }

    /// Lists the `HEAD` that axum answers for a `GET` route, where the contract has it.
    fn and_head(mut self) -> Route {
        self.methods.push(Method::HEAD);
        self
    }

    fn not_in_contract(mut self) -> Route {
        self.in_contract = false;
        self
    }

    /// The route starts no session and records no audit event.
    fn read_only(mut self) -> Route {
        self.captures_client = false;
        self
    }

    fn at_root(mut self) -> Route {
        self.mount = Mount::RootWhenPrefixed;
        self
    }
}

/// Every route. Buckets: every request also counts in the global one.
#[rustfmt::skip]
pub fn table() -> Vec<Route> {
    use Auth::*;
    use Bucket::*;
    use Feature::*;
    use Gate::*;
    const NO: Challenge = Challenge::NoChallenge;
    const TURNSTILE: Challenge = Challenge::Turnstile;
    vec![
        // path                                        handler                                  buckets                      Turnstile gate                     access token
        get("/healthz",                                system::healthz,                         &[],                         NO,        Open,                    Public).and_head().read_only(),
        get("/healthz",                                system::healthz_unprefixed,              &[],                         NO,        Open,                    Public).at_root().not_in_contract().read_only(),
        get("/readyz",                                 system::readyz,                          &[],                         NO,        Open,                    Public).not_in_contract().read_only(),
        get("/readyz",                                 system::readyz,                          &[],                         NO,        Open,                    Public).at_root().not_in_contract().read_only(),
        get("/version",                                system::version,                         &[],                         NO,        Open,                    Public).read_only(),
        get("/.well-known/jwks.json",                  system::jwks,                            &[],                         NO,        Open,                    Public).read_only(),
        get("/openapi.json",                           system::openapi,                         &[],                         NO,        Open,                    Public).not_in_contract().read_only(),
        post("/signup/email-password",                 signup::email_password::handle,          &[EmailIfVerifying, Signups],TURNSTILE, Open,                    Public),
        post("/signin/email-password",                 signin::email_password::handle,          &[BruteForce],               NO,        Open,                    Public),
        post("/signin/anonymous",                      signin::anonymous::handle,               &[BruteForce],               NO,        Switch(AnonymousUsers),  Public),
        post("/token",                                 token::refresh,                          &[],                         NO,        Open,                    Public),
        post("/token/exchange",                        token::exchange,                         &[],                         NO,        Open,                    Public),
        post("/token/verify",                          token::verify,                           &[BruteForce],               NO,        Open,                    OptionalBearer).read_only(),
        post("/signout",                               signout::handle,                         &[],                         NO,        Open,                    OptionalBearer),
        get("/user",                                   user::get,                               &[],                         NO,        Open,                    Bearer).read_only(),
        get("/verify",                                 verify::handle,                          &[BruteForce],               NO,        Open,                    Public),
        get("/signin/provider/{provider}",             signin::provider::start,                 &[BruteForce],               NO,        Provider,                Public),
        get("/signin/provider/{provider}/callback",    signin::provider::callback_get,          &[BruteForce],               NO,        Provider,                Public).and_post(signin::provider::callback_post),
        get("/signin/provider/{provider}/callback/tokens", signin::provider::tokens,            &[BruteForce],               NO,        Provider,                Bearer),
        post("/signin/idtoken",                        signin::idtoken::handle,                 &[BruteForce],               NO,        Provider,                Public),
        post("/link/idtoken",                          link::idtoken::handle,                   &[],                         NO,        Provider,                Elevated),
        post("/token/provider/{provider}",             token::provider::refresh,                &[],                         NO,        Provider,                Bearer),
        post("/signin/passwordless/sms",               signin::passwordless_sms::request,       &[Sms, BruteForce],          TURNSTILE,       Switch(SmsPasswordless), Public),
        post("/signin/passwordless/sms/otp",           signin::passwordless_sms::verify_otp,    &[BruteForce],               NO,        Switch(SmsPasswordless), Public),
        post("/signin/mfa/totp",                       signin::mfa_totp::handle,                &[BruteForce],               NO,        Switch(Mfa),             Public),
        get("/mfa/totp/generate",                      mfa::totp::generate,                     &[],                         NO,        Switch(Mfa),             ElevatedFirstKey),
        post("/user/mfa",                              user::mfa::handle,                       &[],                         NO,        Switch(Mfa),             Bearer),
        post("/signin/pat",                            signin::pat::handle,                     &[BruteForce],               NO,        Open,                    Public),
        post("/pat",                                   pat::create,                             &[],                         NO,        Open,                    Elevated),
        post("/signin/passwordless/email",             signin::passwordless_email::handle,      &[Email, BruteForce],        TURNSTILE,       Switch(EmailPasswordless), Public),
        post("/signin/otp/email",                      signin::otp_email::request,              &[BruteForce],               TURNSTILE,       Switch(OtpEmail),        Public),
        post("/signin/otp/email/verify",               signin::otp_email::verify,               &[BruteForce],               NO,        Open,                    Public),
        post("/user/deanonymize",                      user::deanonymize::handle,               &[EmailIfVerifying],         NO,        Open,                    Bearer),
        post("/user/deanonymize/sms",                  user::deanonymize::sms,                  &[Sms],                      NO,        Switch(SmsPasswordless), Bearer),
        post("/user/email/change",                     user::email::change,                     &[Email],                    NO,        Open,                    Elevated),
        post("/user/email/send-verification-email",    user::email::send_verification,          &[EmailIfVerifying],         NO,        Open,                    Public),
        post("/user/phone-number/change",              user::phone_number::change,              &[Sms],                      NO,        Switch(SmsPasswordless), Elevated),
        post("/user/phone-number/change/verify",       user::phone_number::verify,              &[BruteForce],               NO,        Switch(SmsPasswordless), Elevated),
        post("/user/password",                         user::password::change,                  &[],                         NO,        Open,                    OptionalElevated),
        post("/user/password/reset",                   user::password::reset,                   &[Email],                    TURNSTILE,       Open,                    Public),
        get("/user/sessions",                          user::sessions::list,                    &[],                         NO,        Open,                    Bearer).read_only(),
        post("/user/sessions/revoke",                  user::sessions::revoke,                  &[],                         NO,        Open,                    Elevated),
        post("/signup/passwordless/email",             signin::passwordless_email::sign_up,     &[Signups],                  TURNSTILE, Switch(EmailPasswordless), Public),
        post("/signup/otp/email",                      signin::otp_email::sign_up,              &[Signups],                  TURNSTILE, Switch(OtpEmail),        Public),
        post("/signup/passwordless/sms",               signin::passwordless_sms::sign_up,       &[Signups],                  TURNSTILE, Switch(SmsPasswordless), Public),
        post("/signup/idtoken",                        signin::idtoken::sign_up,                &[Signups],                  TURNSTILE, Provider,                Public),
        get("/signup/provider/{provider}",             signin::provider::sign_up,               &[Signups],                  NO,        Provider,                Public),
        post("/signup/webauthn",                       signup::webauthn::start,                 &[Signups],                  TURNSTILE, Switch(WebAuthn),        Public),
        post("/signup/webauthn/verify",                signup::webauthn::verify,                &[BruteForce, Signups],      NO,        Switch(WebAuthn),        Public),
        post("/signin/webauthn",                       signin::webauthn::start,                 &[BruteForce],               NO,        Switch(WebAuthn),        Public),
        post("/signin/webauthn/verify",                signin::webauthn::verify,                &[BruteForce],               NO,        Switch(WebAuthn),        Public),
        post("/user/webauthn/add",                     user::webauthn::add,                     &[],                         NO,        Switch(WebAuthn),        ElevatedFirstKey),
        post("/user/webauthn/verify",                  user::webauthn::verify,                  &[BruteForce],               NO,        Switch(WebAuthn),        ElevatedFirstKey),
        post("/elevate/webauthn",                      elevate::webauthn::start,                &[],                         NO,        Switch(WebAuthn),        Bearer),
        post("/elevate/webauthn/verify",               elevate::webauthn::verify,               &[BruteForce],               NO,        Switch(WebAuthn),        Bearer),
        // The OAuth2/OIDC identity provider (Nhost Auth 0.46+). Not gated: while it is
        // off, each answers its own "OAuth2 provider is disabled" error.
        get("/.well-known/openid-configuration",       oauth2::discovery::openid_configuration, &[],                         NO,        Open,                    Public).read_only(),
        get("/.well-known/oauth-authorization-server", oauth2::discovery::openid_configuration, &[],                         NO,        Open,                    Public).read_only(),
        get("/oauth2/jwks",                            oauth2::discovery::jwks,                 &[],                         NO,        Open,                    Public).read_only(),
        get("/oauth2/authorize",                       oauth2::authorize::get,                  &[BruteForce],               NO,        Open,                    Public).and_post(oauth2::authorize::post),
        get("/oauth2/login",                           oauth2::login::get,                      &[BruteForce],               NO,        Open,                    Public).and_post_with_auth(oauth2::login::post, Bearer),
        post("/oauth2/token",                          oauth2::token::handle,                   &[OAuth2Server],             NO,        Open,                    Public),
        post("/oauth2/device",                         oauth2::device::authorize,               &[OAuth2Server],             NO,        Open,                    Public),
        get("/oauth2/device/verify",                   oauth2::device::get,                     &[BruteForce],               NO,        Open,                    Public).and_post_with_auth(oauth2::device::post, Bearer),
        get("/oauth2/userinfo",                        oauth2::userinfo::handle,                &[],                         NO,        Open,                    Public).and_post(oauth2::userinfo::handle),
        post("/oauth2/introspect",                     oauth2::introspect::handle,              &[OAuth2Server],             NO,        Open,                    Public),
        post("/oauth2/revoke",                         oauth2::revoke::handle,                  &[],                         NO,        Open,                    Public),
        // Ours: the built-in sign-in and consent page (HTML), routed only when it is on.
        get("/oauth2/ui/login",                        oauth2::ui::login::get,                  &[BruteForce],               NO,        Mounted(OAuth2LoginPage), Public).and_post(oauth2::ui::login::post),
        post("/oauth2/ui/consent",                     oauth2::ui::login::consent,              &[BruteForce],               NO,        Mounted(OAuth2LoginPage), Public),
        get("/oauth2/ui/device",                       oauth2::ui::device::get,                 &[BruteForce],               NO,        Mounted(OAuth2LoginPage), Public).and_post(oauth2::ui::device::post),
        post("/oauth2/ui/magic-link",                  oauth2::ui::login::magic_link,           &[Email, BruteForce],        NO,        Mounted(OAuth2LoginPage), Public),
        get("/oauth2/ui/passkey.js",                   oauth2::ui::passkey::script,             &[],                         NO,        Mounted(OAuth2LoginPage), Public).read_only(),
        post("/oauth2/ui/passkey-options",             oauth2::ui::passkey::options,            &[BruteForce],               NO,        Mounted(OAuth2LoginPage), Public),
        post("/oauth2/ui/passkey-verify",              oauth2::ui::passkey::verify,             &[BruteForce],               NO,        Mounted(OAuth2LoginPage), Public),
        post("/change-env",                            change_env::handle,                      &[],                         NO,        Mounted(ChangeEnv),      Public).not_in_contract(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream's path rules (go/middleware/ratelimit, SPEC §9), kept only as the
    /// reference the table must agree with: the same requests count in the same buckets.
    fn upstream_buckets(path: &str) -> Vec<Bucket> {
        let mut buckets = Vec::new();
        if matches!(
            path,
            "/signin/passwordless/email" | "/user/email/change" | "/user/password/reset"
        ) {
            buckets.push(Bucket::Email);
        }
        if matches!(
            path,
            "/user/email/send-verification-email" | "/signup/email-password" | "/user/deanonymize"
        ) {
            buckets.push(Bucket::EmailIfVerifying);
        }
        // Ours: the built-in page's magic link sends email.
        if path == "/oauth2/ui/magic-link" {
            buckets.push(Bucket::Email);
        }
        if path == "/signin/passwordless/sms" {
            buckets.push(Bucket::Sms);
        }
        // Not upstream's rule (0.52 counts these in no SMS bucket): every route that
        // sends an SMS to a number the caller names counts in ours (docs/compatibility.md).
        if path == "/user/phone-number/change" || path == "/user/deanonymize/sms" {
            buckets.push(Bucket::Sms);
        }
        if path.starts_with("/signin") || path.ends_with("/verify") || path.ends_with("/otp") {
            buckets.push(Bucket::BruteForce);
        }
        if path.starts_with("/signup") {
            buckets.push(Bucket::Signups);
        }
        // Nhost Auth 0.52 (`ratelimit/rate_limit.go`): the identity provider's browser
        // endpoints count as brute force.
        if matches!(path, "/oauth2/authorize" | "/oauth2/login") {
            buckets.push(Bucket::BruteForce);
        }
        // Ours: the built-in sign-in page counts as the JSON sign-in does.
        // (Not its static script, which every page load fetches.)
        if path.starts_with("/oauth2/ui/") && path != "/oauth2/ui/passkey.js" {
            buckets.push(Bucket::BruteForce);
        }
        // Nhost Auth 0.52 (`middleware/ratelimit`): the provider's client endpoints; ours:
        // the device authorization endpoint with them (`/oauth2/device/verify` counts as
        // brute force by the `/verify` rule above).
        if matches!(
            path,
            "/oauth2/token" | "/oauth2/introspect" | "/oauth2/device"
        ) {
            buckets.push(Bucket::OAuth2Server);
        }
        buckets
    }

    /// Upstream's Turnstile rule (go/middleware/turnstile.go, `requiresTurnstile`, since
    /// Nhost Auth 0.44): sign-up, passwordless sign-in (magic link, email OTP, SMS) and the
    /// password-reset request; not verification steps (`…/verify`, the SMS code
    /// `/signin/passwordless/sms/otp`), callbacks, nor the browser navigations
    /// `GET /signin|signup/provider/{provider}`, which cannot carry the header.
    fn upstream_turnstile(path: &str) -> Challenge {
        let exempt = path.ends_with("/verify")
            || path.ends_with("/callback")
            || path == "/signin/passwordless/sms/otp"
            || path.starts_with("/signin/provider/")
            || path.starts_with("/signup/provider/");
        let covered = path.starts_with("/signup/")
            || path.starts_with("/signin/passwordless/")
            || path.starts_with("/signin/otp/")
            || path == "/user/password/reset";
        if covered && !exempt {
            Challenge::Turnstile
        } else {
            Challenge::NoChallenge
        }
    }

    #[test]
    fn routes_count_in_upstreams_buckets() {
        for route in table() {
            let expected = match route.mount {
                Mount::Api => Limits::of(&upstream_buckets(route.path)),
                Mount::RootWhenPrefixed => Limits::GLOBAL,
            };
            assert_eq!(
                route.policy.limits, expected,
                "{} {:?}",
                route.path, route.methods
            );
        }
    }

    #[test]
    fn turnstile_guards_upstreams_signup_routes() {
        for route in table() {
            assert_eq!(
                route.policy.challenge,
                upstream_turnstile(route.path),
                "{}",
                route.path
            );
        }
        let guarded: Vec<&str> = table()
            .into_iter()
            .filter(|r| r.policy.challenge == Challenge::Turnstile)
            .map(|r| r.path)
            .collect();
        assert_eq!(
            guarded,
            [
                "/signup/email-password",
                "/signin/passwordless/sms",
                "/signin/passwordless/email",
                "/signin/otp/email",
                "/user/password/reset",
                "/signup/passwordless/email",
                "/signup/otp/email",
                "/signup/passwordless/sms",
                "/signup/idtoken",
                "/signup/webauthn"
            ]
        );
    }

    /// A route that can start a session (sign-in, sign-up, refresh, PKCE exchange) or that
    /// writes an audit event (everything that changes an account) records the client; only
    /// reads skip it. `POST /token/verify` is a read despite its method.
    #[test]
    fn only_reads_skip_the_client_capture() {
        for route in table() {
            let reads = route
                .methods
                .iter()
                .all(|m| *m == Method::GET || *m == Method::HEAD)
                && !route.path.starts_with("/signin")
                && !route.path.starts_with("/signup")
                && !route.path.starts_with("/mfa")
                && route.path != "/verify";
            if !route.captures_client {
                assert!(
                    reads || route.path == "/token/verify",
                    "{} changes state but skips the client capture",
                    route.path
                );
            }
        }
        let skipped: Vec<&str> = table()
            .into_iter()
            .filter(|r| !r.captures_client && r.mount == Mount::Api)
            .map(|r| r.path)
            .collect();
        assert_eq!(
            skipped,
            [
                "/healthz",
                "/readyz",
                "/version",
                "/.well-known/jwks.json",
                "/openapi.json",
                "/token/verify",
                "/user",
                "/user/sessions",
                "/.well-known/openid-configuration",
                "/.well-known/oauth-authorization-server",
                "/oauth2/jwks",
                "/oauth2/ui/passkey.js"
            ]
        );
    }

    #[test]
    fn each_path_is_routed_once_per_mount() {
        let mut seen = std::collections::HashSet::new();
        for route in table() {
            assert!(
                seen.insert((route.mount, route.path)),
                "{} is declared twice: one path, one policy",
                route.path
            );
            assert!(!route.methods.is_empty());
        }
    }

    #[test]
    fn policy_limits_from_bucket_lists() {
        assert_eq!(Limits::of(&[]), Limits::GLOBAL);
        let l = Limits::of(&[Bucket::EmailIfVerifying, Bucket::Signups]);
        assert_eq!(
            l.email,
            crate::http::policy::EmailLimit::WhileVerificationRequired
        );
        assert!(l.signups && !l.brute_force && !l.sms);
    }
}
