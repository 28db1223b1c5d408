//! Slow or half-sent requests cannot starve the webhook: 1,100 connections dribbling
//! their headers a byte at a time stay open while real signed webhooks are answered
//! within 2 s, and the header-read timeout closes the dribblers.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dribbling_connections_do_not_block_real_webhooks() {
    let app = spawn_app_with(|s| s.server.header_read_timeout_secs = 3).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut dribblers = Vec::new();
    for _ in 0..1_100 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream.write_all(b"POST /webhook/zalo HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        dribblers.push(stream);
    }
    for round in 0..2 {
        for stream in dribblers.iter_mut() {
            let _ = stream.write_all(b"a").await;
        }
        let started = Instant::now();
        let status = app.user_says("880000000000000001", &format!("slow-{round}"), "menu").await;
        let took = started.elapsed();
        eprintln!("webhook with 1,100 dribbling connections open: {status} in {took:?}");
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "answered in {took:?}");
    }
    // The header-read timeout (3 s here) closes every dribbler.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut closed = 0;
    for stream in dribblers.iter_mut() {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1, // EOF, an error answer, or a reset
            Err(_) => {}
        }
    }
    assert_eq!(closed, dribblers.len(), "the header-read timeout closed every dribbler");
    assert!(!app.wait_for_messages("880000000000000001", 1).await.is_empty());
}
