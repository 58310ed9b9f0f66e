#!/usr/bin/env python3
"""Shape statistics of Taobao UserBehavior-format click logs, side by side.

Usage: python3 bench/shape_stats.py [--gap SECONDS] [--recs N] [NAME=]FILE...

Each FILE holds lines `user_id,item_id,category_id,behavior_type,timestamp` (no header),
grouped by user, as in the official UserBehavior.csv and in `clickrec-synth` output. The
script prints one Markdown table with one column per file, so a generated log can be
compared with a real one at a glance. Python 3 standard library only; it streams one user
at a time, so memory grows with the number of distinct items, not rows.

With --recs N it also runs a tiny held-out-session check on up to N users: every user's
last session (30-min gap) is the test set, earlier events are train; targets are the test
session's items not seen in train. It reports Recall@20 of global popularity and of a
plain user-kNN (overlap cosine, 50 neighbours), both excluding train items: a log whose
users have shared tastes gives user-kNN a clear lead, a log of random clicks does not.

Rows whose timestamp lies outside the nominal 9-day window (2017-11-25..12-03, UTC+8) are
counted and kept: the statistics describe the file as it is.
"""

import argparse
import os
import sys
from collections import Counter

WINDOW_START = 1511539200  # 2017-11-25 00:00 UTC+8
WINDOW_END = WINDOW_START + 9 * 86400
BEHAVIORS = ("pv", "fav", "cart", "buy")


def quantile(sorted_values, q):
    """Nearest-rank quantile of an already sorted list (q in [0, 1])."""
    if not sorted_values:
        return float("nan")
    idx = int(round(q * (len(sorted_values) - 1)))
    return sorted_values[idx]


def mean(values):
    return sum(values) / len(values) if values else float("nan")


class Stats:
    def __init__(self, gap, recs=0):
        self.gap = gap
        self.recs = recs
        self.train = {}  # user -> set of items before the last session
        self.test = {}  # user -> set of items of the last session (users with >= 2 sessions)
        self.rows = 0
        self.outside = 0
        self.item_events = Counter()
        self.behaviors = Counter()
        self.events_per_user = []
        self.sessions_per_user = []
        self.events_per_session = []
        self.cats_per_session = []
        self.items_per_user = []
        self.cats_per_user = []
        self.days_per_user = []
        self.top_cat_share = []
        self.in_session_gaps = []
        self.cat_events = Counter()
        self.night = 0
        self.last_days = 0
        self.pv_rows = 0
        self.pv_repeat = 0
        self.pv_repeat_in_session = 0
        self.buys = 0
        self.buys_after_touch = 0
        self.acts = 0
        self.acts_on_viewed = 0
        self.acts_viewed_later = 0
        self.users_with_buy = 0
        self.pv_same_as_previous_row = 0
        self.duplicate_rows = 0
        self.seen_users = set()
        self.min_ts = None
        self.max_ts = None

    def add_user(self, user, rows):
        if user in self.seen_users:
            sys.exit(f"user {user} appears in two separate runs: the file must be grouped by user")
        self.seen_users.add(user)
        # Stable sort by time: the file should already be in time order per user.
        rows.sort(key=lambda r: r[3])
        self.events_per_user.append(len(rows))
        viewed = set()
        touched = set()
        all_viewed = {r[0] for r in rows if r[2] == "pv"}
        session_viewed = set()
        items = set()
        user_cats = Counter()
        days = set()
        sessions = 0
        last_start = 0
        session_len = 0
        session_cats = set()
        prev_ts = None
        prev_row = None
        bought = False
        for idx, row in enumerate(rows):
            item, cat, beh, ts = row
            if row == prev_row:
                self.duplicate_rows += 1
            if beh == "pv" and prev_row is not None and prev_row[0] == item:
                self.pv_same_as_previous_row += 1
            prev_row = row
            if prev_ts is None or ts - prev_ts > self.gap:
                last_start = idx
                if prev_ts is not None:
                    self.events_per_session.append(session_len)
                    self.cats_per_session.append(len(session_cats))
                sessions += 1
                session_len = 0
                session_cats = set()
                session_viewed = set()
            else:
                self.in_session_gaps.append(ts - prev_ts)
            prev_ts = ts
            days.add((ts - WINDOW_START) // 86400)
            user_cats[cat] += 1
            session_len += 1
            session_cats.add(cat)
            items.add(item)
            if beh == "pv":
                self.pv_rows += 1
                if item in viewed:
                    self.pv_repeat += 1
                if item in session_viewed:
                    self.pv_repeat_in_session += 1
                viewed.add(item)
                session_viewed.add(item)
            elif beh == "buy":
                bought = True
                self.buys += 1
                if item in touched:
                    self.buys_after_touch += 1
            if beh in ("fav", "cart"):
                self.acts += 1
                if item in viewed:
                    self.acts_on_viewed += 1
                elif item in all_viewed:
                    self.acts_viewed_later += 1
            touched.add(item)
        if prev_ts is not None:
            self.events_per_session.append(session_len)
            self.cats_per_session.append(len(session_cats))
        self.sessions_per_user.append(sessions)
        self.users_with_buy += bought
        if self.recs:
            if sessions >= 2:
                self.train[user] = {r[0] for r in rows[:last_start]}
                self.test[user] = {r[0] for r in rows[last_start:]}
            else:
                self.train[user] = {r[0] for r in rows}
        self.items_per_user.append(len(items))
        self.cats_per_user.append(len(user_cats))
        self.days_per_user.append(len(days))
        self.top_cat_share.append(max(user_cats.values()) / len(rows))

    def read(self, path):
        current = None
        rows = []
        with open(path, "r", encoding="ascii", newline="") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.rstrip("\r\n").split(",")
                if len(parts) != 5:
                    sys.exit(f"{path}:{lineno}: expected 5 fields, got {len(parts)}")
                user, item, cat, beh, ts = parts
                ts = int(ts)
                self.rows += 1
                if ts < WINDOW_START or ts >= WINDOW_END:
                    self.outside += 1
                elif (ts - WINDOW_START) % 86400 < 6 * 3600:
                    self.night += 1
                if WINDOW_END - 2 * 86400 <= ts < WINDOW_END:
                    self.last_days += 1
                if self.min_ts is None or ts < self.min_ts:
                    self.min_ts = ts
                if self.max_ts is None or ts > self.max_ts:
                    self.max_ts = ts
                self.item_events[item] += 1
                self.cat_events[cat] += 1
                self.behaviors[beh] += 1
                if user != current:
                    if current is not None:
                        self.add_user(current, rows)
                    current = user
                    rows = []
                rows.append((item, cat, beh, ts))
        if current is not None:
            self.add_user(current, rows)

    def table(self):
        """Ordered (label, value-string) rows."""
        out = []
        users = len(self.events_per_user)
        epu = sorted(self.events_per_user)
        spu = sorted(self.sessions_per_user)
        eps = sorted(self.events_per_session)
        ipu = sorted(self.items_per_user)
        counts = sorted(self.item_events.values(), reverse=True)
        top = max(1, len(counts) // 100)
        multi = sum(1 for s in self.sessions_per_user if s >= 2)

        def pct(x, n):
            return f"{100.0 * x / n:.1f} %" if n else "n/a"

        out.append(("rows", f"{self.rows:,}"))
        out.append(("users", f"{users:,}"))
        out.append(("distinct items", f"{len(self.item_events):,}"))
        out.append(("distinct categories", f"{len(self.cat_events):,}"))
        out.append(("rows outside 9-day window", f"{self.outside:,}"))
        out.append((
            "events/user min / p25 / median / p75 / p90 / max",
            " / ".join(
                str(quantile(epu, q)) for q in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
            ),
        ))
        out.append(("events/user mean", f"{mean(epu):.1f}"))
        out.append(("sessions/user median / mean", f"{quantile(spu, 0.5)} / {mean(spu):.2f}"))
        out.append(("events/session median / mean", f"{quantile(eps, 0.5)} / {mean(eps):.2f}"))
        out.append(("users with >= 2 sessions", pct(multi, users)))
        out.append(("sessions with 1 event", pct(sum(1 for e in eps if e == 1), len(eps))))
        gaps = sorted(self.in_session_gaps)
        out.append(("in-session gap median / p90 (s)", f"{quantile(gaps, 0.5)} / {quantile(gaps, 0.9)}"))
        out.append(("active days/user (mean)", f"{mean(self.days_per_user):.2f}"))
        out.append(("events at 00:00-05:59 UTC+8", pct(self.night, self.rows)))
        out.append(("events on the last 2 days (Dec 2-3)", pct(self.last_days, self.rows)))
        for b in BEHAVIORS:
            out.append((f"share {b}", pct(self.behaviors[b], self.rows)))
        others = self.rows - sum(self.behaviors[b] for b in BEHAVIORS)
        if others:
            out.append(("other behaviour values", f"{others:,}"))
        out.append(("repeat-view rate (pv of an item the user viewed before)", pct(self.pv_repeat, self.pv_rows)))
        out.append(("  of which within the same session", pct(self.pv_repeat_in_session, self.pv_rows)))
        out.append(("  pv of the same item as the row before", pct(self.pv_same_as_previous_row, self.pv_rows)))
        out.append(("exact duplicate rows (same user, item, behaviour, second)", pct(self.duplicate_rows, self.rows)))
        out.append((
            "fav/cart of an item viewed before / only later / never",
            f"{pct(self.acts_on_viewed, self.acts)} / {pct(self.acts_viewed_later, self.acts)} / "
            + pct(self.acts - self.acts_on_viewed - self.acts_viewed_later, self.acts),
        ))
        out.append(("buys of an item the user touched before", pct(self.buys_after_touch, self.buys)))
        out.append(("users with >= 1 buy", pct(self.users_with_buy, users)))
        out.append(("distinct categories per session (mean)", f"{mean(self.cats_per_session):.2f}"))
        out.append(("top-1 % items' share of events", pct(sum(counts[:top]), self.rows)))
        out.append(("items with 1 event", pct(sum(1 for c in counts if c == 1), len(counts))))
        ccounts = sorted(self.cat_events.values(), reverse=True)
        ctop = max(1, len(ccounts) // 100)
        out.append(("top-1 % categories' share of events", pct(sum(ccounts[:ctop]), self.rows)))
        out.append(("distinct items/user median / mean", f"{quantile(ipu, 0.5)} / {mean(ipu):.1f}"))
        out.append(("distinct categories/user (mean)", f"{mean(self.cats_per_user):.1f}"))
        out.append(("user's top category share of their events (mean)", pct(sum(self.top_cat_share), users)))
        if self.recs:
            out.extend(self.rec_check())
        return out

    def rec_check(self, k=20, neighbours=50):
        """Recall@k of popularity and user-kNN on the last session's unseen items."""
        pop = Counter()
        by_item = {}
        for user, items in self.train.items():
            for i in items:
                pop[i] += 1
                by_item.setdefault(i, []).append(user)
        ranked_pop = [i for i, _ in sorted(pop.items(), key=lambda kv: (-kv[1], kv[0]))]
        users = sorted(u for u, t in self.test.items() if t - self.train[u])
        step = max(1, len(users) // self.recs)
        users = users[::step][: self.recs]
        seen_share = []
        recall_pop, recall_knn = [], []
        for u in users:
            train, test = self.train[u], self.test[u]
            targets = test - train
            seen_share.append(1 - len(targets) / len(test))
            recs = []
            for i in ranked_pop:
                if i not in train:
                    recs.append(i)
                    if len(recs) == k:
                        break
            recall_pop.append(len(targets.intersection(recs)) / len(targets))
            overlap = Counter()
            for i in train:
                for v in by_item[i]:
                    if v != u:
                        overlap[v] += 1
            sims = sorted(
                ((c / (len(train) * len(self.train[v])) ** 0.5, v) for v, c in overlap.items()),
                key=lambda sv: (-sv[0], sv[1]),
            )[:neighbours]
            score = Counter()
            for sim, v in sims:
                for j in self.train[v]:
                    if j not in train:
                        score[j] += sim
            recs = [j for j, _ in sorted(score.items(), key=lambda kv: (-kv[1], -pop[kv[0]], kv[0]))[:k]]
            recall_knn.append(len(targets.intersection(recs)) / len(targets))
        n = len(users)
        return [
            ("rec check: users evaluated", f"{n:,}"),
            ("rec check: last-session items already seen in train", f"{100 * mean(seen_share):.1f} %"),
            (f"rec check: Recall@{k} popularity (unseen items)", f"{mean(recall_pop):.4f}"),
            (f"rec check: Recall@{k} user-kNN (unseen items)", f"{mean(recall_knn):.4f}"),
        ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="FILE or NAME=FILE (NAME becomes the column title)")
    ap.add_argument("--gap", type=int, default=1800, help="session inactivity gap in seconds (default 1800)")
    ap.add_argument("--recs", type=int, default=0, metavar="N", help="also run the popularity vs user-kNN check on up to N users")
    args = ap.parse_args()
    columns = []
    for spec in args.files:
        name, sep, path = spec.partition("=")
        if not sep or not os.path.exists(path):
            name, path = os.path.basename(spec), spec
        s = Stats(args.gap, args.recs)
        s.read(path)
        columns.append((name, s.table()))
    labels = [label for label, _ in columns[0][1]]
    print("| statistic | " + " | ".join(name for name, _ in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for i, label in enumerate(labels):
        print(f"| {label} | " + " | ".join(col[i][1] for _, col in columns) + " |")


if __name__ == "__main__":
    main()
