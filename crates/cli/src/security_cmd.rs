//! `chainops user …`, `chainops token …`, `chainops audit-log …`: work on the store directly
//! (the first admin must exist before anyone can log in), and record every change in the
//! audit trail as `cli:<os user>` from `local`.

use crate::cli::{AuditFormat, AuditLogCommand, GlobalOpts, TokenCommand, UserCommand};
use crate::config_load;
use crate::exit::KindError;
use anyhow::Context;
use chainops_auth::audit_trail::{AuditTrail, Entry};
use chainops_auth::service::parse_role;
use chainops_auth::{Auth, AuthError};
use chainops_config::Config;
use chainops_core::time::{now_ms, rfc3339};
use serde_json::{Value, json};
use std::io::{BufRead, IsTerminal, Write};

fn kind_err(e: AuthError) -> anyhow::Error {
    KindError(e.kind(), e.to_string()).into()
}

/// The operating-system user running the CLI.
/// Who runs the command, from the real uid (not `$USER`, which anyone can set): the
/// account name from the password database and the uid, e.g. `alice(uid=1000)`.
fn os_user() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => format!("{}(uid={uid})", u.name),
        _ => format!("uid={uid}"),
    }
}

struct Ctx {
    auth: Auth,
    trail: AuditTrail,
}

async fn open(g: &GlobalOpts) -> anyhow::Result<(Config, Ctx)> {
    let config = config_load::load(g)?;
    let store = config_load::existing_store(g, &config).await?;
    let trail = AuditTrail::open(store.clone(), &config.data_dir).map_err(kind_err)?;
    Ok((
        config,
        Ctx {
            auth: Auth::new(store),
            trail,
        },
    ))
}

impl Ctx {
    /// Appends the CLI action to the audit trail.
    async fn audit(
        &self,
        action: &str,
        target: &str,
        result: &str,
        detail: Value,
    ) -> anyhow::Result<()> {
        let e = Entry {
            actor: format!("cli:{}", os_user()),
            role: "admin".into(),
            source: "local".into(),
            action: action.into(),
            target: target.into(),
            result: result.into(),
            detail,
        };
        self.trail.record(e, now_ms()).await.map_err(kind_err)?;
        Ok(())
    }
}

/// Reads a password: the first line of stdin with `--password-stdin`, else a prompt with
/// echo off, asked twice.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    if !stdin.is_terminal() {
        return Err(KindError(
            chainops_core::ErrorKind::InvalidInput,
            "stdin is not a terminal; pass the password with --password-stdin".into(),
        )
        .into());
    }
    let first = prompt_hidden("Password: ")?;
    let second = prompt_hidden("Repeat password: ")?;
    if first != second {
        return Err(KindError(
            chainops_core::ErrorKind::InvalidInput,
            "the passwords do not match".into(),
        )
        .into());
    }
    Ok(first)
}

/// Reads one line from the terminal with echo off.
pub(crate) fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let saved = tcgetattr(&stdin).context("cannot read terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("cannot turn echo off")?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Runs a `user` subcommand.
pub async fn user(g: &GlobalOpts, c: &UserCommand) -> anyhow::Result<()> {
    let (_, ctx) = open(g).await?;
    match c {
        UserCommand::Add {
            name,
            role,
            password_stdin,
            json,
        } => {
            let role = parse_role(role).map_err(kind_err)?;
            let password = read_password(*password_stdin)?;
            match ctx.auth.add_user(name, role, &password, now_ms()).await {
                Ok(_) => {
                    ctx.audit("user.create", name, "ok", json!({"role": role}))
                        .await?;
                    if *json {
                        println!(
                            "{}",
                            json!({"name": name, "role": role.as_str(), "created": true})
                        );
                    } else {
                        println!("user {name} created with role {}", role.as_str());
                    }
                }
                Err(e) => {
                    ctx.audit(
                        "user.create",
                        name,
                        "failed",
                        json!({"error": e.to_string()}),
                    )
                    .await?;
                    return Err(kind_err(e));
                }
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = read_password(*password_stdin)?;
            let r = ctx.auth.set_password(name, &password, now_ms()).await;
            ctx.audit(
                "user.passwd",
                name,
                if r.is_ok() { "ok" } else { "failed" },
                json!({}),
            )
            .await?;
            r.map_err(kind_err)?;
            println!("password of {name} changed");
        }
        UserCommand::Remove { name, json } => {
            let r = ctx.auth.remove_user(name).await;
            ctx.audit(
                "user.delete",
                name,
                if r.is_ok() { "ok" } else { "failed" },
                json!({}),
            )
            .await?;
            r.map_err(kind_err)?;
            if *json {
                println!("{}", json!({"name": name, "removed": true}));
            } else {
                println!("user {name} removed");
            }
        }
        UserCommand::List(o) => {
            let users = ctx.auth.store().list_users().await?;
            if o.json {
                let v: Vec<Value> = users
                    .iter()
                    .map(|u| json!({"name": u.name, "role": u.role, "created": rfc3339(u.created_ms)}))
                    .collect();
                println!("{}", Value::Array(v));
            } else {
                println!("{:<24} {:<10} CREATED", "NAME", "ROLE");
                for u in users {
                    println!("{:<24} {:<10} {}", u.name, u.role, rfc3339(u.created_ms));
                }
            }
        }
    }
    Ok(())
}

/// Runs a `token` subcommand.
pub async fn token(g: &GlobalOpts, c: &TokenCommand) -> anyhow::Result<()> {
    let (_, ctx) = open(g).await?;
    match c {
        TokenCommand::Create {
            role,
            name,
            expires,
            json,
        } => {
            let role = parse_role(role).map_err(kind_err)?;
            let expires_in =
                chainops_auth::service::token_lifetime(Some(expires.as_str())).map_err(kind_err)?;
            let creator = format!("cli:{}", os_user());
            let (row, secret) = ctx
                .auth
                .create_token(name, role, expires_in, &creator, now_ms())
                .await
                .map_err(kind_err)?;
            ctx.audit(
                "token.create",
                &row.id,
                "ok",
                json!({"name": name, "role": role, "expires": row.expires_ms.map(rfc3339)}),
            )
            .await?;
            if *json {
                println!(
                    "{}",
                    json!({"id": row.id, "name": row.name, "role": row.role, "expires": row.expires_ms.map(rfc3339), "token": secret})
                );
            } else {
                println!("{secret}");
                eprintln!(
                    "token {} ({}, role {}, expires {}): shown once; store it now",
                    row.id,
                    row.name,
                    row.role,
                    row.expires_ms.map_or("never".into(), rfc3339)
                );
            }
        }
        TokenCommand::List(o) => {
            let tokens = ctx.auth.store().list_tokens().await?;
            let now = now_ms();
            if o.json {
                println!("{}", serde_json::to_value(&tokens)?);
            } else {
                println!(
                    "{:<14} {:<16} {:<10} {:<10} {:<24} LAST USED",
                    "ID", "NAME", "ROLE", "STATE", "EXPIRES"
                );
                for t in tokens {
                    let state = if t.revoked_ms.is_some() {
                        "revoked"
                    } else if t.expires_ms.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<14} {:<16} {:<10} {:<10} {:<24} {}",
                        t.id,
                        t.name,
                        t.role,
                        state,
                        t.expires_ms.map_or("never".into(), rfc3339),
                        t.last_used_ms.map_or("never".into(), rfc3339)
                    );
                }
            }
        }
        TokenCommand::Revoke { id, json } => {
            let r = ctx.auth.revoke_token(id, now_ms()).await;
            ctx.audit(
                "token.revoke",
                id,
                if r.is_ok() { "ok" } else { "failed" },
                json!({}),
            )
            .await?;
            r.map_err(kind_err)?;
            if *json {
                println!("{}", json!({"id": id, "revoked": true}));
            } else {
                println!("token {id} revoked");
            }
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Runs an `audit-log` subcommand.
pub async fn audit_log(g: &GlobalOpts, c: &AuditLogCommand) -> anyhow::Result<()> {
    let (config, ctx) = open(g).await?;
    match c {
        AuditLogCommand::Verify(o) => {
            let key = chainops_auth::audit_trail::public_key(
                &chainops_auth::audit_trail::key_path(&config.data_dir),
            )
            .map_err(kind_err)?;
            let r = chainops_auth::audit_trail::verify(ctx.auth.store(), &key)
                .await
                .map_err(kind_err)?;
            if o.json {
                println!("{}", json!({"ok": r.ok(), "report": r}));
            } else if let Some(bad) = &r.first_bad {
                println!("TAMPERED at record {}: {}", bad.seq, bad.reason);
            } else {
                println!(
                    "ok: {} records ({}–{}) chain intact, {} signed checkpoints valid",
                    r.records,
                    r.first_seq.unwrap_or(0),
                    r.last_seq.unwrap_or(0),
                    r.checkpoints
                );
            }
            if let Some(bad) = r.first_bad {
                return Err(KindError(
                    chainops_core::ErrorKind::Conflict,
                    format!("audit trail verification failed at record {}", bad.seq),
                )
                .into());
            }
        }
        AuditLogCommand::Export {
            format,
            since,
            output,
        } => {
            let now = now_ms();
            let since_ms = match since {
                None => i64::MIN,
                Some(s) => parse_since(s, now)?,
            };
            let rows = ctx
                .auth
                .store()
                .audit_records_since(since_ms, i64::MAX)
                .await?;
            let mut out: Box<dyn Write> = match output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            if matches!(format, AuditFormat::Csv) {
                writeln!(
                    out,
                    "seq,time,actor,role,source,action,target,result,detail,prev_hash,hash"
                )?;
            }
            for r in &rows {
                match format {
                    AuditFormat::Csv => writeln!(
                        out,
                        "{},{},{},{},{},{},{},{},{},{},{}",
                        r.seq,
                        rfc3339(r.at_ms),
                        csv_field(&r.actor),
                        csv_field(&r.role),
                        csv_field(&r.source),
                        csv_field(&r.action),
                        csv_field(&r.target),
                        csv_field(&r.result),
                        csv_field(&r.detail),
                        r.prev_hash,
                        r.hash
                    )?,
                    AuditFormat::Json => {
                        let mut v = serde_json::to_value(r)?;
                        v["time"] = Value::String(rfc3339(r.at_ms));
                        writeln!(out, "{v}")?;
                    }
                }
            }
            out.flush()?;
            if output.is_some() {
                eprintln!("{} records exported", rows.len());
            }
        }
    }
    Ok(())
}

/// `--since`: RFC 3339, epoch ms, or a duration ago (`7d`).
fn parse_since(s: &str, now: i64) -> anyhow::Result<i64> {
    if let Ok(d) = chainops_core::duration::parse_duration(s) {
        return Ok(now - d.as_millis() as i64);
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    chainops_core::time::parse_rfc3339(s).ok_or_else(|| {
        KindError(
            chainops_core::ErrorKind::InvalidInput,
            format!("--since \"{s}\" is not a time; use 7d, 2026-11-01T00:00:00Z or epoch ms"),
        )
        .into()
    })
}

/// Runs a `secret` subcommand.
pub fn secret(c: &crate::cli::SecretCommand) -> anyhow::Result<()> {
    use rand::RngCore;
    match c {
        crate::cli::SecretCommand::Keygen { output } => {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(output).with_context(|| {
                format!("cannot create {} (it must not exist yet)", output.display())
            })?;
            writeln!(f, "{}", chainops_auth::secrets::hex(&key))?;
            println!(
                "master key written to {}; set CHAINOPS_MASTER_KEY_FILE={}",
                output.display(),
                output.display()
            );
        }
        crate::cli::SecretCommand::Encrypt { key_file } => {
            let key = config_load::master_key(key_file.as_deref())?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let plain = line.trim_end_matches(['\n', '\r']);
            if plain.is_empty() {
                return Err(KindError(
                    chainops_core::ErrorKind::InvalidInput,
                    "nothing to encrypt: pipe the secret on stdin".into(),
                )
                .into());
            }
            let mut nonce = [0u8; 24];
            rand::rng().fill_bytes(&mut nonce);
            println!("{}", chainops_core::sealed::seal(&key, &nonce, plain));
        }
    }
    Ok(())
}
