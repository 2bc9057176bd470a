"""Our engine on the generated data, in a fresh process so its peak RSS is its own.

Chunks come straight from the generator (no side is ever whole in memory); the time spent
generating them and releasing them is measured and subtracted, so the figures are the engine's
alone, as Evidently's are (its frames are built before and freed after its timing).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterable, Iterator

import pandas as pd

from benchmarks.drift import generator as g
from pipelines.drift import ReferenceProfile, build_profile, check_drift


class Timed:
    """Wraps a chunk iterator and accumulates the time spent producing and releasing chunks.

    Releasing is the data source's cost as much as producing: a chunk's arrays are freed when
    the engine asks for the next one (~1.5 ms a chunk here), and Evidently's frames are built
    and freed outside its timing too.
    """

    def __init__(self, chunks: Iterable[pd.DataFrame]) -> None:
        self._it = iter(chunks)
        self.seconds = 0.0

    def __iter__(self) -> Iterator[pd.DataFrame]:
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(self._it)
            except StopIteration:
                self.seconds += time.perf_counter() - t0
                return
            self.seconds += time.perf_counter() - t0
            yield frame
            t0 = time.perf_counter()
            del frame  # the last reference: one chunk alive at a time
            self.seconds += time.perf_counter() - t0


def _engine_seconds(run: object, feed: Timed) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = run(feed)  # type: ignore[operator]
    return time.perf_counter() - t0 - feed.seconds, out


def main(n_rows: int, seed: int) -> None:
    ref_feed = Timed(g.chunks(n_rows, "reference", seed))
    build_s, profile = _engine_seconds(lambda f: build_profile(f, g.FEATURES), ref_feed)
    t0 = time.perf_counter()
    stored = profile.to_json()
    build_s += time.perf_counter() - t0
    cur_feed = Timed(g.chunks(n_rows, "current", seed))

    def check(feed: Timed) -> object:
        return check_drift(ReferenceProfile.from_json(stored), feed)

    check_s, report = _engine_seconds(check, cur_feed)
    columns = {
        name: {"method": f.method, "statistic": f.statistic, "drifted": f.drifted}
        for name, f in report.features.items()  # type: ignore[attr-defined]
    }
    print(
        json.dumps(
            {
                "build_seconds": build_s,
                "check_seconds": check_s,
                "seconds": build_s + check_s,
                "generate_seconds": ref_feed.seconds + cur_feed.seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "profile_bytes": len(stored),
                "drift_score": report.drift_score,  # type: ignore[attr-defined]
                "columns": columns,
                "expected_drifted": g.DRIFTED,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 7)
