"""The test services a checkout uses by default (scripts/test.sh), named after the checkout so two
clones on one machine never empty each other's tables or Redis.

    python -m tests.services pg             # postgresql://postgres@127.0.0.1:5432/school_points_test_<id>
    python -m tests.services redis WORKERS  # redis://127.0.0.1:6379/<first of WORKERS dbs of its own>

<id> is a short hash of the checkout's absolute path. pytest-xdist workers start a redis-server
each (tests/conftest.py); the Redis URL here serves a one-process run (TEST_WORKERS=0), or the
workers when no redis-server binary is installed. Redis has 16 dbs (0-15) and no names, so a
checkout gets a block of consecutive dbs (one per worker) out of 1-15, chosen by the same hash:
two clones get the same block only by chance (1 in 7 with two workers). A key prefix would not
do: the tests empty their db (FLUSHDB) and RQ's keys are not prefixed. Give TEST_REDIS (and
TEST_PG_URL) explicitly to be certain.
"""

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_DB, LAST_DB = 1, 15  # db 0 is left to the development server (REDIS_URL without a db number)


def checkout_id(root=ROOT):
    """Eight hex digits naming this checkout (a hash of its absolute path)."""
    return hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:8]


def default_pg_url(root=ROOT):
    return f"postgresql://postgres@127.0.0.1:5432/school_points_test_{checkout_id(root)}"


def default_redis_url(workers=1, root=ROOT):
    """The first db of this checkout's block of `workers` consecutive dbs (worker gwN adds N)."""
    size = max(1, int(workers))
    blocks = (LAST_DB - FIRST_DB + 1) // size
    if blocks < 1:
        raise ValueError(f"{size} workers need more than the 15 Redis dbs 1-15")
    block = int(checkout_id(root), 16) % blocks
    return f"redis://127.0.0.1:6379/{FIRST_DB + block * size}"


if __name__ == "__main__":
    kind = sys.argv[1]
    print(default_pg_url() if kind == "pg" else default_redis_url(sys.argv[2] if len(sys.argv) > 2 else 1))
