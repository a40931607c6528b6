//! Review D17: a write checked against the fence must not be sent long after the check because
//! its connection took long to open.
//!
//! A slow connect is made for real on loopback: a listener whose accept queue (backlog 0) is
//! already full drops the client's SYNs, as a congested or far-away host does; the client's
//! kernel sends the SYN again after 1 s and 3 s. The test frees the queue at 2.5 s, so a client
//! without a connect timeout gets its connection at about 3 s and sends the write then, 2 s
//! after the fence closed. Either `CONNECT_TIMEOUT` or `UNACKED_TIMEOUT` alone gives this
//! connect up (on Linux `TCP_USER_TIMEOUT` also ends the SYN's retries): the test fails with
//! both removed. That a written request stops being retransmitted is not shown here (it would
//! take dropping packets). (A listener that accepts TCP and never answers TLS/HTTP would show a
//! hang of the request, which `requestTimeout` bounds; it says nothing about the connect.)

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::config::tests::spec;
use crate::{ClientConfig, ErrorKind, Fence, PlatformClient, RemoteMetrics, Token};

const QUEUE_FREED_AFTER: Duration = Duration::from_millis(2500);
const FENCE_OPEN_FOR: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_write_whose_connection_opens_late_is_given_up_and_then_fenced() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fills the accept queue: further SYNs are dropped until it is accepted.
    let _filler = std::net::TcpStream::connect(addr).unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), tokio::net::TcpStream::connect(addr))
            .await
            .is_err(),
        "a connect to the full queue hangs"
    );

    let started = Instant::now();
    let server = tokio::spawn(async move {
        tokio::time::sleep_until(started + QUEUE_FREED_AFTER).await;
        drop(listener.accept().await.unwrap()); // the filler
        let mut received = Vec::new();
        let until = started + Duration::from_secs(8);
        while let Ok(Ok((mut stream, _))) = tokio::time::timeout_at(until, listener.accept()).await {
            let mut buffer = [0u8; 4096];
            if let Ok(Ok(read)) = tokio::time::timeout_at(until, stream.read(&mut buffer)).await {
                received.extend_from_slice(&buffer[..read]);
            }
        }
        String::from_utf8_lossy(&received).into_owned()
    });

    let config = ClientConfig::from_spec(&spec(&format!("http://{addr}"))).unwrap();
    let fence = Fence::closed();
    fence.hold_until(started + FENCE_OPEN_FOR);
    let client = PlatformClient::new(config, Arc::new(RemoteMetrics::new()))
        .unwrap()
        .fenced(fence);
    let error = client
        .pause(&Token::new("token"), "task-1", None)
        .await
        .expect_err("nothing answers");
    let received = server.await.unwrap();
    assert!(
        received.is_empty(),
        "the write reached the host although the fence closed {FENCE_OPEN_FOR:?} after the check: {received:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Fenced, "{error}");
}
