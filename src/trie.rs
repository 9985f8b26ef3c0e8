//! A tree of resource keys by component, the index the decision walks. Looking up a path costs
//! one small hash lookup per component until the tree has no deeper entry, so a path outside
//! every zone usually costs one or two lookups, and nothing depends on how many entries exist.
//!
//! Nodes are reference-counted, so a clone of a tree shares them all, and a change to a clone
//! (`update`) copies only the nodes on the changed key's path: a snapshot with one grant more
//! costs the path, not the tree.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::model::{components, Components, Scheme};

#[derive(Debug, Clone)]
pub struct Trie<V> {
    /// One tree per scheme; there are only a few, so a list beats a map.
    roots: Vec<(Scheme, Arc<Node<V>>)>,
}

#[derive(Debug, Clone)]
struct Node<V> {
    /// Copying a node (on a change of a shared tree) copies this map's pointers, not the nodes.
    children: FxHashMap<Arc<str>, Arc<Node<V>>>,
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

impl<V: Clone> Trie<V> {
    /// The tree of `scheme`, made empty when there is none yet.
    fn root(&mut self, scheme: Scheme) -> &mut Arc<Node<V>> {
        let i = match self.roots.iter().position(|(s, _)| *s == scheme) {
            Some(i) => i,
            None => {
                self.roots.push((scheme, Arc::default()));
                self.roots.len() - 1
            }
        };
        &mut self.roots[i].1
    }

    /// The node at `parts` below `node`, made (and the nodes on the way copied where shared).
    fn node_mut<'t, 'k>(
        mut node: &'t mut Arc<Node<V>>,
        parts: impl Iterator<Item = &'k str>,
    ) -> &'t mut Node<V> {
        for part in parts {
            let n = Arc::make_mut(node);
            n.below = true;
            if !n.children.contains_key(part) {
                n.children.insert(part.into(), Arc::default());
            }
            node = n.children.get_mut(part).expect("just made");
        }
        Arc::make_mut(node)
    }

    /// Adds `value` at the canonical `key`; keys of unknown schemes are ignored (the model
    /// never produces them).
    pub fn insert(&mut self, key: &str, value: V) {
        let Some((scheme, parts)) = components(key) else {
            return;
        };
        Self::node_mut(self.root(scheme), parts).values.push(value);
    }

    /// The value at the canonical `key`, made with `new` when the key has none yet; None for
    /// a key of an unknown scheme. For tries holding one value per key.
    pub fn value_mut(&mut self, key: &str, new: impl FnOnce() -> V) -> Option<&mut V> {
        let (scheme, parts) = components(key)?;
        let node = Self::node_mut(self.root(scheme), parts);
        if node.values.is_empty() {
            node.values.push(new());
        }
        node.values.first_mut()
    }

    /// Changes the value at the canonical `key` (made with `new` when the key has none) with
    /// `change`, which says whether the value is still wanted; one that is not is removed with
    /// the branches it leaves empty. Copies only the nodes on `key`'s path that other tries
    /// share. For tries holding one value per key.
    pub fn update(
        &mut self,
        key: &str,
        new: impl FnOnce() -> V,
        change: impl FnOnce(&mut V) -> bool,
    ) {
        let Some((scheme, parts)) = components(key) else {
            return;
        };
        Self::update_below(self.root(scheme), parts, new, change);
    }

    fn update_below<'k>(
        node: &mut Arc<Node<V>>,
        mut parts: impl Iterator<Item = &'k str>,
        new: impl FnOnce() -> V,
        change: impl FnOnce(&mut V) -> bool,
    ) {
        let n = Arc::make_mut(node);
        match parts.next() {
            None => {
                if n.values.is_empty() {
                    n.values.push(new());
                }
                if !change(&mut n.values[0]) {
                    n.values.clear();
                }
            }
            Some(part) => {
                if !n.children.contains_key(part) {
                    n.children.insert(part.into(), Arc::default());
                }
                let child = n.children.get_mut(part).expect("just made");
                Self::update_below(child, parts, new, change);
                if child.values.is_empty() && !child.below {
                    n.children.remove(part);
                }
                // every child kept holds values or has some below it
                n.below = !n.children.is_empty();
            }
        }
    }
}

impl<V> Trie<V> {
    /// The tree of `key`'s scheme and the components below it.
    #[inline]
    fn start<'k>(&self, key: &'k str) -> Option<(&Node<V>, Components<'k>)> {
        let (scheme, parts) = components(key)?;
        let node = self
            .roots
            .iter()
            .find(|(s, _)| *s == scheme)
            .map(|(_, n)| &**n)?;
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
                Some(child) => node = &**child,
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
                Some(child) => node = &**child,
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

    #[test]
    fn an_update_copies_only_its_path_and_prunes_what_it_empties() {
        let mut t = trie(&["hdfs:/lake/sales", "hdfs:/lake/hr"]);
        let before = t.clone();
        t.update("hdfs:/lake/sales/orders", || "new".into(), |_| true);
        assert_eq!(
            on_path(&t, "hdfs:/lake/sales/orders/x"),
            ["hdfs:/lake/sales", "new"]
        );
        assert_eq!(
            on_path(&before, "hdfs:/lake/sales/orders/x"),
            ["hdfs:/lake/sales"]
        );
        let (old, new) = (&before.roots[0].1, &t.roots[0].1);
        assert!(
            Arc::ptr_eq(
                &old.children["lake"].children["hr"],
                &new.children["lake"].children["hr"]
            ),
            "what the change did not touch is shared"
        );
        t.update("hdfs:/lake/sales/orders", || "new".into(), |_| false);
        assert!(
            !t.any_below("hdfs:/lake/sales", |_| true),
            "the emptied branch is gone"
        );
        t.update("hdfs:/lake/hr", String::new, |_| false);
        assert!(!t.roots[0].1.children["lake"].children.contains_key("hr"));
        assert!(t.any_below("hdfs:/", |_| true));
    }
}
