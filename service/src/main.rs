//! The `jitgate` binary: `jitgate serve` runs the approval service; every other subcommand is
//! a client of it (docs/INTERFACE.md).

/// One line on stderr per state change, timestamped, for admins and test logs.
macro_rules! log_event {
    ($($arg:tt)*) => {
        eprintln!("{} {}", jitgate::wire::format_time(jitgate::wire::now_millis()), format_args!($($arg)*))
    };
}

mod api;
mod caller;
mod chain;
mod check;
mod client;
mod config;
mod context;
mod error;
mod feed_server;
mod identity;
mod metrics;
mod notify;
mod oidc;
mod render;
mod router;
mod secret;
mod serve;
mod signin;
mod slack;
mod state;
mod store;
mod tls;
mod tokens;
mod views;
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
    /// Manage plugin tokens (on the service's host, in its tokens file)
    #[command(subcommand)]
    Token(TokenCommand),
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

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a plugin token bound to a host (and optionally a user); prints it once. The
    /// running service picks it up without a restart.
    Add {
        /// The host whose name the service stamps on every audit event this token posts
        #[arg(long, value_name = "NAME")]
        host: String,
        /// Bind it to one user too (a Spark driver's): its feed carries only that user's
        /// grants, and it records and consumes for that user alone
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// The service's TOML config (for `plugins.tokens_file` or `data_dir`)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The service's data directory (overrides `data_dir`)
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Token(TokenCommand::Add {
            host,
            user,
            config,
            data,
        }) => {
            let overrides = config::Overrides {
                listen: None,
                data_dir: data,
            };
            let added = config::load(config.as_deref(), &overrides).and_then(|settings| {
                let file = tokens::file(settings.tokens_file.as_deref(), &settings.data_dir);
                std::fs::create_dir_all(&settings.data_dir).map_err(|e| e.to_string())?;
                tokens::add(&file, &host, user.as_deref()).map(|t| (t, file))
            });
            match added {
                Ok((token, file)) => {
                    println!("{token}");
                    eprintln!(
                        "jitgate: token for host {host}{} added to {} (only its digest is kept): \
                         put it in the plugin's jitgate.service.token.file, and set jitgate.host={host}",
                        user.map(|u| format!(" and user {u}")).unwrap_or_default(),
                        file.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("jitgate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
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
        return match feed_server::FeedSigner::open(&settings.data_dir) {
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
