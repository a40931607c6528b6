//! The imperative shell: watches OutboundTasks (and the accounts and Secrets they use), reads the
//! remote task, asks the planner what to do, executes it crash-safely and reports.

mod accounts;
mod args;
mod context;
mod intake;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod shard;
mod writes;

pub use args::{RunArgs, Settings};
// What a Context is built from, nameable outside the crate: `run` builds one from the watches,
// tests/people_properties.rs from an in-memory API server's caches; the kubectl plugin reads
// tokens with the same cache.
pub use accounts::tokens::{TokenCache, TokenError};
pub use context::{Context, Parts};
pub use intake::queue::WorkQueue;

use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use prometheus_client::registry::Registry;

use outbound_platform::Fence;

/// Runs the controller until SIGTERM/SIGINT (or, with `--leader-elect`, until leadership is
/// lost: no renewal within the renew deadline, or another holder. Platform writes stop at that
/// instant (the fence) and the process exits, so that it restarts as a follower and never acts
/// without the Lease).
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    outbound_platform::install_crypto_provider();
    let mut registry = Registry::default();
    let kube_requests = metrics::kube_client::KubeRequestMetrics::default();
    kube_requests.register(&mut registry);
    let config = kube::Config::infer()
        .await
        .context("reading the kubeconfig (KUBECONFIG, or in-cluster)")?;
    let client = kube::client::ClientBuilder::try_from(config)
        .context("building the Kubernetes client")?
        .with_layer(&kube_requests.layer())
        .build();
    let metrics = Arc::new(metrics::controller::ControllerMetrics::default());
    metrics.register(&mut registry);
    let remote_metrics = Arc::new(outbound_platform::RemoteMetrics::new());
    remote_metrics.register(&mut registry);
    let lease = args.leader_elect.then(|| {
        args.leader_election_id
            .clone()
            .unwrap_or_else(|| shard::default_lease_name(args.namespace.as_deref(), args.watch_label_selector.as_ref()))
    });
    let fleet = metrics::fleet::FleetMetrics::new(lease.as_deref());
    fleet.register(&mut registry);
    let identity = args.identity.clone().unwrap_or_else(leader::default_identity);
    // With leader election every platform write waits for the Lease (and stops with it).
    let fence = if args.leader_elect {
        Fence::closed()
    } else {
        Fence::unfenced()
    };
    let pool = outbound_platform::ClientPool::fenced(remote_metrics, fence.clone(), Some(&identity))
        .context("building the platform HTTP client")?;
    let readiness = metrics::server::Readiness::default();
    let server = tokio::spawn(metrics::server::serve(
        args.metrics_addr,
        Arc::new(registry),
        readiness.clone(),
    ));

    let leadership = if let Some(lease) = lease {
        // A follower stands by, ready to take over: were it not Ready, a rolling update (new
        // pods must be Ready before old ones go) would wait for ever behind the leader.
        readiness.set(true);
        let namespace = args.leader_election_namespace.as_deref().unwrap_or("default");
        let share = shard::share_of(args.watch_label_selector.as_ref());
        let leadership = leader::acquire(client.clone(), namespace, &lease, &share, &identity, fence).await?;
        // The leader is Ready again once its caches have synced (`controller` below).
        readiness.set(false);
        Some(leadership)
    } else {
        None
    };
    fleet.set_leader(true);

    let (queue, starts) = intake::queue::WorkQueue::new(args.concurrency.into(), metrics.clone());
    let queue = Arc::new(queue);
    let shard = args.watch_label_selector.as_ref();
    if let Some(selector) = shard {
        tracing::info!(%selector, "reconciling only the OutboundTasks this shard's selector matches");
    }
    let tokens = Arc::new(accounts::tokens::TokenCache::default());
    let watched = intake::watches::Watched::start(
        &client,
        args.namespace.as_deref(),
        shard,
        args.list_page_size,
        tokens.clone(),
        Arc::new(intake::health::WatchHealth::new(readiness.clone())),
    );
    fleet.observe(watched.tasks.clone(), watched.accounts.clone());
    let (accounts_listed_tx, accounts_listed) = tokio::sync::watch::channel(false);
    let parts = context::Parts {
        client: client.clone(),
        metrics,
        pool,
        tokens: tokens.clone(),
        accounts: watched.accounts.clone(),
        accounts_listed,
        tasks: watched.tasks.clone(),
        queue,
    };
    let ctx = Arc::new(Context::new(parts, Settings::from(&args), Some(identity)));
    let controller = controller(ctx, watched, starts, accounts_listed_tx, readiness.clone());
    let outcome = match leadership {
        Some(mut lease) => tokio::select! {
            // Shut down gracefully: hand the Lease over now rather than make the next leader
            // wait out its duration (client-go's ReleaseOnCancel).
            () = controller => {
                lease.release().await;
                Ok(())
            }
            lost = lease.lost() => Err(lost),
        },
        None => {
            controller.await;
            Ok(())
        }
    };
    server.abort();
    outcome
}

/// The kube-runtime controller, with graceful shutdown: on SIGTERM it stops taking new work and
/// lets reconciles in flight finish their pause/update/resume.
async fn controller(
    ctx: Arc<Context>,
    watched: intake::watches::Watched,
    starts: intake::queue::Starts,
    accounts_listed: tokio::sync::watch::Sender<bool>,
    readiness: metrics::server::Readiness,
) {
    // No limit in kube-runtime: at its limit it parks due work in a HashSet and serves it in hash
    // order, starving some tasks for good (tests/kube_runtime_scheduler.rs). Triggers go to
    // `queue` instead, which asks kube-runtime to start a task once one of `--concurrency`
    // workers is free for it (`starts`); kube-runtime's own triggers are only its requeues.
    let config = ControllerConfig::default().concurrency(0);
    let queue = ctx.queue.clone();
    let feed = watched.triggers.offer_all(
        watched.tasks.clone(),
        watched.accounts.clone(),
        queue.clone(),
        ctx.waiting.clone(),
    );
    let controller = Controller::for_stream(futures::stream::empty(), watched.tasks.clone())
        .with_config(config)
        .reconcile_on(starts)
        .graceful_shutdown_on(async move {
            shutdown_signal().await;
            queue.close();
        })
        .run(reconcile::reconcile, reconcile::error_policy, ctx.clone());
    let controller = controller.for_each(|outcome| {
        if let Err(kube::runtime::controller::Error::ObjectNotFound(gone)) = outcome {
            ctx.queue
                .forget(gone.namespace.as_deref().unwrap_or_default(), &gone.name);
        }
        futures::future::ready(())
    });
    // Ready once the task and account caches have listed (so no task is wrongly AccountNotFound
    // at start, and a leader is Ready only once it can reconcile).
    let (tasks, accounts) = (watched.tasks.clone(), watched.accounts.clone());
    let ready = async move {
        let _ = tasks.wait_until_ready().await;
        let _ = accounts.wait_until_ready().await;
        let _ = accounts_listed.send(true);
        readiness.set(true);
        tracing::info!("caches synced; reconciling");
    };
    // The controller ends (after a graceful shutdown) while the watches still run.
    tokio::select! {
        ((), ()) = futures::future::join(controller, ready) => {}
        () = feed => {}
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down: finishing reconciles in flight");
}
