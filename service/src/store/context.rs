//! What requested resources are (`crate::context`): one row per resource, asked for when a
//! request names it or an approver reads its page, answered by WebHDFS or a plugin, kept for
//! every replica to show.

use super::sql::{params, Row, Tx};
use super::Store;
use crate::error::Result;
use jitgate::wire::ResourceContext;

/// A resource nobody asked about for this long is not handed to plugins any more: the request
/// that named it is long decided, or its page is not read.
const WANTED_FOR_MS: i64 = 3600 * 1000;
/// How long a row is kept after it was last asked about and answered: a day, the longest
/// `ttl`.
const KEPT_FOR_MS: i64 = 24 * 3600 * 1000;

/// One resource's row: its answer when one came, and when it was last asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredContext {
    pub context: ResourceContext,
    pub wanted_at: i64,
    /// None until the first answer.
    pub fetched_at: Option<i64>,
    /// `webhdfs`, or the host of the plugin token that answered.
    pub source: Option<String>,
}

impl Store {
    /// Asks for the context of each of `resources` (canonical keys) again: a plugin's next
    /// `GET /v1/context/wanted` names it. A previous answer stays readable until the new one.
    pub fn want_context(&mut self, resources: &[String], now: i64) -> Result<()> {
        let tx = self.begin()?;
        for r in resources {
            tx.execute(
                "INSERT INTO resource_context (resource, wanted_at) VALUES (?1, ?2) \
                 ON CONFLICT (resource) DO UPDATE SET wanted_at = excluded.wanted_at",
                params![r, now],
            )?;
        }
        tx.commit()
    }

    /// Keeps an answer for a resource someone asked about; one nobody asked about is dropped
    /// (false), so a plugin token cannot fill the table with resources of its choosing.
    pub fn record_context(&mut self, c: &ResourceContext, source: &str, now: i64) -> Result<bool> {
        let tx = self.begin()?;
        let n = tx.execute(
            "UPDATE resource_context SET fetched_at = ?2, source = ?3, kind = ?4, files = ?5, \
             directories = ?6, bytes = ?7, location = ?8, error = ?9 WHERE resource = ?1",
            params![
                c.resource,
                now,
                source,
                c.kind,
                c.files,
                c.directories,
                c.bytes,
                c.location,
                c.error
            ],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }
}

impl Store {
    /// Forgets rows nobody asked about or answered for a day (longer than any `ttl` keeps an
    /// answer): a later read finds none and asks again, as it would for a stale one.
    pub(super) fn prune_contexts(&mut self, now: i64) -> Result<()> {
        let tx = self.begin()?;
        let before = now - KEPT_FOR_MS;
        tx.execute(
            "DELETE FROM resource_context WHERE wanted_at < ?1 \
             AND (fetched_at IS NULL OR fetched_at < ?1)",
            params![before],
        )?;
        tx.commit()
    }
}

/// The resources of `scheme` (`hdfs`, `hive`) asked about since their last answer, newest
/// first, at most `limit`.
pub fn wanted_contexts(tx: &Tx, scheme: &str, now: i64, limit: usize) -> Result<Vec<String>> {
    tx.query_map(
        "SELECT resource FROM resource_context \
         WHERE substr(resource, 1, ?1) = ?2 AND wanted_at > COALESCE(fetched_at, -1) \
         AND wanted_at > ?3 ORDER BY wanted_at DESC LIMIT ?4",
        params![
            scheme.len() as i64 + 1,
            format!("{scheme}:"),
            now - WANTED_FOR_MS,
            limit
        ],
        |r| r.get(0),
    )
}

/// The rows of `resources` that exist, in no particular order.
pub fn read_contexts(tx: &Tx, resources: &[String]) -> Result<Vec<StoredContext>> {
    let mut out = vec![];
    for r in resources {
        out.extend(tx.query_opt(
            "SELECT resource, kind, files, directories, bytes, location, error, wanted_at, \
             fetched_at, source FROM resource_context WHERE resource = ?1",
            params![r],
            stored,
        )?);
    }
    Ok(out)
}

fn stored(r: &Row) -> Result<StoredContext> {
    Ok(StoredContext {
        context: ResourceContext {
            resource: r.get(0)?,
            kind: r.get(1)?,
            files: r.get(2)?,
            directories: r.get(3)?,
            bytes: r.get(4)?,
            location: r.get(5)?,
            error: r.get(6)?,
        },
        wanted_at: r.get(7)?,
        fetched_at: r.get(8)?,
        source: r.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    fn summary(resource: &str, files: u64) -> ResourceContext {
        ResourceContext {
            resource: resource.into(),
            kind: Some("directory".into()),
            files: Some(files),
            directories: Some(2),
            bytes: Some(4096),
            ..Default::default()
        }
    }

    #[test]
    fn a_wanted_resource_is_handed_out_until_answered_and_again_when_asked_again() {
        let mut s = store();
        let sales = vec!["hdfs:/lake/sales".to_string()];
        let orders = vec!["hive:sales.orders".to_string()];
        s.want_context(&[sales.clone(), orders.clone()].concat(), T0)
            .unwrap();
        let wanted = |s: &mut Store, scheme: &str, now| {
            wanted_contexts(&s.read().unwrap(), scheme, now, 10).unwrap()
        };
        assert_eq!(wanted(&mut s, "hdfs", T0), sales);
        assert_eq!(wanted(&mut s, "hive", T0), orders);

        assert!(s
            .record_context(&summary(&sales[0], 7), "nn1", T0 + 1)
            .unwrap());
        assert!(wanted(&mut s, "hdfs", T0 + 2).is_empty());
        let rows = read_contexts(&s.read().unwrap(), &sales).unwrap();
        assert_eq!(rows[0].context, summary(&sales[0], 7));
        assert_eq!(rows[0].fetched_at, Some(T0 + 1));
        assert_eq!(rows[0].source.as_deref(), Some("nn1"));

        // Asked again: handed out again, and the old answer stays readable until the new one
        // comes.
        s.want_context(&sales, T0 + 3).unwrap();
        assert_eq!(wanted(&mut s, "hdfs", T0 + 3), sales);
        assert_eq!(
            read_contexts(&s.read().unwrap(), &sales).unwrap()[0].context,
            summary(&sales[0], 7)
        );
        assert!(s
            .record_context(&summary(&sales[0], 8), "nn2", T0 + 4)
            .unwrap());
        assert!(wanted(&mut s, "hdfs", T0 + 5).is_empty());
        // Nobody asked for an hour: no plugin is asked any more.
        assert!(wanted(&mut s, "hive", T0 + WANTED_FOR_MS + 1).is_empty());
    }

    #[test]
    fn rows_nobody_asked_about_for_a_day_are_forgotten() {
        let mut s = store();
        let old = vec!["hdfs:/lake/sales/old".to_string()];
        let recent = vec!["hdfs:/lake/sales/recent".to_string()];
        s.want_context(&old, T0).unwrap();
        s.record_context(&summary(&old[0], 1), "nn1", T0).unwrap();
        s.want_context(&recent, T0 + KEPT_FOR_MS).unwrap();
        s.prune_contexts(T0 + KEPT_FOR_MS + 1).unwrap();
        let tx = s.read().unwrap();
        assert!(read_contexts(&tx, &old).unwrap().is_empty());
        assert_eq!(read_contexts(&tx, &recent).unwrap().len(), 1);
    }

    #[test]
    fn an_answer_for_a_resource_nobody_asked_about_is_dropped() {
        let mut s = store();
        assert!(!s
            .record_context(&summary("hdfs:/lake/other", 1), "nn1", T0)
            .unwrap());
        assert!(
            read_contexts(&s.read().unwrap(), &["hdfs:/lake/other".into()])
                .unwrap()
                .is_empty()
        );
    }
}
