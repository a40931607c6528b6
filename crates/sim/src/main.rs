//! `outbound-sim`: the calling platform's simulator as a process. Prints `listening on <port>`
//! on stdout when ready; logs go to stderr. See docs/simulator.md.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use outbound_sim::{
    DEFAULT_HANG_SECS, DEFAULT_JOURNAL_LIMIT, FaultConfig, Fixtures, SimConfig, SimEndpoint, Simulator,
    parse_endpoint_value,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

/// Simulator of the AI outbound-calling platform's task API.
#[derive(Debug, Parser)]
#[command(name = "outbound-sim", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Bearer token that platform calls must carry.
    #[arg(long, env = "OUTBOUND_SIM_TOKEN", hide_env_values = true)]
    token: String,
    /// Fixture file (YAML or JSON) with `lines` and `tasks`; empty platform when absent.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Server-side budget in requests per second; calls above it get 429 with Retry-After: 1.
    #[arg(long, value_name = "RPS")]
    rate_limit: Option<f64>,
    /// Answer the next N platform calls with 429.
    #[arg(long, value_name = "N", default_value_t = 0)]
    throttle_next: u64,
    /// Latency in ms, for all endpoints (`200`) or one (`detail=200`). Repeatable.
    #[arg(long, value_name = "[ENDPOINT=]MS")]
    latency_ms: Vec<String>,
    /// Fraction of calls answered 500/503, for all endpoints or one (`update=0.5`). Repeatable.
    #[arg(long, value_name = "[ENDPOINT=]RATE")]
    error_rate: Vec<String>,
    /// Fraction of calls whose 200 body is cut (invalid JSON), all endpoints or one. Repeatable.
    #[arg(long, value_name = "[ENDPOINT=]RATE")]
    malformed_rate: Vec<String>,
    /// Endpoint whose calls hang for --hang-secs then get 504. Repeatable.
    #[arg(long, value_name = "ENDPOINT")]
    hang: Vec<SimEndpoint>,
    /// Fraction of calls that hang, for all endpoints or one (`pause=0.05`). Repeatable.
    #[arg(long, value_name = "[ENDPOINT=]RATE")]
    hang_rate: Vec<String>,
    /// How long a hanging call sleeps.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HANG_SECS)]
    hang_secs: u64,
    /// After task_stop the task stays running this long before it becomes paused.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    slow_pause_secs: f64,
    /// Journal entries kept (ring buffer).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOURNAL_LIMIT)]
    journal_limit: usize,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

impl Args {
    fn fault_config(&self) -> anyhow::Result<FaultConfig> {
        let mut faults = FaultConfig {
            throttle_next: self.throttle_next,
            rate_limit_rps: self.rate_limit,
            slow_pause_secs: self.slow_pause_secs,
            hang_secs: self.hang_secs,
            ..FaultConfig::default()
        };
        for spec in &self.latency_ms {
            let (endpoints, ms) = parse_endpoint_value::<u64>(spec).map_err(anyhow::Error::msg)?;
            endpoints
                .into_iter()
                .for_each(|endpoint| faults.endpoint_mut(endpoint).latency_ms = ms);
        }
        for spec in &self.error_rate {
            let (endpoints, rate) = parse_endpoint_value::<f64>(spec).map_err(anyhow::Error::msg)?;
            endpoints
                .into_iter()
                .for_each(|endpoint| faults.endpoint_mut(endpoint).error_rate = rate);
        }
        for spec in &self.malformed_rate {
            let (endpoints, rate) = parse_endpoint_value::<f64>(spec).map_err(anyhow::Error::msg)?;
            endpoints
                .into_iter()
                .for_each(|endpoint| faults.endpoint_mut(endpoint).malformed_rate = rate);
        }
        for spec in &self.hang_rate {
            let (endpoints, rate) = parse_endpoint_value::<f64>(spec).map_err(anyhow::Error::msg)?;
            endpoints
                .into_iter()
                .for_each(|endpoint| faults.endpoint_mut(endpoint).hang_rate = rate);
        }
        for endpoint in &self.hang {
            faults.endpoint_mut(*endpoint).hang = true;
        }
        faults.validate().map_err(anyhow::Error::msg)?;
        Ok(faults)
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(args.log_format);
    let fixtures = match &args.fixtures {
        Some(path) => Fixtures::load(path)?,
        None => Fixtures::default(),
    };
    let config = SimConfig {
        listen: args.listen,
        token: args.token.clone(),
        faults: args.fault_config()?,
        journal_limit: args.journal_limit,
        fixtures,
    };
    let task_count = config.fixtures.tasks.len();
    let line_count = config.fixtures.lines.len();
    let sim = Simulator::start(config).await?;
    tracing::info!(
        address = %sim.addr(),
        tasks = task_count,
        lines = line_count,
        "outbound-sim started"
    );
    // Scripts and tests wait for exactly this line.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", sim.port()).context("cannot write to stdout")?;
    stdout.flush().context("cannot flush stdout")?;
    drop(stdout);

    shutdown_signal().await;
    sim.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM (what Kubernetes and process supervisors send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
