//! The audit chain: every stored audit event and every step of a request's history is a link
//! that carries the hash of the link before it (`prev`) and its own (`hash`, SHA-256 of `prev`
//! and the row's contents), numbered by `seq` across both tables: one chain per service. The
//! head (newest seq and hash) lives in `meta`. Editing, deleting or reordering a row breaks the
//! chain at that row, and `verify` names it. Whoever can rewrite the database can also rewrite
//! every hash after the row they change; a head written down elsewhere before (the period
//! report carries it; `jitgate audit verify --expect` checks one) tells that apart.

use crate::error::{Result, ServiceError};
// `Verdict` is what the API answers; named here too, beside the check that makes it.
use crate::store::sql::{params, Tx};
pub use crate::views::Verdict;
use crate::views::{Broken, Link};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

/// The `prev` of the first link.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain's head while rows are appended in one transaction.
pub struct Appender {
    seq: i64,
    hash: String,
}

impl Appender {
    pub fn start(conn: &Tx) -> Result<Appender> {
        let head = head(conn)?;
        Ok(Appender {
            seq: head.as_ref().map_or(0, |h| h.0),
            hash: head.map_or_else(|| GENESIS.to_string(), |h| h.1),
        })
    }

    /// The link `content` would be next; `advance` once its row is stored.
    pub fn next(&self, content: &[u8]) -> Link {
        Link {
            seq: self.seq + 1,
            prev: self.hash.clone(),
            hash: link_hash(&self.hash, content),
        }
    }

    pub fn advance(&mut self, link: Link) {
        self.seq = link.seq;
        self.hash = link.hash;
    }

    /// Writes the head back; in the transaction that stored the rows.
    pub fn finish(self, conn: &Tx) -> Result<()> {
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('chain_head', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![format!("{} {}", self.seq, self.hash)],
        )?;
        Ok(())
    }
}

/// The newest link's seq and hash, for reports to carry.
pub fn current_head(conn: &Tx) -> Result<Option<Link>> {
    Ok(head(conn)?.map(|(seq, hash)| Link {
        seq,
        prev: String::new(),
        hash,
    }))
}

fn head(conn: &Tx) -> Result<Option<(i64, String)>> {
    let text: Option<String> = conn.query_opt(
        "SELECT value FROM meta WHERE key = 'chain_head'",
        params![],
        |r| r.get(0),
    )?;
    let Some(text) = text else { return Ok(None) };
    text.split_once(' ')
        .and_then(|(s, h)| Some((s.parse().ok()?, h.to_string())))
        .map(Some)
        .ok_or_else(|| ServiceError::Internal(format!("the chain head `{text}` is unreadable")))
}

fn link_hash(prev: &str, content: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(content);
    jitgate::signature::hex(&h.finalize())
}

/// What an audit row's link covers: every stored column but the derived resource key.
#[allow(clippy::too_many_arguments)]
pub fn audit_content(
    id: &str,
    time: i64,
    plugin: &str,
    host: &str,
    user: &str,
    resource: &str,
    action: &str,
    decision: &str,
    reason: Option<&str>,
    grant_id: Option<&str>,
    request_id: Option<&str>,
    operation: Option<&str>,
    context: Option<&str>,
    received_at: i64,
) -> Vec<u8> {
    serde_json::to_vec(&(
        "audit",
        id,
        time,
        plugin,
        host,
        user,
        resource,
        action,
        decision,
        reason,
        grant_id,
        request_id,
        operation,
        context,
        received_at,
    ))
    .expect("plain data serialises")
}

/// What a history step's link covers.
pub fn history_content(
    request_id: &str,
    time: i64,
    actor: &str,
    kind: &str,
    comment: Option<&str>,
) -> Vec<u8> {
    serde_json::to_vec(&("history", request_id, time, actor, kind, comment))
        .expect("plain data serialises")
}

/// One stored row as a link: where it is, what it claims, what it holds.
struct Row {
    seq: i64,
    prev: String,
    hash: String,
    record: String,
    content: Vec<u8>,
}

/// One table's links in order of `seq`, read a page at a time, so the walk holds a page of
/// each table, however long the chain.
struct Links<'a, 'c> {
    sql: &'static str,
    read: fn(&crate::store::sql::Row) -> Result<Row>,
    after: i64,
    page: VecDeque<Row>,
    done: bool,
    conn: &'a Tx<'c>,
}

const LINKS_PAGE: usize = 10_000;

impl Links<'_, '_> {
    fn next(&mut self) -> Result<Option<Row>> {
        if self.page.is_empty() && !self.done {
            self.page = self
                .conn
                .query_map(self.sql, params![self.after, LINKS_PAGE], self.read)?
                .into();
            self.done = self.page.len() < LINKS_PAGE;
            if let Some(last) = self.page.back() {
                self.after = last.seq;
            }
        }
        Ok(self.page.pop_front())
    }
}

fn audit_link(r: &crate::store::sql::Row) -> Result<Row> {
    let (id, time): (String, i64) = (r.get(3)?, r.get(4)?);
    let s = |i: usize| r.get::<String>(i);
    let o = |i: usize| r.get::<Option<String>>(i);
    let content = audit_content(
        &id,
        time,
        &s(5)?,
        &s(6)?,
        &s(7)?,
        &s(8)?,
        &s(9)?,
        &s(10)?,
        o(11)?.as_deref(),
        o(12)?.as_deref(),
        o(13)?.as_deref(),
        o(14)?.as_deref(),
        o(15)?.as_deref(),
        r.get(16)?,
    );
    Ok(Row {
        seq: r.get(0)?,
        prev: r.get::<Option<String>>(1)?.unwrap_or_default(),
        hash: r.get::<Option<String>>(2)?.unwrap_or_default(),
        record: format!("audit event {id}"),
        content,
    })
}

fn history_link(r: &crate::store::sql::Row) -> Result<Row> {
    let (request, time): (String, i64) = (r.get(3)?, r.get(4)?);
    let content = history_content(
        &request,
        time,
        &r.get::<String>(5)?,
        &r.get::<String>(6)?,
        r.get::<Option<String>>(7)?.as_deref(),
    );
    Ok(Row {
        seq: r.get(0)?,
        prev: r.get::<Option<String>>(1)?.unwrap_or_default(),
        hash: r.get::<Option<String>>(2)?.unwrap_or_default(),
        record: format!(
            "history step of {request} at {}",
            jitgate::wire::format_time(time)
        ),
        content,
    })
}

/// Walks the chain from its first link to the head, oldest first, over both tables.
pub fn verify(conn: &Tx, expect: Option<&str>) -> Result<Verdict> {
    let mut audit = Links {
        sql: "SELECT seq, prev, hash, id, time, plugin, host, \"user\", resource, action, decision, reason, \
              grant_id, request_id, operation, context, received_at FROM audit \
              WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        read: audit_link,
        after: i64::MIN,
        page: VecDeque::new(),
        done: false,
        conn,
    };
    let mut history = Links {
        sql: "SELECT seq, prev, hash, request_id, time, actor, kind, comment FROM events \
              WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        read: history_link,
        after: i64::MIN,
        page: VecDeque::new(),
        done: false,
        conn,
    };
    let unchained: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM audit WHERE seq IS NULL) + (SELECT count(*) FROM events WHERE seq IS NULL)",
        params![],
        |r| r.get(0),
    )?;
    let mut verdict = Verdict {
        ok: true,
        links: 0,
        head: None,
        unchained,
        broken: None,
        expected_found: expect.map(|_| false),
    };
    let (mut a, mut h) = (audit.next()?, history.next()?);
    let mut last = Link {
        seq: 0,
        prev: String::new(),
        hash: GENESIS.to_string(),
    };
    loop {
        let take_audit = match (&a, &h) {
            (Some(x), Some(y)) => x.seq < y.seq,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let row = if take_audit {
            std::mem::replace(&mut a, audit.next()?)
        } else {
            std::mem::replace(&mut h, history.next()?)
        }
        .expect("the side taken has a row");
        let why = if row.seq != last.seq + 1 {
            Some(if row.seq <= last.seq {
                format!("link {} appears twice", row.seq)
            } else {
                format!(
                    "links {} to {} are missing (deleted) before it",
                    last.seq + 1,
                    row.seq - 1
                )
            })
        } else if row.prev != last.hash {
            Some("it does not carry the hash of the link before it".to_string())
        } else if row.hash != link_hash(&row.prev, &row.content) {
            Some("its contents do not match its hash (edited)".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            verdict.ok = false;
            verdict.broken = Some(Broken {
                seq: row.seq,
                record: row.record,
                why,
            });
            return Ok(verdict);
        }
        if expect == Some(row.hash.as_str()) {
            verdict.expected_found = Some(true);
        }
        verdict.links += 1;
        last = Link {
            seq: row.seq,
            prev: row.prev,
            hash: row.hash,
        };
    }
    // Rows outside the chain are the ones there were when it began, no more, no fewer.
    let began_with: Option<String> = conn.query_opt(
        "SELECT value FROM meta WHERE key = 'chain_unchained'",
        params![],
        |r| r.get(0),
    )?;
    let began_with = began_with.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    if unchained != began_with {
        verdict.ok = false;
        verdict.broken = Some(Broken {
            seq: 0,
            record: "rows outside the chain".into(),
            why: format!(
                "{unchained} rows carry no link, but {began_with} did when the chain began \
                 (rows added or removed outside it)"
            ),
        });
        return Ok(verdict);
    }
    // The newest links removed leave a chain that holds, but ends before the head.
    if let Some((seq, hash)) = head(conn)? {
        if seq != last.seq || hash != last.hash {
            verdict.ok = false;
            verdict.broken = Some(Broken {
                seq: last.seq + 1,
                record: "the newest links".into(),
                why: format!(
                    "the chain ends at link {}, but its head is link {seq} (deleted)",
                    last.seq
                ),
            });
            return Ok(verdict);
        }
    }
    if expect.is_some() && verdict.expected_found == Some(false) {
        verdict.ok = false;
    }
    verdict.head = (last.seq > 0).then_some(last);
    Ok(verdict)
}
