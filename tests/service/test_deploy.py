"""The deployment files agree with each other and with the CLI.

No Docker engine or Kubernetes cluster runs on the machine these tests run on, so the image
is not built here; these tests parse ``deploy/kubernetes.yaml`` and the ``Dockerfile`` and
check that they name the same images, secrets, ports and commands, and that every strategy
container's arguments parse with the real ``quantalloc trade`` command.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yaml").read_text()) if d]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec["template"]["spec"]["containers"])


def _dockerfile_targets() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text()
    targets: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"FROM \S+ AS (\w+)", line):
            current = m.group(1)
        elif line.startswith("ENTRYPOINT") and current:
            targets[current] = " ".join(yaml.safe_load(line.split(" ", 1)[1]))
    return targets


def test_images_come_from_the_dockerfile_targets(docs: list[dict[str, Any]]) -> None:
    targets = _dockerfile_targets()
    assert targets["api"].startswith("quantalloc serve") and "--port 8000" in targets["api"]
    assert targets["strategy"] == "quantalloc trade"
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "CronJob")
              for c in _containers(d)}  # fmt: skip
    assert images == {f"quantalloc-{t}:0.1.0" for t in ("api", "strategy")}
    readme = (ROOT / "README.md").read_text()
    for target in ("api", "strategy"):  # the README builds them under the same names
        assert f"--target {target} -t quantalloc-{target}:0.1.0" in readme


def test_every_secret_reference_names_a_defined_secret_key(docs: list[dict[str, Any]]) -> None:
    secrets = {d["metadata"]["name"]: set(d["stringData"]) for d in docs if d["kind"] == "Secret"}
    assert set(secrets) == {"quantalloc-api", "quantalloc-database", "quantalloc-broker"}
    used: set[tuple[str, str]] = set()
    for doc in docs:
        if doc["kind"] not in ("Deployment", "CronJob"):
            continue
        for container in _containers(doc):
            for env in container.get("env", []):
                ref = env["valueFrom"]["secretKeyRef"]
                assert ref["key"] in secrets[ref["name"]], ref
                assert env["name"] == ref["key"]  # the variable the code reads
                used.add((ref["name"], ref["key"]))
    assert used == {(name, key) for name, keys in secrets.items() for key in keys}
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert namespaces == {"quantalloc"}


def test_the_api_service_and_probes_match_the_server(docs: list[dict[str, Any]]) -> None:
    from quantalloc.cli.serve import ENV_API_KEY

    (api,) = [d for d in docs if d["metadata"]["name"] == "quantalloc-api" and
              d["kind"] == "Deployment"]  # fmt: skip
    (container,) = _containers(api)
    assert {e["name"] for e in container["env"]} == {ENV_API_KEY, "DATABASE_URL"}
    port = container["ports"][0]
    assert port["containerPort"] == 8000
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": port["name"]}
    (service,) = [d for d in docs if d["kind"] == "Service"]
    assert service["spec"]["selector"] == api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["metadata"]["name"] == "quantalloc-api"


def test_strategy_jobs_parse_with_the_trade_command(docs: list[dict[str, Any]]) -> None:
    import typer

    from quantalloc.cli.app import app
    from quantalloc.service.trading.session import TRADEABLE

    command = typer.main.get_command(app).commands["trade"]  # type: ignore[attr-defined]
    jobs = [d for d in docs if d["kind"] in ("CronJob", "Deployment")
            and _containers(d)[0]["image"].startswith("quantalloc-strategy")]  # fmt: skip
    seen = set()
    for job in jobs:
        (container,) = _containers(job)
        args = [re.sub(r"\$\((\w+)\)", lambda m: {"IB_PORT": "4002"}.get(m.group(1), "h"), a)
                for a in container["args"]]  # fmt: skip
        ctx = command.make_context("trade", list(args))
        assert ctx.params["mode"] == "live" and ctx.params["api"] == "http://quantalloc-api:8000"
        assert ctx.params["strategy"] in TRADEABLE
        seen.add(ctx.params["strategy"])
        # a trader that holds past the session runs without end; a daily one, one session
        endless = job["kind"] == "Deployment"
        assert (ctx.params["sessions"] == 0) == endless, job["metadata"]["name"]
        if endless:
            assert job["spec"]["replicas"] == 1 and job["spec"]["strategy"]["type"] == "Recreate"
        env = {e["name"] for e in container["env"]}
        for var in re.findall(r"\$\((\w+)\)", " ".join(container["args"])):
            assert var in env  # Kubernetes expands $(VAR) only from the container's env
    assert seen == set(TRADEABLE)
    client_ids = [_containers(j)[0]["args"][-1] for j in jobs]
    assert len(set(client_ids)) == len(client_ids)  # one IB client id per strategy
