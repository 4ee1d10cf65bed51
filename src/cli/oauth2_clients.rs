//! `hasura-auth oauth2-clients …`.

use serde_json::json;

use super::{Failure, Output};
use crate::config::commands::OAuth2ClientsAction;
use crate::service::admin::UserAdmin;
use crate::service::oauth2_clients::{ClientRecord, ClientWithSecret, NewClient};

pub async fn run(
    action: OAuth2ClientsAction,
    admin: &UserAdmin,
    out: &mut Output,
) -> Result<(), Failure> {
    match action {
        OAuth2ClientsAction::Create(args) => {
            let created = admin
                .create_client(NewClient {
                    redirect_uris: args.redirect_uris,
                    scopes: (!args.scopes.is_empty()).then_some(args.scopes),
                    public: args.public,
                })
                .await?;
            print_with_secret(out, &created)?;
        }
        OAuth2ClientsAction::List => {
            let clients = admin.clients().await?;
            if out.json() {
                return out.value(&json!({ "clients": clients }));
            }
            let rows: Vec<Vec<String>> = clients
                .iter()
                .map(|c| {
                    vec![
                        c.client_id.clone(),
                        c.kind.to_owned(),
                        c.redirect_uris.join(" "),
                        c.scopes.join(" "),
                        c.created_at.clone(),
                    ]
                })
                .collect();
            out.table(
                &["CLIENT ID", "KIND", "REDIRECT URIS", "SCOPES", "CREATED"],
                &rows,
            );
        }
        OAuth2ClientsAction::Show(args) => {
            let client = admin.client(&args.client_id).await?;
            if out.json() {
                return out.value(&json!({ "client": client }));
            }
            out.fields(&fields(&client));
        }
        OAuth2ClientsAction::RotateSecret(args) => {
            let rotated = admin.rotate_client_secret(&args.client_id).await?;
            print_with_secret(out, &rotated)?;
        }
        OAuth2ClientsAction::Delete(args) => {
            if !args.yes {
                return Err(Failure::usage(format!(
                    "deleting client {} (and its refresh tokens) cannot be undone: add --yes to confirm",
                    args.client_id
                )));
            }
            let deleted = admin.delete_client(&args.client_id).await?;
            if out.json() {
                return out.value(&json!({ "deleted": deleted }));
            }
            out.line(format!("deleted client {}", deleted.client_id));
        }
    }
    Ok(())
}

fn fields(client: &ClientRecord) -> Vec<(&'static str, String)> {
    vec![
        ("client id", client.client_id.clone()),
        ("kind", client.kind.to_owned()),
        ("source", client.source.clone()),
        ("redirect uris", client.redirect_uris.join(" ")),
        ("scopes", client.scopes.join(" ")),
        ("created", client.created_at.clone()),
        ("updated", client.updated_at.clone()),
    ]
}

/// The client, and its secret with a warning that it is shown only this once.
fn print_with_secret(out: &mut Output, created: &ClientWithSecret) -> Result<(), Failure> {
    if out.json() {
        return out.value(created);
    }
    let mut rows = fields(&created.client);
    if let Some(secret) = &created.client_secret {
        rows.push(("client secret", secret.clone()));
    }
    out.fields(&rows);
    if created.client_secret.is_some() {
        out.line("the secret is shown only now: only its bcrypt hash is stored");
    }
    Ok(())
}
