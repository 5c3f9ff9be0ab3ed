use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Engine, EngineWeak, InstanceAllocationStrategy,
    PoolingAllocationConfig,
};

/// How often the epoch advances: a running guest yields to other requests
/// at least this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How to build the engine.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Pooling instance allocation: cheap instances for a server that makes
    /// one per request. A CGI process, which makes one, does without.
    pub pooling: bool,
    /// Where compiled components are cached (`None`: compile every time).
    pub cache_dir: Option<PathBuf>,
    /// How many component instances the pool holds at once. A component
    /// is made of several core instances, memories and tables; the pool has
    /// room for generous numbers of each per component.
    pub max_instances: u32,
    /// The largest linear memory an instance may have, in bytes: the
    /// pool's slot size (keep it at least the apps' `max_memory`).
    pub max_memory_size: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pooling: true,
            cache_dir: default_cache_dir(),
            max_instances: 1000,
            max_memory_size: 1 << 30,
        }
    }
}

impl EngineOptions {
    /// These options with a pool that holds instances of `max_memory`
    /// bytes, `max_concurrency` of them at once (at least the defaults).
    pub fn sized(&self, max_memory: usize, max_concurrency: usize) -> EngineOptions {
        let default = EngineOptions::default();
        EngineOptions {
            max_instances: (u32::try_from(max_concurrency).unwrap_or(u32::MAX))
                .max(default.max_instances),
            max_memory_size: max_memory.max(default.max_memory_size),
            ..self.clone()
        }
    }
}

/// `$WASGI_CACHE_DIR`, else `$XDG_CACHE_HOME/wasgi/compiled`, else
/// `$HOME/.cache/wasgi/compiled`, else `wasgi-cache` in the temporary
/// directory. The directory must be the cache's alone: wasmtime's cache
/// worker deletes whatever else it finds there (the project's tools live
/// beside it, in `wasgi/tools`).
pub fn default_cache_dir() -> Option<PathBuf> {
    Some(wasgi_cache("WASGI_CACHE_DIR", "compiled", "wasgi-cache"))
}

/// Where the project's tools are installed (componentize-py for
/// `host build-python`; the scripts' wasmtime-cli and cargo-fuzz):
/// `$WASGI_TOOLS_DIR`, else `$XDG_CACHE_HOME/wasgi/tools`, else
/// `~/.cache/wasgi/tools`.
pub fn default_tools_dir() -> PathBuf {
    wasgi_cache("WASGI_TOOLS_DIR", "tools", "wasgi-tools")
}

/// `$var`, else `wasgi/sub` in the user's cache directory, else `temp`
/// in the temporary directory.
pub(crate) fn wasgi_cache(var: &str, sub: &str, temp: &str) -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env(var)
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("wasgi").join(sub)))
        .or_else(|| env("HOME").map(|d| d.join(".cache/wasgi").join(sub)))
        .unwrap_or_else(|| std::env::temp_dir().join(temp))
}

/// The engine every component runs on, with the default [`EngineOptions`].
pub fn new_engine() -> wasmtime::Result<Engine> {
    new_engine_with(&EngineOptions::default())
}

/// The engine every component runs on: epoch interruption with a ticker
/// thread that advances the epoch while the engine lives, pooling
/// allocation and a compilation cache as `options` say.
pub fn new_engine_with(options: &EngineOptions) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    // A trap's traceback names the guest's files and lines when the guest
    // kept its line tables.
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
    let mut new_cache = None;
    if let Some(dir) = &options.cache_dir {
        // A cache that cannot be set up (an unwritable directory) only
        // costs compile time, so the engine goes on without it.
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        if let Ok(cache) = Cache::new(cache) {
            config.cache(Some(cache.clone()));
            new_cache = Some(cache);
        }
    }
    let engine = if options.pooling {
        let n = options.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(16))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .max_memory_size(options.max_memory_size);
        // Each request's instance reuses a warm slot. Where the kernel can
        // say which pages a guest touched (PAGEMAP_SCAN, Linux 6.7+), only
        // those are reset, and the first MiB of memory stays resident:
        // ~25% less CPU per hello request, measured (ARCHITECTURE.md §5).
        // Without it, keeping pages resident means a memset of the whole
        // region, which is slower than giving them back.
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(wasmtime::Enabled::Yes)
                .linear_memory_keep_resident(1 << 20)
                .table_keep_resident(64 << 10);
        }
        // Every call runs on an async (fiber) stack; keeping the first
        // 64 KiB of each resident instead of giving it back after every
        // request: ~10% less CPU per hello request, measured. At most
        // 64 KiB per slot a request has used stays resident.
        pool.async_stack_keep_resident(64 << 10);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&config) {
            Ok(engine) => engine,
            // Some hosts refuse the pool's virtual memory reservation
            // (ulimit -v); fall back to on-demand allocation there.
            Err(_) => {
                config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                Engine::new(&config)?
            }
        }
    } else {
        Engine::new(&config)?
    };
    tick(&engine)?;
    if let Some(cache) = new_cache {
        CACHES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((engine.weak(), cache));
    }
    Ok(engine)
}

/// The compilation caches of the engines made here.
static CACHES: Mutex<Vec<(EngineWeak, Cache)>> = Mutex::new(Vec::new());

/// How many compiled components `engine` has found in its cache so far
/// (`None`: it has no cache).
pub(super) fn cache_hits(engine: &Engine) -> Option<usize> {
    let mut caches = CACHES.lock().unwrap_or_else(|p| p.into_inner());
    caches.retain(|(weak, _)| weak.upgrade().is_some());
    caches
        .iter()
        .find(|(weak, _)| weak.upgrade().is_some_and(|e| Engine::same(&e, engine)))
        .map(|(_, cache)| cache.cache_hits())
}

/// The engines the clock advances.
static TICKED: Mutex<Vec<EngineWeak>> = Mutex::new(Vec::new());

/// Has the one clock thread advance `engine`'s epoch every [`EPOCH_TICK`]
/// while the engine lives.
fn tick(engine: &Engine) -> std::io::Result<()> {
    static CLOCK: OnceLock<Result<(), String>> = OnceLock::new();
    TICKED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(engine.weak());
    let started = CLOCK.get_or_init(|| {
        thread::Builder::new()
            .name("wasgi-epoch".into())
            .spawn(|| {
                loop {
                    thread::sleep(EPOCH_TICK);
                    let mut engines = TICKED.lock().unwrap_or_else(|p| p.into_inner());
                    engines.retain(|weak| match weak.upgrade() {
                        Some(engine) => {
                            engine.increment_epoch();
                            true
                        }
                        None => false,
                    });
                }
            })
            .map(drop)
            .map_err(|e| e.to_string())
    });
    started.clone().map_err(std::io::Error::other)
}
