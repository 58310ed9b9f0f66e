#!/usr/bin/env python3
"""Writes the synthetic log shapes of data/shapes/ (see data/README.md): small logs in
the shapes shops have, each reproducing one thing a real log does to an evaluation.

Every file is made from a seeded generator with the same taste model: items fall into
groups, each user likes two groups and mostly touches items of those, a little of the
rest by popularity. So a model that learns co-occurrence beats popularity among users
with history, and the logs are tiny enough for end-to-end tests.

Run from the repository root:  python3 scripts/make_shapes.py
"""

import json
import random
from datetime import datetime, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "shapes"
GROUPS = 12
ITEMS_PER_GROUP = 15
DAY = 86_400
START = 1_420_070_400  # 2015-01-01 00:00 UTC


def taste(rng):
    """Two liked groups; an item picker that mostly stays in them."""
    liked = rng.sample(range(GROUPS), 2)

    def pick():
        group = rng.choice(liked) if rng.random() < 0.85 else rng.randrange(GROUPS)
        # Lower ranks are more popular within a group.
        rank = min(int(rng.expovariate(0.25)), ITEMS_PER_GROUP - 1)
        return group * ITEMS_PER_GROUP + rank

    return pick


def distinct(pick, n):
    seen = []
    while len(seen) < n:
        item = pick()
        if item not in seen:
            seen.append(item)
    return seen


def ratings(rng):
    """Movie ratings with times; 45% of the users arrive at the end and rate in one
    sitting, so a time-based split has many cold test users."""
    rows = []
    for user in range(260):
        pick = taste(rng)
        late = user >= 143
        t = START + (rng.randrange(44, 47) if late else rng.randrange(5, 35)) * DAY
        for item in distinct(pick, rng.randrange(6, 16)):
            t += rng.randrange(60, 600) if late else rng.randrange(600, 3 * DAY)
            liked = item % 3 != 0
            rating = rng.choice([3, 3.5, 4, 4, 4.5, 5, 5] if liked else [1, 2, 2.5, 3])
            rows.append((t, user, item, rating))
    rows.sort()
    with open(OUT / "ratings.csv", "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for t, user, item, rating in rows:
            f.write(f"{user + 1},{item + 1},{rating},{t}\n")


def baskets(rng):
    """Grocery orders without times: order, user, product."""
    order = 5000
    with open(OUT / "baskets.csv", "w") as f:
        f.write("order_id,user_id,product_id\n")
        for user in range(200):
            pick = taste(rng)
            for _ in range(rng.randrange(2, 6)):
                order += 1
                for item in distinct(pick, rng.randrange(2, 6)):
                    f.write(f"{order},u{user},p{item}\n")


def plays(rng):
    """Music play counts without times, tab-separated: user, artist, plays."""
    with open(OUT / "plays.tsv", "w") as f:
        f.write("user\tartist\tplays\n")
        for user in range(220):
            pick = taste(rng)
            for item in distinct(pick, rng.randrange(5, 14)):
                f.write(f"listener{user}\tartist{item}\t{int(rng.paretovariate(1.2) * 3)}\n")


def views(rng):
    """Semicolon-separated session views with date-time times; most sessions are
    anonymous (user NA), the rest belong to logged-in users with several sessions."""
    rows = []
    session = 0
    for visitor in range(420):
        pick = taste(rng)
        user = f"{visitor}" if visitor < 90 else "NA"
        t = START + rng.randrange(0, 30 * DAY)
        for _ in range(rng.randrange(2, 5) if user != "NA" else 1):
            session += 1
            t += rng.randrange(DAY, 3 * DAY)
            s = t
            for item in [pick() for _ in range(rng.randrange(2, 7))]:
                s += rng.randrange(5, 300)
                rows.append((s, session, user, item))
    rows.sort()
    with open(OUT / "views.csv", "w") as f:
        f.write("session_id;user_id;item_id;time\n")
        for t, s, user, item in rows:
            stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            f.write(f"{s};{user};{item};{stamp}\n")


def reviews(rng):
    """Product reviews as JSON lines with a nested reviewer object."""
    rows = []
    for user in range(240):
        pick = taste(rng)
        t = START + rng.randrange(0, 20) * DAY
        for item in distinct(pick, rng.randrange(4, 12)):
            t += rng.randrange(DAY // 2, 3 * DAY)
            rows.append((t, user, item))
    rows.sort()
    with open(OUT / "reviews.jsonl", "w") as f:
        for t, user, item in rows:
            review = {
                "reviewer": {"id": f"R{user:04d}", "name": f"reader {user}"},
                "asin": f"B{item:05d}",
                "overall": float(rng.randrange(1, 6)),
                "unixReviewTime": t,
                "summary": "fine",
            }
            f.write(json.dumps(review) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for make in (ratings, baskets, plays, views, reviews):
        make(random.Random(f"{make.__name__}-7"))


if __name__ == "__main__":
    main()
