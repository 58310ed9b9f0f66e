//! The world users shop in: categories, items, their popularity, and taste groups.
//!
//! Dense indices order categories and items by popularity (category 0 is the most popular;
//! within a category, local index 0 is the most popular item). Only the scrambled external
//! ids are written, so the order cannot be seen in the output.

use crate::ids::{ID_SPACE, Scramble};
use crate::params::CheckedParams;
use crate::rng::{Rng, Stream, exp, mix64, powf};
use crate::sample::{Cumulative, allocate};

/// Categories' sizes fall off more slowly than their popularity (the biggest categories
/// are not as dominant in items as in traffic).
const SIZE_EXPONENT: f64 = 0.7;
/// Sigma of the random factor on category sizes, so sizes are not a pure power law.
const SIZE_NOISE_SIGMA: f64 = 0.5;
/// A group's favourites in one category hold at most this many items.
const GROUP_ITEMS_MAX: u32 = 300;
/// Groups choose their categories with the popularity weights raised to this power, so
/// not every group prefers the same few big categories.
const GROUP_CATEGORY_FLATTEN: f64 = 1.0;
/// Sigma of the lognormal group sizes.
const GROUP_SIZE_SIGMA: f64 = 0.5;
/// Most interest categories a user has.
pub(crate) const INTEREST_CAP: usize = 200;

/// One category a taste group prefers, with the group's own favourites there: ranks
/// `0..subset` map to local items by the bijection `r -> (mult * r + offset) % size`.
#[derive(Clone, Debug)]
pub(crate) struct GroupCategory {
    pub(crate) cat: u32,
    pub(crate) subset: u32,
    pub(crate) mult: u64,
    pub(crate) offset: u64,
}

/// Users of one group share preferred categories and, in each, preferred items.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// In order of preference.
    pub(crate) cats: Vec<GroupCategory>,
}

#[derive(Debug)]
pub(crate) struct World {
    /// Items of category `c` are the dense items `cat_start[c]..cat_start[c + 1]`.
    pub(crate) cat_start: Vec<u32>,
    pub(crate) cat_ext: Vec<u32>,
    pub(crate) item_ext: Vec<u32>,
    /// Global category popularity.
    pub(crate) cat_pop: Cumulative,
    /// Zipf over item ranks; its prefix of length `n` serves a category of `n` items.
    pub(crate) item_zipf: Cumulative,
    /// Zipf over positions in short preference lists (group categories, user interests).
    pub(crate) pref_zipf: Cumulative,
    pub(crate) groups: Vec<Group>,
    pub(crate) group_pick: Cumulative,
}

impl World {
    pub(crate) fn build(p: &CheckedParams) -> World {
        let n_cats = p.categories() as usize;
        let mut rng = Rng::new(p.seed(), Stream::Categories, 0);

        // Category sizes: skewed, popular categories tend to be big.
        let size_weights: Vec<f64> = (0..n_cats)
            .map(|c| {
                let w = 1.0 / powf((c + 1) as f64, SIZE_EXPONENT * p.category_zipf());
                w * rng.lognormal(1.0, SIZE_NOISE_SIGMA)
            })
            .collect();
        let sizes = allocate(u64::from(p.items()), &size_weights);
        let mut cat_start = Vec::with_capacity(n_cats + 1);
        let mut acc = 0u32;
        cat_start.push(0);
        for &s in &sizes {
            acc += s as u32; // sizes add up to `items`, a u32
            cat_start.push(acc);
        }
        let max_size = sizes.iter().copied().max().unwrap_or(1) as usize;

        let id_key = mix64(p.seed() ^ Stream::Ids as u64);
        let item_scramble = Scramble::new(ID_SPACE.max(u64::from(p.items())), id_key);
        let cat_scramble = Scramble::new(ID_SPACE.max(n_cats as u64), mix64(id_key));
        // Ids fit in u32 because the domain is max(5 M, count) and count is a u32.
        let item_ext = (0..u64::from(p.items()))
            .map(|i| (item_scramble.apply(i) + 1) as u32)
            .collect();
        let cat_ext = (0..n_cats as u64)
            .map(|c| (cat_scramble.apply(c) + 1) as u32)
            .collect();

        let cat_pop = Cumulative::zipf(n_cats, p.category_zipf());
        let item_zipf = Cumulative::zipf(max_size, p.item_zipf());
        let k = (p.group_categories() as usize).min(n_cats);
        let pref_zipf = Cumulative::zipf(k.max(INTEREST_CAP), p.interest_zipf());

        // Taste groups.
        let group_cat_pick = Cumulative::zipf(n_cats, p.category_zipf() * GROUP_CATEGORY_FLATTEN);
        let mut taken = vec![false; n_cats];
        let groups = (0..p.taste_groups())
            .map(|g| {
                let mut rng = Rng::new(p.seed(), Stream::Groups, u64::from(g));
                let mut cats = Vec::with_capacity(k);
                let mut tries = 0;
                while cats.len() < k && tries < 8 * k + 64 {
                    tries += 1;
                    let c = group_cat_pick.sample(&mut rng);
                    if !taken[c] {
                        taken[c] = true;
                        cats.push(c as u32);
                    }
                }
                // Very long lists (k near the number of categories): fill in index order.
                let mut c = 0;
                while cats.len() < k {
                    if !taken[c] {
                        taken[c] = true;
                        cats.push(c as u32);
                    }
                    c += 1;
                }
                for &c in &cats {
                    taken[c as usize] = false;
                }
                let cats = cats
                    .into_iter()
                    .map(|cat| {
                        let size = u64::from(cat_start[cat as usize + 1] - cat_start[cat as usize]);
                        let subset = ((size as f64 * p.group_item_fraction()).ceil() as u64)
                            .clamp(1, size.min(u64::from(GROUP_ITEMS_MAX)));
                        let mut mult = 1;
                        if size > 1 {
                            mult = 1 + rng.below(size - 1);
                            while gcd(mult, size) != 1 {
                                mult = 1 + rng.below(size - 1);
                            }
                        }
                        GroupCategory {
                            cat,
                            subset: subset as u32,
                            mult,
                            offset: rng.below(size),
                        }
                    })
                    .collect();
                Group { cats }
            })
            .collect();
        let mut rng = Rng::new(p.seed(), Stream::Groups, u64::MAX);
        let group_pick =
            Cumulative::new((0..p.taste_groups()).map(|_| exp(GROUP_SIZE_SIGMA * rng.normal())));

        World {
            cat_start,
            cat_ext,
            item_ext,
            cat_pop,
            item_zipf,
            pref_zipf,
            groups,
            group_pick,
        }
    }

    pub(crate) fn cat_size(&self, cat: u32) -> u32 {
        self.cat_start[cat as usize + 1] - self.cat_start[cat as usize]
    }

    /// A dense item of `cat` by global popularity.
    pub(crate) fn popular_item(&self, cat: u32, rng: &mut Rng) -> u32 {
        let size = self.cat_size(cat) as usize;
        self.cat_start[cat as usize] + self.item_zipf.sample_prefix(rng, size) as u32
    }

    /// A dense item of the group category `gc` by the group's own taste.
    pub(crate) fn taste_item(&self, gc: &GroupCategory, rng: &mut Rng) -> u32 {
        let size = u64::from(self.cat_size(gc.cat));
        let rank = self.item_zipf.sample_prefix(rng, gc.subset as usize) as u64;
        let local = (gc.mult * rank + gc.offset) % size;
        self.cat_start[gc.cat as usize] + local as u32
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::GeneratorParams;

    fn world(p: GeneratorParams) -> World {
        World::build(&p.check().expect("valid params"))
    }

    #[test]
    fn every_item_is_in_exactly_one_category() {
        let w = world(GeneratorParams::default().items(5_000).categories(300));
        assert_eq!(w.cat_start.len(), 301);
        assert_eq!(*w.cat_start.last().expect("non-empty"), 5_000);
        assert!(
            w.cat_start.windows(2).all(|s| s[0] < s[1]),
            "every category has an item"
        );
        let mut ids = w.item_ext.clone();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 5_000);
        assert!(ids.iter().all(|&i| (1..=5_000_000).contains(&i)));
        let mut cats = w.cat_ext.clone();
        cats.sort_unstable();
        cats.dedup();
        assert_eq!(cats.len(), 300);
        // Sizes are skewed: the biggest category is far above the mean of ~17.
        let max = (0..300).map(|c| w.cat_size(c)).max().unwrap_or(0);
        assert!(max > 100, "max category size {max}");
    }

    #[test]
    fn groups_prefer_distinct_categories_and_items_inside_them() {
        let w = world(GeneratorParams::default().items(20_000).taste_groups(10));
        assert_eq!(w.groups.len(), 10);
        for g in &w.groups {
            assert_eq!(g.cats.len(), 30);
            let mut cats: Vec<u32> = g.cats.iter().map(|c| c.cat).collect();
            cats.sort_unstable();
            cats.dedup();
            assert_eq!(cats.len(), 30);
        }
        // Group favourites are a bijection of ranks onto the category's items.
        let mut rng = Rng::new(1, Stream::User, 0);
        let gc = &w.groups[0].cats[0];
        let (lo, hi) = (
            w.cat_start[gc.cat as usize],
            w.cat_start[gc.cat as usize + 1],
        );
        for _ in 0..1000 {
            let item = w.taste_item(gc, &mut rng);
            assert!((lo..hi).contains(&item));
        }
        // Two groups' first categories are not all the same.
        let firsts: std::collections::BTreeSet<u32> =
            w.groups.iter().map(|g| g.cats[0].cat).collect();
        assert!(firsts.len() > 1);
    }

    #[test]
    fn tiny_worlds_work() {
        let w = world(GeneratorParams::default().users(1).items(1).events(1));
        assert_eq!(w.cat_start, vec![0, 1]);
        assert_eq!(w.groups.len(), 1);
        assert_eq!(w.groups[0].cats.len(), 1);
        let w = world(
            GeneratorParams::default()
                .items(10)
                .categories(10)
                .group_categories(10),
        );
        assert!(w.groups.iter().all(|g| g.cats.len() == 10));
    }
}
