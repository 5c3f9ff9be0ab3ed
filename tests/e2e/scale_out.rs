//! Scale-out on existing engines: two `host serve` processes behind a real
//! nginx (Debian's, installed by scripts/install-deb.sh) as the load
//! balancer. One is killed mid-load; nginx retries idempotent GETs on the
//! other, and no request is lost.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Conn, Host, Load, example, free_port, installed};

/// nginx on 127.0.0.1, killed on drop.
struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx(upstreams: &[u16]) -> Nginx {
    let bin = installed("nginx", "nginx");
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let port = free_port();
    let servers: String = upstreams
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
        .collect();
    // The configuration "Running behind nginx" in the README recommends.
    let conf = format!(
        "daemon off;\nworker_processes 1;\nerror_log {d}/logs/error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n    access_log off;\n\
             client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             upstream wasgi {{\n{servers}        keepalive 16;\n    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        location / {{\n\
                 proxy_pass http://wasgi;\n            proxy_http_version 1.1;\n\
                 proxy_set_header Connection \"\";\n            proxy_set_header Host $host;\n\
                 proxy_next_upstream error timeout http_502 http_503;\n\
                 proxy_connect_timeout 2s;\n        }}\n    }}\n}}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .args([
            "-p",
            dir.to_str().unwrap(),
            "-c",
            dir.join("nginx.conf").to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nginx");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx { child, port, dir }
}

#[test]
fn nginx_fails_over_when_one_process_dies_and_no_get_is_lost() {
    let hello = example("hello");
    let a = Host::serve(&[hello.to_str().unwrap()]);
    let b = Host::serve(&[hello.to_str().unwrap()]);
    let proxy = nginx(&[a.addr.port(), b.addr.port()]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], proxy.port));
    let get = move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let r = conn.response(false);
        (r.status, r.text())
    };
    // Load from several clients the whole time.
    let clients = Load::start(4, move || match get() {
        (200, body) if body == "Hello World" => Ok(()),
        other => Err(format!("{other:?}")),
    });
    // Both processes serve, then one dies without a chance to drain.
    a.wait_log("\"GET / HTTP/1.1\" 200");
    b.wait_log("\"GET / HTTP/1.1\" 200");
    let mut a = a;
    a.signal("KILL");
    a.wait_exit(Duration::from_secs(5));
    let served_before = b.log().matches("\"GET / HTTP/1.1\" 200").count();
    b.wait_log_count("\"GET / HTTP/1.1\" 200", served_before + 200);
    let (total, failed) = clients.finish();
    assert!(
        failed.is_empty(),
        "requests lost in the fail-over: {failed:?}"
    );
    assert!(total > 200);
    let errors = std::fs::read_to_string(proxy.dir.join("logs/error.log")).unwrap_or_default();
    assert!(
        errors.contains("upstream"),
        "nginx saw no failed upstream: {errors}"
    );
}

/// Has the kernel move the connections queued on a closing listener to
/// the others on its port, as the README asks of a machine that drains
/// `--reuse-port` processes (the tests run as root); whether it does.
fn migrate_on_close() -> bool {
    let setting = "/proc/sys/net/ipv4/tcp_migrate_req";
    let on = || std::fs::read_to_string(setting).is_ok_and(|v| v.trim() == "1");
    if !on() {
        let _ = std::fs::write(setting, "1");
    }
    on()
}

#[test]
fn a_draining_process_loses_no_post_of_a_load_on_its_port() {
    let migrates = migrate_on_close();
    let port = free_port().to_string();
    let app = example("conformance");
    let args = [
        app.to_str().unwrap(),
        "--reuse-port",
        "--port",
        port.as_str(),
    ];
    let mut draining = Host::serve(&args);
    let other = Host::serve(&args);
    let addr = other.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Eight clients POST one after another on keep-alive connections,
    // opening a new one when the server ends theirs; none retries.
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut sent, mut open) = (0, None::<Conn>);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = format!("client {c} post {sent}");
                    let conn = open.get_or_insert_with(|| Conn::open(addr));
                    conn.send(
                        format!(
                            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                    let r = conn.response(false);
                    assert!(
                        r.status == 200 && r.complete && r.text() == body,
                        "{body}: lost ({})",
                        r.head
                    );
                    sent += 1;
                    if r.header("Connection") == Some("close") {
                        // The server ends this connection: the next POST
                        // goes on a new one.
                        open = None;
                    }
                }
                sent
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    draining.signal("TERM");
    assert_eq!(draining.wait_exit(Duration::from_secs(15)), Some(0));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent: usize = clients
        .into_iter()
        .map(|c| c.join().expect("no POST lost"))
        .sum();
    // Each POST was answered, and counted once, by one of the two.
    let counted = |host: &Host| host.log().matches("\"POST /echo HTTP/1.1\" 200 ").count();
    let deadline = Instant::now() + Duration::from_secs(10);
    while counted(&draining) + counted(&other) < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(counted(&draining) + counted(&other), sent);
    assert!(
        counted(&draining) > 0 && counted(&other) > 0,
        "one process took every connection"
    );
    // The host warns at startup when a drain can lose a connection (its
    // access lines are all in, so that line is too), and only then.
    let warning = "tcp_migrate_req is 0";
    if migrates {
        assert!(!other.log().contains(warning), "{}", other.log());
    } else {
        other.wait_log(warning);
    }
    println!(
        "drain under POST load: {sent} POSTs, {} by the draining process",
        counted(&draining)
    );
}
