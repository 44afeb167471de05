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
    /// Check the signature of a staff reply (an .eml file): exit 0 when
    /// compliant, 1 when something is missing, 2 when the file or the config
    /// cannot be read.
    CheckSignature {
        /// The message, as a raw RFC 5322 file.
        file: PathBuf,
        /// Print `{"compliant": …, "missing": […], "author": …}`.
        #[arg(long)]
        json: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig => match crate::config::load(&cli.config) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::from(2)
            }
        },
        Command::CheckSignature { file, json } => {
            crate::signature::run_check_signature(&cli.config, &file, json)
        }
    }
}
