//! One SQL surface over the two databases the store runs on: SQLite (the embedded default, one
//! file) and PostgreSQL (what several replicas share). The store's queries are written once, in
//! the subset both understand, with `?1` or `?` placeholders; for PostgreSQL they are rewritten
//! to `$1` here, and the schema's types are widened (`schema::postgres_ddl`).
//!
//! Every query runs inside a transaction (`Tx`). A write transaction holds the database's one
//! writer slot until it ends: SQLite's IMMEDIATE lock, PostgreSQL's transaction-level advisory
//! lock `WRITER_LOCK`. So writers on every replica run one at a time, as on one SQLite file,
//! and a change's sequence number is always handed out after the change before it committed
//! (a follower reading `seq > cursor` never skips a change that commits late).

use crate::error::{Result, ServiceError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

/// A value going into or coming out of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// What may be bound to a placeholder.
pub trait Param {
    fn value(&self) -> Value;
}

impl Param for Value {
    fn value(&self) -> Value {
        self.clone()
    }
}
impl Param for i64 {
    fn value(&self) -> Value {
        Value::Int(*self)
    }
}
impl Param for u64 {
    fn value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl Param for usize {
    fn value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl Param for u32 {
    fn value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl Param for bool {
    fn value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl Param for str {
    fn value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl Param for String {
    fn value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value {
        (**self).value()
    }
}
impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Param::value)
    }
}

/// The placeholders' values, in order: `params![a, b]`.
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::sql::Param] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::sql::Param),+] as &[&dyn $crate::store::sql::Param] };
}
pub(crate) use params;

/// What a column's value may be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}
impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for u64 {
    fn from_value(v: &Value) -> Option<u64> {
        i64::from_value(v).and_then(|i| u64::try_from(i).ok())
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<bool> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<String> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One result row.
pub struct Row(Vec<Value>);

impl Row {
    /// Column `i` as `T`; a column of another type or NULL where `T` is not an Option is an
    /// error (a corrupt or foreign database), never a default.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| ServiceError::Internal(format!("no column {i} in the row")))?;
        T::from_value(v).ok_or_else(|| {
            ServiceError::Internal(format!(
                "column {i} holds {v:?}, not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// Which database a connection talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the store lives: a SQLite file (None: in memory, for tests) or a PostgreSQL server.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per store, made once at start
pub enum Location {
    Sqlite(Option<std::path::PathBuf>),
    Postgres(postgres::Config),
}

impl std::fmt::Display for Location {
    /// Where, for messages: never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(Some(p)) => write!(f, "{}", p.display()),
            Location::Sqlite(None) => f.write_str("an in-memory SQLite database"),
            Location::Postgres(c) => {
                let host = match c.get_hosts().first() {
                    Some(postgres::config::Host::Tcp(h)) => h.clone(),
                    Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
                    None => "localhost".into(),
                };
                let port = c.get_ports().first().copied().unwrap_or(5432);
                write!(
                    f,
                    "postgres://{}@{host}:{port}/{}",
                    c.get_user().unwrap_or(""),
                    c.get_dbname().unwrap_or("")
                )
            }
        }
    }
}

/// The lock every writer holds on PostgreSQL; the number spells "jitgate".
const WRITER_LOCK: i64 = i64::from_be_bytes(*b"\0jitgate");

/// What a transaction may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Changes: one writer at a time across every replica.
    Write,
    /// Reads only, on one consistent snapshot.
    Read,
}

/// An open connection. PostgreSQL connections reconnect by themselves: a connection the
/// server dropped (a restart) is opened again at the next transaction.
pub struct Conn {
    inner: Inner,
}

#[allow(clippy::large_enum_variant)] // one per connection, never moved after opening
enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres {
        config: postgres::Config,
        client: Option<postgres::Client>,
        /// Prepared statements by their text: prepared once per connection, they outlive
        /// transactions.
        prepared: HashMap<String, postgres::Statement>,
        /// Applied to every transaction (`SET LOCAL statement_timeout`), 0 for none.
        timeout_ms: u64,
    },
}

impl Conn {
    pub fn sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    /// Connects to PostgreSQL; fails when the server cannot be reached.
    pub fn postgres(config: &postgres::Config) -> Result<Conn> {
        let mut conn = Conn {
            inner: Inner::Postgres {
                config: config.clone(),
                client: None,
                prepared: HashMap::new(),
                timeout_ms: 0,
            },
        };
        conn.connected()?;
        Ok(conn)
    }

    /// The SQLite connection itself, for what only SQLite has (pragmas, progress handler).
    pub fn as_sqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres { .. } => None,
        }
    }

    /// Stops any one statement of this connection after `limit` (PostgreSQL; SQLite's reads
    /// use a progress handler instead).
    pub fn set_statement_timeout(&mut self, limit: Duration) {
        if let Inner::Postgres { timeout_ms, .. } = &mut self.inner {
            *timeout_ms = limit.as_millis() as u64;
        }
    }

    /// Opens the PostgreSQL connection again when it was lost.
    fn connected(&mut self) -> Result<()> {
        if let Inner::Postgres {
            config,
            client,
            prepared,
            ..
        } = &mut self.inner
        {
            if client.as_ref().is_none_or(|c| c.is_closed()) {
                *client = None;
                prepared.clear();
                *client = Some(config.connect(postgres::NoTls).map_err(unavailable)?);
            }
        }
        Ok(())
    }

    /// Whether the database answers now (reconnecting when it can).
    pub fn ping(&mut self) -> Result<()> {
        self.begin(Mode::Read)?
            .query_row("SELECT 1", params![], |r| r.get::<i64>(0))?;
        Ok(())
    }

    pub fn begin(&mut self, mode: Mode) -> Result<Tx<'_>> {
        self.connected()?;
        match &mut self.inner {
            Inner::Sqlite(c) => {
                let behavior = match mode {
                    Mode::Write => rusqlite::TransactionBehavior::Immediate,
                    Mode::Read => rusqlite::TransactionBehavior::Deferred,
                };
                Ok(Tx::Sqlite(c.transaction_with_behavior(behavior)?))
            }
            Inner::Postgres {
                config,
                client,
                prepared,
                timeout_ms,
            } => {
                let begin = match mode {
                    Mode::Write => "BEGIN",
                    Mode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                };
                let mut started = client
                    .as_mut()
                    .expect("connected above")
                    .batch_execute(begin);
                if started.as_ref().is_err_and(gone) {
                    // Dropped while idle (a server restart): opened again once, at once.
                    *client = Some(config.connect(postgres::NoTls).map_err(unavailable)?);
                    prepared.clear();
                    started = client
                        .as_mut()
                        .expect("just connected")
                        .batch_execute(begin);
                }
                started.map_err(pg_error)?;
                let tx = PgTx {
                    client: client.as_mut().expect("connected above"),
                    prepared,
                    open: true,
                };
                let tx = Tx::Postgres(RefCell::new(tx));
                if *timeout_ms > 0 {
                    tx.execute_batch(&format!("SET LOCAL statement_timeout = {timeout_ms}"))?;
                }
                if mode == Mode::Write {
                    tx.execute("SELECT pg_advisory_xact_lock(?1)", params![WRITER_LOCK])?;
                }
                Ok(tx)
            }
        }
    }
}

/// An open transaction: dropped without `commit`, it rolls back.
pub enum Tx<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres(RefCell<PgTx<'a>>),
}

pub struct PgTx<'a> {
    client: &'a mut postgres::Client,
    prepared: &'a mut HashMap<String, postgres::Statement>,
    /// Between BEGIN and COMMIT; a transaction dropped open is rolled back.
    open: bool,
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // On a lost connection this fails too, and the server has rolled back already.
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&numbered(sql)).map_err(pg_error)?;
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

impl Tx<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        match self {
            Tx::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(lite_params(params)))?)
            }
            Tx::Postgres(tx) => {
                let mut tx = tx.borrow_mut();
                let stmt = tx.statement(sql)?;
                let values = pg_params(params);
                Ok(tx
                    .client
                    .execute(&stmt, &pg_refs(&values))
                    .map_err(pg_error)? as usize)
            }
        }
    }

    /// Runs several statements without parameters (the schema).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Tx::Postgres(tx) => tx.borrow_mut().client.batch_execute(sql).map_err(pg_error),
        }
    }

    /// Hands each row to `f` until it returns false; rows past that are not read.
    pub fn each(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(lite_params(params)))?;
                while let Some(r) = rows.next()? {
                    let row = Row((0..width)
                        .map(|i| lite_value(r.get_ref(i)?))
                        .collect::<rusqlite::Result<_>>()?);
                    if !f(&row)? {
                        break;
                    }
                }
                Ok(())
            }
            Tx::Postgres(tx) => {
                // Read whole, then handed out: `f` may query this transaction again.
                let rows = {
                    let mut tx = tx.borrow_mut();
                    let stmt = tx.statement(sql)?;
                    let values = pg_params(params);
                    tx.client
                        .query(&stmt, &pg_refs(&values))
                        .map_err(pg_error)?
                };
                for r in &rows {
                    if !f(&Row(pg_row(r)?))? {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// Every row, each turned into a `T` by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = vec![];
        self.each(sql, params, |r| {
            out.push(f(r)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The first row, or None.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.each(sql, params, |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// The first row; no row is an error (the query expects one: a count, a known key).
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| ServiceError::Internal(format!("no row for `{sql}`")))
    }

    pub fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.commit()?),
            Tx::Postgres(tx) => {
                let mut tx = tx.into_inner();
                tx.open = false;
                tx.client.batch_execute("COMMIT").map_err(pg_error)
            }
        }
    }
}

/// `?1` and `?` placeholders as PostgreSQL's `$1` (outside quoted text).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut quoted, mut next) = (false, 0);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            c => out.push(c),
        }
    }
    out
}

fn lite_params(params: &[&dyn Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p.value() {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(i),
            Value::Text(s) => rusqlite::types::Value::Text(s),
        })
        .collect()
}

fn lite_value(v: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Blob(_) => {
            return Err(rusqlite::Error::InvalidColumnType(
                0,
                "blob".into(),
                rusqlite::types::Type::Blob,
            ))
        }
    })
}

fn pg_params(params: &[&dyn Param]) -> Vec<Value> {
    params.iter().map(|p| p.value()).collect()
}

fn pg_refs(values: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

fn pg_row(row: &postgres::Row) -> Result<Vec<Value>> {
    use postgres::types::Type;
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_();
            let read = |e: postgres::Error| pg_error(e);
            Ok(match *ty {
                Type::INT8 => row
                    .try_get::<_, Option<i64>>(i)
                    .map_err(read)?
                    .map(Value::Int),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)
                    .map_err(read)?
                    .map(|v| Value::Int(v.into())),
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)
                    .map_err(read)?
                    .map(|v| Value::Int(v.into())),
                Type::BOOL => row
                    .try_get::<_, Option<bool>>(i)
                    .map_err(read)?
                    .map(|v| Value::Int(v.into())),
                Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => row
                    .try_get::<_, Option<String>>(i)
                    .map_err(read)?
                    .map(Value::Text),
                ref other => {
                    return Err(ServiceError::Internal(format!(
                        "column {i} has type {other}, which the store does not read"
                    )))
                }
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::Type;
        match (self, ty) {
            (Value::Null, _) => Ok(postgres::types::IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::TEXT | &Type::VARCHAR) => i.to_string().to_sql(ty, out),
            (Value::Text(s), &Type::TEXT | &Type::VARCHAR | &Type::NAME | &Type::BPCHAR) => {
                s.to_sql(ty, out)
            }
            (Value::Text(s), &Type::INT8) => s.parse::<i64>()?.to_sql(ty, out),
            (v, ty) => Err(format!("cannot bind {v:?} to a parameter of type {ty}").into()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// Whether `e` says the server went away: a closed connection, a shutdown, a failed connect.
fn gone(e: &postgres::Error) -> bool {
    let class = e.code().map(|c| c.code());
    e.is_closed()
        || class.is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
        || e.as_db_error().is_none() && class.is_none()
}

/// A database error. A statement stopped by its timeout is the caller's broad query; a lost
/// connection is the database being away.
fn pg_error(e: postgres::Error) -> ServiceError {
    if e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED) {
        return ServiceError::BadInput(super::db::TOO_BROAD.into());
    }
    if gone(&e) {
        return unavailable(e);
    }
    match e.as_db_error() {
        Some(db) => ServiceError::Internal(format!("database error: {db}")),
        None => ServiceError::Internal(format!("database error: {e}")),
    }
}

fn unavailable(e: postgres::Error) -> ServiceError {
    ServiceError::Unavailable(format!("the database cannot be reached: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = '?' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $12"
        );
        assert_eq!(numbered("x = ? AND y = ?"), "x = $1 AND y = $2");
    }

    #[test]
    fn a_column_of_another_type_is_an_error_not_a_default() {
        let row = Row(vec![Value::Text("7".into()), Value::Null]);
        assert!(row.get::<i64>(0).is_err());
        assert!(row.get::<String>(1).is_err());
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert!(row.get::<i64>(2).is_err());
    }
}
