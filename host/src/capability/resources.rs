//! Long-lived things capabilities open for the apps of a deployment (a
//! database handle, a connection pool), kept across reloads that still ask
//! for them: a reload that does not change a store does not reopen it.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// What one resource is: its type and a key the capability chose (a
/// store's name and location, say).
type Name = (TypeId, String);

/// The resources of one deployment. A load asks for what its apps need
/// ([`get_or_open`](Resources::get_or_open)); what an earlier load opened
/// is handed out again; after a load, what it did not ask for is let go
/// ([`keep_asked`](Resources::keep_asked)), and closes once the old apps
/// that still hold it are gone.
#[derive(Default)]
pub struct Resources {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    open: HashMap<Name, Arc<dyn Any + Send + Sync>>,
    asked: HashSet<Name>,
}

impl Resources {
    /// The `T` named `key`: the one already open, or a new one from `open`.
    pub fn get_or_open<T: Any + Send + Sync>(
        &self,
        key: &str,
        open: impl FnOnce() -> Result<T, String>,
    ) -> Result<Arc<T>, String> {
        let name = (TypeId::of::<T>(), key.to_string());
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.asked.insert(name.clone());
        if let Some(open) = held.open.get(&name).and_then(|r| r.clone().downcast().ok()) {
            return Ok(open);
        }
        let resource = Arc::new(open()?);
        held.open.insert(name, resource.clone());
        Ok(resource)
    }

    /// Ends a load: what it did not ask for is no longer kept.
    pub fn keep_asked(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let asked = std::mem::take(&mut held.asked);
        held.open.retain(|name, _| asked.contains(name));
    }

    /// Ends a load that failed: what it opened is kept only if an earlier
    /// load had it (the apps still serving may hold it).
    pub fn forget_asked(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.asked.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Resources;

    #[test]
    fn a_reload_reuses_what_it_asks_for_and_lets_go_of_the_rest() {
        let resources = Resources::default();
        let opened = std::cell::Cell::new(0);
        let open = |v: u32| {
            opened.set(opened.get() + 1);
            Ok(v)
        };
        let a = resources.get_or_open("a", || open(1)).unwrap();
        let b = resources.get_or_open("b", || open(2)).unwrap();
        resources.keep_asked();
        // The next load asks for `a` again and not for `b`.
        let a2 = resources.get_or_open("a", || open(10)).unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &a2));
        resources.keep_asked();
        assert_eq!(opened.get(), 2);
        // `b` was let go: asking again opens a new one.
        let b2 = resources.get_or_open("b", || open(20)).unwrap();
        assert_eq!((*b, *b2), (2, 20));
        // Another type under the same key is another resource.
        let s = resources
            .get_or_open("a", || Ok("text".to_string()))
            .unwrap();
        assert_eq!(*s, "text");
        assert!(
            resources
                .get_or_open::<u8>("c", || Err("no".into()))
                .is_err()
        );
    }
}
