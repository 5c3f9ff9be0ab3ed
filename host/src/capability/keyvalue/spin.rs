//! `spin:key-value@3.0.0` (Spin's Rust SDK 7, WASIp3 async functions): the
//! same stores and grants as `wasi:keyvalue`, for a Spin app served as it
//! is.

use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

use super::store::{Call, StoreError};
use super::{Bucket, Denied, HasKv, KvView};
use crate::component::RequestCtx;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "spin:key-value/imports@3.0.0",
        imports: { default: trappable },
        with: {
            "spin:key-value/key-value.store": crate::capability::keyvalue::Bucket,
        },
    });
}

use bindings::spin::key_value::key_value::{self as kv, Error};

type Answer<T> = wasmtime::Result<Result<T, Error>>;

fn error(e: StoreError) -> Error {
    Error::Other(e.to_string())
}

/// Links the interface, each call getting the request's [`KvView`].
pub(super) fn add_to_linker(
    linker: &mut Linker<RequestCtx>,
    view: fn(&mut RequestCtx) -> KvView<'_>,
) -> wasmtime::Result<()> {
    kv::add_to_linker::<_, HasKv>(linker, view)
}

/// The store behind the bucket `this`.
fn store_of<T>(accessor: &Accessor<T, HasKv>, this: &Resource<Bucket>) -> wasmtime::Result<Call> {
    accessor.with(|mut access| access.get().call(this))
}

impl kv::Host for KvView<'_> {}

impl kv::HostStore for KvView<'_> {
    fn drop(&mut self, this: Resource<Bucket>) -> wasmtime::Result<()> {
        self.release(this)?;
        Ok(())
    }
}

impl<T> kv::HostStoreWithStore<T> for HasKv {
    async fn open(accessor: &Accessor<T, Self>, label: String) -> Answer<Resource<Bucket>> {
        accessor.with(|mut access| {
            let mut view = access.get();
            match view.open(&label) {
                Ok(store) => match view.hold(Bucket(store))? {
                    Some(bucket) => Ok(Ok(bucket)),
                    None => Ok(Err(Error::StoreTableFull)),
                },
                Err(Denied::AccessDenied) => Ok(Err(Error::AccessDenied)),
                Err(Denied::NoSuchStore) => Ok(Err(Error::NoSuchStore)),
            }
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        this: Resource<Bucket>,
        key: String,
    ) -> Answer<Option<Vec<u8>>> {
        let store = store_of(accessor, &this)?;
        Ok(store.get(&key).await.map_err(error))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        this: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Answer<()> {
        let store = store_of(accessor, &this)?;
        Ok(store.set(&key, &value).await.map_err(error))
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        this: Resource<Bucket>,
        key: String,
    ) -> Answer<()> {
        let store = store_of(accessor, &this)?;
        Ok(store.delete(&key).await.map_err(error))
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        this: Resource<Bucket>,
        key: String,
    ) -> Answer<bool> {
        let store = store_of(accessor, &this)?;
        Ok(store.exists(&key).await.map_err(error))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        this: Resource<Bucket>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let store = store_of(accessor, &this)?;
        let mut keys = Vec::new();
        let mut cursor = None;
        let ended = loop {
            match store.list_keys(cursor).await {
                Ok((page, next)) => {
                    keys.extend(page);
                    match next {
                        Some(next) => cursor = Some(next),
                        None => break Ok(()),
                    }
                }
                Err(e) => break Err(error(e)),
            }
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let done = FutureReader::new(&mut access, async move { wasmtime::error::Ok(ended) })?;
            Ok((stream, done))
        })
    }
}
