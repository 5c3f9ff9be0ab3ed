//! A wasgi app keeping rows in PostgreSQL, reached over outbound TCP where
//! the host allows it (`--allow-outbound tcp://HOST:PORT`):
//!
//! * `POST /notes?db=HOST:PORT` with a body: inserts it as a note, answers
//!   its id;
//! * `GET /notes?db=HOST:PORT`: the notes, one a line, oldest first.
//!
//! The client is tokio-postgres, without its tokio runtime (which does not
//! build for wasm32-wasip2): its protocol runs over a `wstd` TCP stream
//! (`wasi:sockets`), adapted to tokio's I/O traits in [`compat`], and
//! `wstd::runtime::block_on` drives the request's futures.

mod compat;

use futures_util::future::{Either, select};
use tokio_postgres::{Client, Config, NoTls};
use wasgi::parse::parse_qsl;
use wasgi::{Body, Environ, Error, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];

fn pg_client(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let query = parse_qsl(environ.get("QUERY_STRING").unwrap_or(""), true);
    let db = (query.iter().find(|(k, _)| k == "db"))
        .map(|(_, v)| v.clone())
        .ok_or("say where the database is: ?db=HOST:PORT")?;
    let method = environ.get("REQUEST_METHOD").unwrap_or("GET").to_string();
    let body = match method.as_str() {
        "POST" => String::from_utf8_lossy(&environ.input.read(None)?).into_owned(),
        _ => String::new(),
    };
    let answer = wstd::runtime::block_on(async move {
        with_client(&db, |client| async move {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text NOT NULL)",
                )
                .await?;
            if method == "POST" {
                let row = client
                    .query_one(
                        "INSERT INTO notes (text) VALUES ($1) RETURNING id",
                        &[&body],
                    )
                    .await?;
                return Ok(format!("{}\n", row.get::<_, i32>(0)));
            }
            let rows = client
                .query("SELECT text FROM notes ORDER BY id", &[])
                .await?;
            Ok(rows
                .iter()
                .map(|r| format!("{}\n", r.get::<_, &str>(0)))
                .collect())
        })
        .await
    });
    match answer {
        Ok(text) => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(text))
        }
        Err(e) => Err(Error::new("OSError", format!("postgres: {e}"))),
    }
}

/// Runs `work` with a client connected to `db` (`HOST:PORT`, user
/// `postgres`), driving the connection meanwhile.
async fn with_client<F, Fut>(db: &str, work: F) -> std::result::Result<String, String>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<String, tokio_postgres::Error>>,
{
    let (host, port) = db.rsplit_once(':').ok_or("?db=HOST:PORT")?;
    let port: u16 = port.parse().map_err(|_| format!("bad port in {db}"))?;
    let stream = wstd::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connecting to {db}: {e}"))?;
    let mut config = Config::new();
    config.user("postgres").dbname("postgres");
    let (client, connection) = config
        .connect_raw(compat::Compat::new(stream), NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let work = std::pin::pin!(work(client));
    match select(work, connection).await {
        Either::Left((done, _)) => done.map_err(|e| e.to_string()),
        Either::Right((ended, _)) => Err(format!("the connection ended: {ended:?}")),
    }
}

wasgi::export!(pg_client);
