//! Connection limits: idle or slow clients cannot take the daemon's file descriptors.
//!
//! Every accepted connection takes a slot of a global budget and of its source address's
//! budget before hyper reads a byte; a connection over either budget is closed at once and
//! counted. Request headers must arrive within `header_read_timeout` (hyper), the first
//! request within the same time (axum-server), and a request body within `body_timeout`
//! (tower-http). The global budget never exceeds half the process's descriptor limit, so
//! node polling, the store and log tailing keep the other half.

use axum_server::accept::Accept;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Largest console upload (`multipart/form-data`: a load-test report, a zipped project).
pub const MAX_UPLOAD_BYTES: usize = 16 << 20;

/// The limits of the HTTP listener (`[server]` keys of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionLimits {
    /// Connections open at once, all clients together.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's headers (and its first request).
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's body.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub body_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

impl ConnectionLimits {
    /// The global budget actually used: at most half of `fd_limit` (the process's
    /// descriptor limit), so the rest stays for nodes, the store and log files.
    pub fn effective_max(&self, fd_limit: u64) -> usize {
        let half = usize::try_from(fd_limit / 2).unwrap_or(usize::MAX).max(64);
        self.max_connections.min(half)
    }
}

static OPEN: AtomicUsize = AtomicUsize::new(0);
static REJECTED_GLOBAL: AtomicU64 = AtomicU64::new(0);
static REJECTED_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// `chainops_http_connections_open` and `chainops_http_connections_rejected_total{reason}`.
pub fn render() -> String {
    use chainops_core::exposition::family;
    let mut out = String::new();
    family(
        &mut out,
        "chainops_http_connections_open",
        "gauge",
        "HTTP connections open now.",
        [(vec![], OPEN.load(Ordering::Relaxed) as f64)],
    );
    family(
        &mut out,
        "chainops_http_connections_rejected_total",
        "counter",
        "HTTP connections closed on accept because a connection limit was reached.",
        [
            (
                vec![("reason", "max_connections")],
                REJECTED_GLOBAL.load(Ordering::Relaxed) as f64,
            ),
            (
                vec![("reason", "max_connections_per_address")],
                REJECTED_ADDRESS.load(Ordering::Relaxed) as f64,
            ),
        ],
    );
    out
}

/// The acceptor that enforces the budgets, in front of `inner` (plain or TLS).
#[derive(Clone)]
pub struct LimitAcceptor<A> {
    inner: A,
    max: usize,
    per_address: usize,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl<A> LimitAcceptor<A> {
    /// Limits `inner` to `max` connections, `per_address` from one address.
    pub fn new(inner: A, max: usize, per_address: usize) -> Self {
        Self {
            inner,
            max,
            per_address,
            by_address: Arc::default(),
        }
    }

    /// Takes a slot for `ip`, or says which budget is exhausted.
    fn admit(&self, ip: IpAddr) -> Result<Slot, &'static str> {
        if OPEN.fetch_add(1, Ordering::AcqRel) >= self.max {
            OPEN.fetch_sub(1, Ordering::AcqRel);
            REJECTED_GLOBAL.fetch_add(1, Ordering::Relaxed);
            return Err("max_connections");
        }
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= self.per_address {
            drop(map);
            OPEN.fetch_sub(1, Ordering::AcqRel);
            REJECTED_ADDRESS.fetch_add(1, Ordering::Relaxed);
            return Err("max_connections_per_address");
        }
        *n += 1;
        Ok(Slot {
            ip,
            by_address: self.by_address.clone(),
        })
    }
}

/// A held connection slot, released when the connection's stream is dropped.
struct Slot {
    ip: IpAddr,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::AcqRel);
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A stream that holds its connection slot.
pub struct Limited<S> {
    inner: S,
    _slot: Slot,
}

impl<S: AsyncRead + Unpin> AsyncRead for Limited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Limited<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

impl<A, S> Accept<TcpStream, S> for LimitAcceptor<A>
where
    A: Accept<TcpStream, S> + Clone + Send + Sync + 'static,
    A::Stream: Send,
    A::Service: Send,
    A::Future: Send + 'static,
    S: Send + 'static,
{
    type Stream = Limited<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let ip = stream
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let slot = self.admit(ip);
        let inner = self.inner.clone();
        Box::pin(async move {
            let slot = slot.map_err(|why| {
                tracing::debug!(%ip, limit = why, "connection refused at accept");
                io::Error::other(format!("{why} reached"))
            })?;
            let (inner, service) = inner.accept(stream, service).await?;
            Ok((Limited { inner, _slot: slot }, service))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_address_and_global_and_slots_come_back() {
        let acc = LimitAcceptor::new((), 3, 2);
        let a = IpAddr::from([127, 0, 0, 2]);
        let b = IpAddr::from([127, 0, 0, 3]);
        let base = OPEN.load(Ordering::Relaxed);
        let s1 = acc.admit(a).expect("first");
        let s2 = acc.admit(a).expect("second");
        assert_eq!(acc.admit(a).err(), Some("max_connections_per_address"));
        let s3 = acc.admit(b).expect("other address");
        if base == 0 {
            assert_eq!(acc.admit(b).err(), Some("max_connections"));
        }
        drop((s1, s2, s3));
        assert!(
            acc.admit(a).is_ok(),
            "slots are released with their streams"
        );
        assert!(acc.by_address.lock().map(|m| m.is_empty()).unwrap_or(false));
        let limits = ConnectionLimits::default();
        assert_eq!(limits.effective_max(1024), 512);
        assert_eq!(limits.effective_max(1_000_000), 4096);
    }
}
