//! One user's history: interests, sessions in time, items and the behaviour funnel.

use crate::model::{Group, INTEREST_CAP, World};
use crate::params::CheckedParams;
use crate::rng::{Rng, Stream, exp, ln};
use crate::sample::{Cumulative, allocate_into};

/// Inactivity between sessions is strictly more than this (a 30-minute sessionizer splits
/// exactly where we did).
pub(crate) const SESSION_GAP: i64 = 1_800;
/// Gaps inside a session never exceed this.
pub(crate) const MAX_IN_SESSION_GAP: f64 = 1_500.0;
/// Probability that a session has a second focus category.
const SECOND_FOCUS: f64 = 0.4;
/// When switching category inside a session: chance to go back to the other focus.
const SWITCH_TO_FOCUS: f64 = 0.5;
/// A side-browse goes to one of the user's interests with this chance, else anywhere.
const SIDE_TO_INTEREST: f64 = 0.6;
/// A buy takes an item from the cart with this chance (if the cart is not empty) ...
const BUY_FROM_CART: f64 = 0.5;
/// ... else an item viewed in the session with this chance; otherwise it is a direct buy.
const BUY_FROM_VIEW: f64 = 0.45;
/// Chance that a fav or cart of an item not viewed before is followed by a view of it
/// later (the real log: about a quarter of favs and two fifths of such carts).
const VIEW_AFTER_FAV: f64 = 0.3;
const VIEW_AFTER_CART: f64 = 0.45;
/// Chance that a view takes the oldest item waiting to be viewed after a fav or cart.
const VIEW_QUEUED: f64 = 0.35;
/// Random picks tried before giving up on avoiding the previous row's item.
const TRIES: usize = 4;
/// The fav/cart/buy shares of one user never exceed this in total.
const MAX_ACTION_SHARE: f64 = 0.6;
/// Relative activity by local hour of day: the real log's hourly shares, rounded (traffic
/// peaks at 21:00 and is near zero at 03:00-05:00).
const HOURLY: [f64; 24] = [
    3.0, 1.2, 0.6, 0.3, 0.3, 0.5, 1.4, 2.5, 3.3, 4.0, 4.5, 4.6, 4.3, 5.0, 5.0, 5.3, 5.3, 4.7, 4.9,
    6.5, 7.8, 8.8, 7.9, 6.1,
];
/// Relative activity of the first days of the window: in the real log the last two days
/// (a weekend before the 12.12 sale) carry a third more traffic. Later days weigh 1.
const DAILY: [f64; 9] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.08, 1.32, 1.32];

/// Behaviour codes, in the order of [`crate::BEHAVIORS`].
pub(crate) const PV: u8 = 0;
pub(crate) const FAV: u8 = 1;
pub(crate) const CART: u8 = 2;
pub(crate) const BUY: u8 = 3;

const NO_GROUP_CAT: u32 = u32::MAX;

/// A category the user has browsed, with its index in the user's group list (if any).
#[derive(Clone, Copy, Debug)]
struct Slot {
    cat: u32,
    group_cat: u32,
}

/// Buffers reused from user to user within a block, so users do not allocate.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    weights: Vec<f64>,
    lens: Vec<u64>,
    alloc: Vec<(f64, u32)>,
    gaps: Vec<u32>,
    durations: Vec<i64>,
    starts: Vec<i64>,
    slots: Vec<Slot>,
    /// Items (dense item, category) viewed per slot.
    history: Vec<Vec<(u32, u32)>>,
    session_views: Vec<(u32, u32)>,
    carted: Vec<(u32, u32)>,
    /// Items faved or carted without a view, waiting to be viewed.
    to_view: std::collections::VecDeque<(u32, u32)>,
}

/// Everything derived from the params once, shared by all users.
#[derive(Debug)]
pub(crate) struct UserModel<'a> {
    world: &'a World,
    p: &'a CheckedParams,
    hourly: Cumulative,
    daily: Cumulative,
    window: i64,
    max_sessions: u64,
}

impl<'a> UserModel<'a> {
    pub(crate) fn new(world: &'a World, p: &'a CheckedParams) -> Self {
        let window = i64::from(p.days()) * 86_400;
        UserModel {
            world,
            p,
            hourly: Cumulative::new(HOURLY),
            daily: Cumulative::new(
                (0..p.days() as usize).map(|d| DAILY.get(d).copied().unwrap_or(1.0)),
            ),
            window,
            // Sessions plus their minimum gaps fill at most half the window.
            max_sessions: (window / (2 * (SESSION_GAP + 1))).max(1) as u64,
        }
    }

    /// Emits the `n` rows of dense user `u` in time order as
    /// `(dense item, dense category, behaviour code, timestamp)`.
    pub(crate) fn user_rows(
        &self,
        u: u32,
        n: u64,
        s: &mut Scratch,
        emit: &mut impl FnMut(u32, u32, u8, i64),
    ) {
        let p = self.p;
        let w = self.world;
        let mut rng = Rng::new(p.seed(), Stream::User, u64::from(u));
        let group = &w.groups[w.group_pick.sample(&mut rng)];

        // Funnel rates, scaled by this user's buying intent.
        let sigma = p.intent_sigma();
        let intent = exp(sigma * rng.normal() - 0.5 * sigma * sigma);
        let mut rates = [p.fav_share(), p.cart_share(), p.buy_share()].map(|r| r * intent);
        let total: f64 = rates.iter().sum();
        if total > MAX_ACTION_SHARE {
            rates = rates.map(|r| r * MAX_ACTION_SHARE / total);
        }
        let t_buy = rates[2];
        let t_cart = t_buy + rates[1];
        let t_fav = t_cart + rates[0];

        // Interests: mostly the group's categories, a few random popular ones.
        let want = ((3.0 + p.interest_scale() * (n as f64).sqrt()).round() as usize)
            .clamp(1, INTEREST_CAP);
        s.slots.clear();
        for _ in 0..want {
            let slot = if rng.chance(p.stray_interest()) {
                Slot {
                    cat: w.cat_pop.sample(&mut rng) as u32,
                    group_cat: NO_GROUP_CAT,
                }
            } else {
                let gi = w.pref_zipf.sample_prefix(&mut rng, group.cats.len());
                Slot {
                    cat: group.cats[gi].cat,
                    group_cat: gi as u32,
                }
            };
            if !s.slots.iter().any(|x| x.cat == slot.cat) {
                s.slots.push(slot);
            }
        }
        let interests = s.slots.len();
        for h in s.history.iter_mut().take(interests) {
            h.clear();
        }
        while s.history.len() < interests {
            s.history.push(Vec::new());
        }

        // Sessions: how many, how long, when.
        let sessions = self.session_count(n, &mut rng);
        s.weights.clear();
        for _ in 0..sessions {
            // Weight 0 gives exactly one event (the floor every session gets).
            let w = if rng.chance(p.single_session_share()) {
                0.0
            } else {
                rng.lognormal(1.0, p.session_len_sigma())
            };
            s.weights.push(w);
        }
        allocate_into(n, &s.weights, &mut s.lens, &mut s.alloc);
        self.session_times(n, &mut rng, s);

        // Rows.
        s.carted.clear();
        s.to_view.clear();
        // The real log never has two rows in a row on the same item; nor do we.
        let mut prev = u32::MAX;
        let start = p.start();
        let mut gap_i = 0;
        for k in 0..s.lens.len() {
            s.session_views.clear();
            let focus = [
                self.pick_focus(&mut rng, s, interests),
                if rng.chance(SECOND_FOCUS) {
                    self.pick_focus(&mut rng, s, interests)
                } else {
                    usize::MAX
                },
            ];
            let mut cur = focus[0];
            let mut ts = start + s.starts[k];
            for j in 0..s.lens[k] {
                if j > 0 {
                    ts += i64::from(s.gaps[gap_i]);
                    gap_i += 1;
                    if rng.chance(p.category_switch()) {
                        cur = if focus[1] != usize::MAX && rng.chance(SWITCH_TO_FOCUS) {
                            if cur == focus[0] { focus[1] } else { focus[0] }
                        } else if rng.chance(SIDE_TO_INTEREST) {
                            w.pref_zipf.sample_prefix(&mut rng, interests)
                        } else {
                            let cat = w.cat_pop.sample(&mut rng) as u32;
                            slot_of(s, cat)
                        };
                    }
                }
                let pick = Pick {
                    group,
                    slot: cur,
                    prev,
                };
                let r = rng.f64();
                let (behavior, (item, cat)) = if r < t_buy {
                    (BUY, self.buy_item(pick, &mut rng, s))
                } else if r < t_cart {
                    let it = self.acted_item(pick, VIEW_AFTER_CART, &mut rng, s);
                    s.carted.push(it);
                    (CART, it)
                } else if r < t_fav {
                    (FAV, self.acted_item(pick, VIEW_AFTER_FAV, &mut rng, s))
                } else {
                    (PV, self.viewed_item(pick, &mut rng, s))
                };
                prev = item;
                emit(item, cat, behavior, ts);
            }
        }
        debug_assert_eq!(gap_i, s.gaps.len());
    }

    /// About `session_scale · n^session_exponent`, at least 2 when `n >= 2` (users in the
    /// real log all come back at least once), at most `n` and what the window holds.
    fn session_count(&self, n: u64, rng: &mut Rng) -> usize {
        let p = self.p;
        let raw =
            p.session_scale() * exp(p.session_exponent() * ln(n as f64)) * rng.lognormal(1.0, 0.25);
        let hi = n.min(self.max_sessions);
        let lo = n.min(2).min(hi);
        (raw.round() as u64).clamp(lo, hi) as usize
    }

    /// Fills `gaps` (in-session gaps) and `starts` (session starts, seconds from window
    /// start) so that sessions are separated by more than [`SESSION_GAP`] and every row
    /// falls inside the window.
    fn session_times(&self, n: u64, rng: &mut Rng, s: &mut Scratch) {
        let p = self.p;
        let sessions = s.lens.len();
        s.gaps.clear();
        s.durations.clear();
        let mut total = 0i64;
        for &len in &s.lens {
            let mut d = 0i64;
            for _ in 1..len {
                let g = rng
                    .lognormal(p.gap_median(), p.gap_sigma())
                    .min(MAX_IN_SESSION_GAP);
                let g = g.floor() as u32;
                s.gaps.push(g);
                d += i64::from(g);
            }
            s.durations.push(d);
            total += d;
        }
        debug_assert_eq!(s.gaps.len() as u64, n - sessions as u64);
        // Very heavy users: squeeze the gaps so everything fits.
        let budget = self.window - 1 - (sessions as i64 - 1) * (SESSION_GAP + 1);
        if total > budget {
            let scale = budget as f64 / total as f64;
            let mut gi = 0;
            for (k, &len) in s.lens.iter().enumerate() {
                let mut d = 0i64;
                for _ in 1..len {
                    let g = (f64::from(s.gaps[gi]) * scale).floor() as u32;
                    s.gaps[gi] = g;
                    d += i64::from(g);
                    gi += 1;
                }
                s.durations[k] = d;
            }
        }
        // Start times follow the daily curve; then push them apart where they collide.
        s.starts.clear();
        for _ in 0..sessions {
            let day = self.daily.sample(rng) as i64;
            let hour = self.hourly.sample(rng) as i64;
            s.starts
                .push(day * 86_400 + hour * 3_600 + rng.below(3_600) as i64);
        }
        s.starts.sort_unstable();
        let mut earliest = 0i64;
        for k in 0..sessions {
            s.starts[k] = s.starts[k].max(earliest);
            earliest = s.starts[k] + s.durations[k] + SESSION_GAP + 1;
        }
        let mut latest_end = self.window - 1;
        for k in (0..sessions).rev() {
            s.starts[k] = s.starts[k].min(latest_end - s.durations[k]);
            latest_end = s.starts[k] - SESSION_GAP - 1;
        }
        debug_assert!(s.starts.first().is_none_or(|&t| t >= 0));
    }

    /// The slot a session focuses on: mostly an interest, sometimes a popular category.
    fn pick_focus(&self, rng: &mut Rng, s: &mut Scratch, interests: usize) -> usize {
        if rng.chance(self.p.global_session_share()) {
            let cat = self.world.cat_pop.sample(rng) as u32;
            slot_of(s, cat)
        } else {
            self.world.pref_zipf.sample_prefix(rng, interests)
        }
    }

    /// A fresh item of slot `at.slot` other than `at.prev` (if the category allows): the
    /// group's taste or global popularity.
    fn fresh_item(&self, at: Pick<'_>, rng: &mut Rng, s: &Scratch) -> (u32, u32) {
        let w = self.world;
        let Slot { cat, group_cat } = s.slots[at.slot];
        let mut item = at.prev;
        for _ in 0..TRIES {
            item = if group_cat != NO_GROUP_CAT && rng.chance(self.p.taste_share()) {
                w.taste_item(&at.group.cats[group_cat as usize], rng)
            } else {
                w.popular_item(cat, rng)
            };
            if item != at.prev {
                return (item, cat);
            }
        }
        // Tiny categories: take the next item, or a popular item of another category.
        let (lo, size) = (w.cat_start[cat as usize], w.cat_size(cat));
        if size > 1 {
            return (lo + (item - lo + 1) % size, cat);
        }
        for _ in 0..TRIES {
            let other = w.cat_pop.sample(rng) as u32;
            if other != cat {
                return (w.popular_item(other, rng), other);
            }
        }
        (item, cat) // a one-category world
    }

    fn viewed_item(&self, at: Pick<'_>, rng: &mut Rng, s: &mut Scratch) -> (u32, u32) {
        if s.to_view.front().is_some_and(|it| it.0 != at.prev)
            && rng.chance(VIEW_QUEUED)
            && let Some(it) = s.to_view.pop_front()
        {
            s.session_views.push(it);
            return it;
        }
        let r = rng.f64();
        let revisit_session = self.p.revisit_session();
        let mut pick = None;
        if r < revisit_session {
            pick = pick_other(&s.session_views, at.prev, rng);
        } else if r < revisit_session + self.p.revisit_history() {
            pick = pick_other(&s.history[at.slot], at.prev, rng);
        }
        let it = pick.unwrap_or_else(|| {
            let it = self.fresh_item(at, rng, s);
            s.history[at.slot].push(it);
            it
        });
        s.session_views.push(it);
        it
    }

    /// Item of a fav or cart: sometimes one the user viewed, mostly a fresh one that may
    /// be viewed later (as in the real log, where most carts precede any view).
    fn acted_item(
        &self,
        at: Pick<'_>,
        view_after: f64,
        rng: &mut Rng,
        s: &mut Scratch,
    ) -> (u32, u32) {
        if rng.chance(self.p.act_on_viewed()) {
            let pick = pick_other(&s.session_views, at.prev, rng)
                .or_else(|| pick_other(&s.history[at.slot], at.prev, rng));
            if let Some(it) = pick {
                return it;
            }
        }
        let it = self.fresh_item(at, rng, s);
        if rng.chance(view_after) {
            s.to_view.push_back(it);
        }
        it
    }

    /// Item of a buy: from the cart, one viewed in the session, or a direct buy.
    fn buy_item(&self, at: Pick<'_>, rng: &mut Rng, s: &mut Scratch) -> (u32, u32) {
        if rng.chance(BUY_FROM_CART)
            && let Some(i) = pick_other_index(&s.carted, at.prev, rng)
        {
            return s.carted.swap_remove(i);
        }
        if rng.chance(BUY_FROM_VIEW)
            && let Some(it) = pick_other(&s.session_views, at.prev, rng)
        {
            return it;
        }
        self.fresh_item(at, rng, s)
    }
}

/// What the item of the next row is picked for: the user's taste group, the slot (interest
/// category) the session is on, and the previous row's item, which the pick avoids.
#[derive(Clone, Copy)]
struct Pick<'a> {
    group: &'a Group,
    slot: usize,
    prev: u32,
}

/// A random entry of `list` whose item is not `prev`, if a few tries find one.
fn pick_other(list: &[(u32, u32)], prev: u32, rng: &mut Rng) -> Option<(u32, u32)> {
    pick_other_index(list, prev, rng).map(|i| list[i])
}

fn pick_other_index(list: &[(u32, u32)], prev: u32, rng: &mut Rng) -> Option<usize> {
    if list.is_empty() {
        return None;
    }
    (0..TRIES)
        .map(|_| rng.index(list.len()))
        .find(|&i| list[i].0 != prev)
}

/// The slot of `cat`, added (without group taste) if the user has not browsed it yet.
fn slot_of(s: &mut Scratch, cat: u32) -> usize {
    if let Some(i) = s.slots.iter().position(|x| x.cat == cat) {
        return i;
    }
    s.slots.push(Slot {
        cat,
        group_cat: NO_GROUP_CAT,
    });
    let i = s.slots.len() - 1;
    if s.history.len() <= i {
        s.history.push(Vec::new());
    } else {
        s.history[i].clear();
    }
    i
}
