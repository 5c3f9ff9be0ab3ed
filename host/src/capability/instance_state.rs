//! What one instance's capabilities keep for it while it lives (the locks
//! it holds, its `/tmp`, its disk quota, its open stores): one typed value
//! per capability, each under a type of the capability's own, so that a
//! capability with state of its own adds none to the store's context.

use std::any::{Any, TypeId};

/// One instance's capability state, each part under its own type. Few
/// parts, so a list is searched: no allocation for an instance that keeps
/// nothing, no hashing on the per-request path.
#[derive(Default)]
pub struct InstanceState(Vec<(TypeId, Box<dyn Any + Send>)>);

impl InstanceState {
    /// Keeps `value` for the instance (replacing a `T` kept before).
    pub fn insert<T: Any + Send>(&mut self, value: T) {
        match self.position::<T>() {
            Some(at) => self.0[at].1 = Box::new(value),
            None => self.0.push((TypeId::of::<T>(), Box::new(value))),
        }
    }

    /// The `T` kept, if any.
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        self.0[self.position::<T>()?].1.downcast_ref()
    }

    /// The `T` kept, kept first as `T::default()` if there was none.
    pub fn get_or_default<T: Any + Send + Default>(&mut self) -> &mut T {
        let at = self.position::<T>().unwrap_or_else(|| {
            self.0.push((TypeId::of::<T>(), Box::new(T::default())));
            self.0.len() - 1
        });
        self.0[at]
            .1
            .downcast_mut()
            .expect("an entry is kept under its own type")
    }

    fn position<T: Any>(&self) -> Option<usize> {
        self.0.iter().position(|(id, _)| *id == TypeId::of::<T>())
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceState;

    #[derive(Default, Debug, PartialEq)]
    struct Count(usize);

    #[test]
    fn each_type_has_its_own_part() {
        let mut state = InstanceState::default();
        assert!(state.get::<Count>().is_none());
        state.get_or_default::<Count>().0 += 2;
        state.insert(String::from("tmp"));
        state.get_or_default::<Count>().0 += 1;
        assert_eq!(state.get::<Count>(), Some(&Count(3)));
        state.insert(Count(7));
        assert_eq!(state.get::<Count>(), Some(&Count(7)));
        assert_eq!(state.get::<String>().map(|s| s.as_str()), Some("tmp"));
    }
}
