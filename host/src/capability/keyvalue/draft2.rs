//! `wasi:keyvalue@0.2.0-draft2` (Spin 4's, and the wasgi SDK's): its
//! host functions over the app's stores.

use wasmtime::component::{Linker, Resource};

use super::store::StoreError;
use super::{Bucket, Cas, Denied, HasKv, KvView};
use crate::component::RequestCtx;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasi:keyvalue/imports@0.2.0-draft2",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": crate::capability::keyvalue::Bucket,
            "wasi:keyvalue/atomics.cas": crate::capability::keyvalue::Cas,
        },
    });
}

use bindings::wasi::keyvalue0_2_0_draft2::{atomics, batch, store};

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
        cursor: Option<String>,
    ) -> Answer<store::KeyResponse> {
        let store = self.call(&this)?;
        let cursor = match cursor.map(|c| c.parse::<u64>()) {
            Some(Err(_)) => {
                return Ok(Err(store::Error::Other(
                    "not a cursor list-keys returned".into(),
                )));
            }
            Some(Ok(c)) => Some(c),
            None => None,
        };
        Ok(store
            .list_keys(cursor)
            .await
            .map(|(keys, next)| store::KeyResponse {
                keys,
                cursor: next.map(|n| n.to_string()),
            })
            .map_err(error))
    }
}

impl atomics::Host for KvView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Answer<i64> {
        let store = self.call(&bucket)?;
        Ok(store.increment(&key, delta).await.map_err(error))
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let cas = self.release(cas)?;
        let swapped = self
            .during(cas.store.clone())
            .swap(&cas.key, cas.current.as_deref(), &value)
            .await;
        match swapped {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                // The value changed: a new read to retry with.
                let current = match self.during(cas.store.clone()).get(&cas.key).await {
                    Ok(current) => current,
                    Err(e) => return Ok(Err(atomics::CasError::StoreError(error(e)))),
                };
                match self.hold(Cas { current, ..cas })? {
                    Some(again) => Ok(Err(atomics::CasError::CasFailed(again))),
                    None => Ok(Err(atomics::CasError::StoreError(store::Error::Other(
                        super::too_many(),
                    )))),
                }
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(error(e)))),
        }
    }
}

impl atomics::HostCas for KvView<'_> {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Resource<Cas>> {
        let store = self.call(&bucket)?;
        let current = match store.get(&key).await {
            Ok(current) => current,
            Err(e) => return Ok(Err(error(e))),
        };
        let read = Cas {
            store: store.shared(),
            key,
            current,
        };
        match self.hold(read)? {
            Some(cas) => Ok(Ok(cas)),
            None => Ok(Err(store::Error::Other(super::too_many()))),
        }
    }

    async fn current(&mut self, this: Resource<Cas>) -> Answer<Option<Vec<u8>>> {
        Ok(Ok(self.table.get(&this)?.current.clone()))
    }

    async fn drop(&mut self, this: Resource<Cas>) -> wasmtime::Result<()> {
        self.release(this)?;
        Ok(())
    }
}

impl batch::Host for KvView<'_> {
    super::common::batch_methods!();

    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<(String, Option<Vec<u8>>)>> {
        let store = self.call(&bucket)?;
        Ok(store
            .get_many(&keys)
            .await
            .map(|values| keys.into_iter().zip(values).collect())
            .map_err(error))
    }
}
