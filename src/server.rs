//! The HTTP accept loop, hardened against slow and half-sent requests.
//!
//! `axum::serve` has no header-read timeout and no connection cap, so 1,100 idle
//! half-sent requests once exhausted the open-file limit and blocked every webhook.
//! Here: each connection must send its request headers within
//! `server.header_read_timeout_secs` (hyper closes it otherwise); a whole request,
//! body included, is answered within `server.request_timeout_secs` (408 otherwise,
//! `app.rs`); at most `server.max_connections` are served at once (more wait in the
//! kernel backlog); and the soft open-file limit is raised at start-up where the hard
//! limit allows, so the cap is reached before descriptors run out. HTTP/1.1 only: what
//! Zalo and reverse proxies speak.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::shutdown::Shutdown;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` until `stop`; then stops accepting and lets open connections finish
/// their request in progress (idle keep-alive connections are closed).
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, stop: Shutdown) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = stop.wait() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait() => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer address lets the console rate-limit sign-in attempts per client.
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Raises the soft open-file limit towards the hard limit (Unix), so the connection
/// cap, not the descriptor table, bounds what slow clients can hold. Returns the new
/// soft limit when it could be read.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn raise_open_file_limit(wanted: u64) -> Option<u64> {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit on a local struct; no memory is shared.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        let target = (wanted as libc::rlim_t).min(limit.rlim_max);
        if target > limit.rlim_cur {
            let raised = libc::rlimit { rlim_cur: target, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Some(target as u64);
            }
            tracing::warn!(
                soft = limit.rlim_cur as u64,
                wanted,
                "could not raise the open-file limit"
            );
        }
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = wanted;
        None
    }
}
