//! `host kv`: an operator's look inside a key-value store, the one a guest
//! of the app sees (its `default`, or a store the manifest declares).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use host::capability::CapabilitySettings;
use host::capability::keyvalue::catalog::StateDir;
use host::capability::keyvalue::open_for_operator;
use host::capability::keyvalue::store::Call;
use host::gateway::manifest::Manifest;
use host::streams::ErrorStream;

/// `host kv list|get|set|delete`.
#[derive(Args)]
pub struct KvArgs {
    #[command(subcommand)]
    op: Op,
}

#[derive(Subcommand)]
enum Op {
    /// List the keys of STORE, one a line
    List(Place),
    /// Write the value of KEY in STORE to stdout (exit status 1 when it
    /// has none)
    Get(Key),
    /// Set KEY in STORE to VALUE (`-`: stdin), within the store's quotas
    Set {
        #[command(flatten)]
        key: Key,
        /// The value, or `-` to read it from stdin
        value: String,
    },
    /// Delete KEY from STORE
    Delete(Key),
}

#[derive(Args)]
struct Place {
    /// The manifest whose stores to open (without it: the single app of
    /// `host serve APP.wasm`, named "app")
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Whose `default` store (may be left out when the manifest has one
    /// app, or for a `[[store]]`, which is the same for every app)
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Where SQLite stores live, as `serve --state-dir` (default: the
    /// manifest's state_dir, or .wasgi)
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// The store: `default` (the app's own) or a `[[store]]` name
    store: String,
}

#[derive(Args)]
struct Key {
    #[command(flatten)]
    place: Place,
    /// The key
    key: String,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

/// Runs `host kv`.
pub fn run(args: KvArgs) -> ExitCode {
    let place = match &args.op {
        Op::List(place) => place,
        Op::Get(key) | Op::Delete(key) | Op::Set { key, .. } => &key.place,
    };
    let store = match open(place) {
        Ok(store) => Call::new(std::sync::Arc::new(store), Default::default()),
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        let mut out = std::io::stdout().lock();
        let done = match args.op {
            Op::List(_) => list(&store).await.map(|keys| {
                keys.iter()
                    .try_for_each(|k| writeln!(out, "{k}"))
                    .map_err(|e| e.to_string())
            }),
            Op::Get(key) => match store.get(&key.key).await {
                Ok(Some(value)) => Ok(out.write_all(&value).map_err(|e| e.to_string())),
                Ok(None) => return fail(format!("{:?} has no value", key.key)),
                Err(e) => Err(e.to_string()),
            },
            Op::Set { key, value } => {
                let value = match value.as_str() {
                    "-" => {
                        let mut value = Vec::new();
                        if let Err(e) = std::io::stdin().read_to_end(&mut value) {
                            return fail(format!("cannot read stdin: {e}"));
                        }
                        value
                    }
                    _ => value.into_bytes(),
                };
                store
                    .set(&key.key, &value)
                    .await
                    .map(Ok)
                    .map_err(|e| e.to_string())
            }
            Op::Delete(key) => store
                .delete(&key.key)
                .await
                .map(Ok)
                .map_err(|e| e.to_string()),
        };
        match done {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) | Err(e) => fail(e),
        }
    })
}

/// Every key of `store`.
async fn list(store: &Call) -> Result<Vec<String>, String> {
    let (mut keys, mut cursor) = (Vec::new(), None);
    loop {
        let (page, next) = store.list_keys(cursor).await.map_err(|e| e.to_string())?;
        keys.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    keys.sort();
    Ok(keys)
}

/// The store `place` names, with the settings its app has.
fn open(place: &Place) -> Result<host::capability::keyvalue::store::AppStore, String> {
    let (app, mut settings) = match &place.config {
        None => (
            place.app.clone().unwrap_or_else(|| "app".into()),
            CapabilitySettings::default(),
        ),
        Some(path) => {
            let manifest = Manifest::from_file(path).map_err(|e| e.to_string())?;
            let spec = match (&place.app, manifest.apps.as_slice()) {
                (Some(name), apps) => apps
                    .iter()
                    .find(|a| &a.name == name)
                    .ok_or_else(|| format!("{}: no app named {name:?}", path.display()))?,
                (None, [only]) => only,
                // A shared store is the same whoever opens it.
                (None, [first, ..]) if place.store != "default" => first,
                (None, _) => {
                    return Err(format!(
                        "{} has several apps: say whose default store with --app NAME",
                        path.display()
                    ));
                }
            };
            (spec.name.clone(), spec.capabilities.clone())
        }
    };
    if let Some(dir) = &place.state_dir {
        settings.set(StateDir(dir.clone()));
    }
    // (Its errors are this command's: said once, by `fail`.)
    open_for_operator(&app, &settings, &place.store, ErrorStream::memory().0)
}
