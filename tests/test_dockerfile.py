"""The Dockerfile and its documentation (docs/deploy.md, "Docker"), read as text: no container
engine is needed (the image itself is built where one exists).

Two stages, the project installed as a wheel (not editable), no uv or pip in the runtime image,
a health check that follows the server's port, and export examples that work as written (run as
the caller's user, so a fresh ``./out`` is writable).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DEPLOY = (ROOT / "docs" / "deploy.md").read_text()


def _stages() -> dict[str, str]:
    """Instructions of each ``FROM ... AS name`` stage (comments dropped)."""
    lines = [ln for ln in DOCKERFILE.splitlines() if not ln.lstrip().startswith("#")]
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        found = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if found:
            current = stages.setdefault(found.group(1), [])
        current.append(line)
    return {name: "\n".join(body) for name, body in stages.items()}


def test_two_stages_and_the_runtime_has_no_uv_or_pip() -> None:
    stages = _stages()
    assert list(stages) == ["build", "runtime"]
    runtime = stages["runtime"]
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert not re.search(r"\buv\b", runtime)
    assert "pip install" not in runtime
    assert re.search(r"pip uninstall --yes pip\b", runtime)


def test_the_project_is_installed_frozen_and_not_editable() -> None:
    syncs = re.findall(r"uv sync[^\n]*", _stages()["build"])
    assert syncs and all("--frozen" in s for s in syncs)
    assert any("--no-editable" in s and "--no-install-project" not in s for s in syncs)
    assert not any("--extra" in s or "--all-extras" in s for s in syncs)


def test_the_health_check_follows_the_port() -> None:
    check = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD[^\n]*", DOCKERFILE)
    assert check is not None
    assert "8501" not in check.group()
    assert "STREAMLIT_SERVER_PORT" in check.group()
    assert "STREAMLIT_SERVER_PORT=${PORT}" in DOCKERFILE
    assert "--server.port" not in DOCKERFILE  # the port comes from the environment only


def test_export_examples_run_as_the_callers_user() -> None:
    user = '--user "$(id -u):$(id -g)"'
    header = [ln for ln in DOCKERFILE.splitlines() if ln.startswith("#")]
    assert any(user in ln for ln in header)
    for text in ("\n".join(header), DEPLOY):
        for example in re.findall(r"docker run[^\n]*(?:\\\n[^\n]*)*", text):
            if "app export" in example:
                assert user in example, example


def test_deploy_says_what_each_part_of_the_image_costs() -> None:
    section = DEPLOY[DEPLOY.index("## Docker") : DEPLOY.index("## Streamlit Community Cloud")]
    for part in ("Chromium", "/opt/venv", "uv", "pip", "SALib"):
        assert re.search(rf"\|[^\n]*{re.escape(part)}[^\n]*\| [~0-9.]+ [GM]B \|", section), part
