//! `Db`, the store as the request handlers share it: changes one at a time on the store's
//! connection, broad reads on reader threads with connections of their own.

use super::sql::{Conn, Mode, Tx};
use super::{open_conn, Location, Store};
use crate::error::{Result, ServiceError};
use crate::metrics::{self, StoreCall};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The store shared by the request handlers. Database calls block, so they run on the blocking
/// pool: every change (and the feed) one at a time on the store's connection. The reads that
/// may scan much (audit, report, the chain's check) run on threads of their own, each with its
/// own read connection (SQLite's WAL lets them read while the writer writes) and a lower CPU
/// priority, so no query, however broad, holds up a revoke or the feed.
#[derive(Clone)]
pub struct Db {
    store: Arc<Mutex<Store>>,
    /// Where reads go; None in memory (tests), where they run on the store's connection.
    readers: Option<std::sync::mpsc::SyncSender<Read>>,
    /// How long one read may scan (`READ_BUDGET`).
    budget: Duration,
}

/// A read for a reader thread to run on its connection.
type Read = Box<dyn FnOnce(&mut Conn) + Send>;

/// Reader threads: on two cores, more would only share the same CPUs.
const READERS: usize = 2;

/// Reader threads run only when no other thread of the machine wants the CPU (Linux's
/// SCHED_IDLE; where that is refused, at the lowest nice value): a broad search yields the CPU
/// to a revoke at once. Under a machine kept busy by other work a search is slower, and past
/// its budget stopped, never the other way round.
fn lower_priority() {
    // SAFETY: both calls only read their arguments; on Linux they act on the calling thread.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

/// How long one read may scan before it is stopped (a broad audit query over millions of
/// events): the caller is told to narrow it (`TOO_BROAD`).
const READ_BUDGET: Duration = Duration::from_secs(20);

/// What the caller of a read stopped past its budget is told.
pub(super) const TOO_BROAD: &str = "the query ran too long and was stopped: narrow it (since, \
     until, user, resource) or ask for fewer rows with limit";

impl Db {
    pub fn new(store: Store) -> Db {
        let location = match &store.location {
            Location::Sqlite(None) => None,
            other => Some(other.clone()),
        };
        let readers = location.and_then(|location| {
            // Reads wait here when every reader is busy; beyond that, callers wait to hand theirs in.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Read>(64);
            let rx = Arc::new(Mutex::new(rx));
            let mut started = 0;
            for n in 0..READERS {
                let rx = rx.clone();
                let mut conn = match open_reader(&location) {
                    Ok(c) => c,
                    Err(e) => {
                        log_event!("cannot open a read connection to {location}: {e}");
                        continue;
                    }
                };
                conn.set_statement_timeout(READ_BUDGET);
                let spawned = std::thread::Builder::new()
                    .name(format!("jitgate-read-{n}"))
                    .spawn(move || {
                        lower_priority();
                        loop {
                            let read = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                            match read {
                                Ok(read) => read(&mut conn),
                                Err(_) => return, // the service is stopping
                            }
                        }
                    });
                started += usize::from(spawned.is_ok());
            }
            // Without a reader, reads share the writer's connection, as in memory.
            (started > 0).then_some(tx)
        });
        Db {
            store: Arc::new(Mutex::new(store)),
            readers,
            budget: READ_BUDGET,
        }
    }

    /// Runs a read on a reader thread (on the store's connection in memory), on one consistent
    /// snapshot, stopping it after `READ_BUDGET`.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(readers) = self.readers.clone() else {
            return self.call(move |s| f(&s.read()?)).await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let budget = self.budget;
        let read: Read = Box::new(move |conn: &mut Conn| {
            let started = std::time::Instant::now();
            let deadline = std::time::Instant::now() + budget;
            // SQLite has no statement timeout: a progress handler stops a read past its budget.
            let handler = match conn.as_sqlite() {
                Some(lite) => lite
                    .progress_handler(10_000, Some(move || std::time::Instant::now() > deadline)),
                None => Ok(()),
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handler?;
                f(&conn.begin(Mode::Read)?)
            }))
            .unwrap_or_else(|_| Err(ServiceError::Internal("a read failed".into())));
            if let Some(lite) = conn.as_sqlite() {
                let _ = lite.progress_handler(0, None::<fn() -> bool>);
            }
            let result = match result {
                Err(_) if std::time::Instant::now() > deadline => {
                    Err(ServiceError::BadInput(TOO_BROAD.into()))
                }
                other => other,
            };
            metrics::store_call(StoreCall::Read, started.elapsed());
            let _ = tx.send(result);
        });
        // Handing it in may wait for a free slot: off the async threads.
        tokio::task::spawn_blocking(move || readers.send(read))
            .await
            .map_err(|e| ServiceError::Internal(format!("store task failed: {e}")))?
            .map_err(|_| ServiceError::Internal("the readers stopped".into()))?;
        rx.await
            .map_err(|_| ServiceError::Internal("a read was dropped".into()))?
    }

    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            // A panic mid-call rolled its transaction back; the connection is still good.
            let started = std::time::Instant::now();
            let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
            let result = f(&mut s);
            metrics::store_call(StoreCall::Write, started.elapsed());
            result
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("store task failed: {e}")))?
    }
}

/// A connection for a reader thread: SQLite's opened read-only.
fn open_reader(location: &Location) -> Result<Conn, String> {
    match location {
        Location::Sqlite(Some(path)) => {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn =
                rusqlite::Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
            let _ = conn.busy_timeout(Duration::from_secs(5));
            Ok(Conn::sqlite(conn))
        }
        other => open_conn(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    #[tokio::test]
    async fn a_read_runs_beside_the_writer_and_is_stopped_past_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Duration::from_secs(60), ChangeSignal::new()).unwrap();
        let mut db = Db::new(store);
        db.budget = Duration::from_millis(300);
        // A read that would never end.
        let endless = async {
            let r = db
                .read(|c| {
                    c.query_row(
                        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                         SELECT count(*) FROM n",
                        crate::store::sql::params![],
                        |r| r.get::<i64>(0),
                    )
                })
                .await;
            (r, std::time::Instant::now())
        };
        let writer = db.clone();
        let write = async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.call(|s| s.record_zones(&[], T0)).await.unwrap();
            std::time::Instant::now()
        };
        let ((read, read_ended), wrote) = tokio::join!(endless, write);
        let err = read.unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
        assert!(err.message().contains("narrow it"), "{err}");
        assert!(wrote < read_ended, "the write waited for the read to end");
    }
}
