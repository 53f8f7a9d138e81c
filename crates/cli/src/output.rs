//! Writing command output to stdout.

use std::io::Write;

/// Prints `text` and a newline; a closed pipe (`| head`) ends the command quietly.
pub fn print(text: &str) -> anyhow::Result<()> {
    match writeln!(std::io::stdout(), "{}", text.trim_end()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}
