"""The deployment files agree with the project (no Docker engine here, so the Dockerfile is read,
not built): the image installs exactly the hash-checked lock with the Makefile's uv and the Python
that pyproject.toml requires, the project without dependencies, and runs unprivileged; its two
entrypoints start the code location and the API; the Helm values point at them."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from chicago_risk.config import Settings
from chicago_risk.instance import DAGSTER_RUN_ENV

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()
LOCK = (ROOT / "requirements.lock").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current = None
    for instruction, arguments in instructions(DOCKERFILE):
        if instruction == "FROM":
            current = arguments.split()[-1] if " AS " in arguments.upper() else arguments
            found[current] = []
        elif current is not None:
            found[current].append((instruction, arguments))
    return found


def args() -> dict[str, str]:
    return dict(
        a.split("=", 1) for i, a in instructions(DOCKERFILE) if i == "ARG" and "=" in a
    )


def locked() -> dict[str, str]:
    """name -> version of every requirement in the lock."""
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+)", LOCK, re.M)}


def test_the_image_is_built_with_the_python_and_uv_the_project_uses():
    makefile_uv = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    minor = re.search(r">=\s*3\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert makefile_uv and minor, "the Makefile pins UV_VERSION and pyproject.toml names a Python 3 minor"
    assert args()["UV_VERSION"] == makefile_uv[1]
    assert args()["PYTHON_VERSION"] == f"3.{minor[1]}"
    froms = [a for i, a in instructions(DOCKERFILE) if i == "FROM"]
    assert len(froms) == 2 and all(a.startswith("python:${PYTHON_VERSION}-slim") for a in froms)
    builder = " ".join(a for _, a in stages()["builder"])
    assert "pip install uv==${UV_VERSION}" in builder


def test_the_install_step_is_exactly_the_hash_checked_lock_then_the_project_without_dependencies():
    builder = stages()["builder"]
    copies = [a for i, a in builder if i == "COPY"]
    assert copies[0] == "requirements.lock ./", "the lock is copied alone, before the code"
    runs = [a for i, a in builder if i == "RUN"]
    installs = [command.strip() for run in runs for command in run.split("&&") if "pip " in command]
    assert installs[0] == "python -m pip install uv==${UV_VERSION}"
    sync = installs[1]
    assert sync.startswith("uv pip sync") and "--require-hashes" in sync and sync.endswith(" requirements.lock")
    project = installs[2]
    assert project.startswith("uv pip install") and "--no-deps" in project and project.endswith(" .")
    assert len(installs) == 3, f"no other install may add packages outside the lock: {installs}"
    # --require-hashes passes only if every locked requirement carries its hashes.
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.split("\n", 2)[2]):
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_lock_pins_what_pyproject_declares_with_every_extra():
    pins = locked()
    extras = PYPROJECT["project"]["optional-dependencies"]
    for requirement in PYPROJECT["project"]["dependencies"] + [r for group in extras.values() for r in group]:
        name, version = requirement.split("==")
        name = name.split("[")[0]  # moto[server]: the lock pins the package, its extra's deps beside it
        assert pins.get(name.lower()) == version, f"{requirement} is not what requirements.lock pins; run make lock"


def test_the_lock_holds_what_the_helm_deployment_loads():
    # The chart's instance stores runs in Postgres and launches them with the K8sRunLauncher;
    # both libraries ship in step with dagster-duckdb.
    pins = locked()
    assert pins.get("dagster-postgres") == pins["dagster-duckdb"] and pins.get("dagster-k8s") == pins["dagster-duckdb"]


def test_the_runtime_is_the_virtual_environment_only_run_unprivileged():
    runtime = stages()["runtime"]
    copies = [a for i, a in runtime if i == "COPY"]
    assert "--from=builder /opt/venv /opt/venv" in copies
    assert all("--from=builder" not in c or c.endswith("/opt/venv /opt/venv") for c in copies)
    user = [a for i, a in runtime if i == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    environment = " ".join(a for i, a in runtime if i == "ENV")
    assert "PATH=/opt/venv/bin:$PATH" in environment


def test_the_two_entrypoints_start_the_code_location_and_the_api(tmp_path):
    """The entrypoint script, run with stand-ins for `dagster` and `chicago-risk` that print
    their arguments."""
    for command in ("dagster", "chicago-risk"):
        stand_in = tmp_path / command
        stand_in.write_text(f'#!/bin/sh\necho {command} "$@"\n')
        stand_in.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}

    def entrypoint(*arguments: str) -> str:
        script = ROOT / "deploy" / "entrypoint.sh"
        return subprocess.run(
            ["sh", script, *arguments], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    code_location = "dagster code-server start -m chicago_risk.definitions -h 0.0.0.0 -p 4000"
    assert entrypoint() == entrypoint("code-location") == code_location
    assert entrypoint("api") == "chicago-risk serve --host 0.0.0.0"
    # The Helm chart and the run launcher pass whole commands: they run unchanged.
    assert entrypoint("dagster", "api", "execute_run", "{}") == "dagster api execute_run {}"
    runtime = stages()["runtime"]
    assert ("ENTRYPOINT", '["chicago-risk-entrypoint"]') in runtime and ("CMD", '["code-location"]') in runtime
    assert "deploy/entrypoint.sh /usr/local/bin/chicago-risk-entrypoint" in [a for i, a in runtime if i == "COPY"]
    assert os.access(ROOT / "deploy" / "entrypoint.sh", os.X_OK)


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else():
    ignore = (ROOT / ".dockerignore").read_text().split()
    kept = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    assert ignore[ignore.index("*") if "*" in ignore else -1] == "*", "everything is left out unless named"
    copied = [
        a.split()[0] for i, a in instructions(DOCKERFILE) if i == "COPY" and not a.startswith("--from")
    ]
    for source in copied:
        assert (ROOT / source).exists() and source.rstrip("/") in kept, source
    assert not {".venv", "data", ".git", "chicago_risk_tests"} & set(kept)


def test_the_helm_values_run_this_image_with_delta_storage_in_s3_and_the_k8s_run_launcher():
    values = yaml.safe_load((ROOT / "deploy" / "dagster-values.yaml").read_text())
    [code] = values["dagster-user-deployments"]["deployments"]
    assert code["codeServerArgs"] == ["-m", "chicago_risk.definitions"] and code["port"] == 4000
    env = {e["name"]: e["value"] for e in code["env"]}
    assert env["CHICAGO_RISK_STORAGE"] == "delta" and env["CHICAGO_RISK_STORAGE_URL"].startswith("s3://")
    assert DAGSTER_RUN_ENV.items() <= env.items(), "run pods get the command line's run settings"
    assert {m["mountPath"] for m in code["volumeMounts"]} == {"/data"}
    assert code["includeConfigInLaunchedRuns"]["enabled"], "run pods get the same storage and volume"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert "postgresql" in values
    api = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy" / "api.yaml").read_text())}
    container = api["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["api"] and container["image"].rsplit(":", 1)[0] == code["image"]["repository"]
    published = {e["name"]: e["value"] for e in container["env"]}["CHICAGO_RISK_PUBLISHED_URL"]
    assert published == Settings.from_env(env).published_location, "the API reads where the code location publishes"
    assert "volumeMounts" not in container, "the API reads the bucket, no volume"
    assert api["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert api["Service"]["spec"]["selector"] == api["Deployment"]["spec"]["selector"]["matchLabels"]
