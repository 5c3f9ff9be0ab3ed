//! A wasgi app that opens TCP connections, where the host allows them
//! (`--allow-outbound tcp://HOST:PORT`):
//!
//! * `GET /redis?url=redis://HOST:PORT&key=K`: `INCR K` on that Redis
//!   server (the `redis` crate over `std::net`), answers the count;
//! * `GET /connect?addr=HOST:PORT&n=N`: N bare connects (default 1), all
//!   held open until the answer, which is `connected N`;
//! * `GET /lookup?name=NAME`: the addresses NAME resolves to;
//! * `GET /bind?addr=HOST:PORT`, `GET /udp`: what a server socket and UDP
//!   get (the host refuses both).
//!
//! A refused operation answers 502 with the error.

use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

use wasgi::parse::parse_qsl;
use wasgi::{Body, Environ, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];

fn tcp_client(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let query = parse_qsl(environ.get("QUERY_STRING").unwrap_or(""), true);
    let arg = |name: &str| {
        let found = query.iter().find(|(k, _)| k == name);
        found.map_or(String::new(), |(_, v)| v.clone())
    };
    let outcome: std::result::Result<String, String> = match environ.get("PATH_INFO").unwrap_or("/")
    {
        "/redis" => redis_incr(&arg("url"), &arg("key")),
        "/connect" => connect(&arg("addr"), arg("n").parse().unwrap_or(1)),
        "/lookup" => (arg("name").as_str(), 0)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| format!("{}\n", a.ip())).collect())
            .map_err(|e| e.to_string()),
        "/bind" => TcpListener::bind(arg("addr"))
            .map(|_| "bound".to_string())
            .map_err(|e| e.to_string()),
        "/udp" => UdpSocket::bind("0.0.0.0:0")
            .map(|_| "bound".to_string())
            .map_err(|e| e.to_string()),
        other => Err(format!("no route {other}")),
    };
    let (status, text) = match outcome {
        Ok(text) => ("200 OK", text),
        Err(e) => ("502 Bad Gateway", format!("{e}\n")),
    };
    start_response.call(status, TEXT, None)?;
    Ok(Body::from(text))
}

fn connect(addr: &str, n: usize) -> std::result::Result<String, String> {
    let mut open = Vec::new();
    for i in 0..n {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connection {}: {e}", i + 1))?;
        open.push(stream);
    }
    Ok(format!("connected {}", open.len()))
}

fn redis_incr(url: &str, key: &str) -> std::result::Result<String, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client.get_connection().map_err(|e| e.to_string())?;
    let count: i64 = redis::cmd("INCR")
        .arg(key)
        .query(&mut connection)
        .map_err(|e| e.to_string())?;
    Ok(count.to_string())
}

wasgi::export!(tcp_client);
