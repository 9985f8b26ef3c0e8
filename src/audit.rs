//! The audit buffer. Deciding threads hand records to a bounded queue; one worker batches them
//! to `POST /v1/audit`, spills batches to disk while the service is unreachable, and re-sends
//! the spill later (event ids make re-sending harmless). When nothing more can be recorded,
//! `writable()` turns false and the engine denies protected actions until the trail is back.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::model::ActionSet;
use crate::service::ServiceClient;
use crate::snapshot::{DenyReason, GrantRule};
use crate::wire::{self, AuditEvent};

const BATCH: usize = 1000;
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);
/// Records kept in memory while neither the service nor the spill file takes them.
const MAX_UNWRITTEN: usize = 1_000_000;

/// What a deciding thread hands over: the allocation of these strings is the one cost a
/// protected decision pays beyond the lookups.
pub struct Record {
    pub time: i64,
    pub user: String,
    pub resource: String,
    pub actions: ActionSet,
    pub denied: Option<DenyReason>,
    pub grant: Option<Arc<GrantRule>>,
    pub operation: Option<String>,
    pub context: Option<String>,
}

struct Shared {
    blocked: AtomicBool,
    stop: AtomicBool,
    /// Denials that could not even be queued; they were denied, so nothing unsafe happened.
    lost_denials: AtomicU64,
}

pub struct Audit {
    tx: SyncSender<Record>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Audit {
    pub fn start(
        capacity: usize,
        flush: Duration,
        spill_path: PathBuf,
        spill_max: u64,
        client: Option<ServiceClient>,
        origin: (String, String),
    ) -> Result<Audit, String> {
        let spill = Spill::open(spill_path, spill_max)?;
        let shared = Arc::new(Shared {
            blocked: AtomicBool::new(spill.full()),
            stop: AtomicBool::new(false),
            lost_denials: AtomicU64::new(0),
        });
        let (tx, rx) = sync_channel(capacity);
        let worker = Worker {
            rx,
            shared: shared.clone(),
            client,
            spill,
            flush,
            origin,
            seq: 0,
            retry_at: None,
            unwritten: Vec::new(),
        };
        let handle = std::thread::Builder::new()
            .name("jitgate-audit".into())
            .spawn(move || worker.run())
            .map_err(|e| format!("cannot start the audit thread: {e}"))?;
        Ok(Audit {
            tx,
            shared,
            worker: Mutex::new(Some(handle)),
        })
    }

    /// False while the trail cannot take more records (spill limit reached or disk failing).
    #[inline]
    pub fn writable(&self) -> bool {
        !self.shared.blocked.load(Ordering::Relaxed)
    }

    /// Queues a record; false when the queue is full, in which case an allow must become a deny.
    pub fn record(&self, r: Record) -> bool {
        let denied = r.denied.is_some();
        match self.tx.try_send(r) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                if denied {
                    self.shared.lost_denials.fetch_add(1, Ordering::Relaxed);
                }
                false
            }
        }
    }

    /// Flushes what is queued (to the service, or to the spill) and stops the worker.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

struct Worker {
    rx: Receiver<Record>,
    shared: Arc<Shared>,
    client: Option<ServiceClient>,
    spill: Spill,
    flush: Duration,
    /// (plugin, host) stamped on every event.
    origin: (String, String),
    seq: u64,
    retry_at: Option<Instant>,
    /// Events neither posted nor spilled (the spill file failed); tried again each round.
    unwritten: Vec<AuditEvent>,
}

impl Worker {
    fn run(mut self) {
        let id_prefix = format!(
            "{}-{}-{}",
            self.origin.1,
            std::process::id(),
            wire::now_millis()
        );
        loop {
            let stopping = self.shared.stop.load(Ordering::SeqCst);
            // The worker never waits inside the channel: a waiting receiver turns every deciding
            // thread's send into a futex wake-up (microseconds, paid under the NameNode's lock),
            // and waking per record would write the trail a record at a time. It sleeps a flush
            // interval instead, and drains without pause while batches come full.
            let mut batch = Vec::new();
            let mut gone = false;
            while batch.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        gone = true;
                        break;
                    }
                }
            }
            let drained = batch.len() < BATCH;
            let idle = batch.is_empty();
            let events: Vec<AuditEvent> = batch
                .into_iter()
                .map(|r| {
                    self.seq += 1;
                    self.event(r, format!("{id_prefix}-{}", self.seq))
                })
                .collect();
            if !self.unwritten.is_empty() {
                let again = std::mem::take(&mut self.unwritten);
                self.deliver(&again);
            }
            if !events.is_empty() {
                self.deliver(&events);
            }
            if !self.spill.is_empty() && self.retry_due() {
                self.resend_spill();
            }
            let lost = self.shared.lost_denials.swap(0, Ordering::Relaxed);
            if lost > 0 {
                eprintln!("jitgate: audit queue full: {lost} denials could not be recorded (they were denied)");
            }
            let blocked = self.spill.full() || self.spill.broken || !self.unwritten.is_empty();
            if blocked != self.shared.blocked.swap(blocked, Ordering::SeqCst) {
                if blocked {
                    eprintln!(
                        "jitgate: AUDIT TRAIL UNAVAILABLE: spill {} reached its limit or cannot be written; \
                         protected actions are denied until the approval service takes the backlog",
                        self.spill.path.display()
                    );
                } else {
                    eprintln!("jitgate: audit trail writable again; protected actions are decided normally");
                }
            }
            if gone || (stopping && idle) {
                return;
            }
            if drained && !stopping {
                std::thread::park_timeout(self.flush);
            }
        }
    }

    fn retry_due(&self) -> bool {
        self.retry_at.map_or(true, |t| Instant::now() >= t)
    }

    /// Posts directly when the service is reachable, else appends to the spill.
    fn deliver(&mut self, events: &[AuditEvent]) {
        if let Some(client) = self.client.as_ref().filter(|_| self.retry_due()) {
            match client.post_audit(events) {
                Ok(()) => {
                    self.retry_at = None;
                    return;
                }
                Err(e) => {
                    eprintln!(
                        "jitgate: audit post failed, spilling {} events to disk: {e}",
                        events.len()
                    );
                    self.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                }
            }
        }
        if !self.spill.append(events) {
            // Kept in memory and tried again each round; the trail counts as unavailable meanwhile,
            // so only denials can add to this.
            self.unwritten.extend_from_slice(events);
            if self.unwritten.len() > MAX_UNWRITTEN {
                let drop = self.unwritten.len() - MAX_UNWRITTEN;
                self.unwritten.drain(..drop);
                eprintln!("jitgate: AUDIT RECORDS LOST: {drop} records dropped, neither the service nor the spill takes them");
            }
        }
    }

    fn resend_spill(&mut self) {
        let Some(client) = &self.client else { return };
        loop {
            let chunk = match self.spill.next_chunk(BATCH) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("jitgate: cannot read audit spill: {e}");
                    self.spill.broken = true;
                    return;
                }
            };
            if chunk.events.is_empty() {
                self.spill.consumed(chunk.end);
                return;
            }
            match client.post_audit(&chunk.events) {
                Ok(()) => self.spill.consumed(chunk.end),
                Err(e) => {
                    eprintln!("jitgate: re-sending audit spill failed: {e}");
                    self.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                    return;
                }
            }
        }
    }

    fn event(&self, r: Record, id: String) -> AuditEvent {
        AuditEvent {
            id,
            time: wire::format_time(r.time),
            plugin: self.origin.0.clone(),
            host: self.origin.1.clone(),
            user: r.user,
            resource: r.resource,
            action: r.actions.to_string(),
            decision: if r.denied.is_some() { "deny" } else { "allow" }.into(),
            reason: r.denied.map(|d| d.name().to_string()),
            grant_id: r.grant.as_ref().map(|g| g.id.to_string()),
            request_id: r.grant.as_ref().map(|g| g.request_id.to_string()),
            operation: r.operation,
            context: r.context,
        }
    }
}

/// Events waiting for the service, one JSON object per line. `sent` marks how far re-sending
/// got; the file is truncated once all of it is through.
struct Spill {
    path: PathBuf,
    max: u64,
    len: u64,
    sent: u64,
    broken: bool,
}

struct Chunk {
    events: Vec<AuditEvent>,
    end: u64,
}

impl Spill {
    fn open(path: PathBuf, max: u64) -> Result<Spill, String> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open audit spill {}: {e}", path.display()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let len = drop_torn_tail(&file, len)
            .map_err(|e| format!("cannot repair audit spill {}: {e}", path.display()))?;
        Ok(Spill {
            path,
            max,
            len,
            sent: 0,
            broken: false,
        })
    }

    fn is_empty(&self) -> bool {
        self.sent >= self.len
    }

    fn full(&self) -> bool {
        self.len >= self.max
    }

    /// False when the events could not be written; the caller keeps them.
    fn append(&mut self, events: &[AuditEvent]) -> bool {
        let mut buf = Vec::new();
        for e in events {
            serde_json::to_writer(&mut buf, e).expect("audit events serialize");
            buf.push(b'\n');
        }
        let result = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&buf).and_then(|_| f.sync_data()));
        match result {
            Ok(()) => {
                self.len += buf.len() as u64;
                self.broken = false;
                true
            }
            Err(e) => {
                eprintln!(
                    "jitgate: cannot write audit spill {}: {e}",
                    self.path.display()
                );
                self.broken = true;
                false
            }
        }
    }

    fn next_chunk(&self, max_events: usize) -> std::io::Result<Chunk> {
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.sent))?;
        let mut reader = BufReader::new(f);
        let (mut events, mut end, mut line) = (Vec::new(), self.sent, String::new());
        while events.len() < max_events {
            line.clear();
            let n = reader.read_line(&mut line)?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            end += n as u64;
            match serde_json::from_str::<AuditEvent>(line.trim_end()) {
                Ok(e) => events.push(e),
                Err(e) => eprintln!("jitgate: skipping unreadable audit spill line: {e}"),
            }
        }
        Ok(Chunk { events, end })
    }

    fn consumed(&mut self, end: u64) {
        self.sent = end;
        if self.sent >= self.len {
            if let Err(e) = truncate(&self.path) {
                eprintln!(
                    "jitgate: cannot truncate audit spill {}: {e}",
                    self.path.display()
                );
                return;
            }
            self.len = 0;
            self.sent = 0;
        }
    }
}

/// A crash can leave half a line at the end; it is cut off, or the next append would be glued to
/// it and both events lost as one unreadable line. Returns the new length.
fn drop_torn_tail(file: &File, len: u64) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if end == len && part.last() == Some(&b'\n') {
            return Ok(len);
        }
        if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            file.set_len(keep)?;
            return Ok(keep);
        }
        end = start;
    }
    file.set_len(0)?;
    Ok(0)
}

fn truncate(path: &Path) -> std::io::Result<()> {
    OpenOptions::new().write(true).open(path)?.set_len(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_spill_line_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n{\"b\":2}\n{\"tor").unwrap();
        let spill = Spill::open(path.clone(), 1 << 20).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(spill.len, 16);
        std::fs::write(&path, b"no newline at all").unwrap();
        assert_eq!(Spill::open(path.clone(), 1 << 20).unwrap().len, 0);
        std::fs::write(&path, b"{}\n").unwrap();
        assert_eq!(
            Spill::open(path, 1 << 20).unwrap().len,
            3,
            "a whole file is kept"
        );
    }
}
