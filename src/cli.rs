//! Command line (SPEC §9). Commands are added as they work.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "replygate",
    version,
    about = "Keeps a shared client mailbox's promises"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(short, long, global = true, default_value = "/etc/replygate/replygate.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the config, templates and secret files.
    CheckConfig,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig => check_config(&cli.config),
    }
}

/// `check-config`: exit 0 with a short summary, or 2 listing every problem
/// (warnings are printed in both cases). Never prints a secret.
fn check_config(path: &std::path::Path) -> ExitCode {
    use crate::config::{Problem, Severity};
    let print = |p: &Problem| match p.severity {
        Severity::Error => eprintln!("{p}"),
        Severity::Warning => eprintln!("warning: {p}"),
    };
    match crate::config::check(path) {
        Ok(report) => {
            #[allow(unused_mut)]
            let mut problems: Vec<Problem> = Vec::new();
            // HOOK (templates): run the template checks on `report.config`
            // here and push their problems (Severity::Error refuses).
            for w in &report.warnings {
                print(w);
            }
            for p in &problems {
                print(p);
            }
            if problems.iter().any(|p| p.severity == Severity::Error) {
                eprintln!("{}: configuration refused", path.display());
                return ExitCode::from(2);
            }
            println!("{}", report.summary());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                print(p);
            }
            let n = problems.iter().filter(|p| p.severity == Severity::Error).count();
            eprintln!(
                "{}: configuration refused: {n} problem{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            ExitCode::from(2)
        }
    }
}
