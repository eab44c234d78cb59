"""TALLY_WORKERS: refused on the embedded store; /metrics adds up the workers' counts.

Serving with several workers needs MongoDB, which the suite does not start: the two-instance
tests (tests/api/test_instances.py) show what the workers share through the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("TALLY_")} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_more_than_one_worker_on_the_embedded_store_is_refused_in_one_line() -> None:
    done = run_python("-m", "app", "serve", env={"TALLY_WORKERS": "2"})
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("Bad setting TALLY_WORKERS: 1 with the embedded store")
    assert "TALLY_MONGODB_URI" in line


def test_a_malformed_worker_count_is_refused_in_one_line() -> None:
    done = run_python("-m", "app", "serve", env={"TALLY_WORKERS": "0"})
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("Bad setting TALLY_WORKERS: ")


COUNT_ONE_EVENT = """
from app.metrics import Metrics
metrics = Metrics()
metrics.events_ingested.labels(result="accepted").inc()
metrics.request_duration.labels(operation_type="mutation").observe(0.01)
print(metrics.render().decode())
"""


def test_metrics_add_up_every_workers_counts(tmp_path: Path) -> None:
    """Each run is a worker process writing to the directory `serve` sets up for them."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    first = run_python("-c", COUNT_ONE_EVENT, env=env)
    second = run_python("-c", COUNT_ONE_EVENT, env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert 'tally_events_ingested_total{result="accepted"} 1.0' in first.stdout
    assert 'tally_events_ingested_total{result="accepted"} 2.0' in second.stdout
    assert 'tally_graphql_request_duration_seconds_count{operation_type="mutation"} 2.0' in (
        second.stdout
    )
