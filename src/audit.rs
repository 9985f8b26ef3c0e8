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
use crate::service_client::ServiceClient;
use crate::snapshot::{DenyReason, GrantRule};
use crate::wire::{self, AuditEvent};

const BATCH: usize = 1000;
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);
/// Records kept in memory while neither the service nor the spill file takes them.
const MAX_UNWRITTEN: usize = 1_000_000;

/// What a deciding thread hands over. Its strings travel inside it (`Text`), so a protected
/// decision allocates nothing and the audit thread frees nothing another thread allocated; the
/// grant's ids are copied into it rather than shared, since a reference count is a cache line
/// every deciding thread would write.
pub struct Record {
    time: i64,
    actions: ActionSet,
    denied: Option<DenyReason>,
    /// bit i: part i is absent (null in the event)
    absent: u8,
    /// where each part ends in `text`
    ends: [u32; PARTS],
    text: Text,
}

const PARTS: usize = 6;
const USER: usize = 0;
const RESOURCE: usize = 1;
const GRANT: usize = 2;
const REQUEST: usize = 3;
const OPERATION: usize = 4;
const CONTEXT: usize = 5;

/// Room for the usual record's strings (a user, a path of some 80 bytes, two ids of 12, an
/// operation and a short context); the record is then 256 bytes, a slot of the audit queue.
const INLINE: usize = 208;
const _: () = assert!(std::mem::size_of::<Record>() == 256);

/// The record's strings end to end: in place up to `INLINE` bytes, else in one allocation.
enum Text {
    Inline([u8; INLINE]),
    Heap(Box<str>),
}

impl Record {
    /// `outcome` is the grant an allow relied on, or why it was denied.
    pub fn new(
        time: i64,
        user: &str,
        resource: &str,
        actions: ActionSet,
        outcome: Result<&GrantRule, DenyReason>,
        operation: Option<&str>,
        context: Option<&str>,
    ) -> Record {
        let grant = outcome.as_ref().ok();
        let mut parts = [
            Some(user),
            Some(resource),
            grant.map(|g| &*g.id),
            grant.map(|g| &*g.request_id),
            operation,
            context,
        ];
        let (mut ends, mut absent, mut end) = layout(&parts);
        if end > u32::MAX as usize {
            fit(&mut parts);
            (ends, absent, end) = layout(&parts);
        }
        let text = if end <= INLINE {
            let mut bytes = [0; INLINE];
            let mut at = 0;
            for p in parts.iter().flatten() {
                bytes[at..at + p.len()].copy_from_slice(p.as_bytes());
                at += p.len();
            }
            Text::Inline(bytes)
        } else {
            let mut text = String::with_capacity(end);
            parts.iter().flatten().for_each(|p| text.push_str(p));
            Text::Heap(text.into())
        };
        Record {
            time,
            actions,
            denied: outcome.err(),
            absent,
            ends,
            text,
        }
    }

    fn part(&self, i: usize) -> Option<&str> {
        if self.absent & (1 << i) != 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        match &self.text {
            // SAFETY: `new` copied each part, a whole `&str`, to exactly `start..end`.
            Text::Inline(bytes) => {
                Some(unsafe { std::str::from_utf8_unchecked(&bytes[start..end]) })
            }
            Text::Heap(text) => text.get(start..end),
        }
    }
}

/// Where each part ends, which are absent, and the end of the last.
fn layout(parts: &[Option<&str>; PARTS]) -> ([u32; PARTS], u8, usize) {
    let (mut ends, mut absent, mut end) = ([0; PARTS], 0, 0);
    for (i, part) in parts.iter().enumerate() {
        match part {
            Some(p) => end += p.len(),
            None => absent |= 1 << i,
        }
        ends[i] = end as u32;
    }
    (ends, absent, end)
}

/// The parts' ends are u32s, so a record keeps at most u32::MAX bytes of them (a Java string may
/// hold more): each is cut, on a character boundary, to the room the parts before it leave.
#[cold]
fn fit(parts: &mut [Option<&str>; PARTS]) {
    let mut room = u32::MAX as usize;
    for p in parts.iter_mut().flatten() {
        *p = clip(p, room);
        room -= p.len();
    }
}

/// `s`, or its longest prefix of at most `max` bytes that ends on a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

struct Shared {
    blocked: AtomicBool,
    stop: AtomicBool,
    /// Denials that could not even be queued; they were denied, so nothing unsafe happened.
    lost_denials: AtomicU64,
    /// Records the queue refused (full) and records the worker took, since the start: with
    /// the count of records offered, the queue's depth, without a count on every send.
    refused: AtomicU64,
    taken: AtomicU64,
    /// Bytes of the spill file not yet sent, as of the worker's last round.
    spill_bytes: AtomicU64,
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
            refused: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            spill_bytes: AtomicU64::new(spill.len),
        });
        let (tx, rx) = sync_channel(capacity);
        let worker = Worker {
            rx,
            shared: shared.clone(),
            client,
            spill,
            flush,
            events: EventWriter::new(&origin.0, &origin.1),
            retry_at: None,
            unwritten: Lines::default(),
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
                self.shared.refused.fetch_add(1, Ordering::Relaxed);
                if denied {
                    self.shared.lost_denials.fetch_add(1, Ordering::Relaxed);
                }
                false
            }
        }
    }

    /// Records waiting in the queue, of the `offered` ones `record` was called with so far.
    pub fn queue_depth(&self, offered: u64) -> u64 {
        let gone =
            self.shared.refused.load(Ordering::Relaxed) + self.shared.taken.load(Ordering::Relaxed);
        offered.saturating_sub(gone)
    }

    /// Bytes of the spill file waiting to be sent to the service.
    pub fn spill_bytes(&self) -> u64 {
        self.shared.spill_bytes.load(Ordering::Relaxed)
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
    events: EventWriter,
    retry_at: Option<Instant>,
    /// Events neither posted nor spilled (the spill file failed); tried again each round.
    unwritten: Lines,
}

impl Worker {
    fn run(mut self) {
        loop {
            let stopping = self.shared.stop.load(Ordering::SeqCst);
            // The worker never waits inside the channel: a waiting receiver turns every deciding
            // thread's send into a futex wake-up (microseconds, paid under the NameNode's lock),
            // and waking per record would write the trail a record at a time. It sleeps a flush
            // interval instead, and drains without pause while batches come full.
            let mut events = Lines::default();
            let mut gone = false;
            while events.count < BATCH {
                match self.rx.try_recv() {
                    Ok(r) => self.events.write(&r, &mut events),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        gone = true;
                        break;
                    }
                }
            }
            self.shared
                .taken
                .fetch_add(events.count as u64, Ordering::Relaxed);
            let drained = events.count < BATCH;
            let idle = events.count == 0;
            if self.unwritten.count > 0 {
                let again = std::mem::take(&mut self.unwritten);
                self.deliver(&again);
            }
            if events.count > 0 {
                self.deliver(&events);
            }
            if !self.spill.is_empty() && self.retry_due() {
                self.resend_spill();
            }
            self.shared.spill_bytes.store(
                self.spill.len - self.spill.sent.min(self.spill.len),
                Ordering::Relaxed,
            );
            let lost = self.shared.lost_denials.swap(0, Ordering::Relaxed);
            if lost > 0 {
                eprintln!("jitgate: audit queue full: {lost} denials could not be recorded (they were denied)");
            }
            let blocked = self.spill.full() || self.spill.broken || self.unwritten.count > 0;
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
        self.retry_at.is_none_or(|t| Instant::now() >= t)
    }

    /// Posts directly when the service is reachable, else appends to the spill.
    fn deliver(&mut self, events: &Lines) {
        if let Some(client) = self.client.as_ref().filter(|_| self.retry_due()) {
            match client.post_audit(&events.batch()) {
                Ok(()) => {
                    self.retry_at = None;
                    return;
                }
                Err(e) => {
                    eprintln!(
                        "jitgate: audit post failed, spilling {} events to disk: {e}",
                        events.count
                    );
                    self.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                }
            }
        }
        if !self.spill.append(events) {
            // Kept in memory and tried again each round; the trail counts as unavailable meanwhile,
            // so only denials can add to this.
            self.unwritten.extend(events);
            if self.unwritten.count > MAX_UNWRITTEN {
                let drop = self.unwritten.count - MAX_UNWRITTEN;
                self.unwritten.drop_oldest(drop);
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
            if chunk.events.count == 0 {
                self.spill.consumed(chunk.end);
                return;
            }
            match client.post_audit(&chunk.events.batch()) {
                Ok(()) => self.spill.consumed(chunk.end),
                Err(e) => {
                    eprintln!("jitgate: re-sending audit spill failed: {e}");
                    self.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                    return;
                }
            }
        }
    }
}

/// Audit events as JSON lines: what the spill holds, and what a post is made of.
#[derive(Default)]
struct Lines {
    /// each event followed by `\n`; JSON escapes every newline inside a string
    bytes: Vec<u8>,
    count: usize,
}

impl Lines {
    fn extend(&mut self, other: &Lines) {
        self.bytes.extend_from_slice(&other.bytes);
        self.count += other.count;
    }

    fn drop_oldest(&mut self, n: usize) {
        let end = self
            .bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(n.saturating_sub(1))
            .map_or(self.bytes.len(), |(i, _)| i + 1);
        self.bytes.drain(..end);
        self.count = self.count.saturating_sub(n);
    }

    /// The body of `POST /v1/audit`, `{"events":[...]}`.
    fn batch(&self) -> Vec<u8> {
        const HEAD: &[u8] = b"{\"events\":[";
        let mut body = Vec::with_capacity(HEAD.len() + self.bytes.len() + 2);
        body.extend_from_slice(HEAD);
        let lines = self.bytes.strip_suffix(b"\n").unwrap_or(&self.bytes);
        body.extend(lines.iter().map(|b| if *b == b'\n' { b',' } else { *b }));
        body.extend_from_slice(b"]}");
        body
    }
}

/// Writes each record as the JSON line of its `wire::AuditEvent`, byte for byte what serde_json
/// writes for the event (a test holds it to that), without building the event: the audit thread
/// writes one per protected decision, and the owned event and serde's byte-wise escaping were
/// most of its work.
struct EventWriter {
    /// `{"id":"<host>-<pid>-<start millis>-<64 random bits, hex>-`, escaped once: the random
    /// part keeps anyone from knowing the ids ahead, so ids inserted before the real events
    /// cannot make the service drop them as duplicates.
    id_head: Vec<u8>,
    seq: u64,
    /// `","plugin":"...","host":"...","user":"`, escaped once
    origin: Vec<u8>,
    /// the second `stamp` shows, and its time up to the milliseconds (`2026-12-01T09:00:05.`)
    second: i64,
    stamp: [u8; 20],
}

impl EventWriter {
    fn new(plugin: &str, host: &str) -> EventWriter {
        let mut id_head = b"{\"id\":\"".to_vec();
        let prefix = format!(
            "{host}-{}-{}-{:016x}-",
            std::process::id(),
            wire::now_millis(),
            wire::unguessable()
        );
        json_chars(&mut id_head, &prefix);
        let mut origin = b"\",\"plugin\":\"".to_vec();
        json_chars(&mut origin, plugin);
        origin.extend_from_slice(b"\",\"host\":\"");
        json_chars(&mut origin, host);
        origin.extend_from_slice(b"\",\"user\":\"");
        EventWriter {
            id_head,
            seq: 0,
            origin,
            second: -1,
            stamp: [0; 20],
        }
    }

    fn write(&mut self, r: &Record, lines: &mut Lines) {
        let out = &mut lines.bytes;
        self.seq += 1;
        out.extend_from_slice(&self.id_head);
        decimal(out, self.seq);
        out.extend_from_slice(b"\",\"time\":\"");
        self.time(out, r.time);
        out.extend_from_slice(&self.origin);
        json_chars(out, r.part(USER).unwrap_or_default());
        out.extend_from_slice(b"\",\"resource\":\"");
        json_chars(out, r.part(RESOURCE).unwrap_or_default());
        out.extend_from_slice(b"\",\"action\":\"");
        for (i, a) in r.actions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(a.name().as_bytes());
        }
        match r.denied {
            None => out.extend_from_slice(b"\",\"decision\":\"allow\""),
            Some(reason) => {
                out.extend_from_slice(b"\",\"decision\":\"deny\",\"reason\":\"");
                out.extend_from_slice(reason.name().as_bytes());
                out.push(b'"');
            }
        }
        for (key, i) in [
            (&b",\"grant_id\":"[..], GRANT),
            (b",\"request_id\":", REQUEST),
            (b",\"operation\":", OPERATION),
            (b",\"context\":", CONTEXT),
        ] {
            out.extend_from_slice(key);
            json_value(out, r.part(i));
        }
        out.extend_from_slice(b"}\n");
        lines.count += 1;
    }

    /// `wire::format_time`, formatting each second once: records come in bursts within one.
    fn time(&mut self, out: &mut Vec<u8>, millis: i64) {
        let millis = millis.max(0);
        let second = millis / 1000;
        if second != self.second {
            let whole = wire::format_time(second * 1000);
            match whole.strip_suffix(".000Z") {
                Some(head) if head.len() + 1 == self.stamp.len() => {
                    self.stamp[..head.len()].copy_from_slice(head.as_bytes());
                    self.stamp[head.len()] = b'.';
                    self.second = second;
                }
                _ => {
                    out.extend_from_slice(wire::format_time(millis).as_bytes());
                    return;
                }
            }
        }
        out.extend_from_slice(&self.stamp);
        let ms = (millis % 1000) as u32;
        out.extend_from_slice(&[
            b'0' + (ms / 100) as u8,
            b'0' + (ms / 10 % 10) as u8,
            b'0' + (ms % 10) as u8,
            b'Z',
        ]);
    }
}

fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn json_value(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(b'"');
            json_chars(out, s);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// The inside of a JSON string, escaped as serde_json escapes it. Eight bytes at a time are
/// tested for anything to escape (a control character, `"` or `\`), and clean runs are copied
/// whole; only a word that holds such a byte is looked at byte by byte.
fn json_chars(out: &mut Vec<u8>, s: &str) {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether any byte of `w` is below `n` (n <= 0x80); exact for "any", which is all it is asked.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * n as u64) & !w & HIGH != 0;
    let clean = |w: u64| {
        !below(w, 0x20)
            && !below(w ^ (ONES * b'"' as u64), 1)
            && !below(w ^ (ONES * b'\\' as u64), 1)
    };
    let bytes = s.as_bytes();
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        let end = bytes.len().min(i + 8);
        let word = match bytes.get(i..i + 8) {
            Some(eight) => eight.try_into().unwrap_or([0; 8]),
            None => {
                // the last few bytes, padded with a clean one
                let mut padded = [b'a'; 8];
                padded[..end - i].copy_from_slice(&bytes[i..end]);
                padded
            }
        };
        if !clean(u64::from_ne_bytes(word)) {
            for (j, &b) in bytes.iter().enumerate().take(end).skip(i) {
                let short = match b {
                    b'"' | b'\\' => b,
                    b'\n' => b'n',
                    b'\r' => b'r',
                    b'\t' => b't',
                    0x08 => b'b',
                    0x0c => b'f',
                    0x00..=0x1f => 0,
                    _ => continue,
                };
                out.extend_from_slice(&bytes[copied..j]);
                if short != 0 {
                    out.extend_from_slice(&[b'\\', short]);
                } else {
                    let hex = |n: u8| HEX[n as usize & 0xf];
                    out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b)]);
                }
                copied = j + 1;
            }
        }
        i = end;
    }
    out.extend_from_slice(&bytes[copied..]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

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
    events: Lines,
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
    fn append(&mut self, events: &Lines) -> bool {
        let result = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&events.bytes).and_then(|_| f.sync_data()));
        match result {
            Ok(()) => {
                self.len += events.bytes.len() as u64;
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
        let (mut events, mut end, mut line) = (Lines::default(), self.sent, String::new());
        while events.count < max_events {
            line.clear();
            let n = reader.read_line(&mut line)?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            end += n as u64;
            // A line the service would refuse would hold back the whole spill behind it.
            match serde_json::from_str::<AuditEvent>(line.trim_end()) {
                Ok(_) => {
                    events.bytes.extend_from_slice(line.trim_end().as_bytes());
                    events.bytes.push(b'\n');
                    events.count += 1;
                }
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
    use crate::model::Action;
    use crate::wire::AuditBatch;

    /// Event ids carry 64 random bits: two writers of the same host, process and millisecond
    /// still differ, and no one can list the ids a plugin will send.
    #[test]
    fn event_ids_cannot_be_known_ahead() {
        let head = |w: &EventWriter| String::from_utf8(w.id_head.clone()).unwrap();
        let (a, b) = (EventWriter::new("p", "h"), EventWriter::new("p", "h"));
        assert_ne!(head(&a), head(&b));
        let random = head(&a)
            .trim_end_matches('-')
            .rsplit('-')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(random.len(), 16, "{}", head(&a));
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
    }

    /// Strings of characters JSON treats specially, and of one to four UTF-8 bytes.
    fn awkward_strings() -> Vec<String> {
        let alphabet: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain("\"\\/a Z~\u{7f}é€😀".chars())
            .collect();
        let mut out: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
        out.push(String::new());
        out.push("hdfs:/lake/sales/orders/2026/11/27/part-00017.parquet".into());
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..400 {
            let s = (0..len % 41)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // mostly plain letters, as real paths are, so clean runs of eight occur
                    match seed % 4 {
                        0 => alphabet[(seed >> 8) as usize % alphabet.len()],
                        _ => char::from(b'a' + (seed >> 8) as u8 % 26),
                    }
                })
                .collect();
            out.push(s);
        }
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in awkward_strings() {
            let mut ours = b"\"".to_vec();
            json_chars(&mut ours, &s);
            ours.push(b'"');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    /// The event the audit thread used to build and hand to serde_json.
    fn event_of(r: &Record, id: String, plugin: &str, host: &str) -> AuditEvent {
        AuditEvent {
            id,
            time: wire::format_time(r.time),
            plugin: plugin.into(),
            host: host.into(),
            user: r.part(USER).unwrap().into(),
            resource: r.part(RESOURCE).unwrap().into(),
            action: r.actions.to_string(),
            decision: if r.denied.is_some() { "deny" } else { "allow" }.into(),
            reason: r.denied.map(|d| d.name().to_string()),
            grant_id: r.part(GRANT).map(Into::into),
            request_id: r.part(REQUEST).map(Into::into),
            operation: r.part(OPERATION).map(Into::into),
            context: r.part(CONTEXT).map(Into::into),
        }
    }

    #[test]
    fn an_event_line_is_what_serde_json_writes_for_its_event() {
        let grant = GrantRule {
            id: "g-1\"".into(),
            request_id: "r-\n1".into(),
            actions: ActionSet::ALL,
            not_before: 0,
            expires_at: 1,
            single_use: false,
        };
        let both = ActionSet::EMPTY.with(Action::Read).with(Action::Export);
        let texts = awkward_strings();
        let (plugin, host) = ("hdfs\"", "nn-1\\x");
        let mut writer = EventWriter::new(plugin, host);
        let mut lines = Lines::default();
        let mut records = vec![];
        // same second, the next millisecond, another second, before the epoch, the last ms
        let times = [
            1_764_579_605_123,
            1_764_579_605_124,
            1_764_579_606_000,
            -5,
            1_764_579_605_999,
        ];
        for (i, text) in texts.iter().enumerate() {
            let outcome = match i % 3 {
                0 => Ok(&grant),
                1 => Err(DenyReason::NoGrant),
                _ => Err(DenyReason::AuditUnavailable),
            };
            let optional = |k: usize| (i % k != 0).then_some(text.as_str());
            let r = Record::new(
                times[i % times.len()],
                text,
                &texts[(i + 7) % texts.len()],
                if i % 2 == 0 {
                    both
                } else {
                    ActionSet::EMPTY.with(Action::Write)
                },
                outcome,
                optional(4),
                optional(5),
            );
            writer.write(&r, &mut lines);
            records.push(r);
        }
        assert_eq!(lines.count, records.len());
        let text = std::str::from_utf8(&lines.bytes).unwrap();
        let id_start = format!("{host}-{}-", std::process::id());
        for (i, (line, r)) in text.lines().zip(&records).enumerate() {
            let parsed: AuditEvent = serde_json::from_str(line).unwrap();
            assert!(parsed.id.starts_with(&id_start), "{}", parsed.id);
            assert!(parsed.id.ends_with(&format!("-{}", i + 1)), "{}", parsed.id);
            let expected = event_of(r, parsed.id.clone(), plugin, host);
            assert_eq!(line, serde_json::to_string(&expected).unwrap());
        }
        let batch: AuditBatch = serde_json::from_slice(&lines.batch()).unwrap();
        assert_eq!(batch.events.len(), records.len());
        assert_eq!(batch.events[3].user, texts[3]);
    }

    #[test]
    fn a_record_gives_back_its_strings_in_place_or_allocated() {
        let grant = GrantRule {
            id: "g-abcdefghij".into(),
            request_id: "r-klmnopqrst".into(),
            actions: ActionSet::ALL,
            not_before: 0,
            expires_at: 1,
            single_use: false,
        };
        let (user, resource, operation) =
            ("zoë", "hdfs:/lake/sales/orders/part-00017.parquet", "open");
        let fixed = user.len() + resource.len() + 24 + operation.len();
        // totals of INLINE - 1, INLINE and INLINE + 1 bytes, then far beyond
        for (context, inline) in [
            ("x".repeat(INLINE - 1 - fixed), true),
            (
                "€".repeat((INLINE - fixed) / 3) + &"y".repeat((INLINE - fixed) % 3),
                true,
            ),
            (
                "😀".repeat((INLINE + 1 - fixed) / 4) + &"z".repeat((INLINE + 1 - fixed) % 4),
                false,
            ),
            ("q".repeat(5000), false),
        ] {
            let r = Record::new(
                1,
                user,
                resource,
                ActionSet::ALL,
                Ok(&grant),
                Some(operation),
                Some(&context),
            );
            assert_eq!(
                matches!(r.text, Text::Inline(_)),
                inline,
                "{} bytes",
                r.ends[CONTEXT]
            );
            let got: Vec<_> = (0..PARTS).map(|i| r.part(i)).collect();
            let want = [
                Some(user),
                Some(resource),
                Some("g-abcdefghij"),
                Some("r-klmnopqrst"),
                Some(operation),
                Some(context.as_str()),
            ];
            assert_eq!(got, want);
        }
        let denied = Record::new(
            1,
            "",
            resource,
            ActionSet::ALL,
            Err(DenyReason::NoGrant),
            None,
            Some("c"),
        );
        let got: Vec<_> = (0..PARTS).map(|i| denied.part(i)).collect();
        assert_eq!(got, [Some(""), Some(resource), None, None, None, Some("c")]);
    }

    #[test]
    fn a_part_beyond_the_records_room_is_cut_on_a_character_boundary() {
        assert_eq!(clip("aé", 3), "aé");
        assert_eq!(clip("aé", 2), "a", "é is two bytes");
        assert_eq!(clip("😀x", 3), "");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn the_oldest_lines_are_dropped_first() {
        let mut writer = EventWriter::new("hdfs", "nn");
        let mut lines = Lines::default();
        for user in ["u1", "u2", "u3"] {
            let r = Record::new(
                0,
                user,
                "hdfs:/x",
                ActionSet::ALL,
                Err(DenyReason::NoGrant),
                None,
                None,
            );
            writer.write(&r, &mut lines);
        }
        lines.drop_oldest(2);
        let batch: AuditBatch = serde_json::from_slice(&lines.batch()).unwrap();
        assert_eq!(lines.count, 1);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].user, "u3");
        lines.drop_oldest(1);
        assert_eq!((lines.count, lines.bytes.len()), (0, 0));
        assert_eq!(&lines.batch()[..], b"{\"events\":[]}");
    }

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
