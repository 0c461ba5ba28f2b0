"""The quickstart builds exactly what it installs (issue 16: on a fresh machine
`cmake --install` stopped with `file INSTALL cannot find
"build/client-cpp/sejits-health"`, because the quickstart built only sejitsd).

Asked of CMake itself, through its file API on a fresh configure: every
target an install rule names must be built by the quickstart's build command
(its targets and everything they depend on). And every install rule of a
built file goes through sejits_install_programs, which adds the program to
the target the quickstart builds, so a new one cannot be forgotten, even in a
directory this configure leaves out (tests/fuzz, or tests/ without Catch2).
Run: python3 -m pytest -q tests/deploy/test_quickstart_builds.py"""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "deploy" / "quickstart.sh"
INSTALL_HELPER = "sejits_install_programs"
CONFIGURE_TIMEOUT_S = 300
# An install rule installs something the build makes when it names targets
# or files of the build tree.
BUILT_FILE_INSTALL = re.compile(r"\bTARGETS\b|TARGET_FILE|_BINARY_DIR")


def quickstart_build_targets():
    """The targets the quickstart passes to deploy/build.sh (cmake --build);
    ["all"] when it passes none."""
    calls = [line for line in QUICKSTART.read_text().splitlines()
             if "deploy/build.sh" in line and not line.lstrip().startswith("#")]
    assert len(calls) == 1, f"expected one deploy/build.sh call in {QUICKSTART}, found {calls}"
    words = shlex.split(calls[0].split("deploy/build.sh", 1)[1].lstrip('"'), comments=True)
    targets, in_targets = [], False
    for word in words:
        if word in ("--target", "-t"):
            in_targets = True
        elif word.startswith("--target="):
            targets.append(word.partition("=")[2])
        elif word.startswith("-") or word in ("&&", "||", ";", "|"):
            in_targets = False
        elif in_targets:
            targets.append(word)
    return targets or ["all"]


def test_the_quickstart_names_its_build_targets():
    # Guards the parser below: the quickstart's one build line is understood.
    assert quickstart_build_targets() == ["installables"]


class CodeModel:
    """CMake's codemodel-v2 of a fresh configure of this tree: per target,
    whether it has an install rule, and the targets it depends on."""

    def __init__(self, build):
        reply = build / ".cmake" / "api" / "v1" / "reply"
        index = json.loads(max(reply.glob("index-*.json")).read_text())
        codemodel_file = next(o["jsonFile"] for o in index["objects"] if o["kind"] == "codemodel")
        configuration = json.loads((reply / codemodel_file).read_text())["configurations"][0]
        self.targets = {}  # name -> target object
        for entry in configuration["targets"]:
            self.targets[entry["name"]] = json.loads((reply / entry["jsonFile"]).read_text())
        self.name_of = {target["id"]: name for name, target in self.targets.items()}

    def installed(self):
        return sorted(name for name, target in self.targets.items() if target.get("install"))

    def built_by(self, names):
        """`names` and every target they depend on, transitively."""
        if "all" in names:  # the default target: every target not excluded from it
            names = [name for name, target in self.targets.items() if not target.get("isGeneratorProvided")]
        seen, pending = set(), list(names)
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            assert name in self.targets, f"the quickstart builds {name!r}, which is not a target of this project"
            seen.add(name)
            pending += [self.name_of[d["id"]] for d in self.targets[name].get("dependencies", [])]
        return seen


@pytest.fixture(scope="module")
def codemodel(tmp_path_factory):
    cmake = shutil.which("cmake")
    if not cmake:
        pytest.skip("cmake is not installed here, so the project cannot be configured")
    build = tmp_path_factory.mktemp("configure")
    query = build / ".cmake" / "api" / "v1" / "query"
    query.mkdir(parents=True)
    (query / "codemodel-v2").touch()
    configure = subprocess.run([cmake, "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                               capture_output=True, text=True, timeout=CONFIGURE_TIMEOUT_S)
    assert configure.returncode == 0, f"cmake could not configure the project:\n{configure.stderr[-3000:]}"
    return CodeModel(build)


def test_every_installed_target_is_built_by_the_quickstart(codemodel):
    installed = codemodel.installed()
    # The programs the README and the deployment files rely on, as a floor:
    # an empty list would make the check below vacuous.
    assert {"sejitsd", "sejits-health", "sejits-tune-runner"} <= set(installed), installed
    targets = quickstart_build_targets()
    not_built = sorted(set(installed) - codemodel.built_by(targets))
    assert not not_built, (f"`cmake --install` installs {not_built}, which the quickstart's build "
                           f"(--target {' '.join(targets)}) does not build: install them with {INSTALL_HELPER}()")


def cmake_files():
    skip = {"build", ".venv", ".git"}
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in skip or relative.parts[0].startswith("build-"):
            continue
        if path.name == "CMakeLists.txt" or path.suffix == ".cmake":
            yield path


def command_calls(text, command):
    """(line, arguments) of each call of `command` in CMake source `text`,
    comments removed (arguments may span lines; CMake has no nested parentheses
    in install() calls)."""
    uncommented = re.sub(r"#[^\n]*", "", text)
    for match in re.finditer(rf"\b{command}\s*\(([^)]*)\)", uncommented, re.IGNORECASE):
        yield uncommented.count("\n", 0, match.start()) + 1, match.group(1)


def helper_body(text):
    """The source of function(sejits_install_programs) ... endfunction()."""
    match = re.search(rf"function\s*\(\s*{INSTALL_HELPER}\b.*?endfunction\s*\(\s*\)", text, re.DOTALL | re.IGNORECASE)
    return match.group(0) if match else ""


def test_built_files_are_installed_only_through_the_helper():
    definitions = 0
    outside = []
    for path in cmake_files():
        text = path.read_text()
        body = helper_body(text)
        definitions += bool(body)
        for line, arguments in command_calls(text.replace(body, "\n" * body.count("\n")) if body else text, "install"):
            if BUILT_FILE_INSTALL.search(arguments):
                outside.append(f"{path.relative_to(ROOT)}:{line}: install({' '.join(arguments.split())})")
    assert definitions == 1, f"expected one definition of {INSTALL_HELPER}, found {definitions}"
    assert not outside, ("install rules of built files outside " + INSTALL_HELPER + "(), which the quickstart "
                         "would not build:\n" + "\n".join(outside))


def test_the_helper_makes_each_program_a_dependency_of_what_the_quickstart_builds():
    body = helper_body((ROOT / "CMakeLists.txt").read_text())
    assert re.search(r"install\s*\(\s*TARGETS\s+\$\{ARGN\}", body), body
    targets = quickstart_build_targets()
    assert any(re.search(rf"add_dependencies\s*\(\s*{re.escape(t)}\s+\$\{{ARGN\}}", body) for t in targets), (
        f"{INSTALL_HELPER} does not add its programs to the quickstart's target(s) {targets}:\n{body}")
