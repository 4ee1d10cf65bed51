//! Start-up: configuration → database → migrations → state → HTTP server.

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;

use tokio::net::TcpListener;

use crate::adapters::email::{Mailer, Templates};
use crate::config::{CommandKind, Config};
use crate::db::DbPool;
use crate::service::passwords::PasswordHasher;
use crate::service::policy::Policy;
use crate::service::rate_limit::RateLimiter;
use crate::tokens::JwtKeys;
use crate::tokens::custom_claims::CustomClaims;

/// Everything a request needs, built once at start-up.
///
/// The configuration and the policy derived from it sit behind an [`ArcSwap`] because
/// `POST /change-env` (test environments only) replaces them at runtime; every request
/// reads a consistent snapshot with one atomic load.
pub struct AppState {
    settings: ArcSwap<Settings>,
    pub db: DbPool,
    pub jwt: JwtKeys,
    pub passwords: PasswordHasher,
    pub mailer: Mailer,
    pub templates: Templates,
    /// The SMS provider; `None` when SMS sign-in is disabled and not configured.
    pub sms: Option<crate::adapters::sms::Sms>,
    /// Outgoing HTTP (Hasura, HIBP, Turnstile); each call sets its own timeout.
    pub http_client: reqwest::Client,
    /// `None` unless `AUTH_RATE_LIMIT_ENABLE`.
    pub rate_limiter: Option<RateLimiter>,
    pub metrics: crate::metrics::Metrics,
    /// Database connections that may stay in use while an email is delivered (see
    /// `AppState::mail_connection`): half the pool, so a slow mail server cannot starve
    /// sign-ins and token refreshes.
    pub mail_slots: tokio::sync::Semaphore,
    /// Enabled OAuth providers and id-token verifiers (built once, like upstream).
    pub oauth: crate::adapters::oauth::OAuthProviders,
}

/// The runtime-replaceable part of the state.
pub struct Settings {
    pub config: Config,
    pub policy: Policy,
    /// Compiled `AUTH_JWT_CUSTOM_CLAIMS` (+ defaults); `None` when none are configured.
    pub claims: Option<Arc<CustomClaims>>,
    /// The WebAuthn relying party (`None` when WebAuthn is disabled); part of the
    /// settings so that a configuration change rebuilds it.
    pub webauthn: Option<Arc<crate::service::webauthn::RelyingParty>>,
}

impl Settings {
    pub fn new(config: Config) -> Result<Settings, StartupError> {
        let policy = Policy::from_config(&config).map_err(StartupError::Config)?;
        let claims = CustomClaims::from_settings(
            config.custom_claims_map().as_ref(),
            config.custom_claims_defaults_map().as_ref(),
        )
        .map_err(|e| StartupError::Config(e.to_string()))?
        .map(Arc::new);
        let webauthn = crate::service::webauthn::RelyingParty::from_config(&config)
            .map_err(StartupError::Config)?
            .map(Arc::new);
        Ok(Settings {
            config,
            policy,
            claims,
            webauthn,
        })
    }
}

/// A read-only view of the current settings' configuration.
pub struct ConfigRef(arc_swap::Guard<Arc<Settings>>);

impl std::ops::Deref for ConfigRef {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0.config
    }
}

/// A read-only view of the current settings' policy.
pub struct PolicyRef(arc_swap::Guard<Arc<Settings>>);

impl std::ops::Deref for PolicyRef {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        &self.0.policy
    }
}

impl AppState {
    pub fn config(&self) -> ConfigRef {
        ConfigRef(self.settings.load())
    }

    pub fn policy(&self) -> PolicyRef {
        PolicyRef(self.settings.load())
    }

    /// The current settings as one snapshot (config and policy that belong together).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// Replaces configuration and policy for the requests that start after this call.
    pub fn replace_settings(&self, settings: Settings) {
        self.settings.store(Arc::new(settings));
    }
}

pub type SharedState = Arc<AppState>;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
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
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Migrates the database and builds the shared state.
pub async fn build_state(config: Config) -> Result<SharedState, StartupError> {
    let jwt = JwtKeys::from_secret(
        config
            .jwt
            .jwt_secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default(),
    )?;
    if config.server.enable_change_env {
        tracing::warn!(
            "AUTH_ENABLE_CHANGE_ENV=true: POST /change-env lets ANYONE reconfigure this \
             server without authentication. For test environments only; never in production."
        );
    }
    let settings = Settings::new(config)?;
    let config = &settings.config;

    let report = crate::db::migrate::migrate(config.migrations_database_url()).await?;
    tracing::info!(
        from = report.from_version,
        to = report.to_version,
        applied = report.applied.len(),
        "database schema ready"
    );

    let http_client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()?;
    crate::adapters::hasura::sync_at_startup(&http_client, config).await?;
    if settings.claims.is_some() && config.hasura.graphql_url.trim().is_empty() {
        tracing::warn!(
            "AUTH_JWT_CUSTOM_CLAIMS is set but HASURA_GRAPHQL_GRAPHQL_URL is not: \
             tokens will carry the custom-claim defaults only"
        );
    }
    let rate_limiter = RateLimiter::from_config(config).map_err(StartupError::Config)?;

    let pool_size = (cpus() * 4).max(4);
    let db = crate::db::connect(config.database_url(), pool_size)?;
    let oauth = crate::adapters::oauth::OAuthProviders::from_config(config)
        .map_err(|e| StartupError::Config(format!("OAuth providers: {e}")))?;
    {
        let client = db.get().await.map_err(crate::db::DbError::from)?;
        crate::db::users::upsert_roles(&client, &settings.policy.allowed_roles).await?;
        for provider in oauth.extra_provider_ids() {
            crate::db::oauth::ensure_provider(&client, provider).await?;
        }
    }

    let templates_dir = std::path::Path::new(&config.email.templates_path);
    let templates = Templates::load(Some(templates_dir), &config.signup.default_locale)?;
    let mailer = Mailer::from_config(config)?;
    let sms = match crate::adapters::sms::from_config(config) {
        Ok(sms) => Some(sms),
        Err(e) if config.sms.sms_passwordless_enabled => {
            return Err(StartupError::Config(e.to_string()));
        }
        Err(_) => None,
    };
    let passwords = PasswordHasher::new(cpus()).map_err(|e| StartupError::Config(e.to_string()))?;

    Ok(Arc::new(AppState {
        settings: ArcSwap::from_pointee(settings),
        db,
        jwt,
        passwords,
        mailer,
        templates,
        sms,
        http_client,
        rate_limiter,
        metrics: crate::metrics::Metrics::new(),
        mail_slots: tokio::sync::Semaphore::new(pool_size / 2),
        oauth,
    }))
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish.
pub async fn serve(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let app = crate::http::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
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
    if command == CommandKind::Healthcheck {
        return healthcheck(&config).await;
    }
    let telemetry = crate::telemetry::init(&config);
    crate::telemetry::log_settings(&config);
    let dev = crate::devmode::prepare(&mut config)
        .await
        .map_err(|e| StartupError::Config(format!("development mode: {e}")))?;
    let result = run_command(command, config).await;
    if let Some(dev) = dev {
        dev.shutdown().await;
    }
    telemetry.shutdown();
    result
}

/// `hasura-auth healthcheck`: GET /healthz on the local port, without any other tool.
async fn healthcheck(config: &Config) -> Result<(), StartupError> {
    let prefix = config.server.api_prefix.trim_end_matches('/');
    let url = format!("http://127.0.0.1:{}{prefix}/healthz", config.server.port);
    let client = reqwest::Client::builder()
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

async fn run_command(command: CommandKind, config: Config) -> Result<(), StartupError> {
    match command {
        CommandKind::Healthcheck => healthcheck(&config).await,
        CommandKind::Migrate => {
            let report = crate::db::migrate::migrate(config.migrations_database_url()).await?;
            tracing::info!(
                from = report.from_version,
                to = report.to_version,
                "migrations applied"
            );
            Ok(())
        }
        CommandKind::Serve => {
            let port = config.server.port.clone();
            let metrics_address = config.metrics.metrics_address.clone();
            let state = build_state(config).await?;
            if !metrics_address.is_empty() {
                let metrics_listener = TcpListener::bind(&metrics_address).await?;
                tracing::info!(address = %metrics_address, "metrics listening on /metrics");
                let app = crate::http::metrics_router(state.clone());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(metrics_listener, app).await {
                        tracing::error!(error = %e, "metrics listener stopped");
                    }
                });
            }
            let listener = TcpListener::bind(format!("0.0.0.0:{port}")).await?;
            tracing::info!(port = %port, "hasura-auth listening");
            serve(state, listener, shutdown_signal()).await
        }
    }
}
