//! The `jitgate` binary: `jitgate serve` runs the approval service; every other subcommand is
//! a client of it (see CONTRACT.md).

/// One line on stderr per state change, timestamped, for admins and test logs.
macro_rules! log_event {
    ($($arg:tt)*) => {
        eprintln!("{} {}", jitgate::wire::format_time(jitgate::wire::now_millis()), format_args!($($arg)*))
    };
}

mod api;
mod client;
mod config;
mod error;
mod feed;
mod identity;
mod notify;
mod oidc;
mod serve;
mod store;
mod tls;
mod web;
mod zones;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "jitgate",
    version,
    about = "Just-in-time action approval for Hadoop data lakes"
)]
struct Cli {
    #[command(flatten)]
    client: client::Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the approval service
    Serve(ServeArgs),
    #[command(flatten)]
    Client(client::Command),
}

#[derive(Args)]
struct ServeArgs {
    /// TOML config file; without one, the built-in example zones on 127.0.0.1:8470
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8470 (overrides `listen`)
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Directory for the database and the generated plugin token (overrides `data_dir`)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print the public key plugins pin (jitgate.service.public.key), creating the key pair in
    /// the data directory at the first use, and exit
    #[arg(long)]
    print_public_key: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Client(command) => client::run(&cli.client, command),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let overrides = config::Overrides {
        listen: args.listen,
        data_dir: args.data,
    };
    let settings = match config::load(args.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jitgate: {e}");
            return ExitCode::from(2);
        }
    };
    if args.print_public_key {
        return match feed::FeedSigner::open(&settings.data_dir) {
            Ok((signer, _)) => {
                println!("{}", signer.public());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("jitgate: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    match runtime.block_on(serve::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitgate: {e}");
            ExitCode::FAILURE
        }
    }
}
