"""The garbage collector's young-generation threshold for a serving process.

A request allocates thousands of short-lived containers (the GraphQL document's values, the
event's models, store documents), and with CPython's default threshold (700) the young
generation is collected several times a request, each pass walking every container still alive
at that moment. At 10,000, most of them are freed by reference counting before a pass: under
wrk, 16 connections, a `trackEvent` cost ~400 -> ~346 us of CPU and `/healthz` did not move
(docs/benchmarks.md, "The collector's threshold"); the process holds ~8 MB more. The older
generations keep their default ratios.
"""

from __future__ import annotations

import gc

YOUNG = 10_000


def tune() -> None:
    """Raise the young generation's threshold (a process-wide setting: call it where a server
    process starts, not in a library)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
