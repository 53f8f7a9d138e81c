//! Email in and out of the support desk (issue 19) against real servers: Debian's Dovecot
//! (IMAP, started here on a free port with a temporary mail dir) holds the support mailbox,
//! aiosmtpd receives what the desk sends. A mail opens a ticket; the staff reply arrives by
//! SMTP in the ticket's thread; the requester's reply threads onto the same ticket; a stranger
//! quoting the ticket number, an auto-reply and a resent mail do not; a restart imports
//! nothing twice.

use crate::desk::{client, mails_to};
use crate::harness::*;
use crate::notifiers::SmtpSink;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

const REQUESTER: &str = "wang.fang@example.cn";

/// A Dovecot IMAP server with one user (`support`/`secret`), plaintext on 127.0.0.1.
struct Dovecot {
    _proc: Proc,
    port: u16,
    dir: tempfile::TempDir,
}

impl Dovecot {
    fn start() -> Dovecot {
        let dir = tempfile::tempdir().expect("dovecot dir");
        let d = dir.path();
        let port = free_port();
        for sub in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        // Dovecot refuses to serve mail (or run its login process) as root: as root, the
        // Debian package's own users log in and the mail belongs to nobody.
        let root = nix::unistd::Uid::effective().is_root();
        let (login, internal, uid, gid) = if root {
            ("dovenull".to_string(), "dovecot".to_string(), 65534, 65534)
        } else {
            let me = nix::unistd::User::from_uid(nix::unistd::Uid::effective())
                .ok()
                .flatten()
                .map(|u| u.name)
                .expect("user name");
            (
                me.clone(),
                me,
                nix::unistd::Uid::effective().as_raw(),
                nix::unistd::Gid::effective().as_raw(),
            )
        };
        if root {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            for sub in ["mail", "home"] {
                nix::unistd::chown(
                    &d.join(sub),
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(gid)),
                )
                .expect("chown");
            }
        }
        std::fs::write(d.join("passwd"), "support:{PLAIN}secret::::::\n").expect("passwd");
        let p = d.display();
        let conf = format!(
            "base_dir = {p}/run\nstate_dir = {p}/state\nlog_path = {p}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\ndefault_internal_user = {internal}\n\
             default_internal_group = {internal}\ndefault_login_user = {login}\n\
             mail_location = maildir:{p}/mail/%u\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = {p}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={p}/home/%u\n}}\n"
        );
        std::fs::write(d.join("dovecot.conf"), conf).expect("dovecot.conf");
        let child = Command::new("/usr/sbin/dovecot")
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot (apt-get install dovecot-imapd; scripts/install-deps.sh test)");
        let dovecot = Dovecot {
            _proc: Proc {
                child,
                name: "dovecot".into(),
            },
            port,
            dir,
        };
        wait_for("Dovecot to answer", Duration::from_secs(20), || {
            dovecot.imap("print(m.noop()[0])").ok()
        });
        dovecot
    }

    /// Runs Python `code` with `m`, an IMAP4 session logged in with INBOX selected.
    fn imap(&self, code: &str) -> Result<String, String> {
        let script = format!(
            "import imaplib, sys\nm = imaplib.IMAP4('127.0.0.1', {})\nm.login('support', 'secret')\nm.select('INBOX')\n{code}\nm.logout()\n",
            self.port
        );
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    /// Delivers `raw` into the support mailbox (IMAP APPEND, unseen).
    fn deliver(&self, raw: &str) {
        let path = self.dir.path().join("incoming.eml");
        std::fs::write(&path, raw.replace('\n', "\r\n")).expect("write mail");
        self.imap(&format!(
            "m.append('INBOX', None, None, open('{}', 'rb').read())",
            path.display()
        ))
        .expect("append");
    }

    fn unseen(&self) -> usize {
        self.imap("print(len(m.search(None, 'UNSEEN')[1][0].split()))")
            .expect("search")
            .parse()
            .expect("count")
    }
}

fn config(imap: u16, smtp: u16, password_file: &str) -> String {
    format!(
        r#"
[[notifiers]]
name = "mail"
kind = "email"
url = "smtp://127.0.0.1:{smtp}"
tls = "none"
from = "desk@chain.example"
to = ["oncall@chain.example"]

[support]
email_notifier = "mail"
categories = ["general", "rpc"]

[support.mailbox]
url = "imap://127.0.0.1:{imap}"
tls = "none"
username = "support"
password_file = "{password_file}"
address = "support@chain.example"
category = "rpc"
poll_interval = "1s"
"#
    )
}

fn ticket_count(d: &Daemon) -> String {
    d.get("/api/v1/tickets").headers()["x-total-count"]
        .to_str()
        .expect("count")
        .to_string()
}

fn messages(d: &Daemon, id: i64) -> Vec<Value> {
    d.json(&format!("/api/v1/tickets/{id}"))["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_mail_opens_a_ticket_the_reply_goes_out_and_the_answer_threads_back() {
    let imap = Dovecot::start();
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("imap.pass");
    std::fs::write(&pw, "secret\n").expect("password file");
    let cfg = config(imap.port, smtp.port, &pw.display().to_string());
    let mut d = Daemon::start(dir.path(), &cfg);

    // A first mail: UTF-8 Chinese subject (encoded word), quoted-printable body, a log file
    // and an executable attached.
    imap.deliver(&format!(
        "From: =?UTF-8?B?546L6Iqz?= <{REQUESTER}>\n\
         To: support@chain.example\n\
         Subject: =?UTF-8?B?6IqC54K55ZCM5q2l5Y2h5L2P?= at 1,204,551\n\
         Message-ID: <first-1@example.cn>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=XX\n\
         \n\
         --XX\n\
         Content-Type: text/plain; charset=UTF-8\n\
         Content-Transfer-Encoding: quoted-printable\n\
         \n\
         =E8=8A=82=E7=82=B9 node-2 stopped importing blocks at 10:02.\n\
         --XX\n\
         Content-Type: text/plain; name=geth.log\n\
         Content-Disposition: attachment; filename=geth.log\n\
         \n\
         WARN [12-07|10:02:11] Synchronisation failed\n\
         --XX\n\
         Content-Type: application/octet-stream; name=fix.exe\n\
         Content-Disposition: attachment; filename=fix.exe\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         TVqQAAMAAAAEAAAA\n\
         --XX--\n"
    ));
    wait_for("the mailed ticket", Duration::from_secs(30), || {
        (ticket_count(&d) == "1").then_some(())
    });
    let t = d.json("/api/v1/tickets/1");
    assert_eq!(t["channel"], "email");
    assert_eq!(t["category"], "rpc");
    assert_eq!(t["subject"], "节点同步卡住 at 1,204,551");
    assert_eq!(t["requester"]["email"], REQUESTER);
    assert_eq!(t["requester"]["name"], "王芳");
    let first = &t["messages"][0];
    let body = first["body"].as_str().expect("body");
    assert!(body.contains("节点 node-2 stopped importing"), "{body}");
    assert!(
        body.contains("\"fix.exe\" was left out"),
        "the refused file is named: {body}"
    );
    assert_eq!(first["attachments"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["attachments"][0]["name"], "geth.log");
    assert_eq!(imap.unseen(), 0, "an imported mail is marked seen");

    // The requester gets the acknowledgement with the private link, Reply-To the mailbox.
    let ack = wait_for("the acknowledgement", Duration::from_secs(20), || {
        mails_to(&smtp, REQUESTER).into_iter().next()
    });
    assert_eq!(ack["subject"], "[#1] 节点同步卡住 at 1,204,551");
    assert_eq!(ack["reply_to"], "support@chain.example");

    // Staff answer; the reply arrives by SMTP in the ticket's thread.
    assert_eq!(
        d.post(
            "/api/v1/tickets/1/messages",
            &json!({"body": "We resynced node-2 from a snapshot; is it importing now?"})
        )
        .status(),
        201
    );
    let reply = wait_for("the staff reply by mail", Duration::from_secs(20), || {
        mails_to(&smtp, REQUESTER).into_iter().find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("resynced node-2"))
        })
    });
    assert_eq!(reply["in_reply_to"], "<ticket-1@chainops>");
    let staff_id = reply["message_id"]
        .as_str()
        .expect("message id")
        .to_string();

    // The requester answers from their mail client: In-Reply-To the staff mail, the
    // history quoted below. It threads onto #1 and reopens it; the quote is not kept.
    imap.deliver(&format!(
        "From: Wang Fang <{REQUESTER}>\nTo: support@chain.example\n\
         Subject: Re: [#1] node sync\nMessage-ID: <answer-2@example.cn>\n\
         In-Reply-To: {staff_id}\nReferences: <ticket-1@chainops> {staff_id}\n\
         Content-Type: text/plain; charset=UTF-8\n\n\
         Yes, it is at the head again. 谢谢！\n\n\
         On Mon, 7 Dec 2026 at 10:30, desk@chain.example wrote:\n\
         > We resynced node-2 from a snapshot; is it importing now?\n"
    ));
    wait_for("the threaded answer", Duration::from_secs(30), || {
        (messages(&d, 1).len() == 3).then_some(())
    });
    let m = messages(&d, 1);
    assert_eq!(m[2]["from"], "requester");
    assert_eq!(m[2]["body"], "Yes, it is at the head again. 谢谢！");
    assert_eq!(d.json("/api/v1/tickets/1")["state"], "open");

    // A stranger who knows the ticket number opens a ticket of their own; an auto-reply
    // and the first mail delivered again are not imported at all.
    imap.deliver(
        "From: mallory@evil.example\nSubject: Re: [#1] close this\n\
         Message-ID: <m-3@evil.example>\n\nPlease close the ticket.\n",
    );
    imap.deliver(&format!(
        "From: {REQUESTER}\nSubject: Out of office: [#1]\nAuto-Submitted: auto-replied\n\
         Message-ID: <ooo-4@example.cn>\n\nI am away until Monday.\n"
    ));
    imap.deliver(&format!(
        "From: {REQUESTER}\nSubject: again\nMessage-ID: <first-1@example.cn>\n\nresent\n"
    ));
    wait_for("every mail read", Duration::from_secs(30), || {
        (imap.unseen() == 0 && ticket_count(&d) == "2").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ticket_count(&d), "2");
    let t2 = d.json("/api/v1/tickets/2");
    assert_eq!(t2["requester"]["email"], "mallory@evil.example");
    assert_eq!(
        messages(&d, 1).len(),
        3,
        "#1 took nothing from the stranger"
    );

    // A restart polls again from the stored cursor: nothing is imported twice.
    d.proc.terminate();
    let d = Daemon::start(dir.path(), &cfg);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(ticket_count(&d), "2");
    assert_eq!(messages(&d, 1).len(), 3);
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    assert!(!log.contains("support mailbox poll failed"), "{log}");

    // A wrong password is named in the log and the daemon keeps serving.
    drop(d);
    std::fs::write(&pw, "wrong\n").expect("password file");
    let d = Daemon::start(dir.path(), &cfg);
    wait_for(
        "the login failure in the log",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(dir.path().join("daemon.log"))
                .ok()
                .filter(|l| {
                    l.contains("support mailbox poll failed") && l.contains("log in as support")
                })
        },
    );
    assert_eq!(
        client()
            .get(format!("{}/support", d.base))
            .send()
            .expect("portal")
            .status(),
        200
    );
}
