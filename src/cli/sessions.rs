//! `hasura-auth sessions …`.

use serde_json::json;
use uuid::Uuid;

use super::{Failure, Output};
use crate::config::commands::SessionsAction;
use crate::service::admin::{UserAdmin, UserKey};

pub async fn run(
    action: SessionsAction,
    admin: &UserAdmin,
    out: &mut Output,
) -> Result<(), Failure> {
    match action {
        SessionsAction::List(user) => {
            let sessions = admin.sessions(&UserKey::parse(&user.user)?).await?;
            if out.json() {
                return out.value(&json!({ "sessions": sessions }));
            }
            let rows: Vec<Vec<String>> = sessions
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.token_type.clone(),
                        s.created_at.clone(),
                        s.expires_at.clone(),
                        if s.expired { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            out.table(&["ID", "TYPE", "CREATED", "EXPIRES", "EXPIRED"], &rows);
        }
        SessionsAction::Revoke(args) => {
            let user = UserKey::parse(&args.user)?;
            let revoked = match args.session {
                Some(id) => {
                    let id = Uuid::parse_str(&id).map_err(|_| {
                        Failure::usage(format!("--session {id:?} is not a session id (UUID)"))
                    })?;
                    admin.revoke_session(&user, id).await?;
                    1
                }
                None => admin.revoke_all_sessions(&user).await?,
            };
            if out.json() {
                return out.value(&json!({ "revoked": revoked }));
            }
            out.line(format!("revoked {revoked} session(s) of {user}"));
        }
    }
    Ok(())
}
