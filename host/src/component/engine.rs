use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: a running guest yields to other requests
/// at least this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine every component runs on: pooling instance allocation (cheap
/// per-request instances), epoch interruption, and a ticker thread that
/// advances the epoch while the engine lives.
pub fn new_engine() -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(1000)
        .total_memories(1000)
        .total_tables(1000)
        .max_memory_size(1 << 30);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = match Engine::new(&config) {
        Ok(engine) => engine,
        // Some hosts refuse the pool's virtual memory reservation
        // (ulimit -v); fall back to on-demand allocation there.
        Err(_) => {
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)?
        }
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
