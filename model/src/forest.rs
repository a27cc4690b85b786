//! Gradient-boosted decision trees over behaviour [`crate::features`]: the non-linear half of the
//! behaviour model ([`crate::model::Model::forest`]). Pure Rust, no dependency, stored inside the
//! model file.
//!
//! Each tree is a flat node list; node 0 is the root. An internal node sends a present value
//! `x` left when `x <= threshold`, a missing feature to the side learned in training
//! (`missing_left`). Every node carries the value the tree would output if it stopped there
//! (the Newton step of its training rows, times the learning rate), so the path to a leaf
//! decomposes the tree's output into its root value plus one difference per split: the change
//! at a split is credited to the split's feature (Saabas attribution). Summed over trees, the
//! forest's logit is [`Forest::base`] plus exactly the per-feature contributions, which is what
//! the siteverify `contributions` report.
//!
//! Loading validates the structure so that evaluation cannot loop or index out of bounds:
//! children always come after their parent, indices and feature slots are in range, and every
//! number is finite.

use crate::features::{F, Features};
use crate::model::ModelError;

/// Most trees a model file may hold.
pub const MAX_TREES: usize = 4096;
/// Most nodes one tree may hold.
pub const MAX_NODES: usize = 1024;

/// A split of an internal node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub feature: F,
    pub threshold: f64,
    pub left: u32,
    pub right: u32,
    /// Where a session without this feature goes.
    pub missing_left: bool,
}

/// One node: a leaf when `split` is `None`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// Output (logits) of the tree if evaluation stopped here.
    pub value: f64,
    pub split: Option<Split>,
}

impl Node {
    pub fn leaf(value: f64) -> Node {
        Node { value, split: None }
    }
}

/// One tree (node 0 is the root; children after their parent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// A boosted ensemble: its output is added to the model's logit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Forest {
    pub trees: Vec<Tree>,
}

impl Tree {
    /// Output (logits) of this tree for `f`.
    pub fn output(&self, f: &Features) -> f64 {
        self.walk(&f.values, &mut |_, _| {})
    }

    /// Leaf reached by the feature values `values` (indexed by [`F`], as
    /// [`Features::values`]), calling `credit(feature, Δlogit)` at every split on the way.
    fn walk(&self, values: &[Option<f64>], credit: &mut impl FnMut(F, f64)) -> f64 {
        let mut i = 0usize;
        let Some(mut node) = self.nodes.first() else {
            return 0.0;
        };
        // Children come strictly after their parent (checked at load), so this ends within
        // `nodes.len()` steps; the bound is a second guard for hand-built trees.
        for _ in 0..self.nodes.len() {
            let Some(s) = node.split else {
                return node.value;
            };
            let left = match values.get(s.feature as usize).copied().flatten() {
                Some(x) => x <= s.threshold,
                None => s.missing_left,
            };
            let next = if left { s.left } else { s.right } as usize;
            let Some(child) = self.nodes.get(next).filter(|_| next > i) else {
                return node.value;
            };
            credit(s.feature, child.value - node.value);
            node = child;
            i = next;
        }
        node.value
    }
}

impl Forest {
    /// Sum of the trees' root values: the forest's output before any split (constant).
    pub fn base(&self) -> f64 {
        self.trees
            .iter()
            .filter_map(|t| t.nodes.first())
            .map(|n| n.value)
            .sum()
    }

    /// Forest output in logits; `credit(feature, Δlogit)` receives every split's share, so the
    /// output is `base()` plus the sum of the credits.
    pub fn eval(&self, f: &Features, credit: impl FnMut(F, f64)) -> f64 {
        self.eval_values(&f.values, credit)
    }

    /// [`Forest::eval`] on feature values indexed by [`F`] (as [`Features::values`]; e.g. one
    /// modality's [`Features::masked_values`]).
    pub fn eval_values(&self, values: &[Option<f64>], mut credit: impl FnMut(F, f64)) -> f64 {
        self.trees.iter().map(|t| t.walk(values, &mut credit)).sum()
    }

    /// Forest output in logits.
    pub fn logit(&self, f: &Features) -> f64 {
        self.eval(f, |_, _| {})
    }

    /// Number of nodes over all trees.
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// Features the forest splits on, in first-use order.
    pub fn features(&self) -> Vec<F> {
        let mut out: Vec<F> = Vec::new();
        for s in self
            .trees
            .iter()
            .flat_map(|t| t.nodes.iter().filter_map(|n| n.split))
        {
            if !out.contains(&s.feature) {
                out.push(s.feature);
            }
        }
        out
    }

    /// Check the structure (see the module doc).
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.trees.len() > MAX_TREES {
            return Err(ModelError::Range("too many trees"));
        }
        for t in &self.trees {
            if t.nodes.is_empty() || t.nodes.len() > MAX_NODES {
                return Err(ModelError::Range("tree size"));
            }
            for (i, n) in t.nodes.iter().enumerate() {
                if !n.value.is_finite() {
                    return Err(ModelError::Range("node value"));
                }
                if let Some(s) = n.split {
                    let ok = |c: u32| (c as usize) > i && (c as usize) < t.nodes.len();
                    if !ok(s.left) || !ok(s.right) || s.left == s.right {
                        return Err(ModelError::Range("node children"));
                    }
                    if !s.threshold.is_finite() {
                        return Err(ModelError::Range("node threshold"));
                    }
                }
            }
        }
        Ok(())
    }

    /// JSON form, as inside the model file: `{"features": [names…], "trees": [[node…]…]}`
    /// with a leaf as `[value]` and an internal node as
    /// `[value, feature slot, threshold, left, right, missing_left 0|1]`.
    pub fn to_json(&self) -> String {
        crate::file::write_forest(self)
    }

    /// Parse the JSON form (see [`Forest::to_json`]) and [`validate`](Forest::validate) it.
    pub fn from_json(text: &str) -> Result<Forest, ModelError> {
        crate::file::parse_forest(text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::features::{Session, extract};

    /// Root splits on key rollover (missing goes right), left child splits on hold.
    pub(crate) fn toy() -> Forest {
        let split = |feature, threshold, left, right, missing_left| {
            Some(Split {
                feature,
                threshold,
                left,
                right,
                missing_left,
            })
        };
        Forest {
            trees: vec![
                Tree {
                    nodes: vec![
                        Node {
                            value: 0.1,
                            split: split(F::KeyRollover, 0.05, 1, 2, false),
                        },
                        Node {
                            value: -0.5,
                            split: split(F::KeyHold, 4.0, 3, 4, true),
                        },
                        Node::leaf(0.4),
                        Node::leaf(-1.0),
                        Node::leaf(0.2),
                    ],
                },
                Tree {
                    nodes: vec![Node::leaf(0.25)],
                },
            ],
        }
    }

    fn feats(rollover: Option<f64>, hold: Option<f64>) -> Features {
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = rollover;
        f.values[F::KeyHold as usize] = hold;
        f
    }

    #[test]
    fn paths_missing_values_and_attribution() {
        let fo = toy();
        assert!((fo.base() - 0.35).abs() < 1e-12);
        let cases = [
            (Some(0.0), Some(3.0), -1.0 + 0.25),
            (Some(0.0), Some(5.0), 0.2 + 0.25),
            (Some(0.0), None, -1.0 + 0.25),
            (Some(0.2), None, 0.4 + 0.25),
            (None, Some(3.0), 0.4 + 0.25),
        ];
        for (r, h, want) in cases {
            let f = feats(r, h);
            let mut credited = 0.0;
            let got = fo.eval(&f, |_, d| credited += d);
            assert!((got - want).abs() < 1e-12, "{r:?} {h:?}: {got} vs {want}");
            assert!((fo.base() + credited - got).abs() < 1e-12);
        }
        let mut by = Vec::new();
        fo.eval(&feats(Some(0.0), Some(3.0)), |f, d| by.push((f, d)));
        assert_eq!(by.len(), 2);
        assert_eq!(by[0].0, F::KeyRollover);
        assert!((by[0].1 + 0.6).abs() < 1e-12 && (by[1].1 + 0.5).abs() < 1e-12);
        assert_eq!(fo.features(), vec![F::KeyRollover, F::KeyHold]);
    }

    #[test]
    fn json_roundtrip_and_rejects_bad_structure() {
        let fo = toy();
        let text = fo.to_json();
        assert_eq!(Forest::from_json(&text).unwrap(), fo);
        let bad = Forest::from_json;
        // A child that points back at its parent (a cycle) is refused.
        assert_eq!(
            bad(r#"{"features":["key_rollover"],"trees":[[[0,0,0.5,0,1,0],[1]]]}"#),
            Err(ModelError::Range("node children"))
        );
        assert!(bad(r#"{"features":["key_rollover"],"trees":[[[0,0,0.5,1,9,0],[1]]]}"#).is_err());
        assert!(
            bad(r#"{"features":["key_rollover"],"trees":[[[0,1,0.5,1,2,0],[1],[2]]]}"#).is_err()
        );
        assert!(bad(r#"{"features":["nope"],"trees":[]}"#).is_err());
        assert!(bad(r#"{"features":[],"trees":[[]]}"#).is_err());
        assert!(
            bad(r#"{"features":["key_rollover"],"trees":[[[0,0,0.5,1,2,2],[1],[2]]]}"#).is_err()
        );
        assert!(bad(r#"{"features":[],"trees":[[[1,2]]]}"#).is_err());
        // Index not an integer, missing_left not 0/1, a non-number, an overflowing number.
        assert_eq!(
            bad(r#"{"features":["key_rollover"],"trees":[[[0,0,0.5,1.5,2,0],[1],[2]]]}"#),
            Err(ModelError::Range("forest node index"))
        );
        assert_eq!(
            bad(r#"{"features":["key_rollover"],"trees":[[[0,0,0.5,1,2,0.5],[1],[2]]]}"#),
            Err(ModelError::Range("forest node missing_left"))
        );
        assert!(matches!(
            bad(r#"{"features":[],"trees":[[["x"]]]}"#),
            Err(ModelError::Field(_))
        ));
        assert!(bad(r#"{"features":[],"trees":[[[1e999]]]}"#).is_err());
        for cut in 0..text.len() {
            let _ = Forest::from_json(&text[..cut]);
        }
    }
}
