//! Unit tests of the configuration: defaults, flag syntax, derived helpers, masking.
//! They parse argument lists in-process; the process env is not modified (it may leak in,
//! which CI does not do).

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;

fn parse(args: &[&str]) -> Config {
    let mut all = vec!["hasura-auth"];
    all.extend_from_slice(args);
    Config::from_args(all).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn parse_err(args: &[&str]) -> String {
    let mut all = vec!["hasura-auth"];
    all.extend_from_slice(args);
    match Config::from_args(all) {
        Ok(_) => panic!("{args:?} should not parse"),
        Err(e) => e.to_string(),
    }
}

/// Long names of every setting flag of the top-level command.
fn flag_names() -> BTreeSet<String> {
    cli::command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !["help", "version", "check-config"].contains(l))
        .filter(|l| !super::ADDED_FLAGS.contains(l))
        .map(str::to_owned)
        .collect()
}

#[test]
fn config_defaults_match_upstream() {
    let c = parse(&[]);
    // server, general
    assert_eq!(c.server.api_prefix, "");
    assert_eq!(c.server.port, "4000");
    assert!(!c.server.conceal_errors);
    assert_eq!(c.server.server_url, "");
    assert!(!c.server.enable_change_env);
    assert!(!c.logging.debug);
    assert_eq!(c.logging.log_format_text, None);
    // postgres
    assert_eq!(
        c.database_url(),
        "postgres://postgres:postgres@localhost:5432/local?sslmode=disable"
    );
    assert_eq!(c.migrations_database_url(), c.database_url());
    // jwt
    assert_eq!(c.jwt.refresh_token_expires_in, 2_592_000);
    assert_eq!(c.jwt.access_tokens_expires_in, 900);
    assert_eq!(c.jwt.custom_claims, "");
    assert_eq!(c.jwt.custom_claims_defaults, "");
    assert!(c.custom_claims_map().is_none());
    // signup
    assert!(!c.signup.disable_signup);
    assert_eq!(c.signup.default_allowed_roles, vec!["me"]);
    assert_eq!(c.signup.default_role, "user");
    assert_eq!(c.signup.default_locale, "en");
    assert_eq!(c.signup.allowed_locales, vec!["en"]);
    assert!(!c.signup.disable_new_users);
    assert!(c.signup.gravatar_enabled);
    assert_eq!(c.signup.gravatar_default, GravatarDefault::Blank);
    assert_eq!(c.signup.gravatar_rating, GravatarRating::G);
    assert!(c.signup.email_verification_required);
    assert_eq!(c.signup.password_min_length, 3);
    assert!(!c.signup.password_hibp_enabled);
    assert!(c.signup.block_email_domains.is_empty());
    assert!(c.signup.allowed_emails.is_empty());
    assert!(!c.signup.enable_anonymous_users);
    // signin, otp, sms, mfa
    assert!(!c.passwordless.email_passwordless_enabled);
    assert!(!c.passwordless.otp_email_enabled);
    assert!(!c.sms.sms_passwordless_enabled);
    assert_eq!(c.sms.sms_provider, SmsProvider::Twilio);
    assert_eq!(c.sms.sms_twilio_account_sid, "");
    assert!(!c.mfa.mfa_enabled);
    assert_eq!(c.mfa.mfa_totp_issuer, "auth");
    // webauthn, security
    assert!(!c.webauthn.webauthn_enabled);
    assert!(c.webauthn.webauthn_rp_origins.is_empty());
    assert_eq!(c.webauthn.webauthn_attestation_timeout, 60_000);
    assert_eq!(
        c.security.require_elevated_claim,
        ElevatedClaimMode::Disabled
    );
    // application, email, smtp
    assert_eq!(c.client.client_url, "");
    assert!(c.client.allow_redirect_urls.is_empty());
    assert_eq!(c.email.templates_path, "/app/email-templates");
    assert_eq!(c.email.smtp_host, "");
    assert_eq!(c.email.smtp_port, 587);
    assert!(!c.email.smtp_secure);
    assert_eq!(c.email.smtp_auth_method, SmtpAuthMethod::Plain);
    assert_eq!(c.email.smtp_postmark_api_url, "https://api.postmarkapp.com");
    // rate limit
    assert!(!c.rate_limit.rate_limit_enable);
    assert_eq!(c.rate_limit.rate_limit_global_burst, 100);
    assert_eq!(
        c.rate_limit.rate_limit_global_interval,
        Duration::from_secs(60)
    );
    assert_eq!(c.rate_limit.rate_limit_email_burst, 10);
    assert_eq!(
        c.rate_limit.rate_limit_email_interval,
        Duration::from_secs(3600)
    );
    assert!(!c.rate_limit.rate_limit_email_is_global);
    assert_eq!(c.rate_limit.rate_limit_sms_burst, 10);
    assert_eq!(
        c.rate_limit.rate_limit_sms_interval,
        Duration::from_secs(3600)
    );
    assert_eq!(c.rate_limit.rate_limit_brute_force_burst, 10);
    assert_eq!(
        c.rate_limit.rate_limit_brute_force_interval,
        Duration::from_secs(300)
    );
    assert_eq!(c.rate_limit.rate_limit_signups_burst, 10);
    assert_eq!(
        c.rate_limit.rate_limit_signups_interval,
        Duration::from_secs(300)
    );
    assert_eq!(c.rate_limit.rate_limit_memcache_server, "");
    assert_eq!(c.rate_limit.rate_limit_memcache_prefix, "");
    // turnstile, id tokens
    assert_eq!(c.turnstile.turnstile_secret.expose(), "");
    assert_eq!(c.id_tokens.apple_audience, "");
    assert_eq!(c.id_tokens.google_audience, "");
}

#[test]
fn config_provider_defaults_match_upstream() {
    let p = parse(&[]).providers;
    assert!(p.enabled().is_empty());
    assert_eq!(
        p.github.authorization_url,
        "https://github.com/login/oauth/authorize"
    );
    assert_eq!(
        p.github.token_url,
        "https://github.com/login/oauth/access_token"
    );
    assert_eq!(p.github.user_profile_url, "https://api.github.com/user");
    assert_eq!(p.github.scope, vec!["user:email"]);
    assert_eq!(p.google.scope, vec!["openid", "email", "profile"]);
    assert_eq!(p.apple.scope, vec!["name", "email"]);
    assert_eq!(p.linkedin.scope, vec!["openid", "profile", "email"]);
    assert_eq!(p.discord.scope, vec!["identify", "email"]);
    assert_eq!(
        p.spotify.scope,
        vec!["user-read-email", "user-read-private"]
    );
    assert_eq!(p.twitch.scope, vec!["user:read:email"]);
    assert_eq!(p.gitlab.scope, vec!["read_user"]);
    assert_eq!(p.bitbucket.scope, vec!["account"]);
    assert_eq!(p.azuread.tenant, "common");
    assert_eq!(
        p.azuread.scope,
        vec!["email", "profile", "openid", "offline_access"]
    );
    assert_eq!(p.entraid.tenant, "common");
    assert_eq!(
        p.entraid.scope,
        vec!["email", "profile", "openid", "offline_access"]
    );
    assert_eq!(p.facebook.scope, vec!["email"]);
    assert_eq!(p.windowslive.scope, vec!["wl.basic", "wl.emails"]);
    assert_eq!(p.strava.scope, vec!["profile:read_all"]);
    assert_eq!(p.workos.scopes(), vec![""]);
    assert_eq!(p.twitter.consumer_key, "");
}

#[test]
fn config_has_all_150_upstream_flags_and_lists_each_once_in_settings() {
    let flags = flag_names();
    let ours: BTreeSet<String> = oauth::OAuthExtras::flags().map(str::to_owned).collect();
    assert!(ours.is_subset(&flags), "our additions are flags");
    assert_eq!(flags.len() - ours.len(), 150, "upstream has 150 flags");
    let values = parse(&[]).flag_values();
    let settings: Vec<&str> = values.names().collect();
    let unique: BTreeSet<String> = settings.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(settings.len(), unique.len(), "a setting is listed twice");
    let mut all = flags.clone();
    all.extend(super::ADDED_FLAGS.iter().map(|f| (*f).to_owned()));
    assert_eq!(unique, all, "flag_values() and the flags differ");
}

#[test]
fn config_env_names_are_unique_and_151_with_the_alias() {
    let mut envs: Vec<String> = cli::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    let count = envs.len();
    envs.sort();
    envs.dedup();
    assert_eq!(envs.len(), count, "duplicate env var");
    assert_eq!(
        count,
        150 + super::ADDED_FLAGS.len() + oauth::OAuthExtras::flags().count()
    );
    assert!(!envs.contains(&"HASURA_GRAPHQL_DATABASE_URL".to_owned()));
}

#[test]
fn config_sensitive_flags_hide_env_values_in_help() {
    for arg in cli::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if is_sensitive(long) {
            assert!(
                arg.is_hide_env_values_set(),
                "--{long} must hide its env value"
            );
        }
    }
}

#[test]
fn config_masking_follows_upstream_rule() {
    for name in [
        "smtp-password",
        "sms-modica-password",
        "sms-twilio-auth-token",
        "hasura-graphql-jwt-secret",
        "hasura-graphql-jwt-secrets",
        "hasura-admin-secret",
        "turnstile-secret",
        "apple-private-key",
        "apple-key-id",
        "twitter-consumer-key",
        "github-client-id",
        "github-client-secret",
        "postgres",
        "postgres-migrations",
        "refresh-token-expires-in",
        "github-token-url",
        "password-min-length",
        "sms-generic-headers",
    ] {
        assert!(is_sensitive(name), "{name} must be masked");
    }
    for name in [
        "port",
        "smtp-user",
        "smtp-host",
        "apple-team-id",
        "client-url",
        "debug",
    ] {
        assert!(!is_sensitive(name), "{name} must be visible");
    }
}

#[test]
fn config_masked_settings_and_debug_hide_secrets() {
    let c = parse(&[
        "--smtp-password=hunter2-smtp",
        "--hasura-admin-secret=hunter2-admin",
        "--postgres=postgres://u:hunter2-db@h/d",
        "--google-client-secret=hunter2-google",
        "--sms-modica-password=hunter2-modica",
        "--smtp-user=someone",
    ]);
    let masked = c.flag_values().masked();
    assert_eq!(masked["smtp-password"], MASK);
    assert_eq!(masked["hasura-admin-secret"], MASK);
    assert_eq!(masked["postgres"], MASK);
    assert_eq!(masked["google-client-secret"], MASK);
    assert_eq!(masked["sms-modica-password"], MASK);
    assert_eq!(masked["smtp-user"], "someone");
    // Empty secrets are masked too (the log never tells whether a secret is set).
    assert_eq!(masked["turnstile-secret"], MASK);

    let debug = format!("{c:?} {:?} {:?}", c.providers, c.providers.google);
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("someone"));
}

#[test]
fn config_flag_syntax_follows_upstream() {
    let c = parse(&[
        "--conceal-errors",
        "--gravatar-enabled=f",
        "--email-verification-required=0",
        "--mfa-enabled=T",
        "--default-allowed-roles=me,,editor,",
        "--rate-limit-global-interval=1h30m",
        "--rate-limit-sms-interval=300ms",
        "--gravatar-default=404",
        "--smtp-auth-method=CRAM-MD5",
        "--require-elevated-claim=required",
        "--sms-provider=MODICA",
        "--smtp-port=465",
        "--port",
        "8080",
    ]);
    assert!(c.server.conceal_errors);
    assert!(!c.signup.gravatar_enabled);
    assert!(!c.signup.email_verification_required);
    assert!(c.mfa.mfa_enabled);
    assert_eq!(c.allowed_roles(), vec!["me", "editor", "user"]);
    assert_eq!(
        c.rate_limit.rate_limit_global_interval,
        Duration::from_secs(5400)
    );
    assert_eq!(
        c.rate_limit.rate_limit_sms_interval,
        Duration::from_millis(300)
    );
    assert_eq!(c.signup.gravatar_default, GravatarDefault::NotFound);
    assert_eq!(c.email.smtp_auth_method, SmtpAuthMethod::CramMd5);
    assert_eq!(
        c.security.require_elevated_claim,
        ElevatedClaimMode::Required
    );
    assert_eq!(c.sms.sms_provider, SmsProvider::Modica);
    assert_eq!(c.email.smtp_port, 465);
    assert_eq!(c.server.port, "8080");
}

#[test]
fn config_subcommands_take_the_same_flags() {
    let cli = try_parse_cli_from(["hasura-auth", "serve", "--mfa-enabled", "--port=1"]).unwrap();
    let (kind, c) = cli.into_parts();
    assert_eq!(kind, CommandKind::Serve);
    assert!(c.mfa.mfa_enabled);
    assert_eq!(c.server.port, "1");
    let cli = try_parse_cli_from([
        "hasura-auth",
        "migrate",
        "--postgres-migrations=postgres://m",
    ])
    .unwrap();
    let (kind, c) = cli.into_parts();
    assert_eq!(kind, CommandKind::Migrate);
    assert_eq!(c.migrations_database_url(), "postgres://m");
}

#[test]
fn config_bad_values_name_the_env_var_and_the_flag() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["--conceal-errors=yes"],
            "AUTH_CONCEAL_ERRORS (--conceal-errors)",
        ),
        (
            &["--rate-limit-email-interval=10"],
            "AUTH_RATE_LIMIT_EMAIL_INTERVAL (--rate-limit-email-interval)",
        ),
        (
            &["--gravatar-rating=nc17"],
            "AUTH_GRAVATAR_RATING (--gravatar-rating)",
        ),
        (
            &["--password-min-length=abc"],
            "AUTH_PASSWORD_MIN_LENGTH (--password-min-length)",
        ),
        (
            &["--sms-provider=nexmo"],
            "AUTH_SMS_PROVIDER (--sms-provider)",
        ),
        (
            &["--custom-claims=[]"],
            "AUTH_JWT_CUSTOM_CLAIMS (--custom-claims)",
        ),
        (
            &["serve", "--custom-claims-defaults={bad"],
            "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS (--custom-claims-defaults)",
        ),
    ];
    for (args, expected) in cases {
        let message = parse_err(args);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(message.contains("invalid value"), "{args:?}: {message}");
    }
    let message = parse_err(&["--gravatar-rating=nc17"]);
    assert!(message.contains("g, pg, r, x"), "{message}");
}

#[test]
fn config_database_url_alias_applies_only_without_postgres_connection() {
    let mut c = parse(&[]);
    c.database.postgres = None;
    c.apply_database_url_alias(Some("postgres://alias/db"));
    assert_eq!(c.database_url(), "postgres://alias/db");
    assert!(c.database_url_is_explicit());

    let mut c = parse(&["--postgres=postgres://main/db"]);
    c.apply_database_url_alias(Some("postgres://alias/db"));
    assert_eq!(c.database_url(), "postgres://main/db");

    let mut c = parse(&["--postgres="]);
    c.apply_database_url_alias(Some("postgres://alias/db"));
    assert_eq!(c.database_url(), "postgres://alias/db");

    let mut c = parse(&[]);
    c.database.postgres = None;
    c.apply_database_url_alias(Some(""));
    assert!(!c.database_url_is_explicit());
    assert_eq!(c.database_url(), DEFAULT_POSTGRES_URL);
}

#[test]
fn config_derived_lists_drop_blanks_and_add_defaults() {
    let c = parse(&[
        "--default-role=editor",
        "--default-allowed-roles=me,,editor",
        "--default-locale=fr",
        "--allowed-locales=en,,de",
        "--allowed-email-domains=a.com,,b.com",
        "--allowed-emails=,x@a.com",
        "--block-email-domains=bad.com,",
        "--block-emails=,",
        "--allow-redirect-urls=https://a.com/*,,",
    ]);
    assert_eq!(c.allowed_roles(), vec!["me", "editor"]);
    assert_eq!(c.allowed_locales(), vec!["en", "de", "fr"]);
    assert_eq!(c.allowed_email_domains(), vec!["a.com", "b.com"]);
    assert_eq!(c.allowed_emails(), vec!["x@a.com"]);
    assert_eq!(c.block_email_domains(), vec!["bad.com"]);
    assert!(c.block_emails().is_empty());
    assert_eq!(c.allow_redirect_urls(), vec!["https://a.com/*"]);
}

#[test]
fn config_webauthn_defaults_derive_from_client_url() {
    let c = parse(&["--client-url=https://app.example.com:3000/x"]);
    assert_eq!(c.webauthn_rp_id(), "app.example.com");
    assert_eq!(c.webauthn_rp_name(), "app.example.com");
    assert_eq!(
        c.webauthn_rp_origins(),
        vec!["https://app.example.com:3000/x"]
    );

    let c = parse(&[
        "--client-url=https://app.example.com",
        "--webauthn-rp-id=example.com",
        "--webauthn-rp-name=Example",
        "--webauthn-rp-origins=https://a.example.com,,https://app.example.com",
    ]);
    assert_eq!(c.webauthn_rp_id(), "example.com");
    assert_eq!(c.webauthn_rp_name(), "Example");
    assert_eq!(
        c.webauthn_rp_origins(),
        vec!["https://a.example.com", "https://app.example.com"]
    );

    let c = parse(&["--client-url="]);
    assert_eq!(c.webauthn_rp_id(), "");
    assert!(c.webauthn_rp_origins().is_empty());
}

#[test]
fn config_provider_scopes_fall_back_to_defaults_when_empty() {
    let c = parse(&[
        "--github-scope=,",
        "--google-scope=openid",
        "--github-enabled",
        "--windowslive-enabled=true",
    ]);
    assert_eq!(c.providers.github.scopes(), vec!["user:email"]);
    assert_eq!(c.providers.google.scopes(), vec!["openid"]);
    assert_eq!(c.providers.apple.scopes(), vec!["name", "email"]);
    assert_eq!(c.providers.enabled(), vec!["github", "windowslive"]);
    assert!(c.providers.is_enabled("github"));
    assert!(!c.providers.is_enabled("nope"));
}

#[test]
fn config_custom_claims_are_json_objects() {
    let c = parse(&[
        r#"--custom-claims={"x-hasura-org":"profile.org"}"#,
        r#"--custom-claims-defaults={"x-hasura-org":"none"}"#,
    ]);
    let claims = c.custom_claims_map().unwrap();
    assert_eq!(claims["x-hasura-org"], "profile.org");
    let defaults = c.custom_claims_defaults_map().unwrap();
    assert_eq!(defaults["x-hasura-org"], "none");
}

#[test]
fn config_sms_api_urls_default_to_the_real_providers() {
    let c = parse(&[]);
    assert_eq!(c.sms.sms_twilio_api_url, "https://api.twilio.com");
    assert_eq!(c.sms.sms_twilio_verify_api_url, "https://verify.twilio.com");
    assert_eq!(c.sms.sms_modica_api_url, "https://api.modicagroup.com");
    let c = parse(&["--sms-modica-api-url=http://127.0.0.1:9/x"]);
    assert_eq!(c.sms.sms_modica_api_url, "http://127.0.0.1:9/x");
    // Our additions are public values, except the key list (masked like the single key)
    // the TOTP encryption key, the audit webhook's signing key, the Redis URL and the
    // generic SMS provider's headers; the OAuth2 provider's TTLs are masked by name.
    for extra in ADDED_FLAGS {
        let secret = [
            "hasura-graphql-jwt-secrets",
            "encryption-key",
            "audit-webhook-secret",
            "rate-limit-redis-url",
            "sms-generic-headers",
            // Not secrets, but upstream's rule masks every name containing `token`.
            "oauth2-provider-access-token-ttl",
            "oauth2-provider-refresh-token-ttl",
        ]
        .contains(extra);
        assert_eq!(is_sensitive(extra), secret, "{extra}");
    }
}

#[test]
fn config_added_flags_are_documented_as_additions() {
    let docs = include_str!("../../docs/configuration.md");
    let additions = docs
        .split("## Additions of this implementation")
        .nth(1)
        .expect("docs/configuration.md has an additions section");
    for flag in super::ADDED_FLAGS {
        assert!(
            additions.contains(&format!("`--{flag}`")),
            "--{flag} is missing from the additions in docs/configuration.md"
        );
    }
}

#[test]
fn config_struct_docs_stay_out_of_help() {
    // Doc comments of the flattened setting structs become the command's about text when
    // they have several paragraphs; the help must keep the binary's own description.
    let cmd = cli::command();
    let about = cmd.get_about().map(ToString::to_string);
    assert_eq!(
        about.as_deref(),
        Some("Authentication service for Hasura (drop-in replacement for nhost/hasura-auth)")
    );
    assert!(cmd.get_long_about().is_none());
    for sub in cmd.get_subcommands() {
        assert!(sub.get_long_about().is_none(), "{}", sub.get_name());
    }
}

/// Every free-text flag that the masking rule covers is a [`Secret`], except these: public
/// identifiers (sent in browser URLs or request headers in clear) and endpoint URLs whose
/// names merely contain `token` or `key`.
fn is_public_despite_its_name(flag: &str) -> bool {
    flag.ends_with("-client-id")
        || flag.ends_with("-url")
        || ["apple-key-id", "twitter-consumer-key"].contains(&flag)
}

#[test]
fn config_debug_never_prints_a_secret() {
    let cmd = cli::command();
    let text_flags: Vec<(&str, bool)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let ty = a.get_value_parser().type_id();
            let is_secret = ty == std::any::TypeId::of::<Secret>();
            let is_text = is_secret || ty == std::any::TypeId::of::<String>();
            Some((a.get_long()?, is_secret)).filter(|_| is_text)
        })
        .collect();
    for (flag, is_secret) in &text_flags {
        if is_sensitive(flag) && !is_public_despite_its_name(flag) {
            assert!(is_secret, "--{flag} must be a config::Secret");
        }
    }
    let secrets: Vec<&str> = text_flags
        .iter()
        .filter(|(_, is_secret)| *is_secret)
        .map(|(flag, _)| *flag)
        .collect();
    // database URLs, JWT key and key list, admin secret, SMTP/Modica passwords, Twilio
    // token, Turnstile, 15 OAuth client secrets, the Apple key, the Twitter consumer secret,
    // the TOTP encryption key, the audit webhook's signing key, the Redis URL, the generic
    // SMS provider's headers
    assert_eq!(secrets.len(), 30, "{secrets:?}");

    let args: Vec<String> = secrets
        .iter()
        .map(|flag| format!("--{flag}=marker-{flag}-7f3a"))
        .collect();
    let c = parse(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        c.database_url(),
        "marker-postgres-7f3a",
        "the markers are set"
    );
    assert_eq!(
        c.providers.github.client_secret.expose(),
        "marker-github-client-secret-7f3a"
    );
    let debug = format!("{c:?} {c:#?}");
    assert!(!debug.contains("7f3a"), "{debug}");
    assert!(debug.contains("smtp_user"), "Debug lists the settings");
}

#[test]
fn config_flag_values_come_from_every_field_and_read_like_upstream() {
    // Each serialized field is keyed by its clap argument id: none may be left unlisted.
    let c = parse(&[
        "--rate-limit-sms-interval=90s",
        "--google-scope=openid,email",
    ]);
    let serde_json::Value::Object(fields) = serde_json::to_value(&c).unwrap() else {
        panic!("Config serializes as an object");
    };
    let ids: BTreeSet<String> = cli::command()
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for key in fields.keys() {
        assert!(ids.contains(key), "{key} is not a clap argument id");
    }
    assert_eq!(fields.len(), c.flag_values().names().count());

    let values = c.flag_values().masked();
    for (flag, value) in &values {
        let plain = match value {
            serde_json::Value::Array(items) => items.iter().all(|i| i.is_string()),
            serde_json::Value::Object(_) | serde_json::Value::Null => false,
            _ => true,
        };
        assert!(plain, "--{flag} is listed as {value}");
    }
    assert_eq!(values["rate-limit-sms-interval"], "1m30s");
    assert_eq!(values["rate-limit-global-interval"], "1m0s");
    assert_eq!(
        values["google-scope"],
        serde_json::json!(["openid", "email"])
    );
    assert_eq!(values["gravatar-default"], "blank");
    assert_eq!(values["smtp-auth-method"], "PLAIN");
    assert_eq!(values["smtp-port"], 587);
    assert_eq!(values["github-enabled"], false);
    assert_eq!(values["smtp-password"], MASK);
}

#[test]
fn config_operator_commands_take_the_server_flags_and_json_anywhere() {
    use super::commands::{OperatorCommand, UsersAction};
    let cli = try_parse_cli_from([
        "hasura-auth",
        "users",
        "--postgres=postgres://x",
        "create",
        "--email=a@b.co",
        "--password-stdin",
        "--role=me",
        "--role=user",
        "--json",
    ])
    .unwrap();
    let (kind, c) = cli.into_parts();
    assert_eq!(c.database_url(), "postgres://x");
    let CommandKind::Operator { command, json } = kind else {
        panic!("not an operator command: {kind:?}");
    };
    assert!(json);
    let OperatorCommand::Users(UsersAction::Create(create)) = *command else {
        panic!("not users create: {command:?}");
    };
    assert_eq!(create.roles, ["me", "user"]);
    assert!(create.password_stdin);
    // A user needs a way in: a password or an invitation.
    assert!(try_parse_cli_from(["hasura-auth", "users", "create", "--email=a@b.co"]).is_err());
    assert!(
        try_parse_cli_from([
            "hasura-auth",
            "users",
            "create",
            "--email=a@b.co",
            "--password=x",
            "--invite=magic-link"
        ])
        .is_err()
    );
}
