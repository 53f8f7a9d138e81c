//! The support desk end to end (issue 19) against a real daemon: a requester opens a ticket
//! on the public portal (multipart, an attachment, no account), follows it through the
//! private link and replies; staff answer over the API; an SLA breach is delivered once to a
//! real HTTP receiver through the notifier outbox, and again not after a restart; abuse is
//! refused with reasons; the requester's export holds their email and, after erasure, no
//! byte of it is left in the data directory.

use crate::harness::*;
use crate::notifiers::SmtpSink;
use serde_json::{Value, json};
use std::time::Duration;

const EMAIL: &str = "li.na+dapp@example.cn";

fn config(hook: &str, smtp: u16) -> String {
    format!(
        r#"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "{hook}"
min_severity = "info"

[[notifiers]]
name = "mail"
kind = "email"
url = "smtp://127.0.0.1:{smtp}"
tls = "none"
from = "support@chain.example"
to = ["oncall@chain.example"]

[support]
email_notifier = "mail"
notify = ["hook"]
check_interval = "1s"
portal_tickets_per_hour = 3
teams = ["tier1", "tier2"]

[[support.sla]]
priority = "P3"
first_response = "3s"
resolution = "1h"
escalate_to = "tier2"
"#
    )
}

/// A multipart body: text fields, then files as (name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----chainops-test-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, data) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A public page's HTML (no credentials).
fn page_text(d: &Daemon, path: &str) -> String {
    client()
        .get(format!("{}{path}", d.base))
        .send()
        .expect("page")
        .text()
        .expect("html")
}

/// An urlencoded form post, as a visitor (`staff`: with the admin token).
fn url_form(d: &Daemon, path: &str, body: &str, staff: bool) -> reqwest::blocking::Response {
    let mut r = client()
        .post(format!("{}{path}", d.base))
        .header("content-type", "application/x-www-form-urlencoded");
    if staff {
        r = r.bearer_auth(&d.token);
    }
    r.body(body.to_string()).send().expect("form")
}

fn post_form(
    d: &Daemon,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> reqwest::blocking::Response {
    let (ctype, body) = multipart(fields, files);
    client()
        .post(format!("{}{path}", d.base))
        .header("content-type", ctype)
        .body(body)
        .send()
        .expect("post form")
}

fn portal_ticket(
    d: &Daemon,
    subject: &str,
    files: &[(&str, &[u8])],
) -> reqwest::blocking::Response {
    post_form(
        d,
        "/support/tickets",
        &[
            ("email", EMAIL),
            ("name", "李娜"),
            ("category", "rpc"),
            ("chain", ""),
            ("subject", subject),
            ("body", "eth_call 超时 since **10:00**; tx 0xabc"),
        ],
        files,
    )
}

/// The mails the sink received for `to`, decoded by Python's `email` package:
/// `{to, subject, message_id, in_reply_to, reply_to, body}` each.
pub(crate) fn mails_to(sink: &SmtpSink, to: &str) -> Vec<Value> {
    let script = "import email, email.policy, json, sys\n\
        m = email.message_from_string(sys.stdin.read(), policy=email.policy.default)\n\
        print(json.dumps({'to': str(m['To']), 'subject': str(m['Subject']), 'message_id': str(m['Message-ID']), \
        'in_reply_to': str(m['In-Reply-To'] or ''), 'reply_to': str(m['Reply-To'] or ''), 'body': m.get_body(('plain',)).get_content()}))";
    sink.messages()
        .into_iter()
        .filter_map(|raw| {
            use std::io::Write;
            let mut child = std::process::Command::new("python3")
                .args(["-c", script])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .ok()?;
            child.stdin.take()?.write_all(raw.as_bytes()).ok()?;
            let out = child.wait_with_output().ok()?;
            serde_json::from_slice::<Value>(&out.stdout).ok()
        })
        .filter(|m| m["to"].as_str().is_some_and(|t| t.contains(to)))
        .collect()
}

fn breaches(r: &Receiver) -> Vec<Value> {
    r.delivered()
        .into_iter()
        .filter(|v| {
            v["alert"]["rule"] == "TicketSla"
                && v["alert"]["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("breached"))
        })
        .collect()
}

#[test]
fn a_portal_ticket_is_answered_breaches_once_and_its_requester_can_be_erased() {
    let hook = Receiver::start();
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Daemon::start(dir.path(), &config(&hook.url, smtp.port));

    // The portal form is public; a ticket with an attachment leads to its private link.
    let page = client()
        .get(format!("{}/support", d.base))
        .send()
        .expect("portal");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let r = portal_ticket(
        &d,
        "RPC 超时 on mainnet",
        &[("trace.log", b"ERROR deadline exceeded\n")],
    );
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    let link = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let token = link
        .strip_prefix("/support/t/")
        .and_then(|l| l.strip_suffix("?new=1"))
        .expect("private link")
        .to_string();
    assert_eq!(token.len(), 64);
    let mine = client()
        .get(format!("{}{link}", d.base))
        .send()
        .expect("ticket page");
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.headers()["referrer-policy"], "no-referrer");
    let html = mine.text().expect("html");
    assert!(
        html.contains("RPC 超时 on mainnet") && html.contains("<strong>10:00</strong>"),
        "{html}"
    );

    // The requester is mailed the private link (the outbox resolves their sealed address).
    let ack = wait_for("the requester's mail", Duration::from_secs(20), || {
        mails_to(&smtp, EMAIL).into_iter().next()
    });
    assert_eq!(ack["subject"], "[#1] RPC 超时 on mainnet");
    assert_eq!(ack["message_id"], "<ticket-1@chainops>");
    assert!(
        ack["body"]
            .as_str()
            .is_some_and(|b| b.contains(&format!("/support/t/{token}"))),
        "{ack}"
    );

    // Staff see it first in the queue, with its clocks; the API hides nothing from admin.
    let list = d.get("/api/v1/tickets?state=active");
    assert_eq!(list.headers()["x-total-count"], "1");
    let t = d.json("/api/v1/tickets/1");
    assert_eq!(
        (
            t["state"].as_str(),
            t["priority"].as_str(),
            t["channel"].as_str()
        ),
        (Some("new"), Some("P3"), Some("portal"))
    );
    assert_eq!(t["requester"]["email"], EMAIL);
    assert_eq!(t["messages"][0]["attachments"][0]["name"], "trace.log");
    let requester = t["requester"]["id"]
        .as_str()
        .expect("requester id")
        .to_string();

    // Nobody answers within 3 s: the breach reaches the webhook with a link, once, and the
    // ticket moves to the escalation team.
    let b = wait_for(
        "the SLA breach at the webhook",
        Duration::from_secs(20),
        || breaches(&hook).into_iter().next(),
    );
    assert!(
        b["alert"]["runbook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/tickets/1")),
        "{b}"
    );
    assert!(
        b["alert"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("#1") && s.contains("first response")),
        "{b}"
    );
    wait_for("escalation", Duration::from_secs(10), || {
        (d.json("/api/v1/tickets/1")["team"] == "tier2").then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(breaches(&hook).len(), 1, "one breach, one page");

    // The requester replies through the link; staff answer publicly and note internally.
    let r = post_form(
        &d,
        "/support/reply",
        &[("token", &token), ("body", "Still failing at 11:00")],
        &[],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(
        d.post(
            "/api/v1/tickets/1/messages",
            &json!({"body": "Fixed: the RPC pool was drained."})
        )
        .status(),
        201
    );
    assert_eq!(
        d.post(
            "/api/v1/tickets/1/messages",
            &json!({"body": "internal: haproxy backend 3", "public": false})
        )
        .status(),
        201
    );
    let html = page_text(&d, &format!("/support/t/{token}"));
    assert!(
        html.contains("RPC pool was drained") && !html.contains("haproxy backend 3"),
        "internal notes stay internal"
    );
    // The public reply is mailed in the ticket's thread; the internal note is not.
    let reply = wait_for("the reply by mail", Duration::from_secs(20), || {
        mails_to(&smtp, EMAIL).into_iter().find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("RPC pool was drained"))
        })
    });
    assert_eq!(reply["in_reply_to"], "<ticket-1@chainops>");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !mails_to(&smtp, EMAIL)
            .iter()
            .any(|m| m["body"].as_str().is_some_and(|b| b.contains("haproxy"))),
        "an internal note is never mailed"
    );
    let c = d.post(
        "/api/v1/tickets/1/changes",
        &json!({"state": "pending", "tags": ["rpc", "超时"], "incident": "inc-7"}),
    );
    assert_eq!(c.status(), 200);
    let t = d.json("/api/v1/tickets/1");
    assert_eq!(t["state"], "pending");
    assert!(
        t["clocks"].as_array().is_some_and(|c| c
            .iter()
            .any(|k| k["metric"] == "resolution" && k["phase"] == "paused")),
        "{t}"
    );
    // A known issue: one reply to every active ticket of the incident, mailed to each.
    let k = d.post(
        "/api/v1/tickets/known-issue",
        &json!({"incident": "inc-7", "body": "Root cause: a drained RPC pool, refilled at 11:40."}),
    );
    assert_eq!(k.status(), 200);
    assert_eq!(k.json::<Value>().expect("json")["answered"], json!([1]));
    wait_for("the known-issue mail", Duration::from_secs(20), || {
        mails_to(&smtp, EMAIL).into_iter().find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("drained RPC pool, refilled"))
        })
    });
    let none = d.post(
        "/api/v1/tickets/known-issue",
        &json!({"incident": "inc-404", "body": "x"}),
    );
    assert_eq!(none.json::<Value>().expect("json")["answered"], json!([]));
    assert_eq!(
        d.post(
            "/api/v1/tickets/known-issue",
            &json!({"incident": " ", "body": "x"})
        )
        .status(),
        400
    );
    // The requester's file, through their link only.
    let file = t["messages"][0]["attachments"][0]["id"]
        .as_str()
        .expect("file id")
        .to_string();
    let f = client()
        .get(format!("{}/support/t/{token}/files/{file}", d.base))
        .send()
        .expect("file");
    assert_eq!(f.status(), 200);
    assert_eq!(f.headers()["x-content-type-options"], "nosniff");
    let wrong = client()
        .get(format!(
            "{}/support/t/{}/files/{file}",
            d.base,
            "0".repeat(64)
        ))
        .send()
        .expect("file");
    assert_eq!(wrong.status(), 404);

    // Abuse and bad input: refused with the reason, the form kept, nothing stored.
    let r = portal_ticket(&d, "keep my words", &[("payload.exe", b"MZ\x90\x00")]);
    assert_eq!(r.status(), 400);
    let html = r.text().expect("html");
    assert!(
        html.contains("not accepted") && html.contains("keep my words"),
        "{html}"
    );
    let r = post_form(
        &d,
        "/support/tickets",
        &[
            ("email", "not an address"),
            ("subject", "x"),
            ("body", "y"),
            ("category", "rpc"),
        ],
        &[],
    );
    assert_eq!(r.status(), 400);
    let many: Vec<(String, String)> = (0..70).map(|i| (format!("f{i}"), "x".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = post_form(&d, "/support/tickets", &many, &[]);
    assert_eq!(r.status(), 400);
    assert!(r.text().expect("html").contains("too many fields"));
    let big = vec![b'a'; 17 << 20];
    let r = portal_ticket(&d, "big", &[("big.log", &big)]);
    assert_eq!(r.status(), 413);
    for bad in ["nothex", &"f".repeat(64), &"é".repeat(40)] {
        let r = client()
            .get(format!("{}/support/t/{}", d.base, bad))
            .send()
            .expect("bad link");
        assert_eq!(r.status(), 404, "{bad}");
    }
    // Three portal tickets an hour from one address (the first counted): the fourth waits.
    assert_eq!(portal_ticket(&d, "second", &[]).status(), 303);
    assert_eq!(portal_ticket(&d, "third", &[]).status(), 303);
    let r = portal_ticket(&d, "fourth", &[]);
    assert_eq!(r.status(), 429);
    assert!(r.text().expect("html").contains("try again in"));
    assert_eq!(d.get("/api/v1/tickets").headers()["x-total-count"], "3");

    // The audit trail records the portal and the staff, never the private link's token.
    let trail = d.json("/api/v1/audit-log?limit=1000");
    let actions: Vec<&str> = trail
        .as_array()
        .expect("trail")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "ticket.portal",
        "ticket.requester_reply",
        "ticket.reply",
        "ticket.change",
    ] {
        assert!(actions.contains(&a), "{a} missing in {actions:?}");
    }
    assert!(
        !trail.to_string().contains(&token),
        "the token is not in the audit trail"
    );

    // A restart recomputes every clock from the history and pages nobody again.
    d.proc.terminate();
    let d2 = Daemon::start(dir.path(), &config(&hook.url, smtp.port));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        breaches(&hook)
            .iter()
            .filter(|b| b["alert"]["fingerprint"] == "ticket/1")
            .count(),
        1
    );
    d = d2;

    // Subject access, then erasure: the export held the address; afterwards no file in the
    // data directory holds it, and the ticket stays, anonymous.
    let export = d.get(&format!("/api/v1/requesters/{requester}/export"));
    assert_eq!(export.status(), 200);
    let export: Value = export.json().expect("export");
    assert_eq!(export["personal_data"]["email"], EMAIL);
    assert_eq!(export["tickets"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        d.post(&format!("/api/v1/requesters/{requester}/erase"), &json!({}))
            .status(),
        200
    );
    assert_eq!(
        d.post(&format!("/api/v1/requesters/{requester}/erase"), &json!({}))
            .status(),
        409
    );
    let t = d.json("/api/v1/tickets/1");
    assert_eq!(t["requester"]["erased"], true);
    // Mail to an erased requester is never sent: it is a dead letter saying why.
    let before = mails_to(&smtp, EMAIL).len();
    assert_eq!(
        d.post(
            "/api/v1/tickets/1/messages",
            &json!({"body": "Anything else?"})
        )
        .status(),
        201
    );
    let dead = wait_for("the dead letter", Duration::from_secs(20), || {
        d.json("/api/v1/notifications?state=dead")
            .as_array()
            .and_then(|a| a.iter().find(|n| n["channel"] == "mail").cloned())
    });
    assert!(dead.to_string().contains("erased"), "{dead}");
    assert_eq!(mails_to(&smtp, EMAIL).len(), before);
    assert!(
        t["history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|e| e["kind"] == "erased"))
    );
    let trail = d.json("/api/v1/audit-log?limit=1000").to_string();
    assert!(trail.contains("requester.export") && trail.contains("requester.erase"));
    let mut files = vec![d.dir.join("data")];
    let mut grepped = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        let bytes = std::fs::read(&p).unwrap_or_default();
        grepped += 1;
        assert!(
            !bytes.windows(EMAIL.len()).any(|w| w == EMAIL.as_bytes()),
            "{} still holds the requester's email",
            p.display()
        );
    }
    assert!(grepped >= 3, "the data dir was searched ({grepped} files)");
}

#[test]
fn the_knowledge_base_is_seeded_searched_in_chinese_edited_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(
        dir.path(),
        "[support]\ncategories = [\"general\", \"rpc\"]\n",
    );
    let anon = client();
    let get = |path: &str| anon.get(format!("{}{path}", d.base)).send().expect("get");
    // The shipped user guide is there in both languages, without an account; a seed whose
    // category is not configured ("account") moved to the first category.
    let all: Value = get("/api/v1/kb?lang=zh-CN").json().expect("json");
    let ids: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"rpc-timeouts") && ids.contains(&"your-data"),
        "{all}"
    );
    assert!(
        all.as_array()
            .expect("list")
            .iter()
            .all(|a| a["lang"] == "zh-CN")
    );
    let data = &all.as_array().expect("list")[ids
        .iter()
        .position(|i| *i == "your-data")
        .expect("your-data")];
    assert_eq!(data["category"], "general");
    // Chinese without spaces, English, and a word still being typed.
    for (q, lang, first) in [
        ("节点超时", "zh-CN", "rpc-timeouts"),
        ("状态页", "zh-CN", "status-page"),
        ("rpc timeouts", "en", "rpc-timeouts"),
        ("reply by ema", "en", "reply-by-email"),
    ] {
        let r: Value = get(&format!(
            "/api/v1/kb?lang={lang}&q={}",
            chainops_console_urlencode(q)
        ))
        .json()
        .expect("json");
        assert_eq!(r[0]["id"], first, "{q}: {r}");
        assert_eq!(r[0]["lang"], lang, "{q}: {r}");
    }
    // Staff write a draft: not public until published; hostile input is refused by name.
    let draft = json!({"id": "mainnet-upgrade", "lang": "en", "title": "Mainnet upgrade on 12 Dec",
        "body": "Nodes restart at **02:00 UTC**.", "category": "rpc"});
    assert_eq!(d.post("/api/v1/kb", &draft).status(), 200);
    assert_eq!(get("/api/v1/kb/mainnet-upgrade").status(), 404);
    assert_eq!(get("/kb/mainnet-upgrade").status(), 404);
    let mut published = draft.clone();
    published["published"] = json!(true);
    published["faq"] = json!(true);
    assert_eq!(d.post("/api/v1/kb", &published).status(), 200);
    let one: Value = get("/api/v1/kb/mainnet-upgrade").json().expect("json");
    assert_eq!(
        one["versions"][0]["body"],
        "Nodes restart at **02:00 UTC**."
    );
    let page = get("/kb/mainnet-upgrade");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .expect("html")
            .contains("<strong>02:00 UTC</strong>")
    );
    // Markdown from staff cannot carry script or a javascript: link onto the public page.
    let mut hostile = published.clone();
    hostile["id"] = json!("hostile-markdown");
    hostile["body"] = json!(
        "<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror=alert(3)>"
    );
    assert_eq!(d.post("/api/v1/kb", &hostile).status(), 200);
    let html = get("/kb/hostile-markdown").text().expect("html");
    assert!(
        !html.contains("<script>alert")
            && !html.contains("javascript:")
            && !html.contains("<img src=x"),
        "{html}"
    );
    for (field, value, says) in [
        ("id", json!("../etc"), "article id"),
        ("id", json!("manage"), "article id"),
        ("lang", json!("fr"), "language"),
        ("category", json!("billing"), "category"),
        ("title", json!(""), "title"),
        ("body", json!("x".repeat(200_001)), "body"),
    ] {
        let mut bad = published.clone();
        bad[field] = value;
        let r = d.post("/api/v1/kb", &bad);
        assert_eq!(r.status(), 400, "{field}");
        let text = r.text().expect("text");
        assert!(text.contains(says), "{field}: {text}");
    }
    // Votes and deflections are counted for public articles only.
    let vote = |id: &str, form: &[(&str, &str)]| {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", chainops_console_urlencode(v)))
            .collect();
        anon.post(format!("{}/kb/{id}/vote", d.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .expect("vote")
            .status()
    };
    assert_eq!(
        vote("rpc-timeouts", &[("helpful", "yes"), ("from", "portal")]),
        303
    );
    assert_eq!(vote("rpc-timeouts", &[("helpful", "no")]), 303);
    assert_eq!(vote("no-such-article", &[("helpful", "yes")]), 404);
    let manage = d.get("/kb/manage").text().expect("manage");
    assert!(
        manage.contains("data-article=\"rpc-timeouts\""),
        "staff see the counters"
    );
    // The portal's suggestions for a typed subject, in the reader's language.
    let frag = anon
        .get(format!(
            "{}/kb/suggest?subject=%E8%8A%82%E7%82%B9%E8%B6%85%E6%97%B6",
            d.base
        ))
        .header("accept-language", "zh-CN")
        .send()
        .expect("suggest")
        .text()
        .expect("html");
    assert!(
        frag.contains("/kb/rpc-timeouts?lang=zh-CN&amp;from=portal"),
        "{frag}"
    );
    let none = get("/kb/suggest?subject=%00%25%27").text().expect("html");
    assert!(!none.contains("<li>"), "{none}");
    // Deleting takes every language; a restart seeds nothing again.
    assert_eq!(d.delete("/api/v1/kb/rpc-timeouts").status(), 204);
    assert_eq!(d.delete("/api/v1/kb/rpc-timeouts").status(), 404);
    let mut d = d;
    d.proc.terminate();
    let d = Daemon::start(
        dir.path(),
        "[support]\ncategories = [\"general\", \"rpc\"]\n",
    );
    let after: Value = client()
        .get(format!("{}/api/v1/kb", d.base))
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert!(
        !after.to_string().contains("rpc-timeouts"),
        "a deleted seed stays deleted: {after}"
    );
}

/// Percent-encodes a query value (what the console's links do).
fn chainops_console_urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_solved_ticket_is_rated_an_nps_campaign_is_answered_and_the_report_counts_both() {
    let hook = Receiver::start();
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&hook.url, smtp.port));
    let r = portal_ticket(&d, "RPC 超时 again", &[]);
    assert_eq!(r.status(), 303);
    let link = r.headers()["location"]
        .to_str()
        .expect("location")
        .replace("?new=1", "");
    let token = link.trim_start_matches("/support/t/").to_string();
    let rate = |score: &str, comment: &str| {
        post_form(
            &d,
            "/support/csat",
            &[("token", &token), ("score", score), ("comment", comment)],
            &[],
        )
    };
    // Not before it is solved.
    assert_eq!(rate("5", "").status(), 409);
    assert_eq!(
        d.post(
            "/api/v1/tickets/1/messages",
            &json!({"body": "Refilled the pool."})
        )
        .status(),
        201
    );
    assert_eq!(
        d.post("/api/v1/tickets/1/changes", &json!({"state": "solved"}))
            .status(),
        200
    );
    let page = page_text(&d, &link);
    assert!(
        page.contains("id=\"csat-form\""),
        "a solved ticket asks for a rating"
    );
    // The solved mail asks for it too.
    wait_for("the solved mail", Duration::from_secs(20), || {
        mails_to(&smtp, EMAIL).into_iter().find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("Rate our answer"))
        })
    });
    assert_eq!(rate("9", "").status(), 400, "a rating is 1 to 5");
    assert_eq!(rate("x", "").status(), 400);
    assert_eq!(
        rate("5", &"长".repeat(2001)).status(),
        400,
        "a comment of 2,001 characters"
    );
    assert_eq!(
        post_form(
            &d,
            "/support/csat",
            &[("token", &"0".repeat(64)), ("score", "5")],
            &[]
        )
        .status(),
        404
    );
    assert_eq!(rate("2", "slow").status(), 303);
    assert_eq!(
        rate("5", "快，谢谢 <script>x</script>").status(),
        303,
        "a second answer replaces the first"
    );
    let page = page_text(&d, &link);
    assert!(
        page.contains("id=\"csat-given\"") && !page.contains("<script>x"),
        "{page}"
    );

    // An NPS campaign mails the requester a private link; the answer is counted once.
    let c = d.post(
        "/api/v1/nps/campaigns",
        &json!({"name": "Q4 2026", "days": 30}),
    );
    assert_eq!(c.status(), 201);
    assert_eq!(c.json::<Value>().expect("json")["invited"], 1);
    assert_eq!(
        d.post("/api/v1/nps/campaigns", &json!({"name": "x", "days": 0}))
            .status(),
        400
    );
    let invite = wait_for("the NPS mail", Duration::from_secs(20), || {
        mails_to(&smtp, EMAIL).into_iter().find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("/support/nps/"))
        })
    });
    let body = invite["body"].as_str().expect("body");
    let nps = body[body.find("/support/nps/").expect("link")..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_string();
    let nps_token = nps.trim_start_matches("/support/nps/").to_string();
    assert_eq!(
        client()
            .get(format!("{}{nps}", d.base))
            .send()
            .expect("nps")
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(format!("{}/support/nps/{}", d.base, "f".repeat(64)))
            .send()
            .expect("nps")
            .status(),
        404
    );
    for (score, want) in [("11", 400), ("-1", 400), ("10", 303), ("9", 303)] {
        let r = post_form(
            &d,
            "/support/nps",
            &[("token", &nps_token), ("score", score)],
            &[],
        );
        assert_eq!(r.status(), want, "score {score}");
    }

    // The report: one P3 ticket, CSAT 100 % (the 5 replaced the 2), NPS +100 (one answer).
    let report = d.json("/api/v1/tickets/report?days=7");
    assert_eq!(report["csat"]["answers"], 1, "{report}");
    assert_eq!(report["csat_percent"], 100.0);
    assert_eq!(report["nps"]["promoters"], 1);
    assert_eq!(report["nps_score"], 100.0);
    let p3 = report["priorities"]
        .as_array()
        .expect("priorities")
        .iter()
        .find(|p| p["priority"] == "P3")
        .cloned()
        .expect("P3");
    assert_eq!(p3["tickets"], 1);
    assert!(p3["median_first_response_s"].as_i64().is_some(), "{p3}");
    assert_eq!(
        report["by_category"][0],
        json!({"category": "rpc", "tickets": 1})
    );
    assert_eq!(d.get("/api/v1/tickets/report?days=999").status(), 400);
    assert_eq!(d.get("/api/v1/tickets/report?days=abc").status(), 400);
    let csv = d
        .get("/tickets/reports?days=7&format=csv")
        .text()
        .expect("csv");
    assert!(
        csv.starts_with("ticket,opened,priority")
            && csv.contains(",\"rpc\",")
            && csv.contains(",5\r\n"),
        "{csv}"
    );
    let html = d.get("/tickets/reports?days=7").text().expect("html");
    assert!(
        html.contains("id=\"attainment\"") && html.contains("Q4 2026"),
        "the page lists the campaign"
    );

    // Erasure keeps the scores, not what the requester wrote.
    let requester = d.json("/api/v1/tickets/1")["requester"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        d.post(&format!("/api/v1/requesters/{requester}/erase"), &json!({}))
            .status(),
        200
    );
    let report = d.json("/api/v1/tickets/report?days=7");
    assert_eq!(report["csat"]["answers"], 1);
    let page = d.get("/tickets/reports?days=7").text().expect("html");
    assert!(
        !page.contains("快，谢谢"),
        "no comment is shown after erasure"
    );
    let db = std::fs::read(dir.path().join("data").join("chainops.db")).unwrap_or_default();
    assert!(
        !db.windows("快，谢谢".len())
            .any(|w| w == "快，谢谢".as_bytes()),
        "the comment is gone from the store file"
    );
}

#[test]
fn resolving_a_status_incident_answers_its_linked_tickets() {
    let hook = Receiver::start();
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&hook.url, smtp.port));
    let form = |path: &str, body: &str| url_form(&d, path, body, true);
    let r = form(
        "/status/incidents",
        "chain=&title=RPC+pool+drained&state=identified&message=Refilling",
    );
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    let status = d.json("/api/v1/status");
    let incident = status["incidents"][0]["id"]
        .as_str()
        .expect("incident id")
        .to_string();
    for subject in ["RPC down 1", "RPC down 2"] {
        assert_eq!(portal_ticket(&d, subject, &[]).status(), 303);
    }
    for id in [1, 2] {
        assert_eq!(
            d.post(
                &format!("/api/v1/tickets/{id}/changes"),
                &json!({"incident": incident})
            )
            .status(),
            200
        );
    }
    // An update that does not resolve answers nobody; resolving answers both, once.
    assert_eq!(
        form(
            &format!("/status/incidents/{incident}/updates"),
            "state=monitoring&message=Watching"
        )
        .status(),
        303
    );
    assert_eq!(messages_of(&d, 1), 1);
    assert_eq!(
        form(
            &format!("/status/incidents/{incident}/updates"),
            "state=resolved&message=The+pool+is+refilled+and+holds."
        )
        .status(),
        303
    );
    for id in [1, 2] {
        let t = d.json(&format!("/api/v1/tickets/{id}"));
        let last = t["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .expect("message");
        assert!(
            last["body"].as_str().is_some_and(|b| b.contains("RPC pool drained") && b.contains("refilled and holds")),
            "{last}"
        );
        assert_eq!(
            t["state"], "open",
            "notify (the default) leaves the state to staff"
        );
    }
    wait_for("the requesters' mail", Duration::from_secs(20), || {
        (mails_to(&smtp, EMAIL)
            .iter()
            .filter(|m| {
                m["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("refilled and holds"))
            })
            .count()
            == 2)
            .then_some(())
    });
}

fn messages_of(d: &Daemon, id: i64) -> usize {
    d.json(&format!("/api/v1/tickets/{id}"))["messages"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn status_page_subscribers_confirm_get_news_and_unsubscribe() {
    let hook = Receiver::start();
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&hook.url, smtp.port).replace(
        "notify = [\"hook\"]",
        "notify = [\"hook\"]\nstatus_notify = [\"hook\"]",
    );
    let d = Daemon::start(dir.path(), &cfg);
    let public_form = |path: &str, body: &str| url_form(&d, path, body, false);
    let staff_form = |path: &str, body: &str| url_form(&d, path, body, true);
    let fan = "fan@example.cn";
    let lurker = "lurker@example.cn";
    for who in [fan, lurker] {
        let r = public_form("/status/subscriptions", &format!("email={who}"));
        assert_eq!(r.status(), 200);
        assert!(r.text().expect("html").contains("id=\"sub-sent\""));
    }
    assert_eq!(
        public_form("/status/subscriptions", "email=not-mail").status(),
        400
    );
    assert_eq!(
        public_form("/status/subscriptions", "email=a%40b.io&chain=nowhere").status(),
        400
    );
    let confirm = wait_for("the confirmation mail", Duration::from_secs(20), || {
        mails_to(&smtp, fan).into_iter().next()
    });
    let body = confirm["body"].as_str().expect("body");
    let link = body[body.find("/status/subscriptions/").expect("link")..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_string();
    let token = link
        .trim_start_matches("/status/subscriptions/")
        .to_string();
    let page = client()
        .get(format!("{}{link}", d.base))
        .send()
        .expect("page");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().expect("html").contains("id=\"sub-confirm\""));
    assert_eq!(
        public_form("/status/subscriptions/confirm", &format!("token={token}")).status(),
        303
    );
    assert_eq!(
        public_form(
            "/status/subscriptions/confirm",
            &format!("token={}", "0".repeat(64))
        )
        .status(),
        404
    );

    // News goes to the confirmed subscriber (with the unsubscribe link) and to the
    // partner's webhook; the unconfirmed address gets nothing but its confirmation.
    assert_eq!(
        staff_form(
            "/status/incidents",
            "chain=&title=Mainnet+RPC+degraded&state=investigating&message=Looking+into+slow+eth_call"
        )
        .status(),
        303
    );
    let news = wait_for("the news mail", Duration::from_secs(20), || {
        mails_to(&smtp, fan).into_iter().find(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.contains("Mainnet RPC degraded"))
        })
    });
    assert!(
        news["body"].as_str().is_some_and(|b| b.contains(&link)),
        "{news}"
    );
    wait_for("the webhook notice", Duration::from_secs(20), || {
        hook.delivered()
            .into_iter()
            .find(|v| v["alert"]["rule"] == "StatusPage")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(mails_to(&smtp, lurker).len(), 1, "only the confirmation");

    // Unsubscribed: no more news.
    assert_eq!(
        public_form(
            "/status/subscriptions/unsubscribe",
            &format!("token={token}")
        )
        .status(),
        200
    );
    assert_eq!(
        client()
            .get(format!("{}{link}", d.base))
            .send()
            .expect("page")
            .status(),
        404
    );
    let status = d.json("/api/v1/status");
    let incident = status["incidents"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        staff_form(
            &format!("/status/incidents/{incident}/updates"),
            "state=resolved&message=Fixed"
        )
        .status(),
        303
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        mails_to(&smtp, fan)
            .iter()
            .filter(|m| m["subject"]
                .as_str()
                .is_some_and(|s| s.contains("Mainnet RPC")))
            .count(),
        1,
        "nothing after unsubscribing"
    );
}

#[test]
fn a_requester_signs_in_by_a_mailed_link_once_and_sees_their_tickets() {
    let hook = Receiver::start();
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &config(&hook.url, smtp.port));
    assert_eq!(portal_ticket(&d, "First question", &[]).status(), 303);
    assert_eq!(portal_ticket(&d, "第二个问题", &[]).status(), 303);
    let form = |path: &str, body: &str| url_form(&d, path, body, false);
    // Known and unknown addresses get the same answer; only the known one gets mail.
    for who in [EMAIL, "stranger@example.org"] {
        let r = form(
            "/support/signin",
            &format!("email={}", who.replace('+', "%2B")),
        );
        assert_eq!(r.status(), 200, "{who}");
        assert!(r.text().expect("html").contains("id=\"signin-sent\""));
    }
    assert_eq!(form("/support/signin", "email=nope").status(), 400);
    let mail = wait_for("the sign-in mail", Duration::from_secs(20), || {
        mails_to(&smtp, EMAIL).into_iter().find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("/support/signin/"))
        })
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(mails_to(&smtp, "stranger@example.org").is_empty());
    let body = mail["body"].as_str().expect("body");
    let link = body[body.find("/support/signin/").expect("link")..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_string();
    let token = link.trim_start_matches("/support/signin/").to_string();
    // Opening the link changes nothing (mail scanners open links); the button uses it.
    let page = client()
        .get(format!("{}{link}", d.base))
        .send()
        .expect("page");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().expect("html").contains("id=\"signin-use\""));
    let r = form("/support/signin/use", &format!("token={token}"));
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Path=/support"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("pair").to_string();
    let mine = client()
        .get(format!("{}/support/mine", d.base))
        .header("cookie", &session)
        .send()
        .expect("mine")
        .text()
        .expect("html");
    assert!(
        mine.contains("First question")
            && mine.contains("第二个问题")
            && mine.contains("/support/t/"),
        "{mine}"
    );
    // Once only; a forged session shows the form, not tickets.
    assert_eq!(
        form("/support/signin/use", &format!("token={token}")).status(),
        404
    );
    let anon = client()
        .get(format!("{}/support/mine", d.base))
        .header("cookie", format!("chainops_requester={}", "a".repeat(64)))
        .send()
        .expect("mine")
        .text()
        .expect("html");
    assert!(anon.contains("id=\"signin-form\"") && !anon.contains("First question"));
}
