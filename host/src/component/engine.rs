use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
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
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pooling: true,
            cache_dir: default_cache_dir(),
        }
    }
}

/// `$WASGI_CACHE_DIR`, else `$XDG_CACHE_HOME/wasgi`, else
/// `$HOME/.cache/wasgi`, else `wasgi-cache` in the temporary directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    Some(
        env("WASGI_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("wasgi")))
            .or_else(|| env("HOME").map(|d| d.join(".cache/wasgi")))
            .unwrap_or_else(|| std::env::temp_dir().join("wasgi-cache")),
    )
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
    if let Some(dir) = &options.cache_dir {
        // A cache that cannot be set up (an unwritable directory) only
        // costs compile time, so the engine goes on without it.
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        if let Ok(cache) = Cache::new(cache) {
            config.cache(Some(cache));
        }
    }
    let engine = if options.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(1000)
            .total_memories(1000)
            .total_tables(1000)
            .max_memory_size(1 << 30);
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
    let weak = engine.weak();
    thread::Builder::new()
        .name("wasgi-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(engine)
}
