//! `wasi:keyvalue@0.2.0-draft` (wasmtime 48's): its host functions over
//! the app's stores. Its cursor is a number, its counters unsigned, and
//! it has no compare-and-swap.

use wasmtime::component::{Linker, Resource};

use super::store::StoreError;
use super::{Bucket, Denied, HasKv, KvView};
use crate::component::RequestCtx;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasi:keyvalue/imports@0.2.0-draft",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": crate::capability::keyvalue::Bucket,
        },
    });
}

use bindings::wasi::keyvalue0_2_0_draft::{atomics, batch, store};

type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

fn error(e: StoreError) -> store::Error {
    store::Error::Other(e.to_string())
}

/// Links the interfaces, each call getting the request's [`KvView`].
pub(super) fn add_to_linker(
    linker: &mut Linker<RequestCtx>,
    view: fn(&mut RequestCtx) -> KvView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<_, HasKv>(linker, view)?;
    atomics::add_to_linker::<_, HasKv>(linker, view)?;
    batch::add_to_linker::<_, HasKv>(linker, view)
}

impl store::Host for KvView<'_> {
    super::common::open!(store);
}

impl store::HostBucket for KvView<'_> {
    super::common::bucket_methods!();

    async fn list_keys(
        &mut self,
        this: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Answer<store::KeyResponse> {
        let store = self.call(&this)?;
        Ok(store
            .list_keys(cursor)
            .await
            .map(|(keys, cursor)| store::KeyResponse { keys, cursor })
            .map_err(error))
    }
}

impl atomics::Host for KvView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Answer<u64> {
        let store = self.call(&bucket)?;
        let Ok(delta) = i64::try_from(delta) else {
            return Ok(Err(store::Error::Other(format!("{delta} is too large"))));
        };
        Ok(match store.increment(&key, delta).await {
            Ok(sum) => {
                u64::try_from(sum).map_err(|_| store::Error::Other(format!("{sum} is below 0")))
            }
            Err(e) => Err(error(e)),
        })
    }
}

impl batch::Host for KvView<'_> {
    super::common::batch_methods!();

    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let store = self.call(&bucket)?;
        Ok(store
            .get_many(&keys)
            .await
            .map(|values| {
                let pairs = keys.into_iter().zip(values);
                pairs.map(|(k, v)| v.map(|v| (k, v))).collect()
            })
            .map_err(error))
    }
}
