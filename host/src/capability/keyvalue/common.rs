//! The host functions both `wasi:keyvalue` drafts share, word for word
//! but for their generated types: each draft's module expands these in
//! its own impls, where `store`, `Answer` and `error` are its own.

/// `store.open`.
macro_rules! open {
    ($store:ident) => {
        async fn open(&mut self, identifier: String) -> Answer<Resource<Bucket>> {
            match KvView::open(self, &identifier) {
                Ok(store) => match self.hold(Bucket(store))? {
                    Some(bucket) => Ok(Ok(bucket)),
                    None => Ok(Err($store::Error::Other(super::too_many()))),
                },
                Err(Denied::AccessDenied) => Ok(Err($store::Error::AccessDenied)),
                Err(Denied::NoSuchStore) => Ok(Err($store::Error::NoSuchStore)),
            }
        }
    };
}

/// A bucket's `get`, `set`, `delete`, `exists` and drop.
macro_rules! bucket_methods {
    () => {
        async fn get(&mut self, this: Resource<Bucket>, key: String) -> Answer<Option<Vec<u8>>> {
            let store = self.call(&this)?;
            Ok(store.get(&key).await.map_err(error))
        }

        async fn set(&mut self, this: Resource<Bucket>, key: String, value: Vec<u8>) -> Answer<()> {
            let store = self.call(&this)?;
            Ok(store.set(&key, &value).await.map_err(error))
        }

        async fn delete(&mut self, this: Resource<Bucket>, key: String) -> Answer<()> {
            let store = self.call(&this)?;
            Ok(store.delete(&key).await.map_err(error))
        }

        async fn exists(&mut self, this: Resource<Bucket>, key: String) -> Answer<bool> {
            let store = self.call(&this)?;
            Ok(store.exists(&key).await.map_err(error))
        }

        async fn drop(&mut self, this: Resource<Bucket>) -> wasmtime::Result<()> {
            self.release(this)?;
            Ok(())
        }
    };
}

/// `batch.set-many` and `batch.delete-many`.
macro_rules! batch_methods {
    () => {
        async fn set_many(
            &mut self,
            bucket: Resource<Bucket>,
            key_values: Vec<(String, Vec<u8>)>,
        ) -> Answer<()> {
            let store = self.call(&bucket)?;
            Ok(store.set_many(&key_values).await.map_err(error))
        }

        async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Answer<()> {
            let store = self.call(&bucket)?;
            Ok(store.delete_many(&keys).await.map_err(error))
        }
    };
}

pub(super) use {batch_methods, bucket_methods, open};
