//! How the data layer runs a statement: [`Db`], implemented by a pooled connection and by
//! a transaction on one.
//!
//! Two ways, chosen once per process by [`set_transaction_pooler`]
//! (`AUTH_POSTGRES_TRANSACTION_POOLER`):
//!
//! - **prepared** (the default, fastest): each statement is prepared once per connection
//!   (deadpool's `prepare_cached`, a named server-side statement) and executed by name.
//! - **unnamed**, for a transaction pooler in front of PostgreSQL (PgBouncer with
//!   `pool_mode = transaction` before 1.21, or without `max_prepared_statements`): every
//!   execution is one unnamed Parse/Bind/Execute/Sync batch (`query_typed`), which holds
//!   nothing on the server between transactions, so consecutive statements may run on
//!   different server connections. The parameter types a statement needs are learned once
//!   per process and statement by preparing it inside `BEGIN … COMMIT` (which a transaction
//!   pooler keeps on one server connection) and closing it before the `COMMIT`; they are
//!   then shared by every connection.
//!
//! The learned types are keyed by the statement's text alone: one process, one database
//! (as the server and the operator's commands are). A process that talked to databases at
//! different schema levels through a pooler could send a statement with the types learned
//! on the other one.
//!
//! Call sites read the same either way: `let stmt = db.prepare_cached(sql).await?;` then
//! `db.query_one(&stmt, &[..])`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use deadpool_postgres::{Object, Transaction};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Error, Row, Statement};

static TRANSACTION_POOLER: AtomicBool = AtomicBool::new(false);

/// Selects the unnamed-statement way for the whole process (see the module doc).
pub fn set_transaction_pooler(on: bool) {
    TRANSACTION_POOLER.store(on, Ordering::Relaxed);
}

/// Whether statements run unnamed (through a transaction pooler).
pub fn transaction_pooler() -> bool {
    TRANSACTION_POOLER.load(Ordering::Relaxed)
}

/// A statement ready to run: prepared on this connection, or its SQL with the parameter
/// types to send along.
pub enum Stmt {
    Prepared(Statement),
    Unnamed { sql: String, types: Arc<[Type]> },
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Parameter types of each statement, learned once per process (unnamed way only).
fn learned() -> &'static Mutex<HashMap<String, Arc<[Type]>>> {
    static LEARNED: OnceLock<Mutex<HashMap<String, Arc<[Type]>>>> = OnceLock::new();
    LEARNED.get_or_init(Default::default)
}

fn learned_types(sql: &str) -> Option<Arc<[Type]>> {
    learned()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(sql)
        .cloned()
}

/// Prepares `sql` (named) and closes it again within one transaction, so that a
/// transaction pooler never sees a named statement outlive it; `in_transaction`: the
/// caller's transaction is open already (no `BEGIN`/`COMMIT` of our own).
async fn learn(client: &Client, sql: &str, in_transaction: bool) -> Result<Arc<[Type]>, Error> {
    if !in_transaction {
        client.batch_execute("BEGIN").await?;
    }
    // The statement is dropped at the end of this expression: its Close is queued before
    // the COMMIT below, on the same connection.
    let prepared = client
        .prepare(sql)
        .await
        .map(|s| Arc::<[Type]>::from(s.params()));
    if !in_transaction {
        let end = if prepared.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        client.batch_execute(end).await?;
    }
    let types = prepared?;
    if let Some(t) = types.iter().find(|t| Type::from_oid(t.oid()).is_none()) {
        // Looking such a type up again later would use a named statement of the driver.
        tracing::warn!(
            r#type = %t.name(),
            "statement parameter of a non-built-in type under AUTH_POSTGRES_TRANSACTION_POOLER; cast it to a built-in type"
        );
    }
    learned()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(sql.to_owned(), types.clone());
    Ok(types)
}

fn typed<'a>(params: Params<'a>, types: &'a [Type]) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    params
        .iter()
        .zip(types.iter())
        .map(|(p, t)| (*p, t.clone()))
        .collect()
}

/// A connection or a transaction the data layer runs statements on.
pub trait Db: Sync {
    /// The driver's client (for a transaction: the connection it runs on).
    fn pg(&self) -> &Client;

    /// Whether a transaction is open (the unnamed way then needs no `BEGIN` of its own).
    fn in_transaction(&self) -> bool;

    /// deadpool's per-connection prepared-statement cache.
    fn prepare_named(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send;

    /// The statement for `sql`, the way this process runs statements.
    fn prepare_cached(&self, sql: &str) -> impl Future<Output = Result<Stmt, Error>> + Send {
        async move {
            if !transaction_pooler() {
                return self.prepare_named(sql).await.map(Stmt::Prepared);
            }
            let types = match learned_types(sql) {
                Some(types) => types,
                None => learn(self.pg(), sql, self.in_transaction()).await?,
            };
            Ok(Stmt::Unnamed {
                sql: sql.to_owned(),
                types,
            })
        }
    }

    fn query(
        &self,
        stmt: &Stmt,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        async move {
            match stmt {
                Stmt::Prepared(s) => self.pg().query(s, params).await,
                Stmt::Unnamed { sql, types } => {
                    self.pg().query_typed(sql, &typed(params, types)).await
                }
            }
        }
    }

    fn query_one(
        &self,
        stmt: &Stmt,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Row, Error>> + Send {
        async move {
            match stmt {
                Stmt::Prepared(s) => self.pg().query_one(s, params).await,
                Stmt::Unnamed { sql, types } => {
                    self.pg().query_typed_one(sql, &typed(params, types)).await
                }
            }
        }
    }

    fn query_opt(
        &self,
        stmt: &Stmt,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send {
        async move {
            match stmt {
                Stmt::Prepared(s) => self.pg().query_opt(s, params).await,
                Stmt::Unnamed { sql, types } => {
                    self.pg().query_typed_opt(sql, &typed(params, types)).await
                }
            }
        }
    }

    fn execute(
        &self,
        stmt: &Stmt,
        params: Params<'_>,
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        async move {
            match stmt {
                Stmt::Prepared(s) => self.pg().execute(s, params).await,
                Stmt::Unnamed { sql, types } => {
                    self.pg().execute_typed(sql, &typed(params, types)).await
                }
            }
        }
    }
}

impl Db for Object {
    fn pg(&self) -> &Client {
        self
    }

    fn in_transaction(&self) -> bool {
        false
    }

    fn prepare_named(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send {
        deadpool_postgres::ClientWrapper::prepare_cached(self, sql)
    }
}

impl Db for Transaction<'_> {
    fn pg(&self) -> &Client {
        self.client()
    }

    fn in_transaction(&self) -> bool {
        true
    }

    fn prepare_named(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send {
        Transaction::prepare_cached(self, sql)
    }
}
