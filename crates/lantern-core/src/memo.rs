//! Values that are slow to build (ONNX Runtime sessions), built once per key and shared.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// Built values by key, shared as `Arc`s between threads.
#[derive(Debug)]
pub struct Memo<K, V>(Mutex<HashMap<K, Arc<V>>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V> Memo<K, V> {
    /// The value of `key`, built by `build` the first time. The lock is not held while
    /// building, so builds of other keys are not held up; two threads that build the same key
    /// at once both build it, and the later one's value is kept.
    pub fn get_or_try_build<E>(
        &self,
        key: K,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if let Some(value) = self.lock().get(&key) {
            return Ok(value.clone());
        }
        let value = Arc::new(build()?);
        self.lock().insert(key, value.clone());
        Ok(value)
    }

    /// A panicking builder never holds the lock, so a poisoned map is still whole.
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Arc<V>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_once_per_key_and_passes_errors_on() {
        let memo = Memo::<&str, usize>::default();
        let builds = std::cell::Cell::new(0);
        let build = |v| {
            builds.set(builds.get() + 1);
            Ok::<_, String>(v)
        };
        let a = memo.get_or_try_build("a", || build(1)).unwrap();
        let again = memo.get_or_try_build("a", || build(2)).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(*memo.get_or_try_build("b", || build(3)).unwrap(), 3);
        assert_eq!(builds.get(), 2);
        let err = memo.get_or_try_build("c", || Err::<usize, _>("no".to_string()));
        assert_eq!(err.unwrap_err(), "no");
        assert_eq!(*memo.get_or_try_build("c", || build(4)).unwrap(), 4);
    }
}
