//! The desk's operations over a real store (SQLite in a temp dir): tickets through their
//! states, SLA notices recorded once across a restart, escalation, a requester's export
//! and erasure.

use chainops_desk::config::{RawSupport, SupportConfig, validate};
use chainops_desk::privacy::Vault;
use chainops_desk::service::{Author, Change, Channel, Desk, NewTicket, SlaNotice, Upload};
use chainops_desk::tickets::{Priority, State};
use chainops_store::Store;
use chainops_store::alerts::{DeliveryState, OutboxRow};
use std::sync::{Arc, Mutex};

const M: i64 = 60_000;
const T0: i64 = 1_796_000_000_000;

fn config() -> SupportConfig {
    let raw: RawSupport = toml::from_str(
        r#"
teams = ["tier1", "tier2"]
[[sla]]
priority = "P1"
first_response = "30m"
next_response = "1h"
resolution = "4h"
escalate_to = "tier2"
"#,
    )
    .expect("toml");
    let mut p = chainops_core::section::Problems::default();
    let c = validate(raw, std::path::Path::new("/tmp"), &mut p);
    assert!(p.is_empty(), "{:?}", p.0);
    c
}

fn new_ticket(email: &str) -> NewTicket {
    NewTicket {
        subject: "RPC 超时 on mainnet".into(),
        body: "eth_call times out since 10:00".into(),
        category: "rpc".into(),
        chain: "mainnet".into(),
        node: String::new(),
        priority: Some(Priority::P1),
        email: email.into(),
        name: "Wang Fang".into(),
        ip: "198.51.100.7".into(),
        channel: Channel::Portal,
        attachments: vec![Upload {
            name: "trace.log".into(),
            data: b"ERROR eth_call deadline exceeded\n".to_vec(),
        }],
        tags: vec![],
        actor: String::new(),
        email_id: String::new(),
    }
}

/// Notices become one outbox row each, like the wiring does with the notifiers.
fn rows(sent: Arc<Mutex<Vec<SlaNotice>>>) -> impl Fn(&SlaNotice) -> Vec<OutboxRow> + Send + Sync {
    move |n: &SlaNotice| {
        sent.lock().expect("lock").push(n.clone());
        vec![OutboxRow {
            id: format!(
                "ticket/{}/{}/{}/{}/hook",
                n.ticket_id,
                n.metric.as_str(),
                n.cycle,
                n.level
            ),
            fingerprint: format!("ticket/{}", n.ticket_id),
            channel: "hook".into(),
            event: "firing".into(),
            payload: "{}".into(),
            created_ms: n.at_ms,
            attempts: 0,
            next_attempt_ms: n.at_ms,
            state: DeliveryState::Pending,
            last_error: None,
            done_ms: None,
        }]
    }
}

#[tokio::test]
async fn clocks_survive_a_restart_and_breaches_are_sent_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let vault = Vault::open_file(&dir.path().join("support.key"), true).expect("vault");
    let store = Store::open(&url).await.expect("store");
    let desk = Desk::new(Arc::new(config()), store.clone(), vault.clone());
    let opened = desk
        .open_ticket(new_ticket("wang@example.cn"), T0)
        .await
        .expect("open");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let f = rows(sent.clone());
    // 20 minutes in: nothing due yet (warning at 22.5 min).
    let r = desk.sla_pass(T0 + 20 * M, &f).await.expect("pass");
    assert_eq!((r.tickets, r.notices), (1, 0));
    // 25 minutes: the warning, once.
    assert_eq!(
        desk.sla_pass(T0 + 25 * M, &f).await.expect("pass").notices,
        1
    );
    assert_eq!(
        desk.sla_pass(T0 + 26 * M, &f).await.expect("pass").notices,
        0
    );
    let t = desk.ticket(opened.id).await.expect("ticket");
    assert_eq!(
        (t.sla.as_str(), t.next_due_ms),
        ("warning", Some(T0 + 30 * M))
    );
    store.close().await;

    // The daemon is down from 26 to 50 minutes; the breach happened meanwhile. A new
    // process over the same data finds it once and escalates.
    let store = Store::open(&url).await.expect("reopen");
    let desk = Desk::new(Arc::new(config()), store.clone(), vault);
    let r = desk.sla_pass(T0 + 50 * M, &f).await.expect("pass");
    assert_eq!((r.notices, r.escalated), (1, 1));
    assert_eq!(
        desk.sla_pass(T0 + 51 * M, &f).await.expect("pass").notices,
        0
    );
    let notices = sent.lock().expect("lock").clone();
    assert_eq!(notices.len(), 2);
    assert_eq!(
        (notices[1].level, notices[1].at_ms),
        ("breach", T0 + 30 * M)
    );
    assert_eq!(notices[1].team, "tier2");
    let t = desk.ticket(opened.id).await.expect("ticket");
    assert_eq!((t.team.as_str(), t.sla.as_str()), ("tier2", "breached"));
    assert_eq!(
        store
            .list_notifications(None, 10)
            .await
            .expect("outbox")
            .len(),
        2
    );

    // Staff answer publicly; pending pauses the resolution clock for two days.
    desk.reply(
        opened.id,
        Author::Staff {
            user: "alice".into(),
            public: true,
        },
        "Looking",
        &[],
        "",
        T0 + 55 * M,
    )
    .await
    .expect("reply");
    let c = Change {
        state: Some(State::Pending),
        ..Default::default()
    };
    desk.change(opened.id, &c, "alice", T0 + 60 * M)
        .await
        .expect("pending");
    let view = desk
        .view(opened.id, true, T0 + 48 * 60 * M)
        .await
        .expect("view");
    let res = view
        .clocks
        .iter()
        .find(|c| c.metric.as_str() == "resolution")
        .expect("clock");
    assert_eq!(res.elapsed_ms, 60 * M, "paused while pending");
    assert_eq!(view.ticket.state, "pending");
    assert_eq!(
        view.requester.as_ref().map(|p| p.email.as_str()),
        Some("wang@example.cn")
    );
    assert_eq!(view.attachments.len(), 1);
    assert_eq!(
        view.attachments[0].content_type,
        "text/plain; charset=utf-8"
    );
    // The requester's reply reopens it and starts a next-response clock.
    desk.reply(
        opened.id,
        Author::Requester,
        "Still failing",
        &[],
        "",
        T0 + 49 * 60 * M,
    )
    .await
    .expect("requester reply");
    let t = desk.ticket(opened.id).await.expect("ticket");
    assert_eq!(t.state, "open");
    assert_eq!(
        t.next_due_ms,
        Some(T0 + 50 * 60 * M),
        "next response within the hour"
    );
    // The private link opens the ticket; a wrong or malformed one does not.
    assert_eq!(
        desk.ticket_by_link(&opened.link_token, T0)
            .await
            .expect("link")
            .id,
        opened.id
    );
    for bad in ["", "00", &"g".repeat(64), &"0".repeat(64), &"é".repeat(32)] {
        assert!(desk.ticket_by_link(bad, T0).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_reasons_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    let vault = Vault::new([3; 32]);
    let desk = Desk::new(Arc::new(config()), store.clone(), vault);
    let cases: Vec<(NewTicket, &str)> = vec![
        (
            NewTicket {
                subject: " ".into(),
                ..new_ticket("a@b.cn")
            },
            "subject is empty",
        ),
        (
            NewTicket {
                subject: "x".repeat(201),
                ..new_ticket("a@b.cn")
            },
            "201 characters",
        ),
        (
            NewTicket {
                body: "\u{0}\u{1}".into(),
                ..new_ticket("a@b.cn")
            },
            "control",
        ),
        (
            NewTicket {
                category: "billing".into(),
                ..new_ticket("a@b.cn")
            },
            "not one of",
        ),
        (
            NewTicket {
                name: "名".repeat(201),
                ..new_ticket("a@b.cn")
            },
            "name has more than 200",
        ),
        (
            NewTicket {
                name: "Eve\u{7}".into(),
                ..new_ticket("a@b.cn")
            },
            "control characters",
        ),
        (new_ticket("not-an-address"), "has no @"),
        (
            new_ticket("a@b.cn\r\nBcc: x@y.z"),
            "characters an address cannot have",
        ),
        (
            NewTicket {
                attachments: vec![Upload {
                    name: "x.exe".into(),
                    data: vec![1],
                }],
                ..new_ticket("a@b.cn")
            },
            "not accepted",
        ),
        (
            NewTicket {
                attachments: vec![Upload {
                    name: "../../etc/passwd.txt".into(),
                    data: vec![1],
                }],
                ..new_ticket("a@b.cn")
            },
            "not a plain file name",
        ),
        (
            NewTicket {
                attachments: vec![Upload {
                    name: "big.log".into(),
                    data: vec![b'a'; 6 << 20],
                }],
                ..new_ticket("a@b.cn")
            },
            "at most",
        ),
        (
            NewTicket {
                attachments: (0..6)
                    .map(|i| Upload {
                        name: format!("{i}.txt"),
                        data: vec![b'a'],
                    })
                    .collect(),
                ..new_ticket("a@b.cn")
            },
            "6 attachments",
        ),
    ];
    for (t, why) in cases {
        let e = desk.open_ticket(t, T0).await.expect_err("refused");
        assert!(e.to_string().contains(why), "{e} (wanted {why})");
    }
    let (_, total) = store
        .list_tickets(&Default::default(), 10, 0)
        .await
        .expect("list");
    assert_eq!(total, 0);
    assert!(
        store
            .requester_by_index(&Vault::new([3; 32]).email_index("a@b.cn"))
            .await
            .expect("find")
            .is_none()
    );
    // A picture whose bytes are not a picture is served as a download.
    let png = Upload {
        name: "shot.png".into(),
        data: b"<script>alert(1)</script>".to_vec(),
    };
    let t = desk
        .open_ticket(
            NewTicket {
                attachments: vec![png],
                ..new_ticket("a@b.cn")
            },
            T0,
        )
        .await
        .expect("open");
    let files = store.ticket_attachments(t.id).await.expect("files");
    assert_eq!(files[0].content_type, "application/octet-stream");
    // Closed is final; merging checks both ends.
    let other = desk
        .open_ticket(new_ticket("c@d.cn"), T0)
        .await
        .expect("open");
    assert!(desk.merge(t.id, t.id, "alice", T0).await.is_err());
    desk.merge(other.id, t.id, "alice", T0 + 1)
        .await
        .expect("merge");
    let merged = desk.ticket(other.id).await.expect("ticket");
    assert_eq!(
        (merged.state.as_str(), merged.merged_into),
        ("closed", Some(t.id))
    );
    let e = desk
        .reply(other.id, Author::Requester, "hello?", &[], "", T0 + 2)
        .await
        .expect_err("closed");
    assert!(e.to_string().contains("closed"), "{e}");
    let reopen = Change {
        state: Some(State::Open),
        ..Default::default()
    };
    assert!(
        desk.change(other.id, &reopen, "alice", T0 + 3)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn export_holds_the_personal_data_and_erasure_leaves_none() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    let desk = Desk::new(Arc::new(config()), store.clone(), Vault::new([5; 32]));
    let email = "zhao.lei+chain@example.org";
    let a = desk.open_ticket(new_ticket(email), T0).await.expect("open");
    let b = desk
        .open_ticket(new_ticket("ZHAO.LEI+chain@EXAMPLE.org"), T0 + 1)
        .await
        .expect("open");
    assert_eq!(
        a.requester_id, b.requester_id,
        "one requester per address, any case"
    );
    let export = desk
        .export_requester(&a.requester_id)
        .await
        .expect("export");
    assert_eq!(export["personal_data"]["email"], email);
    assert_eq!(export["personal_data"]["ip"], "198.51.100.7");
    assert_eq!(export["tickets"].as_array().map(Vec::len), Some(2));
    desk.erase_requester(&a.requester_id, "admin", T0 + 2)
        .await
        .expect("erase");
    assert!(
        desk.erase_requester(&a.requester_id, "admin", T0 + 3)
            .await
            .is_err()
    );
    let export = desk
        .export_requester(&a.requester_id)
        .await
        .expect("export");
    assert!(export["personal_data"].is_null());
    assert_eq!(
        export["tickets"].as_array().map(Vec::len),
        Some(2),
        "the history stays"
    );
    assert!(
        desk.requester_by_email(email)
            .await
            .expect("find")
            .is_none()
    );
    store.close().await;
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        for needle in [email.as_bytes(), b"198.51.100.7", b"Wang Fang"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

#[tokio::test]
async fn retention_deletes_each_class_when_its_time_is_up_and_nothing_active() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    let raw: RawSupport = toml::from_str(
        "[retention]\ntickets = \"200d\"\nattachments = \"190d\"\nsurveys = \"180d\"\ncompliance = \"cn\"\n",
    )
    .expect("toml");
    let mut p = chainops_core::section::Problems::default();
    let cfg = validate(raw, std::path::Path::new("/tmp"), &mut p);
    assert!(p.is_empty(), "{:?}", p.0);
    let desk = Desk::new(Arc::new(cfg), store.clone(), Vault::new([6; 32]));
    const D: i64 = 86_400_000;
    // Old and solved (goes), old but still open (stays), solved recently (stays).
    let old = desk
        .open_ticket(new_ticket("old@example.cn"), T0)
        .await
        .expect("open");
    let open = desk
        .open_ticket(new_ticket("open@example.cn"), T0)
        .await
        .expect("open");
    let recent = desk
        .open_ticket(new_ticket("old@example.cn"), T0)
        .await
        .expect("open");
    let solve = |id: i64, at: i64| {
        let desk = desk.clone();
        async move {
            desk.change(
                id,
                &Change {
                    state: Some(State::Solved),
                    ..Default::default()
                },
                "staff",
                at,
            )
            .await
            .expect("solve")
        }
    };
    solve(old.id, T0 + D).await;
    solve(recent.id, T0 + 15 * D).await;
    let token = |o: &chainops_desk::service::Opened| o.link_token.clone();
    desk.rate(&token(&old), 5, "good", T0 + D)
        .await
        .expect("rate");
    desk.rate(&token(&recent), 4, "ok", T0 + 15 * D)
        .await
        .expect("rate");
    let now = T0 + 192 * D;
    // Day 192: only the old ticket's attachments are past 190 days; the surveys (180 d)
    // of day 1 too; tickets (200 d) stay.
    let c = desk.purge(now).await.expect("purge");
    assert_eq!((c.tickets, c.attachments, c.surveys), (0, 1, 1), "{c:?}");
    assert!(desk.ticket(old.id).await.is_ok());
    assert!(desk.rating(recent.id).await.expect("rating").is_some());
    // Day 202: the old solved ticket goes with everything of it; its requester stays (they
    // have a recent ticket); the open ticket stays whatever its age.
    let c = desk.purge(T0 + 202 * D).await.expect("purge");
    assert_eq!((c.tickets, c.requesters), (1, 0), "{c:?}");
    assert!(desk.ticket(old.id).await.is_err());
    assert!(desk.ticket(open.id).await.is_ok());
    assert!(desk.ticket(recent.id).await.is_ok());
    assert!(
        store
            .ticket_attachments(open.id)
            .await
            .expect("files")
            .len()
            == 1
    );
    // Day 216: the recent one goes too, and its requester (no ticket left) with it.
    let c = desk.purge(T0 + 216 * D).await.expect("purge");
    assert_eq!((c.tickets, c.requesters), (1, 1), "{c:?}");
    assert!(
        desk.requester_by_email("old@example.cn")
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        desk.requester_by_email("open@example.cn")
            .await
            .expect("find")
            .is_some()
    );
    // A second purge finds nothing; keeping everything purges nothing.
    assert_eq!(
        desk.purge(T0 + 216 * D).await.expect("purge"),
        Default::default()
    );
    let keep = Desk::new(Arc::new(config()), store, Vault::new([6; 32]));
    assert_eq!(
        keep.purge(T0 + 9_999 * D).await.expect("purge"),
        Default::default()
    );
}

#[tokio::test]
async fn sign_in_links_expire_and_work_once_and_sessions_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    let desk = Desk::new(Arc::new(config()), store.clone(), Vault::new([7; 32]))
        .with_mail("mail", "https://ops.example");
    desk.open_ticket(new_ticket("li@example.cn"), T0)
        .await
        .expect("open");
    let token_of = |rows: Vec<OutboxRow>| -> String {
        let p = &rows.last().expect("a mail").payload;
        let i = p.find("/support/signin/").expect("link") + "/support/signin/".len();
        p[i..i + 64].to_string()
    };
    let mails = || async {
        store
            .due_notifications(T0 + 10 * M, 100)
            .await
            .expect("outbox")
    };
    desk.request_signin("li@example.cn", T0)
        .await
        .expect("request");
    let first = token_of(mails().await);
    // 31 minutes later the link no longer works.
    assert!(desk.use_signin_link(&first, T0 + 31 * M).await.is_err());
    desk.request_signin("li@example.cn", T0 + 40 * M)
        .await
        .expect("request");
    let second = token_of(
        store
            .due_notifications(T0 + 50 * M, 100)
            .await
            .expect("outbox"),
    );
    assert_ne!(first, second);
    let (session, until) = desk
        .use_signin_link(&second, T0 + 41 * M)
        .await
        .expect("use");
    assert!(
        desk.use_signin_link(&second, T0 + 42 * M).await.is_err(),
        "once"
    );
    assert!(
        desk.signed_in(&session, T0 + 42 * M)
            .await
            .expect("session")
            .is_some()
    );
    assert!(
        desk.signed_in(&session, until + 1)
            .await
            .expect("session")
            .is_none(),
        "24 h"
    );
    assert!(desk.signed_in("zz", T0).await.expect("session").is_none());
    // An address without tickets gets nothing, and says so to no one.
    desk.request_signin("nobody@example.cn", T0 + 60 * M)
        .await
        .expect("silent");
    assert!(desk.request_signin("not an address", T0).await.is_err());
}

#[tokio::test]
async fn a_mail_the_desk_must_trim_still_opens_a_ticket_and_automatic_mail_is_skipped() {
    use chainops_desk::mailbox::{Incoming, Received, parse};
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    let raw: RawSupport = toml::from_str(
        "max_attachments = 20\n[mailbox]\nurl = \"imaps://mail.example\"\nusername = \"s\"\npassword_file = \"/p\"\naddress = \"support@example.cn\"\n",
    )
    .expect("toml");
    let mut p = chainops_core::section::Problems::default();
    let cfg = validate(raw, std::path::Path::new("/tmp"), &mut p);
    assert!(p.is_empty(), "{:?}", p.0);
    let desk = Desk::new(Arc::new(cfg), store, Vault::new([8; 32]));
    // A body at the limit and 60 attachments the portal would refuse: the notes that name
    // them would push it over; it is cut instead of refused (a refused mail would be read
    // again at every poll).
    let m = Incoming {
        from: "wu@example.cn".into(),
        subject: "节点".into(),
        body: "长".repeat(49_950),
        message_id: "<big@example.cn>".into(),
        attachments: (0..60)
            .map(|i| Upload {
                name: format!("payload-{i}-{}.exe", "x".repeat(100)),
                data: vec![0; 10],
            })
            .collect(),
        ..Default::default()
    };
    let Received::Opened(id) = desk.receive_mail(m, T0).await.expect("receive") else {
        panic!("not opened");
    };
    let view = desk.view(id, true, T0).await.expect("view");
    let body = &view.messages[0].body;
    assert!(body.chars().count() <= 50_000 && body.ends_with("(cut to the longest message)"));
    // Again: a duplicate. From the support address, or automatic: skipped.
    let again = Incoming {
        from: "wu@example.cn".into(),
        subject: "x".into(),
        body: "x".into(),
        message_id: "<big@example.cn>".into(),
        ..Default::default()
    };
    assert_eq!(
        desk.receive_mail(again.clone(), T0).await.expect("dup"),
        Received::Duplicate(id)
    );
    let own = Incoming {
        from: "support@example.cn".into(),
        message_id: "<own@x>".into(),
        ..again.clone()
    };
    assert!(matches!(
        desk.receive_mail(own, T0).await.expect("own"),
        Received::Skipped(_)
    ));
    let bounce =
        parse(b"From: MAILER-DAEMON@mx.example.cn\r\nSubject: failure\r\n\r\nx").expect("parse");
    assert!(matches!(
        desk.receive_mail(bounce, T0).await.expect("bounce"),
        Received::Skipped(_)
    ));
}

#[tokio::test]
async fn a_mail_server_that_hangs_talks_nonsense_or_hangs_up_ends_the_poll_with_a_reason() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}/chainops.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    // Three servers on 127.0.0.1: one accepts and never says a word (a half-open
    // connection), one answers like a web server, one hangs up at once.
    let mut ports = Vec::new();
    for behaviour in 0..3u8 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        ports.push(l.local_addr().expect("addr").port());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut c, _)) = l.accept().await {
                match behaviour {
                    0 => held.push(c),
                    1 => {
                        let _ = c
                            .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff\xfe garbage\r\n")
                            .await;
                        held.push(c);
                    }
                    _ => drop(c),
                }
            }
        });
    }
    for (port, says) in ports
        .into_iter()
        .zip(["no answer in 1s", "greeting", "greeting"])
    {
        let raw: RawSupport = toml::from_str(&format!(
            "[mailbox]\nurl = \"imap://127.0.0.1:{port}\"\ntls = \"none\"\nusername = \"s\"\npassword_file = \"/p\"\ntimeout = \"1s\"\n"
        ))
        .expect("toml");
        let mut p = chainops_core::section::Problems::default();
        let cfg = validate(raw, std::path::Path::new("/tmp"), &mut p);
        assert!(p.is_empty(), "{:?}", p.0);
        let mailbox = cfg.mailbox.clone().expect("mailbox");
        let desk = Desk::new(Arc::new(cfg), store.clone(), Vault::new([9; 32]));
        let started = std::time::Instant::now();
        let e = chainops_desk::mailbox::poll(&desk, &mailbox, "pw", &|| T0)
            .await
            .expect_err("no IMAP server");
        assert!(e.to_string().contains(says), "port {port}: {e}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{e}"
        );
    }
}
