"""The deployment files (deploy/systemd, deploy/docker, deploy/k8s) checked
without systemd as init, a Docker daemon or a cluster: with the tools that work
offline, against the flags the built daemon knows, and against each other
(the paths, ports, sockets and secrets one file names must be the ones the
others provide). Run: python3 -m pytest -q tests/deploy"""

import contextlib
import fnmatch
import functools
import grp
import json
import os
import re
import shutil
import signal
import socket as socket_module
import stat
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"
DOCKER = ROOT / "deploy" / "docker"
K8S = ROOT / "deploy" / "k8s"
DAEMON = Path(os.environ.get("SEJITS_DAEMON_BIN") or ROOT / "build" / "server" / "sejitsd")
HEALTH = Path(os.environ.get("SEJITS_HEALTH_BIN") or ROOT / "build" / "client-cpp" / "sejits-health")
IMAGE = "sejits/sejitsd"


def require_tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed here, so this check cannot run")
    return path


def require_built(path, target):
    if not path.exists():
        pytest.skip(f"{path} is not built: cmake --build build --target {target}")
    return path


def on_debian_12():
    try:
        return 'VERSION_ID="12"' in Path("/etc/os-release").read_text() and shutil.which("dpkg-query")
    except OSError:
        return False


# ---- sejitsd flags --------------------------------------------------------


@functools.cache
def daemon_flags():
    """Every flag the built daemon accepts, from absl's --helpfull."""
    help_text = subprocess.run([str(DAEMON), "--helpfull"], capture_output=True, text=True, timeout=30).stdout
    # A flag's line is indented 4 spaces; its wrapped description, 6.
    flags = set(re.findall(r"^ {4}--(\w+) \(", help_text, re.MULTILINE))
    assert "listen_unix" in flags, f"could not parse `sejitsd --helpfull`:\n{help_text[:2000]}"
    return flags


def flag_name(argument):
    match = re.fullmatch(r"--(\w+)(=.*)?", argument)
    assert match, f"not a --flag: {argument!r}"
    return match.group(1)


def unknown_flags(arguments):
    known = daemon_flags()
    names = {flag_name(a) for a in arguments}
    # absl's negated booleans: --nofoo
    return sorted(n for n in names if n not in known and not (n.startswith("no") and n[2:] in known))


def flags_dict(arguments):
    return dict(a[2:].split("=", 1) for a in arguments if "=" in a)


# ---- running the daemon as a deployment file configures it -----------------

PATH_FLAGS = ("listen_unix", "cache_dir", "tuning_db", "log_file", "token_file", "upstream_token_file")
TOKEN = "deploy-test-token"


def free_loopback_port():
    with socket_module.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def localize(arguments, root, upstream=None):
    """A deployment's daemon flags made runnable here, by whoever runs the
    tests: paths moved under `root`, TCP onto a free loopback port, the
    socket's group ours, token files made up, --upstream sent to `upstream`."""
    flags = {}
    for argument in arguments:
        name, value = flag_name(argument), argument.partition("=")[2]
        if name in PATH_FLAGS:
            value = str(root / value.lstrip("/"))
        elif name == "listen_tcp":
            value = f"127.0.0.1:{free_loopback_port()}"
        elif name == "socket_group":
            value = grp.getgrgid(os.getgid()).gr_name
        elif name == "upstream":
            value = upstream
        flags[name] = value
    for name in ("token_file", "upstream_token_file"):
        if name in flags:
            Path(flags[name]).parent.mkdir(parents=True, exist_ok=True)
            Path(flags[name]).write_text(TOKEN + "\n")
            os.chmod(flags[name], 0o600)
    if "tuning_db" in flags:  # what StateDirectory= creates under systemd
        Path(flags["tuning_db"]).parent.mkdir(parents=True, exist_ok=True)
    return flags


@contextlib.contextmanager
def running_daemon(arguments, address, log, health_flags=(), seconds=20):
    """The built daemon with `arguments`, once it serves health at `address`;
    afterwards it gets SIGTERM and must exit 0."""
    require_built(DAEMON, "sejitsd")
    require_built(HEALTH, "sejits-health")
    with log.open("w") as stderr:
        process = subprocess.Popen([str(DAEMON), *arguments], stdout=stderr, stderr=stderr)
    try:
        deadline = time.monotonic() + seconds
        while subprocess.run([str(HEALTH), address, "--timeout_s=1", *health_flags], capture_output=True).returncode:
            if process.poll() is not None:
                pytest.fail(f"sejitsd exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"sejitsd did not become healthy at {address}:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=20)
    assert returncode == 0, log.read_text()


# ---- deploy/systemd --------------------------------------------------------

CONF = SYSTEMD / "sejitsd.conf"
UNIT = SYSTEMD / "sejitsd.service"


def conf_arguments(include_commented=False):
    """The --flag=value lines of sejitsd.conf; commented ones are examples,
    and must name real flags too."""
    arguments = []
    for line in CONF.read_text().splitlines():
        if line.startswith("--"):
            arguments.append(line)
        elif include_commented and (match := re.match(r"#\s*(--\w+=\S*)", line)):
            arguments.append(match.group(1))
    return arguments


def unit_settings():
    """{(section, key): [values]} of sejitsd.service; keys may repeat."""
    settings, section = {}, None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, value = line.split("=", 1)
        settings.setdefault((section, key), []).append(value)
    return settings


def service(key):
    values = unit_settings().get(("Service", key))
    assert values, f"sejitsd.service sets no {key}="
    return values[-1]


def unit_for_this_machine(tmp_path):
    """The unit with ExecStart on the built daemon: systemd-analyze checks that
    ExecStart's binary exists."""
    text = UNIT.read_text().replace("/usr/local/bin/sejitsd", str(require_built(DAEMON, "sejitsd")))
    path = tmp_path / UNIT.name
    path.write_text(text)
    return path


def test_systemd_unit_verifies(tmp_path):
    analyze = require_tool("systemd-analyze")
    unit = unit_for_this_machine(tmp_path)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    # An unknown key or a bad value is only a warning (exit 0): fail on any
    # line about this unit as well.
    problems = [line for line in output.splitlines() if UNIT.name in line]
    assert result.returncode == 0 and not problems, output


def test_systemd_unit_exposure_stays_low(tmp_path):
    analyze = require_tool("systemd-analyze")
    unit = unit_for_this_machine(tmp_path)
    # --threshold is in tenths: it scores 3.0 on systemd 252, and dropping any
    # one of its sandboxing settings brings it to 3.2 or more.
    result = subprocess.run([analyze, "security", "--offline=yes", "--threshold=31", str(unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_systemd_unit_settings():
    assert service("User") == "sejits" and service("Group") == "sejits"
    assert service("ExecStart") == "/usr/local/bin/sejitsd --flagfile=/etc/sejits/sejitsd.conf"
    assert service("Restart") == "on-failure"
    hardening = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                 "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
                 "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet": ""}
    for key, value in hardening.items():
        assert service(key) == value, key
    # These would break the compiler or tuning children (see the unit's comments).
    settings = unit_settings()
    assert ("Service", "MemoryDenyWriteExecute") not in settings
    assert ("Service", "ProcSubset") not in settings


def test_systemd_unit_provides_the_confs_paths():
    flags = flags_dict(conf_arguments())
    assert service("RuntimeDirectoryMode") == "0750"
    assert Path(flags["listen_unix"]).parent == Path("/run") / service("RuntimeDirectory")
    assert flags["socket_group"] == service("Group")
    writable = service("ReadWritePaths").split()
    cache = Path("/var/cache") / service("CacheDirectory")
    state = Path("/var/lib") / service("StateDirectory")
    assert Path(flags["cache_dir"]) == cache and str(cache) in writable
    assert Path(flags["tuning_db"]).parent == state and str(state) in writable


def test_systemd_conf_lines_are_plain_flags():
    # absl's flagfile keeps everything after '=': trailing blanks and '#' would
    # become part of the value.
    for number, line in enumerate(CONF.read_text().splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"--\w+=[^\s#]+", line), f"sejitsd.conf:{number}: {line!r}"


def test_systemd_conf_flags_are_known_to_the_daemon():
    require_built(DAEMON, "sejitsd")
    assert unknown_flags(conf_arguments(include_commented=True)) == []


def test_sysusers_creates_the_system_user_and_group(tmp_path):
    sysusers = require_tool("systemd-sysusers")
    (tmp_path / "etc").mkdir()
    result = subprocess.run([sysusers, f"--root={tmp_path}", "-"], input=(SYSTEMD / "sejits.sysusers.conf").read_text(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    users = {f[0]: f for f in (line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines())}
    groups = {f[0]: f for f in (line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines())}
    assert "sejits" in users and "sejits" in groups
    assert int(users["sejits"][2]) < 1000, "not a system user"
    assert users["sejits"][3] == groups["sejits"][2], "sejits' primary group is not sejits"


def test_install_script_dry_run_installs_where_the_unit_looks():
    result = subprocess.run(["bash", str(SYSTEMD / "install.sh"), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    commands = [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]
    flagfile = service("ExecStart").split("--flagfile=")[1]
    assert any(c.endswith(f"sejitsd.conf {flagfile}") or c.endswith(f"sejitsd.conf {flagfile}.new") for c in commands)
    assert any(c.endswith("sejitsd.service /etc/systemd/system/sejitsd.service") for c in commands)
    assert any(c.startswith("systemd-sysusers ") for c in commands)
    assert "systemctl daemon-reload" in commands and "systemctl enable sejitsd.service" in commands


def test_install_script_passes_shellcheck():
    shellcheck = require_tool("shellcheck")
    result = subprocess.run([shellcheck, str(SYSTEMD / "install.sh")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_systemd_conf_is_accepted_by_the_daemon(tmp_path):
    flags = localize(conf_arguments(), tmp_path)
    flagfile = tmp_path / "sejitsd.conf"
    flagfile.write_text("".join(f"--{name}={value}\n" for name, value in flags.items()))
    socket = Path(flags["listen_unix"])
    with running_daemon([f"--flagfile={flagfile}"], f"unix:{socket}", tmp_path / "sejitsd.log"):
        assert stat.S_IMODE(socket.stat().st_mode) == 0o660
        assert socket.stat().st_gid == os.getgid()
        assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o750
    assert not socket.exists()


# ---- sejits-health ---------------------------------------------------------


def test_health_tool_exit_codes(tmp_path):
    socket = tmp_path / "sejitsd.sock"
    with running_daemon([f"--listen_unix={socket}", f"--cache_dir={tmp_path / 'cache'}"], f"unix:{socket}",
                        tmp_path / "sejitsd.log"):
        serving = subprocess.run([str(HEALTH), f"unix:{socket}"], capture_output=True, text=True, timeout=30)
        assert (serving.returncode, serving.stderr) == (0, "")
    gone = subprocess.run([str(HEALTH), f"unix:{socket}", "--timeout_s=2"], capture_output=True, text=True, timeout=30)
    assert gone.returncode == 1 and len(gone.stderr.splitlines()) == 1, gone.stderr
    usage = subprocess.run([str(HEALTH)], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_health_tool_speaks_tls(tmp_path):
    openssl = require_tool("openssl")
    cert, key, token = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "token"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   capture_output=True, check=True, timeout=60)
    token.write_text(TOKEN)
    token.chmod(0o600)
    address = f"tcp://127.0.0.1:{free_loopback_port()}"
    arguments = ["--listen_unix=none", f"--listen_tcp={address[6:]}", f"--tls_cert={cert}", f"--tls_key={key}",
                 f"--token_file={token}", f"--cache_dir={tmp_path / 'cache'}"]
    with running_daemon(arguments, address, tmp_path / "sejitsd.log", health_flags=[f"--tls_ca={cert}"]):
        plain = subprocess.run([str(HEALTH), address, "--timeout_s=2"], capture_output=True, text=True, timeout=30)
        assert plain.returncode == 1, "answered in plain text on a TLS port"


# ---- deploy/docker ---------------------------------------------------------


@functools.cache
def dockerfile_stages():
    """[{"from": image, "name": alias, "instructions": [(KEYWORD, arguments)]}]
    from a small parser: continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", (DOCKER / "Dockerfile").read_text())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), " ".join(arguments.split())
        if keyword == "FROM":
            image, _, name = arguments.partition(" AS ") if " AS " in arguments else arguments.partition(" as ")
            stages.append({"from": image, "name": name or None, "instructions": []})
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1]["instructions"].append((keyword, arguments))
    return stages


def final_stage(keyword):
    return [arguments for k, arguments in dockerfile_stages()[-1]["instructions"] if k == keyword]


def exec_form(arguments):
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def apt_packages(stage):
    packages = []
    for keyword, arguments in stage["instructions"]:
        if keyword == "RUN" and "apt-get install" in arguments:
            command = arguments.split("apt-get install", 1)[1].split("&&")[0]
            packages += [word for word in command.split() if not word.startswith("-")]
    return packages


def docker_command():
    entrypoint, command = exec_form(final_stage("ENTRYPOINT")[-1]), exec_form(final_stage("CMD")[-1])
    assert entrypoint[0] == "sejitsd"
    return entrypoint[1:] + command


def test_dockerfile_stages_and_runtime_settings():
    stages = dockerfile_stages()
    assert len(stages) >= 2 and all(s["from"] == "debian:12" for s in stages)
    names = [s["name"] for s in stages]
    for index, stage in enumerate(stages):
        for keyword, arguments in stage["instructions"]:
            if keyword == "COPY" and (match := re.search(r"--from=(\S+)", arguments)):
                assert match.group(1) in names[:index], f"COPY --from={match.group(1)}: no earlier stage of that name"
    user = final_stage("USER")
    assert user and user[-1].split(":")[0] not in ("root", "0"), "the runtime stage must not run as root"
    flags = flags_dict(docker_command())
    assert final_stage("VOLUME") == [flags["cache_dir"]]
    assert final_stage("EXPOSE") == [flags["listen_tcp"].rsplit(":", 1)[1]] == ["7777"]
    assert flags["token_file"].startswith("/run/secrets/")
    healthcheck = final_stage("HEALTHCHECK")
    assert healthcheck, "no HEALTHCHECK"
    probe = exec_form(healthcheck[-1].split(" CMD ", 1)[1])
    assert probe[:2] == ["sejits-health", f"unix:{flags['listen_unix']}"]


def test_dockerfile_command_flags_are_known_to_the_daemon():
    require_built(DAEMON, "sejitsd")
    assert unknown_flags(docker_command()) == []


def test_dockerfile_command_starts_the_daemon(tmp_path):
    flags = localize(docker_command(), tmp_path)
    with running_daemon([f"--{name}={value}" for name, value in flags.items()], f"unix:{flags['listen_unix']}",
                        tmp_path / "sejitsd.log"):
        # Health answers over TCP too, without the token: orchestrators probe there.
        tcp = subprocess.run([str(HEALTH), f"tcp://{flags['listen_tcp']}"], capture_output=True, text=True, timeout=30)
        assert tcp.returncode == 0, tcp.stderr


def test_dockerfile_build_stage_has_install_deps_packages():
    script = (ROOT / "deploy" / "install_deps.sh").read_text()
    needed = set(re.search(r"APT_PACKAGES=\(([^)]*)\)", script).group(1).split())
    # Only kernels' device code uses OpenCL, at run time: the build does not.
    needed -= {"ocl-icd-opencl-dev", "opencl-headers", "pocl-opencl-icd"}
    assert needed <= set(apt_packages(dockerfile_stages()[0])), needed - set(apt_packages(dockerfile_stages()[0]))


def debian_package_of(library):
    # dpkg knows a file by the path its package ships (/lib or /usr/lib, before
    # or after the symlinks of the merged /usr and of the soname).
    real = os.path.realpath(library)
    candidates = [library, real] + [p.removeprefix("/usr") if p.startswith("/usr/") else "/usr" + p for p in (library, real)]
    for path in candidates:
        owner = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        if owner.returncode == 0:
            return owner.stdout.split(":")[0]
    return f"(no package owns {library})"


def test_dockerfile_runtime_packages_hold_the_linked_libraries():
    if not on_debian_12():
        pytest.skip("needs dpkg on Debian 12, the image's base, to map libraries to packages")
    runtime = set(apt_packages(dockerfile_stages()[-1])) | {"libc6", "libgcc-s1", "libstdc++6"}  # base image, g++
    libraries = set()
    for binary in (require_built(DAEMON, "sejitsd"), require_built(HEALTH, "sejits-health")):
        ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        libraries.update(re.findall(r"=> (/\S+)", ldd))
    missing = {}
    for library in sorted(libraries):
        package = debian_package_of(library)
        if package not in runtime:
            missing.setdefault(package, library)
    assert not missing, f"the runtime stage lacks the packages of: {missing}"


def test_dockerfile_packages_resolve_on_debian_12():
    if not on_debian_12() or not shutil.which("apt-get"):
        pytest.skip("needs apt on Debian 12, the image's base, to resolve its package names")
    if not any(Path("/var/lib/apt/lists").glob("*_Packages*")):
        pytest.skip("apt has no package lists here (apt-get update) to resolve the names against")
    for stage in dockerfile_stages():
        packages = apt_packages(stage)
        result = subprocess.run(["apt-get", "install", "-s", "--no-install-recommends", *packages],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"stage {stage['name']}: {result.stderr[-2000:]}"


def test_dockerignore_keeps_the_sources_the_build_needs():
    patterns = [line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path):
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        return any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
                   for pattern in patterns for p in prefixes)

    assert ignored("build/server/sejitsd") and ignored(".git/HEAD")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    sources = [p for p in files if p.endswith(("CMakeLists.txt", ".cc", ".h", ".proto", ".cmake", ".cl"))]
    assert sources and not [p for p in sources if ignored(p)]


# ---- deploy/k8s ------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests():
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the Kubernetes manifests")
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None and document.get("kind") != "Kustomization":
                objects.append(document)
    return objects


def of_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "DaemonSet")]


def sejitsd_containers(objects):
    for workload in workloads(objects):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            if container["image"].split(":")[0] == IMAGE and "command" not in container:
                yield workload, container


def check_probe(probe, ports, where):
    handlers = [h for h in ("exec", "grpc", "httpGet", "tcpSocket") if h in probe]
    assert len(handlers) == 1, f"{where}: a probe needs exactly one handler, has {handlers}"
    if "grpc" in probe:
        assert probe["grpc"]["port"] in ports, f"{where}: grpc probe port is not a containerPort"
    if "exec" in probe:
        command = probe["exec"]["command"]
        assert isinstance(command, list) and command and all(isinstance(c, str) for c in command), where
    for field in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold"):
        assert isinstance(probe.get(field, 1), int) and probe.get(field, 1) >= 0, f"{where}: {field}"


def test_manifests_are_well_formed(manifests):
    namespaces = {o["metadata"]["name"] for o in of_kind(manifests, "Namespace")}
    secrets = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in of_kind(manifests, "Secret")}
    for o in manifests:
        assert o.get("apiVersion") and o.get("kind") and o.get("metadata", {}).get("name"), o
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") in namespaces, f"{o['metadata']['name']}: namespace not defined here"
    assert workloads(manifests), "no Deployment or DaemonSet"
    for workload in workloads(manifests):
        name, spec = workload["metadata"]["name"], workload["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), f"{name}: selector does not match its pods"
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for volume in volumes.values():
            if "secret" in volume:
                assert (workload["metadata"]["namespace"], volume["secret"]["secretName"]) in secrets, \
                    f"{name}: Secret {volume['secret']['secretName']} is not defined in deploy/k8s"
                # Readable through fsGroup by the non-root daemon, by nobody else.
                mode = volume["secret"].get("defaultMode", 0o644)
                assert mode & 0o040 and not mode & 0o007, f"{name}: secret mode {mode:o}"
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{name}/{container.get('name')}"
            assert container.get("name") and container.get("image"), where
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{where}: mounts undeclared volume {mount['name']}"
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            ports = {p["containerPort"] for p in container.get("ports", [])} | \
                    {p["name"] for p in container.get("ports", []) if "name" in p}
            for probe in ("readinessProbe", "livenessProbe"):
                assert probe in container, f"{where}: no {probe}"
                check_probe(container[probe], ports, f"{where} {probe}")
            assert container["resources"]["requests"] and container["resources"]["limits"], where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where


def test_services_select_pods_and_ports(manifests):
    services = of_kind(manifests, "Service")
    assert services
    for service in services:
        matching = [w for w in workloads(manifests)
                    if service["spec"]["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matching) == 1, f"Service {service['metadata']['name']} selects {len(matching)} workloads"
        ports = [p for c in matching[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert any(target in (p["containerPort"], p.get("name")) for p in ports), f"targetPort {target}"


def test_manifest_flags_are_known_to_the_daemon(manifests):
    require_built(DAEMON, "sejitsd")
    arguments = [a for _, container in sejitsd_containers(manifests) for a in container["args"]]
    # Flags shown commented out in the args lists are options to turn on.
    for path in K8S.glob("*.yaml"):
        arguments += re.findall(r"^\s*#\s*- (--\w+=\S*)", path.read_text(), re.MULTILINE)
    assert arguments
    assert unknown_flags(arguments) == []


def test_manifests_agree_with_each_other(manifests):
    """The mounts, probes and addresses the daemon's flags name exist."""
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in of_kind(manifests, "Service")}
    image_user = final_stage("USER")[-1].split(":")[0]
    containers = list(sejitsd_containers(manifests))
    assert len(containers) == 2, f"expected the compile server and the node daemon running {IMAGE}"
    for workload, container in containers:
        where = f"{workload['metadata']['name']}/{container['name']}"
        # The Dockerfile's UID: the one its directories and the socket's group were made for.
        assert str(workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) == image_user, where
        flags = flags_dict(container["args"])
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}

        def mounted_from(path):
            parents = [m for m in mounts if Path(path).is_relative_to(m)]
            assert parents, f"{where}: {path} is on no volume"
            return volumes[mounts[max(parents, key=len)]]

        for flag in ("token_file", "upstream_token_file"):
            if flag in flags:
                assert "secret" in mounted_from(flags[flag]), f"{where}: --{flag} is not on a Secret volume"
        mounted_from(flags["cache_dir"])
        mounted_from(flags["listen_unix"])
        for probe in ("readinessProbe", "livenessProbe"):
            if "exec" in container[probe]:
                assert container[probe]["exec"]["command"][:2] == ["sejits-health", f"unix:{flags['listen_unix']}"]
        if "listen_tcp" in flags:
            port = int(flags["listen_tcp"].rsplit(":", 1)[1])
            assert port in {p["containerPort"] for p in container["ports"]}, where
        if "upstream" in flags:
            match = re.fullmatch(r"tcp://([\w-]+)\.([\w-]+)\.svc(?:\.cluster\.local)?:(\d+)", flags["upstream"])
            assert match, f"{where}: --upstream={flags['upstream']} is not a Service address"
            service = services.get((match.group(2), match.group(1)))
            assert service, f"{where}: --upstream names no Service defined in deploy/k8s"
            assert int(match.group(3)) in {p["port"] for p in service["spec"]["ports"]}


def test_manifest_args_start_a_compile_server_and_a_node_daemon(manifests, tmp_path):
    """The compile server's args and the node daemon's, the latter sent to the
    former; both must start and answer (tests/cluster checks forwarding itself)."""
    started = {w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: c["args"]
               for w, c in sejitsd_containers(manifests)}
    server = localize(started["compile-server"], tmp_path / "server")
    node = localize(started["node-daemon"], tmp_path / "node", upstream=f"tcp://{server['listen_tcp']}")
    with running_daemon([f"--{n}={v}" for n, v in server.items()], f"tcp://{server['listen_tcp']}",
                        tmp_path / "server.log"):
        with running_daemon([f"--{n}={v}" for n, v in node.items()], f"unix:{node['listen_unix']}",
                            tmp_path / "node.log"):
            pass


def test_kustomize_builds_offline():
    kubectl = require_tool("kubectl")
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read kustomize's output")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    kinds = sorted(o["kind"] for o in yaml.safe_load_all(result.stdout) if o)
    assert kinds == ["DaemonSet", "Deployment", "Namespace", "Service"]
