"""bot/metrics.py: prometheus_client is loaded once the process serves, not by the first sample, and nothing
sampled before is lost. Each test runs in a fresh interpreter, where nothing has loaded it yet."""

from __future__ import annotations

from tests.fresh_python import run_fresh as run


def test_samples_wait_for_the_metrics_without_loading_prometheus_client() -> None:
    out = run(
        "import sys\n"
        "from bot import metrics\n"
        "metrics.use_one_process()\n"
        "metrics.api_call('auth.test', 'ok')\n"
        "metrics.observe_request('command', 0.003, 200)\n"
        "print('loaded' if 'prometheus_client' in sys.modules else 'not loaded')\n"
    )
    assert out.strip() == "not loaded"


def test_samples_taken_before_the_metrics_were_loaded_are_counted() -> None:
    out = run(
        "from bot import metrics\n"
        "metrics.use_one_process()\n"
        "metrics.api_call('auth.test', 'ok')\n"
        "metrics.api_call('auth.test', 'ok')\n"
        "metrics.observe_request('command', 0.003, 200)\n"
        "metrics.load_in_background()\n"
        "metrics.job_queued('probe')\n"
        "print(metrics.exposition()[0].decode())\n"
    )
    assert 'ftpcode_slack_api_calls_total{method="auth.test",outcome="ok"} 2.0' in out
    assert 'ftpcode_requests_total{kind="command",status="200"} 1.0' in out
    assert 'ftpcode_ack_seconds_bucket{kind="command",le="0.005"} 1.0' in out
    assert 'ftpcode_jobs_queued_total{kind="probe"} 1.0' in out
