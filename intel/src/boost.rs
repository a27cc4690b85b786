//! Gradient boosting of shallow trees on top of the logistic regression (the regression's logit
//! is the starting margin, the trees fit what it leaves): weighted logistic loss, second-order
//! (Newton) leaf values with L2 shrinkage, histogram split search over per-feature quantile
//! bins, a learned direction for missing features at every split, deterministic row
//! subsampling from the seed. The result is a [`Forest`] that `protocol` evaluates.
//!
//! Deliberately small and conservative (depth ≤ 3 by default, minimum child weight, shrinkage):
//! the training humans come from three sources, and a deep ensemble would learn their
//! recording artefacts rather than human motion.

use tollgate_model::features::{DEFS, F, Features};
use tollgate_model::forest::{Forest, MAX_NODES, Node, Split, Tree};

use super::Label;
use super::rng::Rng;

/// Boosting options (`trees == 0`: no forest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoostOptions {
    pub trees: usize,
    pub depth: usize,
    pub learning_rate: f64,
    /// L2 penalty on leaf values (hessian units).
    pub lambda: f64,
    /// Smallest hessian sum (≈ weighted records × p(1−p)) a child may have.
    pub min_child_weight: f64,
    /// Histogram bins per feature (≤ 255).
    pub bins: usize,
    /// Smallest loss reduction for a split.
    pub min_gain: f64,
    /// Share of records each tree sees (deterministic from `seed`).
    pub subsample: f64,
    /// Share of the feature columns each tree may split on (drawn per tree, deterministic from
    /// `seed`, at least one; ≥ 1: all).
    pub colsample: f64,
    /// A feature needs this many present values to be split on.
    pub min_present: usize,
    pub seed: u64,
    /// Features never split on: bit `F as usize` set (see [`super::train::feature_mask`]).
    pub exclude: u64,
}

impl Default for BoostOptions {
    fn default() -> Self {
        BoostOptions {
            trees: 0,
            depth: 3,
            learning_rate: 0.1,
            lambda: 5.0,
            min_child_weight: 5.0,
            bins: 64,
            min_gain: 0.0,
            subsample: 0.8,
            colsample: 1.0,
            min_present: 20,
            seed: 1,
            exclude: 0,
        }
    }
}

/// One feature's binning: bin 0 = missing, bin b ≥ 1 holds values in (edges[b-2], edges[b-1]].
struct Column {
    feature: F,
    edges: Vec<f64>,
    bin: Vec<u8>,
}

impl Column {
    fn build(
        feature: F,
        rows: &[(&Features, Label, f64)],
        bins: usize,
        min_present: usize,
    ) -> Option<Column> {
        let mut vals: Vec<f64> = rows.iter().filter_map(|r| r.0.get(feature)).collect();
        if vals.len() < min_present {
            return None;
        }
        vals.sort_by(f64::total_cmp);
        let bins = bins.clamp(2, 255);
        let mut edges: Vec<f64> = (1..bins)
            .map(|j| vals[(j * (vals.len() - 1)) / bins])
            .collect();
        edges.dedup();
        // The largest value never separates anything.
        if edges.last() == vals.last() {
            edges.pop();
        }
        if edges.is_empty() {
            return None;
        }
        let bin = rows
            .iter()
            .map(|r| match r.0.get(feature) {
                None => 0,
                Some(x) => (1 + edges.partition_point(|e| *e < x)) as u8,
            })
            .collect();
        Some(Column {
            feature,
            edges,
            bin,
        })
    }

    fn nbins(&self) -> usize {
        self.edges.len() + 2
    }
}

struct Best {
    gain: f64,
    col: usize,
    /// Last bin (≥ 1) that goes left.
    cut: usize,
    missing_left: bool,
}

fn newton(g: f64, h: f64, lambda: f64) -> f64 {
    -g / (h + lambda)
}

fn score(g: f64, h: f64, lambda: f64) -> f64 {
    g * g / (h + lambda)
}

/// Fit `opts.trees` trees to the residual of the starting margins `base` (logits, one per row).
pub fn fit_forest(rows: &[(&Features, Label, f64)], base: &[f64], opts: &BoostOptions) -> Forest {
    let mut forest = Forest::default();
    if opts.trees == 0 || rows.is_empty() || base.len() != rows.len() {
        return forest;
    }
    let cols: Vec<Column> = DEFS
        .iter()
        .filter(|d| d.trainable && opts.exclude & (1u64 << (d.id as usize)) == 0)
        .filter_map(|d| Column::build(d.id, rows, opts.bins, opts.min_present))
        .collect();
    if cols.is_empty() {
        return forest;
    }
    let n = rows.len();
    let mut margin = base.to_vec();
    let mut g = vec![0.0; n];
    let mut h = vec![0.0; n];
    let mut rng = Rng::derive(opts.seed, "boost");
    // Its own stream, so that the row samples do not depend on it.
    let mut col_rng = Rng::derive(opts.seed, "boost-columns");
    let mut usable = vec![true; cols.len()];
    let lambda = opts.lambda.max(1e-9);
    let max_nodes = ((1usize << (opts.depth.min(9) + 1)) - 1).min(MAX_NODES);
    for _ in 0..opts.trees {
        for i in 0..n {
            let p = 1.0 / (1.0 + (-margin[i]).exp());
            let y = if rows[i].1 == Label::Human { 1.0 } else { 0.0 };
            let w = rows[i].2;
            g[i] = w * (p - y);
            h[i] = (w * p * (1.0 - p)).max(1e-12);
        }
        let sample: Vec<u32> = (0..n as u32)
            .filter(|_| opts.subsample >= 1.0 || rng.f64() < opts.subsample)
            .collect();
        if opts.colsample < 1.0 {
            for u in usable.iter_mut() {
                *u = col_rng.f64() < opts.colsample;
            }
            if !usable.contains(&true) {
                let i = col_rng.int(0, cols.len() - 1);
                usable[i] = true;
            }
        }
        let tree = grow(&cols, &usable, &g, &h, sample, opts, lambda, max_nodes);
        for (i, r) in rows.iter().enumerate() {
            margin[i] += tree.output(r.0);
        }
        forest.trees.push(tree);
    }
    forest
}

#[allow(clippy::too_many_arguments)]
fn grow(
    cols: &[Column],
    usable: &[bool],
    g: &[f64],
    h: &[f64],
    root_rows: Vec<u32>,
    opts: &BoostOptions,
    lambda: f64,
    max_nodes: usize,
) -> Tree {
    let lr = opts.learning_rate;
    let sums = |rows: &[u32]| {
        rows.iter().fold((0.0, 0.0), |(a, b), &i| {
            (a + g[i as usize], b + h[i as usize])
        })
    };
    let (g0, h0) = sums(&root_rows);
    let mut tree = Tree {
        nodes: vec![Node::leaf(lr * newton(g0, h0, lambda))],
    };
    // Breadth-first: (node index, its rows, depth, G, H).
    let mut queue = std::collections::VecDeque::from([(0usize, root_rows, 0usize, g0, h0)]);
    let mut hg: Vec<f64> = Vec::new();
    let mut hh: Vec<f64> = Vec::new();
    while let Some((idx, rows, depth, gt, ht)) = queue.pop_front() {
        if depth >= opts.depth
            || ht < 2.0 * opts.min_child_weight
            || tree.nodes.len() + 2 > max_nodes
        {
            continue;
        }
        let parent = score(gt, ht, lambda);
        let mut best: Option<Best> = None;
        for (ci, c) in cols.iter().enumerate() {
            if !usable[ci] {
                continue;
            }
            let nb = c.nbins();
            hg.clear();
            hg.resize(nb, 0.0);
            hh.clear();
            hh.resize(nb, 0.0);
            for &i in &rows {
                let b = c.bin[i as usize] as usize;
                hg[b] += g[i as usize];
                hh[b] += h[i as usize];
            }
            let (gm, hm) = (hg[0], hh[0]);
            let (mut gl, mut hl) = (0.0, 0.0);
            for cut in 1..nb - 1 {
                gl += hg[cut];
                hl += hh[cut];
                for missing_left in [false, true] {
                    if hm == 0.0 && missing_left {
                        continue;
                    }
                    let (lg, lh) = if missing_left {
                        (gl + gm, hl + hm)
                    } else {
                        (gl, hl)
                    };
                    let (rg, rh) = (gt - lg, ht - lh);
                    if lh < opts.min_child_weight || rh < opts.min_child_weight {
                        continue;
                    }
                    let gain = score(lg, lh, lambda) + score(rg, rh, lambda) - parent;
                    if gain > opts.min_gain && best.as_ref().is_none_or(|b| gain > b.gain) {
                        best = Some(Best {
                            gain,
                            col: ci,
                            cut,
                            // With no missing rows here, send future missing values to the
                            // heavier side (the more typical path).
                            missing_left: if hm == 0.0 { lh >= rh } else { missing_left },
                        });
                    }
                }
            }
        }
        let Some(b) = best else {
            continue;
        };
        let c = &cols[b.col];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) =
            rows.iter()
                .partition(|&&i| match c.bin[i as usize] as usize {
                    0 => b.missing_left,
                    bin => bin <= b.cut,
                });
        let (lg, lh) = sums(&left_rows);
        let (rg, rh) = sums(&right_rows);
        let li = tree.nodes.len();
        tree.nodes.push(Node::leaf(lr * newton(lg, lh, lambda)));
        tree.nodes.push(Node::leaf(lr * newton(rg, rh, lambda)));
        tree.nodes[idx].split = Some(Split {
            feature: c.feature,
            threshold: c.edges[b.cut - 1],
            left: li as u32,
            right: (li + 1) as u32,
            missing_left: b.missing_left,
        });
        queue.push_back((li, left_rows, depth + 1, lg, lh));
        queue.push_back((li + 1, right_rows, depth + 1, rg, rh));
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::features::{Session, extract};

    fn feats(a: Option<f64>, b: Option<f64>) -> Features {
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = a;
        f.values[F::KeyHold as usize] = b;
        f
    }

    /// `(features, is human)` pairs as training rows of weight 1.
    fn weighted(data: &[(Features, bool)]) -> Vec<(&Features, Label, f64)> {
        data.iter()
            .map(|(f, human)| (f, if *human { Label::Human } else { Label::Bot }, 1.0))
            .collect()
    }

    /// An XOR-like pattern a linear model cannot express: human iff (a > 0.5) != (b > 0.5),
    /// plus rows with `a` missing that are all bots.
    #[test]
    fn learns_an_interaction_and_a_missing_direction() {
        let mut rng = Rng::new(7);
        let mut data = Vec::new();
        for _ in 0..2000 {
            let (a, b) = (rng.f64(), rng.f64());
            data.push((feats(Some(a), Some(b)), (a > 0.5) != (b > 0.5)));
        }
        for _ in 0..300 {
            data.push((feats(None, Some(rng.f64())), false));
        }
        let rows = weighted(&data);
        let opts = BoostOptions {
            trees: 60,
            depth: 2,
            learning_rate: 0.3,
            lambda: 1.0,
            min_child_weight: 1.0,
            ..Default::default()
        };
        let fo = fit_forest(&rows, &vec![0.0; rows.len()], &opts);
        assert_eq!(fo.trees.len(), 60);
        fo.validate().unwrap();
        let correct = data
            .iter()
            .filter(|(f, human)| (fo.logit(f) > 0.0) == *human)
            .count();
        assert!(correct as f64 > 0.95 * data.len() as f64, "{correct}");
        assert!(fo.logit(&feats(None, Some(0.2))) < 0.0);
        // Deterministic for a seed; another seed subsamples differently.
        assert_eq!(fit_forest(&rows, &vec![0.0; rows.len()], &opts), fo);
        let other = BoostOptions { seed: 2, ..opts };
        assert_ne!(fit_forest(&rows, &vec![0.0; rows.len()], &other), fo);
        // Round trip through the model-file form.
        assert_eq!(Forest::from_json(&fo.to_json()).unwrap(), fo);
    }

    /// The features a tree splits on.
    fn split_features(t: &tollgate_model::forest::Tree) -> std::collections::BTreeSet<usize> {
        t.nodes
            .iter()
            .filter_map(|n| n.split.as_ref().map(|s| s.feature as usize))
            .collect()
    }

    /// With a column share that leaves one feature per tree, every tree splits on one feature
    /// only, and both features get trees; the row samples do not depend on the column draws.
    #[test]
    fn colsample_limits_each_tree_to_its_drawn_features() {
        let mut rng = Rng::new(3);
        let data: Vec<(Features, bool)> = (0..1500)
            .map(|_| {
                let (a, b) = (rng.f64(), rng.f64());
                (feats(Some(a), Some(b)), a + b > 1.0)
            })
            .collect();
        let rows = weighted(&data);
        let opts = BoostOptions {
            trees: 40,
            depth: 2,
            lambda: 1.0,
            min_child_weight: 1.0,
            colsample: 0.01,
            ..Default::default()
        };
        let fo = fit_forest(&rows, &vec![0.0; rows.len()], &opts);
        let mut used = std::collections::BTreeSet::new();
        for t in &fo.trees {
            let fs = split_features(t);
            assert!(fs.len() <= 1, "{fs:?}");
            used.extend(fs);
        }
        assert_eq!(used.len(), 2, "{used:?}");
        let all = BoostOptions {
            colsample: 1.0,
            ..opts
        };
        let full = fit_forest(&rows, &vec![0.0; rows.len()], &all);
        assert!(full.trees.iter().any(|t| split_features(t).len() == 2));
    }

    #[test]
    fn no_trees_or_no_data_gives_an_empty_forest() {
        let f = feats(Some(0.1), None);
        let rows = vec![(&f, Label::Human, 1.0)];
        assert!(
            fit_forest(&rows, &[0.0], &BoostOptions::default())
                .trees
                .is_empty()
        );
        let opts = BoostOptions {
            trees: 3,
            ..Default::default()
        };
        // One present value is below `min_present`: nothing to split on.
        assert!(fit_forest(&rows, &[0.0], &opts).trees.is_empty());
    }
}
