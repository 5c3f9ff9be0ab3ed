use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use super::function_cache::{self, FunctionCache};
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
    /// Where compiled components are cached, with their compiled functions
    /// beside it (`None`: compile every time).
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

/// The compile cache a command's `--cache-dir DIR` and `--no-cache`
/// choose: none with `--no-cache`, else `DIR`, else the default.
pub fn chosen_cache_dir(given: Option<&PathBuf>, no_cache: bool) -> Option<PathBuf> {
    match (given, no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => default_cache_dir(),
    }
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
/// allocation and a compilation cache as `options` say. Components that
/// need none of the component model's async support (WASIp2 and wasgi
/// ones) are compiled for a twin of it without that support, made on
/// first use ([`engine_for`]).
pub fn new_engine_with(options: &EngineOptions) -> wasmtime::Result<Engine> {
    let engine = build(options, true)?;
    TWINS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((engine.weak(), options.clone(), None));
    Ok(engine)
}

/// The engines made by [`new_engine_with`], their options, and each one's
/// twin without concurrency support once it is made.
#[allow(clippy::type_complexity)]
static TWINS: Mutex<Vec<(EngineWeak, EngineOptions, Option<Engine>)>> = Mutex::new(Vec::new());

/// The engine to compile the component `bytes` for, given `engine`:
/// `engine` itself for a component that imports or exports WASIp3 or
/// Spin 3 interfaces (they need the component model's async support), else
/// `engine`'s twin without that support. On an engine with it, every host
/// call goes through its task bookkeeping, for every component: a reused
/// wasi:http 0.2 instance cost ~40% more CPU per request
/// (benches/levers.md). An engine not made by [`new_engine_with`] is used
/// as it is.
pub fn engine_for(engine: &Engine, bytes: &[u8]) -> Engine {
    if !engine.get_concurrency_support() || needs_concurrency(bytes) {
        return engine.clone();
    }
    let mut twins = TWINS.lock().unwrap_or_else(|p| p.into_inner());
    twins.retain(|(weak, _, _)| weak.upgrade().is_some());
    let Some((_, options, twin)) = (twins.iter_mut())
        .find(|(weak, _, _)| weak.upgrade().is_some_and(|e| Engine::same(&e, engine)))
    else {
        return engine.clone();
    };
    if twin.is_none() {
        *twin = build(options, false).ok();
    }
    twin.clone().unwrap_or_else(|| engine.clone())
}

/// Whether the component `bytes` imports or exports an interface that
/// needs concurrency support (WASIp3's `@0.3`, Spin 3's `spin:`); true as
/// well for bytes that do not parse, which the compiler then reports.
fn needs_concurrency(bytes: &[u8]) -> bool {
    use wasmparser::{Parser, Payload};
    let p3 = |name: &str| name.contains("@0.3") || name.starts_with("spin:");
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return true;
        };
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(imports) if depth == 0 => {
                for import in imports {
                    if import.map_or(true, |i| p3(i.name.name)) {
                        return true;
                    }
                }
            }
            Payload::ComponentExportSection(exports) if depth == 0 => {
                for export in exports {
                    if export.map_or(true, |e| p3(e.name.name)) {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// An engine with `options`, with or without the component model's
/// concurrency support (WASIp3).
fn build(options: &EngineOptions, concurrency: bool) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    config
        .concurrency_support(concurrency)
        .wasm_component_model_async(concurrency);
    // A trap's traceback names the guest's files and lines when the guest
    // kept its line tables.
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
    let mut new_cache = None;
    let mut functions = None;
    if let Some(dir) = &options.cache_dir {
        // A cache that cannot be set up (an unwritable directory) only
        // costs compile time, so the engine goes on without it.
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        if let Ok(cache) = Cache::new(cache) {
            config.cache(Some(cache.clone()));
            new_cache = Some(cache);
        }
        let opened = Arc::new(FunctionCache::open(function_cache::beside(dir)));
        config.enable_incremental_compilation(opened.clone())?;
        functions = Some(opened);
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
    if let Some(modules) = new_cache {
        CACHES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((engine.weak(), Caches { modules, functions }));
    }
    Ok(engine)
}

/// An engine's compile caches: whole components, and the functions
/// Cranelift compiled.
struct Caches {
    modules: Cache,
    functions: Option<Arc<FunctionCache>>,
}

/// The compilation caches of the engines made here.
static CACHES: Mutex<Vec<(EngineWeak, Caches)>> = Mutex::new(Vec::new());

/// What an engine's caches have done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct CacheCounts {
    /// Compiled components found in the compile cache.
    pub components: usize,
    /// Functions looked up in the function cache, and found there.
    pub function_lookups: usize,
    pub function_hits: usize,
}

/// What `engine`'s caches have done so far (`None`: it has none).
pub(super) fn cache_counts(engine: &Engine) -> Option<CacheCounts> {
    let mut caches = CACHES.lock().unwrap_or_else(|p| p.into_inner());
    caches.retain(|(weak, _)| weak.upgrade().is_some());
    caches
        .iter()
        .find(|(weak, _)| weak.upgrade().is_some_and(|e| Engine::same(&e, engine)))
        .map(|(_, caches)| {
            let (function_lookups, function_hits) = caches
                .functions
                .as_ref()
                .map(|f| f.counts())
                .unwrap_or_default();
            CacheCounts {
                components: caches.modules.cache_hits(),
                function_lookups,
                function_hits,
            }
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/{name}.wasm", env!("WASGI_EXAMPLES_DIR"))).unwrap()
    }

    #[test]
    fn only_wasip3_and_spin_3_components_need_concurrency() {
        for p2 in ["hello", "wasi-http-hello", "kv-counter", "tcp-client"] {
            assert!(!needs_concurrency(&example(p2)), "{p2}");
        }
        for p3 in ["wasi-http-p3-hello", "spin-hello", "spin-kv"] {
            assert!(needs_concurrency(&example(p3)), "{p3}");
        }
        assert!(needs_concurrency(b"not wasm"));
    }

    #[test]
    fn a_wasip2_component_gets_its_engines_twin_without_concurrency() {
        let options = EngineOptions {
            pooling: false,
            cache_dir: None,
            ..EngineOptions::default()
        };
        let engine = new_engine_with(&options).unwrap();
        let twin = engine_for(&engine, &example("hello"));
        assert!(!Engine::same(&twin, &engine) && !twin.get_concurrency_support());
        assert!(Engine::same(&engine_for(&engine, &example("hello")), &twin));
        let p3 = engine_for(&engine, &example("spin-hello"));
        assert!(Engine::same(&p3, &engine));
    }
}
