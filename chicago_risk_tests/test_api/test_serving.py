"""Serving settings from the environment, and `chicago-risk serve` answering under uvicorn."""

import json
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from chicago_risk.config.serving import ServingSettings


def test_settings_read_keys_from_the_environment_and_a_file(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# planners\nkey-b  # the second office\n\nkey-a\n")
    settings = ServingSettings.from_env({
        "CHICAGO_RISK_DATA_DIR": str(tmp_path),
        "CHICAGO_RISK_API_KEYS": "key-a, key-c",
        "CHICAGO_RISK_API_KEYS_FILE": str(keys),
        "CHICAGO_RISK_CORS_ORIGINS": "https://map.example.org,http://localhost:5173",
        "CHICAGO_RISK_API_RATE_PER_MINUTE": "120",
        "CHICAGO_RISK_MANIFEST_POLL_S": "0",
    })
    assert settings.api_key_values() == ("key-a", "key-c", "key-b")
    assert settings.published_url == str(tmp_path / "published")
    assert settings.cors_origins == ("https://map.example.org", "http://localhost:5173")
    assert (settings.rate_limit_per_minute, settings.manifest_poll_s) == (120, 0.0)
    assert "key-a" not in repr(settings)
    assert ServingSettings.from_env({"CHICAGO_RISK_PUBLISHED_URL": "file:///srv/published"}).published_url == "file:///srv/published"


def test_settings_read_the_process_environment_and_keep_secrets_out_of_repr(monkeypatch, tmp_path):
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHICAGO_RISK_API_KEYS", "key-a")
    monkeypatch.setenv("CHICAGO_RISK_JWT_ISSUER", "https://id.example.org")
    monkeypatch.setenv("CHICAGO_RISK_JWT_AUDIENCE", "chicago-risk")
    monkeypatch.setenv("CHICAGO_RISK_JWT_KEY", "shared-secret")
    monkeypatch.setenv("CHICAGO_RISK_JWT_ALGORITHMS", "HS256")
    monkeypatch.setenv("CHICAGO_RISK_RATE_LIMIT_STORAGE_URL", "redis://:hunter2@redis:6379/0")
    monkeypatch.setenv("CHICAGO_RISK_API_PORT", "9000")
    settings = ServingSettings.from_env()
    assert settings.api_key_values() == ("key-a",) and settings.jwt_enabled and settings.jwt_algorithms == ("HS256",)
    assert (settings.port, settings.published_url) == (9000, str(tmp_path / "published"))
    assert settings.rate_limit_storage_url is not None
    assert settings.rate_limit_storage_url.get_secret_value() == "redis://:hunter2@redis:6379/0"
    shown = repr(settings) + str(settings)
    assert not any(secret in shown for secret in ("key-a", "shared-secret", "hunter2"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CHICAGO_RISK_API_RATE_PER_MINUTE": "many"},
            "CHICAGO_RISK_API_RATE_PER_MINUTE='many': Input should be a valid integer",
        ),
        (
            {"CHICAGO_RISK_API_CACHE_ENTRIES": "0"},
            "CHICAGO_RISK_API_CACHE_ENTRIES='0': Input should be greater than or equal to 1",
        ),
        (
            {"CHICAGO_RISK_API_MAX_BODY_BYTES": "10"},
            "CHICAGO_RISK_API_MAX_BODY_BYTES='10': Input should be greater than or equal to 256",
        ),
        (
            {"CHICAGO_RISK_JWT_ISSUER": "https://id.example.org"},
            "JWT validation needs CHICAGO_RISK_JWT_ISSUER, CHICAGO_RISK_JWT_AUDIENCE and one of",
        ),
        (
            {
                "CHICAGO_RISK_JWT_ISSUER": "i",
                "CHICAGO_RISK_JWT_AUDIENCE": "a",
                "CHICAGO_RISK_JWT_KEY": "k",
                "CHICAGO_RISK_JWT_ALGORITHMS": "HS256,none",
            },
            "may not allow unsigned tokens",
        ),
        (
            {"CHICAGO_RISK_API_KEYS_FILE": "/nonexistent/keys"},
            "CHICAGO_RISK_API_KEYS_FILE=/nonexistent/keys cannot be read",
        ),
    ],
)
def test_bad_settings_say_which_variable(env, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ServingSettings.from_env(env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_chicago_risk_serve_answers_under_uvicorn(small_city):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chicago_risk.cli", "serve", "--port", str(port)],
        env={"PATH": "/usr/bin:/bin", "CHICAGO_RISK_PUBLISHED_URL": small_city.published_url},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a busy 2-core machine imports the app slowly
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()  # a server still starting never ends its stderr: stop it, then read it
                    raise AssertionError(f"the server did not answer: {server.communicate()[1][-3000:]}") from None
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/ready")
        assert ready.status_code == 200
        risk = httpx.get(f"http://127.0.0.1:{port}/api/layers/risk", headers={"Accept-Encoding": "gzip"})
        assert risk.headers["content-encoding"] == "gzip" and risk.json()["count"] == 160
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0
    logged = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert {"/health", "/ready", "/api/layers/risk"} <= {line.get("route") for line in logged}
