//! End-to-end specification of `chainops`: the real binary against real nodes (anvil,
//! litecoind), real promtool, on 127.0.0.1 with free ports and temp dirs.

mod harness;

mod alerting;
mod anvil;
mod audit;
mod backup;
mod backup_daemon;
mod bench;
mod cli;
mod cluster;
mod console;
mod dashboards;
mod desk;
mod desk_mail;
mod doctor;
mod litecoin;
mod logs;
mod monero;
mod notifiers;
mod packaging;
mod reload;
mod remote_write;
mod security;
