"""gunicorn settings that belong with the code (the Procfile's `web` command passes the rest).

Each worker loads the app itself (no --preload) and then freezes what it holds: the app, its
models, schemas and libraries, ~140 thousand objects that live as long as the process. Without
this, Python's cyclic garbage collector walks all of them in every full collection: measured
100-110 ms per collection in a worker under a burst of check-ins, each one stalling the
requests of that process (the slowest rounds of bench/bench_bot.py). Frozen, a full collection
takes under 1 ms. Objects made later are collected as usual.
"""
import gc


def post_worker_init(worker):
    gc.freeze()
