//! The `chainops` binary: command-line parsing, config loading and wiring (the composition
//! root). Library crates hold the logic; this crate picks implementations and connects them.

mod alerts_cmd;
mod api_client;
mod audit_cmd;
mod backup_cmd;
mod backup_jobs_cmd;
mod bench_cmd;
mod cli;
mod config_load;
mod dashboards_cmd;
mod doctor_cmd;
mod exit;
mod generation;
mod history_cmd;
mod logs_cmd;
mod logs_wiring;
mod nodes_cmd;
mod notify_cmd;
mod output;
mod reload;
mod rules_cmd;
mod security_cmd;
mod serve;
mod systemd;
mod util;

use clap::Parser;

fn main() {
    // Files chainops creates (the database, logs, keys, repositories) are owner-only.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let args = cli::Cli::parse();
    let code = match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::code_for(&e)
        }
    };
    std::process::exit(code);
}

fn run(args: cli::Cli) -> anyhow::Result<()> {
    use cli::{Command, ConfigCommand, NodesCommand, NotifyCommand, RulesCommand};
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    match args.command {
        Command::Serve(s) => {
            cli::init_logging(&args.global)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve::run(&args.global, s))
        }
        Command::Config {
            command: ConfigCommand::Check(o),
        } => config_load::check(&args.global, &o),
        Command::Config {
            command: ConfigCommand::Show(o),
        } => config_load::show(&args.global, &o),
        Command::Nodes {
            command: NodesCommand::List(o),
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(nodes_cmd::list(&args.global, &o))
        }
        Command::Nodes {
            command: NodesCommand::Show { name, json, server },
        } => current_thread()?.block_on(nodes_cmd::show(&args.global, &name, json, &server)),
        Command::Rules {
            command: RulesCommand::List(o),
        } => rules_cmd::list(&args.global, &o),
        Command::Rules {
            command: RulesCommand::Export(o),
        } => rules_cmd::export(&args.global, &o),
        Command::History(o) => current_thread()?.block_on(history_cmd::run(&args.global, &o)),
        Command::Alerts { command } => {
            current_thread()?.block_on(alerts_cmd::alerts(&args.global, &command))
        }
        Command::Incidents { command } => {
            current_thread()?.block_on(alerts_cmd::incidents(&args.global, &command))
        }
        Command::Silences { command } => {
            current_thread()?.block_on(alerts_cmd::silences(&args.global, &command))
        }
        Command::Notify {
            command: NotifyCommand::Test(o),
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(notify_cmd::test(&args.global, &o))
        }
        Command::User { command } => {
            current_thread()?.block_on(security_cmd::user(&args.global, &command))
        }
        Command::Token { command } => {
            current_thread()?.block_on(security_cmd::token(&args.global, &command))
        }
        Command::AuditLog { command } => {
            current_thread()?.block_on(security_cmd::audit_log(&args.global, &command))
        }
        Command::Bench { command } => bench_cmd::run(&args.global, command),
        Command::Audit(mut o) => {
            if o.json {
                o.format = "json".into();
            }
            audit_cmd::run(&args.global, &o)
        }
        Command::Backup { command } => {
            cli::init_logging(&args.global)?;
            match command {
                cli::BackupCommand::RunJob { name, drill, json } => current_thread()?.block_on(
                    backup_jobs_cmd::run_job_cmd(&args.global, &name, drill, json),
                ),
                cli::BackupCommand::Runs { job, limit, json } => current_thread()?.block_on(
                    backup_jobs_cmd::runs_cmd(&args.global, job.as_deref(), limit, json),
                ),
                cli::BackupCommand::Create(mut o) => {
                    backup_cmd::from_config_node(&args.global, &mut o)?;
                    backup_cmd::run(cli::BackupCommand::Create(o))
                }
                other => backup_cmd::run(other),
            }
        }
        Command::Logs { command } => {
            if matches!(command, cli::LogsCommand::Import { .. }) {
                cli::init_logging(&args.global)?;
            }
            current_thread()?.block_on(logs_cmd::run(&args.global, &command))
        }
        Command::Secret { command } => security_cmd::secret(&command),
        Command::Doctor(o) => current_thread()?.block_on(doctor_cmd::run(&args.global, &o)),
        Command::Dashboards {
            command: cli::DashboardsCommand::Export(o),
        } => dashboards_cmd::export(&args.global, &o),
        Command::Dashboards {
            command: cli::DashboardsCommand::Check(o),
        } => current_thread()?.block_on(dashboards_cmd::check(&o)),
        Command::Completions { shell } => {
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            // Into memory first: the generator panics on a write error, and `| head` is one.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "chainops", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow::anyhow!("cannot write the completion script: {e}"))
                }
                _ => Ok(()),
            }
        }
        Command::Man { out_dir } => {
            std::fs::create_dir_all(&out_dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
            clap_mangen::generate_to(<cli::Cli as clap::CommandFactory>::command(), &out_dir)
                .map_err(|e| {
                    anyhow::anyhow!("cannot write manual pages into {}: {e}", out_dir.display())
                })?;
            let pages = std::fs::read_dir(&out_dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
                        .count()
                })
                .unwrap_or(0);
            println!(
                "{pages} manual pages in {} (man -l {}/chainops.1)",
                out_dir.display(),
                out_dir.display()
            );
            Ok(())
        }
        Command::Version(o) => {
            if o.json {
                println!(
                    "{}",
                    serde_json::json!({"name": "chainops", "version": env!("CARGO_PKG_VERSION")})
                );
            } else {
                println!("chainops {}", env!("CARGO_PKG_VERSION"));
            }
            Ok(())
        }
    }
}
