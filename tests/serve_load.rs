//! `radiochat serve` under load and abuse on loopback, as on a shared node where any user can
//! reach the port: 1,000 idle connections, 20 slow-loris clients and 50 unauthenticated
//! requests declaring a 1 GB body, all at once, while an authorised client is still answered
//! within 5 s and the server's memory stays under twice its idle size. Then the connection
//! bound: beyond it, 503 and the server goes on.

mod common;

use common::serve::{Served, post_chat};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Room for the test's own sockets (each connection is an fd here too).
fn raise_fd_limit() {
    // SAFETY: reading and setting this process's own limits.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(8192);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

fn ask(address: &str, key: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let body = json!({"messages": [{"role": "user", "content": "Describe it."}], "max_tokens": 4});
    let (status, answer) = post_chat(address, &body.to_string(), Some(key));
    (status, answer, started.elapsed())
}

/// Ask until the answer is 200, for at most `within`.
fn ask_until_answered(address: &str, key: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (status, answer, _) = ask(address, key);
        if status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "never served again: {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn idle_slow_and_unauthenticated_clients_do_not_starve_an_authorised_one() {
    raise_fd_limit();
    let home = tempfile::tempdir().unwrap();
    let served = Served::start(home.path(), &["--demo"], &[]);
    let address = served.address();
    let key = served.key().unwrap();
    // Warm: the first answer allocates what every later one reuses.
    let (status, answer, _) = ask(&address, &key);
    assert_eq!(status, 200, "{answer}");
    let idle_rss = rss_kib(served.pid());

    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(&address).expect("idle connection"))
        .collect();
    // Slow-loris: a request head one byte at a time, never finished.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loris: Vec<_> = (0..20)
        .map(|_| {
            let address = address.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&address).unwrap();
                let head =
                    format!("POST /v1/chat/completions HTTP/1.1\r\nHost: {address}\r\nX-Slow: ");
                for byte in head.bytes().chain(std::iter::repeat(b'a')) {
                    if stop.load(std::sync::atomic::Ordering::Relaxed)
                        || stream.write_all(&[byte]).is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        })
        .collect();
    // Unauthenticated, declaring 1 GB: refused from the head, the body never read.
    let refused: Vec<_> = (0..50)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&address).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let head = format!(
                    "POST /v1/chat/completions HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).unwrap();
                let _ = stream.write_all(&[b' '; 64 * 1024]);
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
                String::from_utf8_lossy(&answer).into_owned()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));

    let (status, answer, took) = ask(&address, &key);
    assert_eq!(status, 200, "{answer}");
    assert!(
        took < Duration::from_secs(5),
        "the authorised client waited {took:?}"
    );
    for handle in refused {
        let answer = handle.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    let loaded_rss = rss_kib(served.pid());
    assert!(
        loaded_rss < 2 * idle_rss,
        "RSS {loaded_rss} KiB under load against {idle_rss} KiB idle"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for handle in loris {
        handle.join().unwrap();
    }
    drop(idle);
    eprintln!(
        "1000 idle + 20 slow-loris + 50 × 1 GB unauthenticated: answered in {:.0} ms, RSS {idle_rss} → {loaded_rss} KiB",
        took.as_secs_f64() * 1000.0
    );
}

#[test]
fn beyond_the_connection_bound_clients_get_503_and_the_server_goes_on() {
    let home = tempfile::tempdir().unwrap();
    let served = Served::start(home.path(), &["--demo", "--max-connections", "8"], &[]);
    let address = served.address();
    let key = served.key().unwrap();
    let held: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(&address).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("8 connections open"), "{answer}");
    drop(held);
    // Slots free as connections close.
    ask_until_answered(&address, &key, Duration::from_secs(10));
    let log = served.log.lock().unwrap().join("\n");
    assert!(log.contains("refused: 8 connections open"), "{log}");
}

#[test]
fn a_request_head_that_never_ends_is_cut_off_at_the_client_timeout() {
    let home = tempfile::tempdir().unwrap();
    let served = Served::start(home.path(), &["--demo", "--client-timeout", "1"], &[]);
    let address = served.address();
    let mut slow = TcpStream::connect(&address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    slow.write_all(format!("GET /v1/models HTTP/1.1\r\nHost: {address}\r\nX-Slow: a").as_bytes())
        .unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(&address).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut nothing = Vec::new();
    let _ = idle.read_to_end(&mut nothing);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// User and system CPU seconds a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

#[test]
fn out_of_file_descriptors_the_server_waits_instead_of_spinning() {
    raise_fd_limit();
    let home = tempfile::tempdir().unwrap();
    // 128 descriptors: the model, the listener and the runtime take some; 200 clients more
    // than exhaust the rest, so accept fails with EMFILE while they stay open.
    let served = Served::start_with_fd_limit(home.path(), &["--demo"], &[], Some(128));
    let address = served.address();
    let key = served.key().unwrap();
    let held: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_seconds(served.pid());
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_seconds(served.pid()) - before;
    assert!(
        spent < 0.5,
        "the server burnt {spent:.2} s of CPU in 2 s while out of descriptors"
    );
    let log = served.log.lock().unwrap().join("\n");
    assert!(log.contains("accept failed"), "{log}");
    drop(held);
    ask_until_answered(&address, &key, Duration::from_secs(20));
    eprintln!("out of descriptors: {spent:.3} s of CPU in 2 s, then served again");
}
