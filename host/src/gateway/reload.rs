//! Hot reload, of a [`Deployment`](super::deployment::Deployment) or of
//! a single app (`host serve app.wasm`, as gunicorn reloads on HUP): when
//! the manifest or one of its components changes (a file watch), or on
//! SIGHUP, the apps are loaded
//! again in the background and its tenants swapped in atomically. Requests
//! in flight finish on the old tenants. A manifest or component that does
//! not load leaves the old tenants serving, and the log says why.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::router::Router;
use crate::simple_server::WSGIServer;
use crate::streams::ErrorStream;
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Quiet time after the last change before reloading: a file being
/// copied in place fires many events.
const SETTLE: Duration = Duration::from_millis(300);

/// What a reload does: the new tenants, and the files to watch next.
pub type Load = dyn Fn() -> Result<(Router, Vec<PathBuf>), String> + Send + Sync;

/// Reloads the `servers`' tenants with `load` whenever one of `files` changes
/// or the process gets SIGHUP, until the process ends.
pub fn watch(
    servers: Vec<Arc<WSGIServer>>,
    load: Arc<Load>,
    files: Vec<PathBuf>,
    log: ErrorStream,
    metrics: Option<Arc<super::metrics::Metrics>>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let hup = tx.clone();
    tokio::spawn(async move {
        let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while signal.recv().await.is_some() {
            let _ = hup.send(());
        }
    });
    let mut watching = Watching::new(tx, &files, &log);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Wait for the changes to settle, then reload once for all.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, rx.recv()).await {}
            let load = load.clone();
            match tokio::task::spawn_blocking(move || load()).await {
                Ok(Ok((router, files))) => {
                    if let Some(m) = &metrics {
                        m.reloaded(true);
                        // Apps the reload removed take their series along.
                        let names: Vec<&str> = router.tenants().iter().map(|t| &*t.name).collect();
                        m.retain_apps(&names);
                    }
                    let apps = router.tenants().len();
                    for server in &servers {
                        server.set_router(router.clone());
                    }
                    let apps = super::serving::apps(apps);
                    log.event(
                        crate::streams::Event::Reload,
                        &format!("reloaded: {apps} now serving\n"),
                    );
                    watching.update(&files, &log);
                }
                Ok(Err(e)) => {
                    if let Some(m) = &metrics {
                        m.reloaded(false);
                    }
                    log.event(
                        crate::streams::Event::ReloadFailed,
                        &format!("reload failed; the apps loaded before keep serving: {e}\n"),
                    );
                }
                Err(e) => log.event(
                    crate::streams::Event::ReloadFailed,
                    &format!("reload failed: {e}\n"),
                ),
            }
            log.flush();
        }
    });
}

/// The file watch: the directories of the watched files (a file replaced
/// by a rename keeps being seen), reporting only changes to those files.
struct Watching {
    watcher: Option<notify::RecommendedWatcher>,
    files: Arc<std::sync::RwLock<HashSet<PathBuf>>>,
    dirs: HashSet<PathBuf>,
}

impl Watching {
    fn new(tx: mpsc::UnboundedSender<()>, files: &[PathBuf], log: &ErrorStream) -> Watching {
        let watched: Arc<std::sync::RwLock<HashSet<PathBuf>>> = Arc::default();
        let filter = watched.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if event.kind.is_access() {
                return;
            }
            let files = filter.read().unwrap_or_else(|p| p.into_inner());
            if event.paths.iter().any(|p| files.contains(p)) {
                let _ = tx.send(());
            }
        });
        let watcher = match watcher {
            Ok(w) => Some(w),
            Err(e) => {
                log.write(&format!(
                    "cannot watch files for changes ({e}); reload with SIGHUP\n"
                ));
                None
            }
        };
        let mut watching = Watching {
            watcher,
            files: watched,
            dirs: HashSet::new(),
        };
        watching.update(files, log);
        watching
    }

    fn update(&mut self, files: &[PathBuf], log: &ErrorStream) {
        let files: HashSet<PathBuf> = files.iter().map(|f| absolute(f)).collect();
        let dirs: HashSet<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        if let Some(watcher) = &mut self.watcher {
            for dir in dirs.difference(&self.dirs) {
                if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                    log.write(&format!(
                        "cannot watch {} for changes: {e}\n",
                        dir.display()
                    ));
                }
            }
            for dir in self.dirs.difference(&dirs) {
                let _ = watcher.unwatch(dir);
            }
        }
        self.dirs = dirs;
        *self.files.write().unwrap_or_else(|p| p.into_inner()) = files;
    }
}

fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // Events name the real directory: resolve symlinks in the parent.
    match (
        path.parent().and_then(|p| p.canonicalize().ok()),
        path.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path,
    }
}
