//! Configuration as seen by a user of the binary: `--help`, env vars, flags, bad values.
//!
//! Every test runs the real binary with a cleared environment (only PATH is kept). Nothing
//! here starts the server: `--help` and parse errors exit before start-up, and the hidden
//! `--check-config` flag prints the parsed settings (secrets masked) as JSON and exits.

use std::process::{Command, Output};

/// Every env var upstream reads (SPEC §3): 150 flags, `postgres` having two env names.
const UPSTREAM_ENV_VARS: [&str; 151] = [
    "AUTH_API_PREFIX",
    "AUTH_PORT",
    "AUTH_CONCEAL_ERRORS",
    "AUTH_SERVER_URL",
    "AUTH_ENABLE_CHANGE_ENV",
    "AUTH_DEBUG",
    "AUTH_LOG_FORMAT_TEXT",
    "POSTGRES_CONNECTION",
    "HASURA_GRAPHQL_DATABASE_URL",
    "POSTGRES_MIGRATIONS_CONNECTION",
    "AUTH_REFRESH_TOKEN_EXPIRES_IN",
    "AUTH_ACCESS_TOKEN_EXPIRES_IN",
    "HASURA_GRAPHQL_JWT_SECRET",
    "AUTH_JWT_CUSTOM_CLAIMS",
    "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS",
    "HASURA_GRAPHQL_GRAPHQL_URL",
    "HASURA_GRAPHQL_ADMIN_SECRET",
    "AUTH_DISABLE_SIGNUP",
    "AUTH_USER_DEFAULT_ALLOWED_ROLES",
    "AUTH_USER_DEFAULT_ROLE",
    "AUTH_LOCALE_DEFAULT",
    "AUTH_LOCALE_ALLOWED_LOCALES",
    "AUTH_DISABLE_NEW_USERS",
    "AUTH_GRAVATAR_ENABLED",
    "AUTH_GRAVATAR_DEFAULT",
    "AUTH_GRAVATAR_RATING",
    "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED",
    "AUTH_PASSWORD_MIN_LENGTH",
    "AUTH_PASSWORD_HIBP_ENABLED",
    "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
    "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS",
    "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
    "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS",
    "AUTH_ANONYMOUS_USERS_ENABLED",
    "AUTH_EMAIL_PASSWORDLESS_ENABLED",
    "AUTH_OTP_EMAIL_ENABLED",
    "AUTH_SMS_PASSWORDLESS_ENABLED",
    "AUTH_SMS_PROVIDER",
    "AUTH_SMS_TWILIO_ACCOUNT_SID",
    "AUTH_SMS_TWILIO_AUTH_TOKEN",
    "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID",
    "AUTH_SMS_MODICA_USERNAME",
    "AUTH_SMS_MODICA_PASSWORD",
    "AUTH_MFA_ENABLED",
    "AUTH_MFA_TOTP_ISSUER",
    "AUTH_WEBAUTHN_ENABLED",
    "AUTH_WEBAUTHN_RP_NAME",
    "AUTH_WEBAUTHN_RP_ID",
    "AUTH_WEBAUTHN_RP_ORIGINS",
    "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT",
    "AUTH_REQUIRE_ELEVATED_CLAIM",
    "AUTH_CLIENT_URL",
    "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
    "AUTH_EMAIL_TEMPLATES_PATH",
    "AUTH_SMTP_HOST",
    "AUTH_SMTP_PORT",
    "AUTH_SMTP_SECURE",
    "AUTH_SMTP_USER",
    "AUTH_SMTP_PASS",
    "AUTH_SMTP_SENDER",
    "AUTH_SMTP_X_SMTPAPI_HEADER",
    "AUTH_SMTP_AUTH_METHOD",
    "AUTH_RATE_LIMIT_ENABLE",
    "AUTH_RATE_LIMIT_GLOBAL_BURST",
    "AUTH_RATE_LIMIT_GLOBAL_INTERVAL",
    "AUTH_RATE_LIMIT_EMAIL_BURST",
    "AUTH_RATE_LIMIT_EMAIL_INTERVAL",
    "AUTH_RATE_LIMIT_EMAIL_IS_GLOBAL",
    "AUTH_RATE_LIMIT_SMS_BURST",
    "AUTH_RATE_LIMIT_SMS_INTERVAL",
    "AUTH_RATE_LIMIT_BRUTE_FORCE_BURST",
    "AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL",
    "AUTH_RATE_LIMIT_SIGNUPS_BURST",
    "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL",
    "AUTH_RATE_LIMIT_MEMCACHE_SERVER",
    "AUTH_RATE_LIMIT_MEMCACHE_PREFIX",
    "AUTH_TURNSTILE_SECRET",
    "AUTH_PROVIDER_APPLE_AUDIENCE",
    "AUTH_PROVIDER_GOOGLE_AUDIENCE",
    "AUTH_PROVIDER_GITHUB_ENABLED",
    "AUTH_PROVIDER_GITHUB_CLIENT_ID",
    "AUTH_PROVIDER_GITHUB_CLIENT_SECRET",
    "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL",
    "AUTH_PROVIDER_GITHUB_TOKEN_URL",
    "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL",
    "AUTH_PROVIDER_GITHUB_SCOPE",
    "AUTH_PROVIDER_GOOGLE_ENABLED",
    "AUTH_PROVIDER_GOOGLE_CLIENT_ID",
    "AUTH_PROVIDER_GOOGLE_CLIENT_SECRET",
    "AUTH_PROVIDER_GOOGLE_SCOPE",
    "AUTH_PROVIDER_APPLE_ENABLED",
    "AUTH_PROVIDER_APPLE_CLIENT_ID",
    "AUTH_PROVIDER_APPLE_TEAM_ID",
    "AUTH_PROVIDER_APPLE_KEY_ID",
    "AUTH_PROVIDER_APPLE_PRIVATE_KEY",
    "AUTH_PROVIDER_APPLE_SCOPE",
    "AUTH_PROVIDER_LINKEDIN_ENABLED",
    "AUTH_PROVIDER_LINKEDIN_CLIENT_ID",
    "AUTH_PROVIDER_LINKEDIN_CLIENT_SECRET",
    "AUTH_PROVIDER_LINKEDIN_SCOPE",
    "AUTH_PROVIDER_DISCORD_ENABLED",
    "AUTH_PROVIDER_DISCORD_CLIENT_ID",
    "AUTH_PROVIDER_DISCORD_CLIENT_SECRET",
    "AUTH_PROVIDER_DISCORD_SCOPE",
    "AUTH_PROVIDER_SPOTIFY_ENABLED",
    "AUTH_PROVIDER_SPOTIFY_CLIENT_ID",
    "AUTH_PROVIDER_SPOTIFY_CLIENT_SECRET",
    "AUTH_PROVIDER_SPOTIFY_SCOPE",
    "AUTH_PROVIDER_TWITCH_ENABLED",
    "AUTH_PROVIDER_TWITCH_CLIENT_ID",
    "AUTH_PROVIDER_TWITCH_CLIENT_SECRET",
    "AUTH_PROVIDER_TWITCH_SCOPE",
    "AUTH_PROVIDER_GITLAB_ENABLED",
    "AUTH_PROVIDER_GITLAB_CLIENT_ID",
    "AUTH_PROVIDER_GITLAB_CLIENT_SECRET",
    "AUTH_PROVIDER_GITLAB_SCOPE",
    "AUTH_PROVIDER_BITBUCKET_ENABLED",
    "AUTH_PROVIDER_BITBUCKET_CLIENT_ID",
    "AUTH_PROVIDER_BITBUCKET_CLIENT_SECRET",
    "AUTH_PROVIDER_BITBUCKET_SCOPE",
    "AUTH_PROVIDER_WORKOS_ENABLED",
    "AUTH_PROVIDER_WORKOS_CLIENT_ID",
    "AUTH_PROVIDER_WORKOS_CLIENT_SECRET",
    "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION",
    "AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION",
    "AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN",
    "AUTH_PROVIDER_AZUREAD_ENABLED",
    "AUTH_PROVIDER_AZUREAD_CLIENT_ID",
    "AUTH_PROVIDER_AZUREAD_CLIENT_SECRET",
    "AUTH_PROVIDER_AZUREAD_TENANT",
    "AUTH_PROVIDER_AZUREAD_SCOPE",
    "AUTH_PROVIDER_ENTRAID_ENABLED",
    "AUTH_PROVIDER_ENTRAID_CLIENT_ID",
    "AUTH_PROVIDER_ENTRAID_CLIENT_SECRET",
    "AUTH_PROVIDER_ENTRAID_TENANT",
    "AUTH_PROVIDER_ENTRAID_SCOPE",
    "AUTH_PROVIDER_FACEBOOK_ENABLED",
    "AUTH_PROVIDER_FACEBOOK_CLIENT_ID",
    "AUTH_PROVIDER_FACEBOOK_CLIENT_SECRET",
    "AUTH_PROVIDER_FACEBOOK_SCOPE",
    "AUTH_PROVIDER_WINDOWS_LIVE_ENABLED",
    "AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_ID",
    "AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_SECRET",
    "AUTH_PROVIDER_WINDOWS_LIVE_SCOPE",
    "AUTH_PROVIDER_STRAVA_ENABLED",
    "AUTH_PROVIDER_STRAVA_CLIENT_ID",
    "AUTH_PROVIDER_STRAVA_CLIENT_SECRET",
    "AUTH_PROVIDER_STRAVA_SCOPE",
    "AUTH_PROVIDER_TWITTER_ENABLED",
    "AUTH_PROVIDER_TWITTER_CONSUMER_KEY",
    "AUTH_PROVIDER_TWITTER_CONSUMER_SECRET",
];

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(envs.iter().copied())
        .args(args)
        .output()
        .expect("run hasura-auth")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parsed settings (flag name → value) for these arguments and env vars.
fn settings(args: &[&str], envs: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    let mut all = vec!["--check-config"];
    all.extend_from_slice(args);
    let out = run(&all, envs);
    assert!(out.status.success(), "{args:?} {envs:?}: {}", stderr(&out));
    match serde_json::from_str(stdout(&out).trim()) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}"),
    }
}

/// Runs with one bad env var and checks the failure names it (and its flag).
fn assert_env_rejected(env: &str, value: &str, flag: &str) {
    let out = run(&[], &[(env, value)]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{env}={value} was accepted");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!("for {env} (--{flag})")),
        "{env}={value}: message must name the env var and flag: {err}"
    );
    assert!(
        err.contains(&format!("{value:?}")),
        "{env}: message must show the value: {err}"
    );
}

#[test]
fn help_lists_every_upstream_env_var() {
    let out = run(&["--help"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    let missing: Vec<&str> = UPSTREAM_ENV_VARS
        .iter()
        .copied()
        .filter(|env| !help.contains(env))
        .collect();
    assert!(missing.is_empty(), "--help does not mention {missing:?}");
}

#[test]
fn docs_list_every_upstream_env_var() {
    let docs = include_str!("../docs/configuration.md");
    let missing: Vec<&str> = UPSTREAM_ENV_VARS
        .iter()
        .copied()
        .filter(|env| !docs.contains(&format!("`{env}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not list {missing:?}"
    );
}

#[test]
fn help_shows_flag_env_var_and_default() {
    let help = stdout(&run(&["--help"], &[]));
    for expected in [
        "--port <PORT>",
        "[env: AUTH_PORT=] [default: 4000]",
        "--conceal-errors[=<CONCEAL_ERRORS>]",
        "[env: AUTH_RATE_LIMIT_GLOBAL_INTERVAL=] [default: 1m]",
        "[env: AUTH_REQUIRE_ELEVATED_CLAIM=] [default: disabled] [possible values: disabled, recommended, required]",
        "--windowslive-client-id",
        "[env: AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_ID]",
        "[env: AUTH_PROVIDER_ENTRAID_TENANT=] [default: common]",
        "[default: https://api.github.com/user]",
        "[env: AUTH_PROVIDER_SPOTIFY_SCOPE=] [default: user-read-email,user-read-private]",
    ] {
        assert!(help.contains(expected), "--help lacks {expected:?}");
    }
    assert!(!help.contains("check-config"), "--check-config is hidden");
}

#[test]
fn help_never_prints_secret_values() {
    let secrets = [
        ("HASURA_GRAPHQL_JWT_SECRET", "s3cr3t-jwt"),
        ("HASURA_GRAPHQL_ADMIN_SECRET", "s3cr3t-admin"),
        ("POSTGRES_CONNECTION", "postgres://u:s3cr3t-db@h/d"),
        ("AUTH_SMTP_PASS", "s3cr3t-smtp"),
        ("AUTH_SMS_TWILIO_AUTH_TOKEN", "s3cr3t-twilio"),
        ("AUTH_SMS_MODICA_PASSWORD", "s3cr3t-modica"),
        ("AUTH_TURNSTILE_SECRET", "s3cr3t-turnstile"),
        ("AUTH_ENCRYPTION_KEY", "s3cr3t-encryption"),
        (
            "AUTH_SMS_GENERIC_HEADERS",
            r#"{"X-Api-Key":"s3cr3t-generic"}"#,
        ),
        ("AUTH_PROVIDER_GITHUB_CLIENT_SECRET", "s3cr3t-github"),
        ("AUTH_PROVIDER_APPLE_PRIVATE_KEY", "s3cr3t-apple"),
        ("AUTH_PROVIDER_TWITTER_CONSUMER_SECRET", "s3cr3t-twitter"),
    ];
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let out = run(args, &secrets);
        assert!(out.status.success());
        let help = stdout(&out);
        assert!(!help.contains("s3cr3t"), "{args:?} printed a secret");
        assert!(help.contains("[env: AUTH_SMTP_PASS]"));
    }
    // A non-secret env value is shown, so the help reflects the environment.
    let help = stdout(&run(&["--help"], &[("AUTH_SMTP_USER", "mailer")]));
    assert!(help.contains("[env: AUTH_SMTP_USER=mailer]"));
}

#[test]
fn bad_bool_env_fails_naming_the_env_var() {
    assert_env_rejected("AUTH_CONCEAL_ERRORS", "yes", "conceal-errors");
    assert_env_rejected(
        "AUTH_PROVIDER_WINDOWS_LIVE_ENABLED",
        "on",
        "windowslive-enabled",
    );
}

#[test]
fn bad_duration_env_fails_naming_the_env_var() {
    assert_env_rejected(
        "AUTH_RATE_LIMIT_GLOBAL_INTERVAL",
        "60",
        "rate-limit-global-interval",
    );
    assert_env_rejected(
        "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL",
        "5 minutes",
        "rate-limit-signups-interval",
    );
}

#[test]
fn bad_enum_env_fails_naming_the_env_var() {
    assert_env_rejected(
        "AUTH_REQUIRE_ELEVATED_CLAIM",
        "always",
        "require-elevated-claim",
    );
    assert_env_rejected("AUTH_GRAVATAR_DEFAULT", "unicorn", "gravatar-default");
    assert_env_rejected("AUTH_SMTP_AUTH_METHOD", "plain", "smtp-auth-method");
    assert_env_rejected("AUTH_SMS_PROVIDER", "nexmo", "sms-provider");
    let err = stderr(&run(&[], &[("AUTH_REQUIRE_ELEVATED_CLAIM", "always")]));
    assert!(err.contains("disabled, recommended, required"), "{err}");
}

#[test]
fn bad_int_env_fails_naming_the_env_var() {
    assert_env_rejected(
        "AUTH_ACCESS_TOKEN_EXPIRES_IN",
        "15m",
        "access-tokens-expires-in",
    );
    assert_env_rejected("AUTH_SMTP_PORT", "70000", "smtp-port");
    assert_env_rejected(
        "AUTH_RATE_LIMIT_GLOBAL_BURST",
        "lots",
        "rate-limit-global-burst",
    );
}

#[test]
fn bad_json_claims_env_fails_naming_the_env_var() {
    assert_env_rejected("AUTH_JWT_CUSTOM_CLAIMS", "{not json", "custom-claims");
    assert_env_rejected(
        "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS",
        "[1,2]",
        "custom-claims-defaults",
    );
}

#[test]
fn bad_flag_value_fails_naming_flag_and_env_var() {
    for args in [
        &["--mfa-enabled=maybe"][..],
        &["serve", "--mfa-enabled=maybe"][..],
    ] {
        let out = run(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(r#"invalid value "maybe" for AUTH_MFA_ENABLED (--mfa-enabled)"#),
            "{err}"
        );
    }
}

#[test]
fn env_vars_are_accepted() {
    let s = settings(
        &[],
        &[
            ("AUTH_PORT", "4321"),
            ("AUTH_CONCEAL_ERRORS", "TRUE"),
            ("AUTH_USER_DEFAULT_ALLOWED_ROLES", "me,editor"),
            ("AUTH_RATE_LIMIT_EMAIL_INTERVAL", "90s"),
            ("AUTH_GRAVATAR_DEFAULT", "retro"),
            ("AUTH_SMS_PROVIDER", "DEV"),
            ("AUTH_PROVIDER_WINDOWS_LIVE_ENABLED", "1"),
            ("AUTH_PROVIDER_AZUREAD_TENANT", "contoso.onmicrosoft.com"),
            ("AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION", "org_1"),
        ],
    );
    assert_eq!(s["port"], "4321");
    assert_eq!(s["conceal-errors"], true);
    assert_eq!(
        s["default-allowed-roles"],
        serde_json::json!(["me", "editor"])
    );
    assert_eq!(s["rate-limit-email-interval"], "1m30s");
    assert_eq!(s["gravatar-default"], "retro");
    assert_eq!(s["sms-provider"], "dev");
    assert_eq!(s["windowslive-enabled"], true);
    assert_eq!(s["azuread-tenant"], "contoso.onmicrosoft.com");
    assert_eq!(s["workos-default-organization"], "org_1");
}

#[test]
fn flags_are_accepted() {
    let s = settings(
        &[
            "--port=4321",
            "--conceal-errors",
            "--default-allowed-roles",
            "me,editor",
            "--rate-limit-email-interval=90s",
            "--smtp-auth-method=LOGIN",
            "--twitter-enabled=t",
        ],
        &[],
    );
    assert_eq!(s["port"], "4321");
    assert_eq!(s["conceal-errors"], true);
    assert_eq!(
        s["default-allowed-roles"],
        serde_json::json!(["me", "editor"])
    );
    assert_eq!(s["rate-limit-email-interval"], "1m30s");
    assert_eq!(s["smtp-auth-method"], "LOGIN");
    assert_eq!(s["twitter-enabled"], true);
}

#[test]
fn flag_wins_over_env_var() {
    let s = settings(
        &[
            "--port=1111",
            "--gravatar-enabled=false",
            "--allowed-locales=de",
        ],
        &[
            ("AUTH_PORT", "2222"),
            ("AUTH_GRAVATAR_ENABLED", "true"),
            ("AUTH_LOCALE_ALLOWED_LOCALES", "en,fr"),
            ("AUTH_MFA_TOTP_ISSUER", "from-env"),
        ],
    );
    assert_eq!(s["port"], "1111");
    assert_eq!(s["gravatar-enabled"], false);
    assert_eq!(s["allowed-locales"], serde_json::json!(["de"]));
    assert_eq!(
        s["mfa-totp-issuer"], "from-env",
        "env still applies to other settings"
    );

    // A bad env value is not even looked at when the flag is given.
    let s = settings(&["--smtp-port=25"], &[("AUTH_SMTP_PORT", "not-a-port")]);
    assert_eq!(s["smtp-port"], 25);
}

#[test]
fn empty_env_vars_behave_like_upstream() {
    let s = settings(
        &[],
        &[
            // strings become empty
            ("AUTH_PORT", ""),
            ("AUTH_USER_DEFAULT_ROLE", ""),
            // booleans become false, even when the default is true
            ("AUTH_GRAVATAR_ENABLED", ""),
            ("AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", ""),
            // numbers, durations, lists and enums keep their default
            ("AUTH_SMTP_PORT", ""),
            ("AUTH_RATE_LIMIT_GLOBAL_INTERVAL", ""),
            ("AUTH_LOCALE_ALLOWED_LOCALES", ""),
            ("AUTH_GRAVATAR_RATING", ""),
            ("AUTH_SMS_PROVIDER", ""),
            ("AUTH_PROVIDER_GITHUB_SCOPE", ""),
        ],
    );
    assert_eq!(s["port"], "");
    assert_eq!(s["default-role"], "");
    assert_eq!(s["gravatar-enabled"], false);
    assert_eq!(s["email-verification-required"], false);
    assert_eq!(s["smtp-port"], 587);
    assert_eq!(s["rate-limit-global-interval"], "1m0s");
    assert_eq!(s["allowed-locales"], serde_json::json!(["en"]));
    assert_eq!(s["gravatar-rating"], "g");
    assert_eq!(s["sms-provider"], "twilio");
    assert_eq!(s["github-scope"], serde_json::json!(["user:email"]));
}

#[test]
fn check_config_masks_secrets() {
    let out = run(
        &["--check-config", "--smtp-password=s3cr3t-flag"],
        &[
            ("HASURA_GRAPHQL_ADMIN_SECRET", "s3cr3t-admin"),
            ("HASURA_GRAPHQL_DATABASE_URL", "postgres://u:s3cr3t-db@h/d"),
            ("AUTH_PROVIDER_GOOGLE_CLIENT_ID", "s3cr3t-id"),
            ("AUTH_SMTP_USER", "visible"),
            (
                "AUTH_SMS_GENERIC_HEADERS",
                r#"{"Authorization":"Bearer s3cr3t-sms"}"#,
            ),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("s3cr3t"), "{text}");
    let s: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(
        s.as_object().unwrap().len(),
        150 + hasura_auth::config::ADDED_FLAGS.len()
            + hasura_auth::config::oauth::OAuthExtras::flags().count()
    );
    assert_eq!(s["smtp-password"], "********");
    assert_eq!(s["hasura-admin-secret"], "********");
    assert_eq!(s["postgres"], "********");
    assert_eq!(s["google-client-id"], "********");
    assert_eq!(s["sms-generic-headers"], "********");
    assert_eq!(s["smtp-user"], "visible");
}

/// Every flag the binary accepts is documented with its env var, and the counts in the
/// introduction of docs/configuration.md are the real ones.
#[test]
fn docs_list_every_flag_and_count_them_right() {
    let docs = include_str!("../docs/configuration.md");
    let cmd = hasura_auth::config::cli::command();
    let mut missing = Vec::new();
    let mut flags = 0;
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["help", "version", "check-config"].contains(&long) {
            continue;
        }
        flags += 1;
        if !docs.contains(&format!("`--{long}`")) {
            missing.push(format!("--{long}"));
        }
        if let Some(env) = arg.get_env()
            && !docs.contains(&format!("`{}`", env.to_string_lossy()))
        {
            missing.push(env.to_string_lossy().into_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks {missing:?}"
    );
    let added = hasura_auth::config::ADDED_FLAGS.len();
    let oauth = hasura_auth::config::oauth::OAuthExtras::flags().count();
    assert_eq!(flags, 150 + added + oauth);
    let intro = format!(
        "There are {flags} flags: upstream's 150, read from 151\nenvironment variable names \
         (`--postgres` has two), and {} of ours",
        added + oauth
    );
    assert!(docs.contains(&intro), "the introduction must say: {intro}");
    assert!(docs.contains(&format!("default: {added} [additions]")));
    assert!(docs.contains(&format!("and {oauth}\n[OAuth additions]")));
}

/// Every subcommand is in the command table of docs/configuration.md.
#[test]
fn docs_list_every_subcommand() {
    let docs = include_str!("../docs/configuration.md");
    let missing: Vec<String> = hasura_auth::config::cli::command()
        .get_subcommands()
        .map(|s| format!("`hasura-auth {}", s.get_name()))
        .filter(|s| !docs.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks {missing:?}"
    );
}

/// A blank line inside a Markdown table ends it: the rows after it render as text.
#[test]
fn docs_tables_have_no_blank_lines_inside() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read doc");
        let lines: Vec<&str> = text.lines().collect();
        for (i, pair) in lines.windows(3).enumerate() {
            // A new table after a blank line starts with a header and its `|---|` row.
            let separator = |l: &&str| l.starts_with("|-") || l.starts_with("| -");
            if pair[0].starts_with('|')
                && pair[1].trim().is_empty()
                && pair[2].starts_with('|')
                && !lines.get(i + 3).is_some_and(separator)
            {
                broken.push(format!("{}:{}", file.display(), i + 2));
            }
        }
    }
    assert!(files.len() > 5);
    assert!(broken.is_empty(), "blank line inside a table at {broken:?}");
}

/// `--check-config | head -c 50`: the reader goes away; no panic, no backtrace, exit 0.
#[test]
fn check_config_into_a_closed_pipe_exits_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    // A pipe whose read end is closed before the program starts: its first write to
    // stdout fails with EPIPE, as when `head` has exited.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_BACKTRACE", "1")
        .arg("--check-config")
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hasura-auth");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
}
