//! A tree of resource keys by component, the index the decision walks. Looking up a path costs
//! one small hash lookup per component until the tree has no deeper entry, so a path outside
//! every zone usually costs one or two lookups, and nothing depends on how many entries exist.

use rustc_hash::FxHashMap;

use crate::model::{components, Components, Scheme};

#[derive(Debug)]
pub struct Trie<V> {
    /// One tree per scheme; there are only a few, so a list beats a map.
    roots: Vec<(Scheme, Node<V>)>,
}

#[derive(Debug)]
struct Node<V> {
    children: FxHashMap<Box<str>, Node<V>>,
    values: Vec<V>,
    /// Some node strictly below this one has values.
    below: bool,
}

impl<V> Default for Node<V> {
    fn default() -> Self {
        Node {
            children: FxHashMap::default(),
            values: Vec::new(),
            below: false,
        }
    }
}

impl<V> Default for Trie<V> {
    fn default() -> Self {
        Trie { roots: Vec::new() }
    }
}

impl<V> Trie<V> {
    /// Adds `value` at the canonical `key`; keys of unknown schemes are ignored (the model
    /// never produces them).
    pub fn insert(&mut self, key: &str, value: V) {
        let Some((scheme, parts)) = components(key) else {
            return;
        };
        let i = match self.roots.iter().position(|(s, _)| *s == scheme) {
            Some(i) => i,
            None => {
                self.roots.push((scheme, Node::default()));
                self.roots.len() - 1
            }
        };
        let mut node = &mut self.roots[i].1;
        for part in parts {
            node.below = true;
            node = node.children.entry(part.into()).or_default();
        }
        node.values.push(value);
    }

    /// The value at the canonical `key`, made with `new` when the key has none yet; None for
    /// a key of an unknown scheme. For tries holding one value per key.
    pub fn value_mut(&mut self, key: &str, new: impl FnOnce() -> V) -> Option<&mut V> {
        let (scheme, parts) = components(key)?;
        let i = match self.roots.iter().position(|(s, _)| *s == scheme) {
            Some(i) => i,
            None => {
                self.roots.push((scheme, Node::default()));
                self.roots.len() - 1
            }
        };
        let mut node = &mut self.roots[i].1;
        for part in parts {
            node.below = true;
            node = node.children.entry(part.into()).or_default();
        }
        if node.values.is_empty() {
            node.values.push(new());
        }
        node.values.first_mut()
    }

    /// The tree of `key`'s scheme and the components below it.
    #[inline]
    fn start<'k>(&self, key: &'k str) -> Option<(&Node<V>, Components<'k>)> {
        let (scheme, parts) = components(key)?;
        let node = self
            .roots
            .iter()
            .find(|(s, _)| *s == scheme)
            .map(|(_, n)| n)?;
        Some((node, parts))
    }

    /// Calls `f` with the values of `key` and of each of its ancestors that has some, outermost
    /// first, until `f` returns true; returns whether it did.
    #[inline]
    pub fn any_on_path<'a>(&'a self, key: &str, mut f: impl FnMut(&'a [V]) -> bool) -> bool {
        let Some((mut node, parts)) = self.start(key) else {
            return false;
        };
        if !node.values.is_empty() && f(&node.values) {
            return true;
        }
        for part in parts {
            if !node.below {
                return false;
            }
            match node.children.get(part) {
                Some(child) => node = child,
                None => return false,
            }
            if !node.values.is_empty() && f(&node.values) {
                return true;
            }
        }
        false
    }

    /// Calls `f` with each value strictly below `key` until it returns true; returns whether it did.
    pub fn any_below<'a>(&'a self, key: &str, mut f: impl FnMut(&'a V) -> bool) -> bool {
        let Some((mut node, parts)) = self.start(key) else {
            return false;
        };
        for part in parts {
            match node.children.get(part) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.below && node.children.values().any(|c| c.any_here_or_below(&mut f))
    }
}

impl<V> Node<V> {
    fn any_here_or_below<'a>(&'a self, f: &mut impl FnMut(&'a V) -> bool) -> bool {
        self.values.iter().any(&mut *f)
            || (self.below && self.children.values().any(|c| c.any_here_or_below(f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trie(keys: &[&str]) -> Trie<String> {
        let mut t = Trie::default();
        for k in keys {
            t.insert(k, k.to_string());
        }
        t
    }

    fn on_path(t: &Trie<String>, key: &str) -> Vec<String> {
        let mut seen = vec![];
        t.any_on_path(key, |vs| {
            seen.extend(vs.iter().cloned());
            false
        });
        seen
    }

    #[test]
    fn ancestors_with_values_are_visited_outermost_first() {
        let t = trie(&[
            "hdfs:/",
            "hdfs:/lake/sales",
            "hdfs:/lake/sales/orders",
            "hive:sales",
        ]);
        assert_eq!(
            on_path(&t, "hdfs:/lake/sales/orders/p"),
            ["hdfs:/", "hdfs:/lake/sales", "hdfs:/lake/sales/orders"]
        );
        assert_eq!(on_path(&t, "hdfs:/lake/salesforce"), ["hdfs:/"]);
        assert_eq!(on_path(&t, "hive:sales.orders"), ["hive:sales"]);
        assert!(on_path(&t, "hive:other.t").is_empty());
    }

    #[test]
    fn values_strictly_below_are_found() {
        let t = trie(&["hdfs:/lake/sales", "hdfs:/lake/hr/x"]);
        let mut below = vec![];
        t.any_below("hdfs:/lake", |v| {
            below.push(v.clone());
            false
        });
        below.sort();
        assert_eq!(below, ["hdfs:/lake/hr/x", "hdfs:/lake/sales"]);
        assert!(
            !t.any_below("hdfs:/lake/sales", |_| true),
            "not the key itself"
        );
        assert!(t.any_below("hdfs:/", |_| true));
        assert!(!t.any_below("hdfs:/other", |_| true));
    }
}
