//! Start-up: configuration → database → migrations → workflows → HTTP server, the
//! `migrate` and `healthcheck` commands, and the workflows of the operator's commands
//! (`users`, `sessions`, `keys`: run by [`crate::cli`]).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::adapters::email::{Mailer, Templates};
use crate::cli::Failure;
use crate::config::{CommandKind, Config, OperatorCommand};
use crate::contract::Generation;
use crate::db::DbPool;
use crate::http::rate_limit::RateLimiter;
use crate::http::server::ServerLimits;
use crate::http::state::{AppState, SharedState, Workflows};
use crate::service::accounts::Accounts;
use crate::service::admin::UserAdmin;
use crate::service::anonymous::AnonymousSignIn;
use crate::service::audit::{Audit, AuditSettings};
use crate::service::change_env::EnvChange;
use crate::service::custom_claims::ClaimsSource;
use crate::service::deanonymize::Deanonymization;
use crate::service::email::Mail;
use crate::service::health::Health;
use crate::service::lockout::Lockout;
use crate::service::mfa::TotpMfa;
use crate::service::oauth::OAuthSignIn;
use crate::service::oauth2_provider::ui::LoginPage;
use crate::service::oauth2_provider::{OAuth2Provider, ProviderSettings};
use crate::service::password::PasswordChange;
use crate::service::password_check::NewPasswordRules;
use crate::service::passwordless::EmailSignIn;
use crate::service::pat::PersonalAccessTokens;
use crate::service::pkce::PkceCodes;
use crate::service::registration::Registration;
use crate::service::session::Sessions;
use crate::service::signin::EmailPasswordSignIn;
use crate::service::signup::SignUp;
use crate::service::sms::SmsSignIn;
use crate::service::user_email::EmailChange;
use crate::service::verify::TicketVerification;
use crate::service::webauthn::Passkeys;
use crate::settings::{RuntimeSettings, SettingsHandle};
use crate::tls::Tls;
use crate::tokens::JwtKeys;
use crate::tokens::password_hash::PasswordHasher;
use crate::tokens::refresh::SuccessorKey;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Settings(#[from] crate::settings::SettingsError),
    #[error("{0}")]
    Jwt(#[from] crate::tokens::JwtConfigError),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
    #[error("migrations: {0}")]
    Migrate(#[from] crate::db::migrate::MigrateError),
    #[error("templates: {0}")]
    Templates(#[from] crate::adapters::email::TemplateError),
    #[error("email: {0}")]
    Mail(#[from] crate::adapters::email::MailError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Hasura(#[from] crate::adapters::hasura::MetadataSyncError),
    #[error("http client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Migrates the database and builds the shared state, with the TLS roots of the
/// environment (`SSL_CERT_FILE`, `SSL_CERT_DIR`, else the system's) read now.
pub async fn build_state(config: Config) -> Result<SharedState, StartupError> {
    let tls = Tls::from_env()?;
    tls.log_summary();
    build_state_with(config, tls).await
}

/// Migrates the database and builds the shared state: the adapters once (every outbound
/// TLS connection uses `tls`), then each workflow with the dependencies it uses.
pub async fn build_state_with(config: Config, tls: Tls) -> Result<SharedState, StartupError> {
    let mut jwt = JwtKeys::from_config(
        config.jwt.jwt_secret.as_ref().map(|s| s.expose()),
        config.jwt.jwt_secrets.as_ref().map(|s| s.expose()),
    )?;
    if config.server.enable_change_env {
        tracing::warn!(
            "AUTH_ENABLE_CHANGE_ENV=true: POST /change-env lets ANYONE reconfigure this \
             server without authentication. For test environments only; never in production."
        );
    }
    let settings = RuntimeSettings::new(config)?;
    let config = &settings.config;

    check_transaction_pooler(config)?;
    let report = crate::db::migrate::migrate(
        config.migrations_database_url(),
        &tls,
        migrate_policy(config),
    )
    .await?;
    tracing::info!(
        from = report.from_version,
        to = report.to_version,
        applied = report.applied.len(),
        "database schema ready"
    );
    let schema = report.level();
    check_locales_fit(&settings, schema)?;
    let oauth2_settings =
        ProviderSettings::from_config(config, &jwt, schema).map_err(StartupError::Config)?;
    let generation = config
        .server
        .upstream_generation
        .resolve(report.from_version);
    tracing::info!(
        contract = generation.as_str(),
        setting = config.server.upstream_generation.as_str(),
        found = report.from_version,
        "upstream contract served"
    );
    apply_generation(&mut jwt, config, generation);
    let jwt = Arc::new(jwt);

    let http = tls
        .http_client()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()?;
    crate::adapters::hasura::sync_at_startup(&http, config, schema).await?;
    if settings.claims.is_some() && config.hasura.graphql_url.trim().is_empty() {
        tracing::warn!(
            "AUTH_JWT_CUSTOM_CLAIMS is set but HASURA_GRAPHQL_GRAPHQL_URL is not: \
             tokens will carry the custom-claim defaults only"
        );
    }
    let rate_limiter = RateLimiter::from_config(config).map_err(StartupError::Config)?;

    let pool_size = (cpus() * 4).max(4);
    let pool_timeout = config.database.postgres_pool_timeout;
    let db = crate::db::connect(
        config.database_url(),
        crate::db::PoolLimits {
            max_size: pool_size,
            timeout: config.database.postgres_pool_timeout,
            statement_timeout: config.database.postgres_statement_timeout,
            transaction_pooler: config.database.postgres_transaction_pooler,
        },
        &tls,
    )?;
    let oauth = Arc::new(
        crate::adapters::oauth::OAuthProviders::from_config(config, &tls)
            .map_err(|e| StartupError::Config(format!("OAuth providers: {e}")))?,
    );
    {
        let client = db.get().await.map_err(crate::db::DbError::from)?;
        crate::db::users::upsert_roles(&client, &settings.policy.allowed_roles).await?;
        for provider in oauth.extra_provider_ids() {
            crate::db::oauth::ensure_provider(&client, provider).await?;
        }
    }

    let (totp_secrets, encrypted) = crate::service::mfa::prepare_totp_secrets(
        &db,
        config.mfa.encryption_key.as_ref().map(|k| k.expose()),
    )
    .await
    .map_err(|e| StartupError::Config(e.to_string()))?;
    if encrypted > 0 {
        tracing::info!(
            count = encrypted,
            "TOTP secrets encrypted with AUTH_ENCRYPTION_KEY"
        );
    }

    let sms = match crate::adapters::sms::from_config(config, &tls) {
        Ok(sms) => Some(sms),
        Err(e) if config.sms.sms_passwordless_enabled => {
            return Err(StartupError::Config(e.to_string()));
        }
        Err(_) => None,
    };
    let Core {
        settings,
        templates,
        metrics,
        audit,
        passwords,
        sessions,
        mail,
        registration,
        password_rules,
    } = build_core(settings, &db, jwt.clone(), &http, &tls, pool_size, cpus())?;

    let accounts = Accounts {
        db: db.clone(),
        settings: settings.clone(),
    };
    let lockout = Lockout {
        db: db.clone(),
        settings: settings.clone(),
    };
    let pkce = PkceCodes {
        db: db.clone(),
        schema,
        accounts: accounts.clone(),
        sessions: sessions.clone(),
    };
    let email_password = Arc::new(EmailPasswordSignIn {
        db: db.clone(),
        passwords: passwords.clone(),
        accounts: accounts.clone(),
        sessions: sessions.clone(),
        lockout: lockout.clone(),
    });
    let mfa = Arc::new(TotpMfa {
        db: db.clone(),
        accounts: accounts.clone(),
        sessions: sessions.clone(),
        settings: settings.clone(),
        secrets: totp_secrets,
        lockout: lockout.clone(),
    });
    let oauth2 = Arc::new(OAuth2Provider {
        db: db.clone(),
        settings: oauth2_settings,
        jwt: jwt.clone(),
        passwords: passwords.clone(),
        accounts: accounts.clone(),
        claims: sessions.claims.clone(),
        cleanup: Default::default(),
        tls: tls.clone(),
        device_failures: Default::default(),
    });
    let email_signin = Arc::new(EmailSignIn {
        db: db.clone(),
        passwords: passwords.clone(),
        mail: mail.clone(),
        accounts: accounts.clone(),
        sessions: sessions.clone(),
        registration: registration.clone(),
        settings: settings.clone(),
        lockout: lockout.clone(),
    });
    let passkeys = Arc::new(Passkeys {
        db: db.clone(),
        accounts: accounts.clone(),
        sessions: sessions.clone(),
        registration: registration.clone(),
        settings: settings.clone(),
    });
    let login_page = Arc::new(LoginPage {
        provider: oauth2.clone(),
        password: email_password.clone(),
        mfa: mfa.clone(),
        email: email_signin.clone(),
        passkeys: passkeys.clone(),
    });
    if login_page.enabled() && login_page.passkeys() {
        let config = settings.config();
        let problem = crate::service::oauth2_provider::ui::passkey_origin_problem(
            &oauth2.settings.builtin_login_url,
            &config.webauthn_rp_id(),
            &config.webauthn_rp_origins(),
        );
        if let Some(problem) = problem {
            tracing::warn!("{problem}");
        }
    }
    let workflows = Workflows {
        email_password,
        mfa,
        oauth2,
        login_page,
        signup: Arc::new(SignUp {
            passwords: passwords.clone(),
            password_rules: password_rules.clone(),
            registration: registration.clone(),
            settings: settings.clone(),
        }),
        anonymous: Arc::new(AnonymousSignIn {
            registration: registration.clone(),
            settings: settings.clone(),
        }),
        email_signin: email_signin.clone(),
        sms: Arc::new(SmsSignIn {
            db: db.clone(),
            sms,
            templates,
            metrics: metrics.clone(),
            accounts: accounts.clone(),
            sessions: sessions.clone(),
            registration: registration.clone(),
            settings: settings.clone(),
            otp_counter: crate::db::otp_attempts::OtpCounter::for_level(schema),
            phone_stage: crate::db::phone_change::PhoneStage::for_level(schema),
            sms_layout: crate::db::sms_deanonymize::Layout::for_level(schema),
        }),
        pats: Arc::new(PersonalAccessTokens {
            db: db.clone(),
            accounts: accounts.clone(),
            sessions: sessions.clone(),
        }),
        password: Arc::new(PasswordChange {
            db: db.clone(),
            passwords: passwords.clone(),
            password_rules: password_rules.clone(),
            mail: mail.clone(),
            accounts: accounts.clone(),
            settings: settings.clone(),
            schema,
            lockout,
        }),
        email_change: Arc::new(EmailChange {
            mail: mail.clone(),
            accounts: accounts.clone(),
            settings: settings.clone(),
        }),
        deanonymize: Arc::new(Deanonymization {
            passwords: passwords.clone(),
            password_rules,
            mail: mail.clone(),
            settings: settings.clone(),
        }),
        verify: Arc::new(TicketVerification {
            db: db.clone(),
            accounts: accounts.clone(),
            sessions: sessions.clone(),
            pkce: pkce.clone(),
        }),
        pkce: Arc::new(pkce.clone()),
        oauth: Arc::new(OAuthSignIn {
            db: db.clone(),
            oauth,
            jwt: jwt.clone(),
            accounts: accounts.clone(),
            sessions: sessions.clone(),
            registration: registration.clone(),
            pkce: pkce.clone(),
            settings: settings.clone(),
        }),
        passkeys: passkeys.clone(),
        change_env: Arc::new(EnvChange {
            db: db.clone(),
            settings: settings.clone(),
        }),
        health: Arc::new(Health {
            db: db.clone(),
            timeout: pool_timeout,
        }),
        accounts: Arc::new(accounts),
        sessions: Arc::new(sessions),
    };

    Ok(SharedState::new(AppState {
        settings,
        db,
        jwt,
        rate_limiter,
        metrics,
        audit,
        http_client: http,
        schema,
        generation,
        workflows,
    }))
}

/// Below level 19 `auth.users.locale` is `varchar(2)`: a three-letter locale the policy
/// could pick would fail every insert, so start-up refuses it with what to do.
fn check_locales_fit(
    settings: &RuntimeSettings,
    schema: crate::db::SchemaLevel,
) -> Result<(), StartupError> {
    let max = schema.locale_max_len();
    let policy = &settings.policy;
    let too_long: Vec<&str> = policy
        .allowed_locales
        .iter()
        .chain(std::iter::once(&policy.default_locale))
        .map(String::as_str)
        .filter(|l| l.chars().count() > max)
        .collect();
    if too_long.is_empty() {
        return Ok(());
    }
    Err(StartupError::Config(format!(
        "AUTH_LOCALE_ALLOWED_LOCALES / AUTH_LOCALE_DEFAULT hold {too_long:?}, longer than the \
         {max} characters auth.users.locale stores at schema level {schema}: three-letter \
         locales need level 19 or above (AUTH_MIGRATE_TO_LATEST=true), or remove them"
    )))
}

/// What the contract changes outside the error answers: under Nhost Auth 0.52 a JWT
/// secret without `issuer` issues (and accepts) tokens of `AUTH_SERVER_URL`.
fn apply_generation(jwt: &mut JwtKeys, config: &Config, generation: Generation) {
    if generation == Generation::V0_52 {
        jwt.set_default_issuer(config.server.server_url.trim());
    }
}

/// Migrations hold a session-level advisory lock and `SET` session settings: through a
/// transaction pooler the lock could be taken on one server connection and released on
/// another (or stay held). With `AUTH_POSTGRES_TRANSACTION_POOLER`, they must have a
/// direct URL of their own, `POSTGRES_MIGRATIONS_CONNECTION` (upstream's variable).
fn check_transaction_pooler(config: &Config) -> Result<(), StartupError> {
    if config.database.postgres_transaction_pooler
        && config.migrations_database_url() == config.database_url()
    {
        return Err(StartupError::Config(
            "AUTH_POSTGRES_TRANSACTION_POOLER=true needs POSTGRES_MIGRATIONS_CONNECTION: a \
             direct PostgreSQL URL (not through the pooler) for migrations, which take a \
             session-level advisory lock"
                .into(),
        ));
    }
    Ok(())
}

/// `AUTH_MIGRATE_TO_LATEST` as the migration runner's policy.
fn migrate_policy(config: &Config) -> crate::db::migrate::MigratePolicy {
    crate::db::migrate::MigratePolicy {
        to_latest: config.database.migrate_to_latest,
    }
}

/// What the server's workflows and the operator's commands are both built from.
struct Core {
    settings: SettingsHandle,
    templates: Arc<Templates>,
    metrics: Arc<crate::metrics::Metrics>,
    audit: Audit,
    passwords: Arc<PasswordHasher>,
    sessions: Sessions,
    mail: Mail,
    registration: Registration,
    password_rules: NewPasswordRules,
}

/// Loads the email templates and the mailer, then builds the shared workflows.
fn build_core(
    settings: RuntimeSettings,
    db: &DbPool,
    jwt: Arc<JwtKeys>,
    http: &reqwest::Client,
    tls: &Tls,
    pool_size: usize,
    hash_concurrency: usize,
) -> Result<Core, StartupError> {
    // From the same secret as `jwt`: see `SuccessorKey` for why that key.
    // With HASURA_GRAPHQL_JWT_SECRETS set, the list is the key material (as for `jwt`,
    // it wins over the single secret); a rotation step then changes the successors of
    // tokens replayed across that restart only.
    let jwt_config = &settings.config.jwt;
    let successors = SuccessorKey::from_jwt_secret(
        jwt_config
            .jwt_secrets
            .as_ref()
            .filter(|s| !s.is_empty())
            .or(jwt_config.jwt_secret.as_ref())
            .map(|s| s.expose())
            .unwrap_or_default(),
    )
    .ok_or_else(|| {
        StartupError::Config(
            "HASURA_GRAPHQL_JWT_SECRET is required (refresh-token successors are derived from it)"
                .into(),
        )
    })?;
    let config = &settings.config;
    let templates_dir = std::path::Path::new(&config.email.templates_path);
    let templates = Arc::new(Templates::load(
        Some(templates_dir),
        &config.signup.default_locale,
    )?);
    let mailer = Arc::new(Mailer::from_config(config, tls)?);
    let passwords = Arc::new(
        PasswordHasher::new(hash_concurrency).map_err(|e| StartupError::Config(e.to_string()))?,
    );
    let metrics = Arc::new(crate::metrics::Metrics::new());
    // Read once: the writer, the purge and the webhook worker start here.
    let audit = Audit::start(
        db.clone(),
        http.clone(),
        metrics.clone(),
        AuditSettings {
            table: config.security.audit_enabled,
            retention: config.security.audit_retention,
            webhook_url: Some(config.security.audit_webhook_url.trim())
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            webhook_secret: Some(&config.security.audit_webhook_secret)
                .filter(|s| !s.is_empty())
                .map(|s| s.expose().as_bytes().to_vec()),
        },
    );
    let settings = SettingsHandle::new(settings);
    let mail = Mail {
        db: db.clone(),
        slots: Arc::new(Semaphore::new((pool_size / 2).max(1))),
        mailer,
        templates: templates.clone(),
        metrics: metrics.clone(),
        settings: settings.clone(),
    };
    let sessions = Sessions {
        db: db.clone(),
        jwt,
        claims: ClaimsSource {
            http: http.clone(),
            settings: settings.clone(),
        },
        settings: settings.clone(),
        sweep: Default::default(),
        successors,
        metrics: metrics.clone(),
        mail: mail.clone(),
    };
    let registration = Registration {
        db: db.clone(),
        mail: mail.clone(),
        sessions: sessions.clone(),
        settings: settings.clone(),
    };
    let password_rules = NewPasswordRules {
        http: http.clone(),
        settings: settings.clone(),
    };
    Ok(Core {
        settings,
        templates,
        metrics,
        audit,
        passwords,
        sessions,
        mail,
        registration,
        password_rules,
    })
}

/// How long an operator's command may wait for the database before giving up.
const OPERATOR_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// `hasura-auth users|sessions|keys …` (docs/cli.md): runs the command with the
/// workflows it needs, built from the server's configuration, and returns the exit code.
pub async fn operate(command: OperatorCommand, json: bool, config: Config) -> u8 {
    crate::cli::run(command, json, config, build_user_admin).await
}

/// The operator's workflows on a small pool. The schema must already be at this
/// build's version: these commands never migrate (that is `hasura-auth migrate`).
async fn build_user_admin(config: Config) -> Result<UserAdmin, Failure> {
    let tls = Tls::from_env().map_err(|e| Failure::setup(format!("TLS: {e}")))?;
    let status = tokio::time::timeout(
        OPERATOR_DB_TIMEOUT,
        crate::db::migrate::status(config.migrations_database_url(), &tls),
    )
    .await
    .map_err(|_| {
        Failure::setup(format!(
            "database: no answer within {}s",
            OPERATOR_DB_TIMEOUT.as_secs()
        ))
    })?;
    let found_version = match status {
        Ok(status) if status.is_current(migrate_policy(&config)) => status.version,
        Ok(status) => {
            let (target, _) =
                crate::db::migrate::choose_target(status.version, migrate_policy(&config));
            return Err(Failure::schema(format!(
                "the auth schema is at version {} (internal migrations pending: {:?}); with \
                 this configuration it should be at version {}: run `hasura-auth migrate` first",
                status.version, status.internal_pending, target
            )));
        }
        Err(e @ crate::db::migrate::MigrateError::UnknownVersion { .. })
        | Err(e @ crate::db::migrate::MigrateError::Dirty { .. }) => {
            return Err(Failure::schema(e.to_string()));
        }
        Err(e) => return Err(Failure::setup(e.to_string())),
    };
    let setup = |e: StartupError| Failure::setup(e.to_string());
    let mut jwt = JwtKeys::from_config(
        config.jwt.jwt_secret.as_ref().map(|s| s.expose()),
        config.jwt.jwt_secrets.as_ref().map(|s| s.expose()),
    )
    .map_err(|e| setup(e.into()))?;
    // The schema is current, so the level found now is the one the server found.
    let generation = config.server.upstream_generation.resolve(found_version);
    apply_generation(&mut jwt, &config, generation);
    let jwt = Arc::new(jwt);
    let settings = RuntimeSettings::new(config).map_err(|e| setup(e.into()))?;
    let http = tls
        .http_client()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(OPERATOR_DB_TIMEOUT)
        .build()
        .map_err(|e| setup(e.into()))?;
    let pool_size = 2;
    let db = crate::db::connect(
        settings.config.database_url(),
        crate::db::PoolLimits {
            max_size: pool_size,
            timeout: settings.config.database.postgres_pool_timeout,
            statement_timeout: settings.config.database.postgres_statement_timeout,
            transaction_pooler: settings.config.database.postgres_transaction_pooler,
        },
        &tls,
    )
    .map_err(|e| setup(e.into()))?;
    let core = build_core(settings, &db, jwt, &http, &tls, pool_size, 1).map_err(setup)?;
    Ok(UserAdmin {
        db,
        passwords: core.passwords,
        password_rules: core.password_rules,
        registration: core.registration,
        sessions: core.sessions,
        settings: core.settings,
        schema: crate::db::SchemaLevel::new(found_version),
    })
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish within `AUTH_SHUTDOWN_TIMEOUT` (see [`crate::http::server`]).
pub async fn serve(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let limits = ServerLimits::from_config(&state.config().server);
    // Background workers (audit writer and purge) hold clones of the pool beyond the
    // router: closing it when serving ends closes the idle connections now, before a
    // private development cluster is stopped or the process exits.
    let pool = state.db.clone();
    let app = crate::http::app(state);
    // Start-up is over: its code need not stay resident (see `memory`).
    crate::memory::release_startup_code();
    crate::http::server::serve(listener, app, limits, shutdown).await;
    pool.close();
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

pub async fn run(command: CommandKind, mut config: Config) -> Result<(), StartupError> {
    match command {
        CommandKind::Healthcheck => return healthcheck(&config).await,
        CommandKind::Operator { command, json } => {
            // The binary calls `operate` itself, for the exit code.
            return match operate(*command, json, config).await {
                0 => Ok(()),
                code => Err(StartupError::Config(format!("exit code {code}"))),
            };
        }
        _ => {}
    }
    // Read before logging is up: the OTLP exporter needs them too.
    let tls = Tls::from_env()?;
    // Decided before logging starts: development mode logs text by default.
    let dev_plan = crate::devmode::plan(&config, crate::devmode::DevOptions::default()).await;
    let development = dev_plan.is_some();
    let format = crate::telemetry::LogFormat::choose(&config, development);
    let telemetry = crate::telemetry::init(&config, &tls, format);
    crate::telemetry::log_settings(&config, development);
    tls.log_summary();
    let dev = match dev_plan {
        Some(plan) => Some(
            plan.apply(&mut config)
                .await
                .map_err(|e| StartupError::Config(format!("development mode: {e}")))?,
        ),
        None => None,
    };
    let result = run_command(command, config, tls, dev.as_ref()).await;
    if let Some(dev) = dev {
        dev.shutdown().await;
    }
    telemetry.shutdown();
    result
}

/// The address `AUTH_HOST` and `AUTH_PORT` name: every interface when the host is
/// empty (upstream's `:port`), brackets around an IPv6 address.
pub fn listen_address(host: &str, port: &str) -> String {
    let host = host.trim();
    if host.is_empty() {
        format!("0.0.0.0:{port}")
    } else if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `http://` URL of a bound address; an unspecified one (every interface) is shown
/// as `localhost`, where it can be reached.
fn local_url(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// `hasura-auth healthcheck`: GET /healthz on the local port, without any other tool.
async fn healthcheck(config: &Config) -> Result<(), StartupError> {
    let prefix = config.server.api_prefix.trim_end_matches('/');
    // The server's own address when it listens on one, else loopback.
    let host = match config.server.host.trim() {
        "" | "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        host => host,
    };
    let url = format!(
        "http://{}{prefix}/healthz",
        listen_address(host, &config.server.port)
    );
    // Plain HTTP to this host: no root certificate needed (nor read).
    let client = Tls::with_roots(rustls::RootCertStore::empty())?
        .http_client()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .map_err(|e| StartupError::Config(e.to_string()))?;
    match client.get(&url).send().await {
        Ok(res) if res.status().is_success() => Ok(()),
        Ok(res) => Err(StartupError::Config(format!(
            "{url} answered {}",
            res.status()
        ))),
        Err(e) => Err(StartupError::Config(format!("{url}: {e}"))),
    }
}

async fn run_command(
    command: CommandKind,
    config: Config,
    tls: Tls,
    dev: Option<&crate::devmode::DevEnvironment>,
) -> Result<(), StartupError> {
    match command {
        CommandKind::Healthcheck => healthcheck(&config).await,
        // Handled by `run` before logging starts (their stdout is their output).
        CommandKind::Operator { .. } => Err(StartupError::Config(
            "operator commands run through startup::operate".into(),
        )),
        CommandKind::Migrate => {
            let report = crate::db::migrate::migrate(
                config.migrations_database_url(),
                &tls,
                migrate_policy(&config),
            )
            .await?;
            tracing::info!(
                from = report.from_version,
                to = report.to_version,
                "migrations applied"
            );
            Ok(())
        }
        CommandKind::Serve => {
            let address = listen_address(&config.server.host, &config.server.port);
            let prefix = config.server.api_prefix.trim_end_matches('/').to_owned();
            let metrics_address = config.metrics.metrics_address.clone();
            let banner_config = dev.map(|_| config.clone());
            let state = build_state_with(config, tls).await?;
            let mut metrics_url = None;
            let mut metrics_task = None;
            // One signal, seen by both listeners.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                shutdown_signal().await;
                let _ = stop_tx.send(true);
            });
            let stopped = move || {
                let mut rx = stop_rx.clone();
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                }
            };
            if !metrics_address.is_empty() {
                let metrics_listener = TcpListener::bind(&metrics_address).await?;
                let url = format!("{}/metrics", local_url(metrics_listener.local_addr()?));
                tracing::info!(address = %metrics_address, "metrics listening on {url}");
                metrics_url = Some(url);
                let app = tower::util::BoxCloneSyncService::new(crate::http::metrics_router(
                    state.clone(),
                ));
                let limits = ServerLimits::from_config(&state.config().server);
                metrics_task = Some(tokio::spawn(crate::http::server::serve(
                    metrics_listener,
                    app,
                    limits,
                    stopped(),
                )));
            }
            let listener = TcpListener::bind(&address).await?;
            let bound = listener.local_addr()?;
            tracing::info!(address = %bound, "hasura-auth listening on http://{bound}{prefix}");
            if let (Some(dev), Some(config)) = (dev, &banner_config) {
                let api_url = format!("{}{prefix}", local_url(bound));
                tracing::warn!("{}", dev.banner(config, &api_url, metrics_url.as_deref()));
            }
            let result = serve(state, listener, stopped()).await;
            // The metrics listener holds the state, hence the database pool: stopped and
            // awaited here so the pool is gone before a private cluster is stopped
            // (otherwise each pooled connection logs a "Connection error").
            if let Some(task) = metrics_task {
                task.abort();
                let _ = task.await;
            }
            result
        }
    }
}
