"""The deployment files (image, compose, Kubernetes, nginx, Procfile) cannot run here (no Docker, no cluster):
they are checked statically against the project (commands, settings, files they name), and the production
web process is started for real (gunicorn, production settings) and answers ``/healthz``."""

from __future__ import annotations

import fnmatch
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
VENV_BIN = Path(sys.executable).parent
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
APP_ROLES = {"web", "worker", "beat", "migrate"}


# --- What the project provides -------------------------------------------------------------------


def known_environment_variables() -> set[str]:
    """Every variable the settings, the gunicorn configuration, the Procfile or the entrypoint read."""
    names: set[str] = {"DJANGO_SETTINGS_MODULE"}
    reader = re.compile(r"""\benv_(?:str|int|bool|list|url|database)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
    environ = re.compile(r"""(?:os\.environ\.get|os\.getenv|os\.environ\.setdefault|_int)\(\s*["']([A-Z][A-Z0-9_]*)""")
    for path in [*(ROOT / "config").rglob("*.py"), DEPLOY / "gunicorn.conf.py"]:
        text = path.read_text()
        names |= set(reader.findall(text)) | set(environ.findall(text))
    for path in (ROOT / "Procfile", ENTRYPOINT):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", path.read_text()))
    return names


def procfile() -> dict[str, str]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([a-z][a-z0-9_-]*):\s*(.+)$", line)
        if match:
            assert match.group(1) not in processes, f"Procfile: {match.group(1)} defined twice"
            processes[match.group(1)] = match.group(2)
    return processes


def k8s_documents() -> list[dict]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                document["_file"] = path.name
                documents.append(document)
    return documents


def k8s_objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc.get("kind") == kind}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_list_of_known_variables_is_real():
    names = known_environment_variables()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BASE_DOMAIN", "WEB_CONCURRENCY", "SITE_SCHEME"} <= names
    assert "DJANGO_SECRET" not in names


# --- Image ----------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """Instructions (continuation lines joined) grouped by stage."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        assert stages, f"instruction before FROM: {line}"
        stages[-1].append(line)
    return stages


def test_dockerfile_is_multi_stage_with_a_slim_non_root_final_stage():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert final[0].split()[1] == "python:3.11-slim-bookworm"
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any("--from=builder" in line for line in final if line.upper().startswith("COPY"))


def test_no_build_tools_in_the_final_stage_and_weasyprint_libraries_present():
    final = " ".join(dockerfile_stages()[-1])
    for tool in ("build-essential", "gcc", "g++", "make ", "-dev ", "libpq-dev", "python3-dev"):
        assert tool not in final, f"{tool} installed in the final stage"
    for library in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-"):
        assert library in final, f"{library} missing (WeasyPrint)"
    assert "collectstatic" in final
    builder = " ".join(dockerfile_stages()[0])
    assert "requirements.lock" in builder


def test_dockerfile_entrypoint_and_command_exist_in_the_project():
    final = dockerfile_stages()[-1]
    entrypoint = [yaml.safe_load(line.split(None, 1)[1]) for line in final if line.upper().startswith("ENTRYPOINT")]
    command = [yaml.safe_load(line.split(None, 1)[1]) for line in final if line.upper().startswith("CMD")]
    assert entrypoint and command
    script = entrypoint[-1][0]
    assert script.startswith("/app/")
    local = ROOT / script.removeprefix("/app/")
    assert local == ENTRYPOINT and os.access(local, os.X_OK)
    assert command[-1][0] in APP_ROLES
    for line in final:
        if line.upper().startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                if not source.startswith("--"):
                    assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_dockerignore_keeps_what_the_image_needs():
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = [
        "manage.py", "Procfile", "pyproject.toml", "requirements.lock", "config/settings/prod.py", "static",
        "templates", "deploy/gunicorn.conf.py", "deploy/docker-entrypoint.sh", "tenants", "scheduling",
    ]
    for path in needed:
        assert (ROOT / path).exists(), path
        for pattern in patterns:
            anchored = pattern.lstrip("/")
            assert not fnmatch.fnmatch(path, anchored) and not path.startswith(anchored.rstrip("/") + "/"), (
                f".dockerignore pattern {pattern!r} leaves {path} out of the image"
            )


def test_dockerignore_keeps_secrets_out_of_the_image():
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    for secret in ("**/.env", "/deploy/certs", ".git", ".venv"):
        assert secret in patterns, secret


def test_every_runtime_dependency_is_pinned_in_the_lock_file():
    """The image installs pyproject's dependencies with requirements.lock as constraints: each of them and
    everything they pull in (as installed here, extras included) must be pinned, or the image would resolve
    an unpinned version at build time."""
    from importlib import metadata

    from packaging.requirements import Requirement

    def normalise(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    lock = (ROOT / "requirements.lock").read_text().splitlines()
    pinned = {normalise(line.split("==")[0]) for line in lock if "==" in line}
    pending = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    seen: dict[str, set[str]] = {}
    while pending:
        requirement = pending.pop()
        name, extras = normalise(requirement.name), set(requirement.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        for raw in metadata.distribution(requirement.name).requires or []:
            dependency = Requirement(raw)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras or {""}):
                pending.append(dependency)
    assert {"django", "weasyprint", "gunicorn", "psycopg-binary", "redis", "kombu"} <= set(seen)
    assert not set(seen) - pinned, f"not pinned in requirements.lock: {sorted(set(seen) - pinned)}"


# --- Procfile and entrypoint -----------------------------------------------------------------------


def test_procfile_processes_exist():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker", "beat"}
    for name, command in processes.items():
        executable = command.split()[0]
        assert (VENV_BIN / executable).exists() or executable == "python", f"{name}: {executable} not installed"
    assert "deploy/gunicorn.conf.py config.wsgi" in processes["web"]
    assert (DEPLOY / "gunicorn.conf.py").is_file()
    assert "-A config " in processes["worker"] and "-A config " in processes["beat"]
    assert "migrate_schemas" in processes["release"]


def test_celery_app_and_wsgi_module_named_by_the_processes_exist():
    import importlib.util

    from config.celery import app

    assert app.main == "rdv"
    assert importlib.util.find_spec("config.wsgi") is not None


def test_every_manage_py_command_referenced_exists():
    from django.core.management import get_commands

    commands = set(get_commands())
    files = [ROOT / "Procfile", ENTRYPOINT, DEPLOY / "local" / "run-prod.sh", DEPLOY / "Dockerfile", *K8S.glob("*")]
    referenced = set()
    for path in files:
        referenced |= set(re.findall(r"manage\.py\s+([a-z_]+)", path.read_text()))
    assert {"migrate_schemas", "collectstatic", "check"} <= referenced
    assert referenced <= commands, referenced - commands


def test_shell_scripts_parse():
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)]).returncode == 0
    for script in (DEPLOY / "local" / "run-prod.sh", K8S / "rollout.sh"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
        assert os.access(script, os.X_OK), script


def test_entrypoint_dispatches_every_role_to_the_procfile():
    text = ENTRYPOINT.read_text()
    assert "web|worker|beat|release|migrate" in text
    assert "check --deploy" in text


# --- compose ---------------------------------------------------------------------------------------


def test_compose_services_and_order():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "nginx"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["migrate"]["command"] == ["migrate"] and services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["command"][0] in APP_ROLES
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "scale" not in services["beat"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("postgres", "redis", "web", "nginx"):
        assert "healthcheck" in services[name], name


def test_compose_application_variables_exist_in_the_settings():
    known = known_environment_variables()
    services = compose()["services"]
    for name in ("migrate", "web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
        unknown = set(environment) - known
        assert not unknown, f"{name}: variables nobody reads: {unknown}"
        for required in ("DJANGO_SECRET_KEY", "BASE_DOMAIN", "DATABASE_URL", "REDIS_URL", "DEFAULT_FROM_EMAIL"):
            assert required in environment, f"{name}: {required} missing"


def test_compose_nginx_mounts_existing_files_with_wildcard_tls():
    nginx = compose()["services"]["nginx"]
    assert nginx["environment"]["BASE_DOMAIN"]
    mounted = [volume.split(":")[0] for volume in nginx["volumes"]]
    assert "./certs" in mounted
    for source in mounted:
        if source != "./certs":
            assert (DEPLOY / source).exists(), source
    assert "443:443" in nginx["ports"]


def test_nginx_configuration():
    text = (DEPLOY / "nginx" / "rdv.conf.template").read_text()
    assert "server_name ${BASE_DOMAIN} *.${BASE_DOMAIN};" in text
    assert "ssl_certificate /etc/nginx/certs/fullchain.pem;" in text
    for directive in ("proxy_set_header Host $host;", "proxy_set_header X-Forwarded-Proto $scheme;",
                      "proxy_set_header X-Real-IP $remote_addr;", "client_max_body_size", "gzip on;",
                      "proxy_pass http://rdv_web;"):
        assert directive in text, directive
    log_format = re.search(r"log_format\s+\w+\s+'([^']*)'", text).group(1)
    for personal in ("$remote_addr", "$request ", "$request_uri", "$args", "$query_string", "$http_referer",
                     "$http_user_agent"):
        assert personal not in log_format + " ", f"{personal} in the access log"


# --- Kubernetes ------------------------------------------------------------------------------------


def test_k8s_manifests_parse_and_kustomization_lists_existing_files():
    documents = k8s_documents()
    for document in documents:
        if document["kind"] == "Kustomization":
            continue
        assert document.get("apiVersion") and document["metadata"].get("name"), document["_file"]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    assert "migrate-job.yaml" not in kustomization["resources"]  # run by rollout.sh, before the Deployments
    assert "secret.example.yaml" not in kustomization["resources"]


def test_k8s_beat_is_a_single_replica_recreated_never_autoscaled():
    deployments = k8s_objects("Deployment")
    beat = deployments["rdv-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in k8s_objects("HorizontalPodAutoscaler").values()}
    assert targets == {"rdv-web", "rdv-worker"}


def pod_spec(document: dict) -> dict:
    return document["spec"]["template"]["spec"]


def test_k8s_workloads_run_existing_roles_non_root_with_configuration_from_the_environment():
    configmaps, secrets = k8s_objects("ConfigMap"), k8s_objects("Secret")
    workloads = [*k8s_objects("Deployment").values(), *k8s_objects("Job").values()]
    assert {w["metadata"]["name"] for w in workloads} == {"rdv-web", "rdv-worker", "rdv-beat", "rdv-migrate-RELEASE"}
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        for container in spec["containers"]:
            assert container["args"][0] in APP_ROLES, container["args"]
            assert container["resources"]["requests"] and container["resources"]["limits"]
            unknown = {item["name"] for item in container.get("env", [])} - known_environment_variables()
            assert not unknown, f"{workload['metadata']['name']}: variables nobody reads: {unknown}"
            sources = container["envFrom"]
            assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= set(configmaps)
            assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} <= set(secrets)
        if workload["kind"] == "Deployment":
            assert workload["spec"]["selector"]["matchLabels"].items() <= workload["spec"]["template"]["metadata"][
                "labels"
            ].items()
    job = k8s_objects("Job")["rdv-migrate-RELEASE"]
    assert pod_spec(job)["containers"][0]["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_k8s_configuration_keys_exist_in_the_settings():
    known = known_environment_variables()
    for kind in ("ConfigMap", "Secret"):
        for name, document in k8s_objects(kind).items():
            keys = set(document.get("data") or {}) | set(document.get("stringData") or {})
            assert not keys - known, f"{kind} {name}: variables nobody reads: {keys - known}"
    config = k8s_objects("ConfigMap")["rdv-config"]["data"]
    assert config["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
    secret = k8s_objects("Secret")["rdv-secrets"]["stringData"]
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(secret)


def test_k8s_web_probes_service_ingress_and_disruption_budget():
    web = k8s_objects("Deployment")["rdv-web"]
    container = pod_spec(web)["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz", probe
    labels = web["spec"]["template"]["metadata"]["labels"]
    service = k8s_objects("Service")["rdv-web"]
    assert service["spec"]["selector"].items() <= labels.items()
    pdb = k8s_objects("PodDisruptionBudget")["rdv-web"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ingress = k8s_objects("Ingress")["rdv"]
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    base = k8s_objects("ConfigMap")["rdv-config"]["data"]["BASE_DOMAIN"]
    assert hosts == {base, f"*.{base}"}
    assert set(ingress["spec"]["tls"][0]["hosts"]) == hosts
    for rule in ingress["spec"]["rules"]:
        assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "rdv-web"


# --- gunicorn configuration ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_conf():
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_access_log_carries_no_personal_data(gunicorn_conf):
    log_format = gunicorn_conf["access_log_format"]
    for atom in ("%(h)s", "%(r)s", "%(q)s", "%(a)s", "%(f)s", "%(u)s"):
        assert atom not in log_format, atom
    mask = gunicorn_conf["mask_path"]
    assert mask("/rdv/123e4567-e89b-12d3-a456-426614174000/annuler/") == "/rdv/…/annuler/"
    assert mask("/invitation-rdv/eyJjaXRpemVuIjo0Mn0:1vN2xQ:AbCdEfGhIjKlMnOpQrSt/") == "/invitation-rdv/…/"
    assert mask("/prendre-rdv/creneaux/") == "/prendre-rdv/creneaux/"


def test_client_address_comes_from_a_trusted_proxy_only(gunicorn_conf):
    seen = {}

    def app(environ, start_response):
        seen["address"] = environ["REMOTE_ADDR"]

    wrapper = gunicorn_conf["RealClientAddress"](app, ["10.0.0.0/8", "127.0.0.1"])
    wrapper({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_REAL_IP": "203.0.113.7"}, None)
    assert seen["address"] == "203.0.113.7"
    wrapper({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.4"}, None)
    assert seen["address"] == "198.51.100.4"  # the entry our proxy appended, not what the client claimed
    wrapper({"REMOTE_ADDR": "192.0.2.9", "HTTP_X_REAL_IP": "6.6.6.6"}, None)
    assert seen["address"] == "192.0.2.9"  # not a proxy of ours: the header is ignored
    wrapper({"REMOTE_ADDR": "10.1.2.3"}, None)
    assert seen["address"] == "10.1.2.3"


# --- The real production web process ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 2) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def production_environment(**extra: str) -> dict[str, str]:
    """The environment of a production container, pointed at the test database and Redis."""
    from django.conf import settings
    from django.db import connection

    database = connection.settings_dict
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY", "DJANGO_", "GUNICORN_"))}
    environment.update(
        PATH=f"{VENV_BIN}{os.pathsep}{environment.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY="test-only-" + "k" * 60,
        BASE_DOMAIN="rdv.exemple.gouv.fr",
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        REDIS_URL=settings.REDIS_URL,
        DEFAULT_FROM_EMAIL="RDV <ne-pas-repondre@rdv.exemple.gouv.fr>",
        **extra,
    )
    for name in ("SITE_SCHEME", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "EMAIL_BACKEND"):
        environment.pop(name, None)
    return environment


@pytest.fixture
def production_web(django_db_setup, tmp_path):
    """gunicorn (2 workers) started by the image's entrypoint, production settings, the test database."""
    port = free_port()
    environment = production_environment(
        GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", GUNICORN_GRACEFUL_TIMEOUT="2"
    )
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(ENTRYPOINT), "web"], cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_production_gunicorn_answers_healthz_and_logs_no_query_string(production_web):
    base_url, log_path = production_web
    status, body = get(f"{base_url}/healthz?nom=Dupont&telephone=0612345678")
    assert status == 200, body
    assert '"status": "ok"' in body
    time.sleep(0.3)  # the access log line is written after the response
    log = log_path.read_text()
    assert '"GET /healthz" 200' in log
    assert "Dupont" not in log and "0612345678" not in log
    assert "Booting worker" in log and log.count("Booting worker") == 2


def test_migrate_role_checks_the_deployment_then_migrates_every_schema(django_db_setup, tmp_path):
    """What the compose `migrate` service and the Kubernetes Job run: check --deploy, then migrate_schemas
    (here a no-op: the test database is up to date)."""
    result = subprocess.run(
        [str(ENTRYPOINT), "migrate", "-v", "1"], cwd=tmp_path, env=production_environment(),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "System check identified no issues" in result.stdout + result.stderr
    assert "[standard:public]" in result.stdout and "up to date" in result.stdout


def start_role(role: str, environment: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [str(ENTRYPOINT), role], cwd=log_path.parent, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_role(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_worker_and_beat_roles_run_tasks_in_the_administration_schema(administration_a, tmp_path):
    """The image's worker answers a task sent from an administration (ping_worker, production settings);
    beat starts with the production schedule. Own queue: nothing else consumes it."""
    import redis
    from django.conf import settings

    queue = f"rdv-deploy-test-{os.getpid()}"
    environment = production_environment(
        CELERY_QUEUE=queue, CELERY_WORKER_CONCURRENCY="1", TMPDIR=str(tmp_path), LOG_LEVEL="INFO"
    )
    worker = start_role("worker", environment, tmp_path / "worker.log")
    beat = start_role("beat", environment, tmp_path / "beat.log")
    try:
        ping = subprocess.run(
            [sys.executable, "manage.py", "ping_worker", "--administration", administration_a.slug, "--timeout", "60"],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=90,
        )
        assert ping.returncode == 0, ping.stderr + (tmp_path / "worker.log").read_text()[-3000:]
        assert f"schéma {administration_a.schema_name}" in ping.stdout
        deadline = time.monotonic() + 20
        while "beat: Starting" not in (tmp_path / "beat.log").read_text():
            assert beat.poll() is None and time.monotonic() < deadline, (tmp_path / "beat.log").read_text()[-3000:]
            time.sleep(0.2)
    finally:
        stop_role(worker)
        stop_role(beat)
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=f"*{queue}*"):  # the queue and kombu's bindings of it
            client.delete(key)
    assert worker.returncode == 0 and beat.returncode == 0
