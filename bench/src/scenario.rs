//! The scenarios of issue 6 and upstream's figures for them.

use clap::ValueEnum;

/// One row of the table (plus a mixed scenario).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioId {
    /// GET /healthz
    Healthz,
    /// GET /.well-known/jwks.json
    Jwks,
    /// POST /token/verify with the access token in the body (no database)
    Verify,
    /// GET /user with a bearer access token
    User,
    /// POST /token: refresh-token rotation
    Token,
    /// POST /signin/anonymous: a new user and session per request
    Anonymous,
    /// POST /signin/email-password (bcrypt verify)
    Signin,
    /// POST /token and POST /signin/email-password at the same time
    Mixed,
}

impl ScenarioId {
    pub const ALL: [ScenarioId; 8] = [
        ScenarioId::Healthz,
        ScenarioId::Jwks,
        ScenarioId::Verify,
        ScenarioId::User,
        ScenarioId::Token,
        ScenarioId::Anonymous,
        ScenarioId::Signin,
        ScenarioId::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioId::Healthz => "healthz",
            ScenarioId::Jwks => "jwks",
            ScenarioId::Verify => "verify",
            ScenarioId::User => "user",
            ScenarioId::Token => "token",
            ScenarioId::Anonymous => "anonymous",
            ScenarioId::Signin => "signin",
            ScenarioId::Mixed => "mixed",
        }
    }

    /// The request kinds driven at once and how many connections each gets.
    pub fn lanes(self, concurrency: usize, mixed_signin: usize) -> Vec<(Kind, usize)> {
        match self {
            ScenarioId::Healthz => vec![(Kind::Healthz, concurrency)],
            ScenarioId::Jwks => vec![(Kind::Jwks, concurrency)],
            ScenarioId::Verify => vec![(Kind::Verify, concurrency)],
            ScenarioId::User => vec![(Kind::User, concurrency)],
            ScenarioId::Token => vec![(Kind::Token, concurrency)],
            ScenarioId::Anonymous => vec![(Kind::Anonymous, concurrency)],
            ScenarioId::Signin => vec![(Kind::Signin, concurrency)],
            ScenarioId::Mixed => {
                let signin = mixed_signin.clamp(1, concurrency.max(2) - 1);
                vec![
                    (Kind::Token, concurrency.max(2) - signin),
                    (Kind::Signin, signin),
                ]
            }
        }
    }

    /// What upstream reached and what this implementation must reach, per lane.
    pub fn needs_access_tokens(self) -> bool {
        matches!(self, ScenarioId::User | ScenarioId::Verify)
    }
}

/// What one connection sends, over and over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Healthz,
    Jwks,
    Verify,
    User,
    Token,
    Anonymous,
    Signin,
}

impl Kind {
    pub fn label(self, scenario: ScenarioId) -> &'static str {
        match (scenario, self) {
            (ScenarioId::Mixed, Kind::Token) => "POST /token, while sign-ins saturate hashing",
            (ScenarioId::Mixed, _) => "POST /signin/email-password, alongside /token",
            (_, Kind::Healthz) => "GET /healthz",
            (_, Kind::Jwks) => "GET /.well-known/jwks.json",
            (_, Kind::Verify) => "POST /token/verify",
            (_, Kind::User) => "GET /user (bearer)",
            (_, Kind::Token) => "POST /token (refresh)",
            (_, Kind::Anonymous) => "POST /signin/anonymous",
            (_, Kind::Signin) => "POST /signin/email-password",
        }
    }
}
