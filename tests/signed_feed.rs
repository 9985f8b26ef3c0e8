//! The feed is signed: a plugin applies only replies its pinned service key signed for its own
//! request. Each attack runs against a real `jitgate serve`, through a proxy (or in place of
//! the service) that changes what the plugin receives.

mod common;

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, plugin_config, public_key, read_message, rebuild, Service, TOKEN};
use jitgate::{Access, ActionSet, Config, Decision, DenyReason, Engine};

const WAIT: Duration = Duration::from_secs(20);
const PART: &str = "hdfs:/lake/sales/orders/part-0";

/// A plugin pinning `key`.
fn engine(url: &str, dir: &std::path::Path, key: &str) -> Engine {
    let extra = format!(
        "jitgate.service.public.key={key}\njitgate.feed.wait.seconds=1\njitgate.start.wait.millis=2000"
    );
    Engine::start(Config::parse(&plugin_config(url, dir, &extra)).unwrap()).unwrap()
}

fn read(e: &Engine, user: &str) -> Decision {
    e.decide(&Access {
        user,
        resource: PART,
        actions: ActionSet(1),
        subtree: false,
        operation: Some("open"),
        context: None,
    })
}

type Rewrite = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// Forwards each HTTP request to `upstream` on a connection of its own, and hands the body of
/// every feed reply through `rewrite` on its way back (headers kept, length fixed).
fn proxy(upstream: u16, rewrite: Rewrite) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let rewrite = rewrite.clone();
            std::thread::spawn(move || {
                let _ = relay(client, upstream, &rewrite);
            });
        }
    });
    url
}

fn relay(client: TcpStream, upstream: u16, rewrite: &Rewrite) -> std::io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let (head, body) = read_message(&mut from_client)?;
    let feed = head.starts_with("GET /v1/feed");
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(rebuild(&head, body.len()).as_bytes())?;
    server.write_all(&body)?;
    let (head, body) = read_message(&mut BufReader::new(server))?;
    let body = if feed { rewrite(&body) } else { body };
    let mut client = client;
    client.write_all(rebuild(&head, body.len()).as_bytes())?;
    client.write_all(&body)
}

/// Serves `body` with `headers` to every request: a forged service.
fn forged_service(body: Vec<u8>, headers: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let mut r = BufReader::new(client.try_clone().unwrap());
            if read_message(&mut r).is_err() {
                continue;
            }
            let mut client = client;
            let _ = client.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{headers}\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = client.write_all(&body);
        }
    });
    url
}

/// The one-byte change that would open the zone: its path `/lake/sales` becomes `/lake/saleS`.
fn rename_zone(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    if let Some(at) = out.windows(12).position(|w| w == b"/lake/sales\"") {
        out[at + 10] = b'S';
    }
    out
}

#[test]
fn a_feed_reply_changed_on_the_way_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Service::start(tmp.path());

    // Through a proxy that leaves replies alone the engine opens: the proxy itself is sound.
    let clean = tempfile::tempdir().unwrap();
    let e = engine(
        &proxy(svc.port(), Arc::new(|b| b.to_vec())),
        clean.path(),
        &public_key(),
    );
    eventually(WAIT, "a verified snapshot through the clean proxy", || {
        e.snapshot().verified.then_some(())
    });
    assert_eq!(read(&e, "alice"), Decision::Deny(DenyReason::NoGrant));
    e.close();

    // One byte of the zone's path rewritten: applied, it would leave /lake/sales unprotected.
    let host = tempfile::tempdir().unwrap();
    let e = engine(
        &proxy(svc.port(), Arc::new(rename_zone)),
        host.path(),
        &public_key(),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(!e.snapshot().verified, "a rewritten reply was applied");
    assert_eq!(read(&e, "alice"), Decision::Deny(DenyReason::NoSnapshot));
    assert!(!host.path().join("cache/snapshot.json").exists());
    e.close();

    // A service signing with another key than the one pinned is not this service.
    let stranger = jitgate::signature::SigningKey::from_seed([1; 32]).public();
    let e = engine(&svc.url, host.path(), &stranger.to_string());
    std::thread::sleep(Duration::from_secs(2));
    assert!(!e.snapshot().verified);
    e.close();
}

#[test]
fn a_forged_or_played_back_reply_never_replaces_the_cached_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let mut svc = Service::start(tmp.path());
    // A genuine signed reply, recorded while alice held a grant.
    let grant = svc.approve(&svc.request("alice", "hdfs:/lake/sales", &["read"], "10m"));
    let recorded = ureq::get(&format!("{}/v1/feed?nonce=00aa", svc.url))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let signature = recorded.header("x-jitgate-signature").unwrap().to_string();
    let recorded = recorded.into_string().unwrap();
    assert!(recorded.contains(&grant), "{recorded}");
    // The grant is revoked, and a plugin saves the snapshot without it.
    svc.revoke(&grant);
    let host = tempfile::tempdir().unwrap();
    {
        let e = engine(&svc.url, host.path(), &public_key());
        eventually(WAIT, "the revocation", || {
            (read(&e, "alice") == Decision::Deny(DenyReason::NoGrant)).then_some(())
        });
        e.close();
    }
    svc.stop();

    let now = jitgate::wire::format_time(jitgate::wire::now_millis());
    let empty_reset = format!(
        r#"{{"cursor":99999999999999999,"server_time":"{now}","reset":true,"zones":[],"grants":[],"revoked":[]}}"#
    );
    let stranger = jitgate::signature::SigningKey::from_seed([1; 32]);
    let forgeries = [
        (
            "an unsigned reset removing every zone",
            empty_reset.clone().into_bytes(),
            String::new(),
        ),
        (
            "a reset signed by another key",
            empty_reset.clone().into_bytes(),
            format!(
                "x-jitgate-signature: {}\r\n",
                stranger.reply(empty_reset.as_bytes())
            ),
        ),
        (
            "a genuine reply played back to another request",
            recorded.clone().into_bytes(),
            format!("x-jitgate-signature: {signature}\r\n"),
        ),
    ];
    for (what, body, headers) in forgeries {
        let e = engine(&forged_service(body, headers), host.path(), &public_key());
        assert!(
            e.snapshot().verified,
            "{what}: the cached snapshot is enforced"
        );
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            read(&e, "alice"),
            Decision::Deny(DenyReason::NoGrant),
            "{what} was applied"
        );
        assert!(e.snapshot().cursor < 99999999999999999, "{what}");
        e.close();
    }
}
