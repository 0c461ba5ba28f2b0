"""Kernel capture: the function's source parsed to a Python AST, and every free
name resolved in its closure, globals and builtins (numbers become constants,
modules and functions become qualified references)."""

import ast
import builtins
import hashlib
import inspect
import io
import math
import textwrap
import tokenize
import types
from dataclasses import dataclass, field

import numpy as np


class CaptureError(Exception):
    """The kernel's source could not be read or parsed."""


@dataclass
class Resolved:
    """What a free name means: ("constant", value), ("ref", "numpy.sin") or
    ("unsupported", "a list")."""

    kind: str
    value: object


@dataclass
class CapturedFunction:
    name: str
    filename: str
    tree: ast.AST  # ast.FunctionDef or ast.Lambda, line numbers as in the file
    arg_names: list
    names: dict = field(default_factory=dict)  # free name -> Resolved
    fingerprint: str = ""
    # (object name, attribute) -> number, e.g. ("self", "center") -> -4.0 for
    # class-based stencils: attributes read as constants.
    attributes: dict = field(default_factory=dict)

    @property
    def line(self):
        return self.tree.lineno


_MODULES = {np: "numpy", math: "math", builtins: "builtins"}


def _qualified_name(value):
    """'numpy.sin' for np.sin, 'math' for the math module, None otherwise."""
    for module, module_name in _MODULES.items():
        if value is module:
            return module_name
    if isinstance(value, types.ModuleType):
        return None
    module_name = _MODULES.get(_module_of(value))
    name = getattr(value, "__name__", None)
    if module_name and name and getattr(_module_of(value), name, None) is value:
        return f"{module_name}.{name}"
    return None


def _module_of(value):
    if isinstance(value, np.ufunc) or getattr(value, "__module__", "") in ("numpy", "numpy._core.multiarray"):
        return np
    if getattr(value, "__module__", None) == "math":
        return math
    if getattr(value, "__module__", None) == "builtins":
        return builtins
    return None


def _resolve(value):
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return Resolved("constant", value)
    qualified = _qualified_name(value)
    if qualified:
        return Resolved("ref", qualified)
    return Resolved("unsupported", f"a {type(value).__name__}")


def _lambda_fragments(source):
    """Every lambda expression in `source`, parsed on its own: the source of a
    lambda is the line(s) around it, often not a statement by itself
    (`"add": lambda a, b: a + b,`)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position):
        return offsets[position[0] - 1] + position[1]

    ends = sorted({offset(t.end) for t in tokens if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER)},
                  reverse=True)
    for token in tokens:
        if token.type != tokenize.NAME or token.string != "lambda":
            continue
        start = offset(token.start)
        for end in ends:
            if end <= start:
                break
            try:
                expression = ast.parse(source[start:end].replace("\n", " "), mode="eval")
            except SyntaxError:
                continue
            if isinstance(expression.body, ast.Lambda):
                node = expression.body
                ast.increment_lineno(node, token.start[0] - 1)
                yield node
                break


def _lambda_node(fn):
    """The lambda expression that compiled to `fn` (a line may hold several)."""
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as error:
        raise CaptureError(f"the source of the lambda is not available ({error})") from None
    lambdas = list(_lambda_fragments(textwrap.dedent("".join(lines))))
    for node in lambdas:
        ast.increment_lineno(node, first_line - 1)
    if len(lambdas) == 1:
        return lambdas[0]
    target = fn.__code__.co_code
    for node in lambdas:
        try:
            code = compile(ast.Expression(body=node), "<lambda>", "eval")
        except SyntaxError:
            continue
        inner = next((c for c in code.co_consts if isinstance(c, types.CodeType)), None)
        if inner is not None and inner.co_code == target and inner.co_varnames == fn.__code__.co_varnames:
            return node
    if lambdas:
        return lambdas[0]
    raise CaptureError("no lambda expression found in its source")


def _parse_source(fn):
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as error:
        raise CaptureError(f"the source of {getattr(fn, '__qualname__', fn)!r} is not available ({error})") from None
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError as error:
        raise CaptureError(f"cannot parse the source of {fn.__qualname__}: {error}") from None
    ast.increment_lineno(tree, first_line - 1)
    return tree


def _free_names(node, arg_names):
    assigned = set(arg_names)
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            assigned.add(child.id)
    used = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id not in assigned:
            if child.id not in used:
                used.append(child.id)
    return used


def capture(fn):
    """Parses `fn` and resolves its free names."""
    if fn.__name__ == "<lambda>":
        node = _lambda_node(fn)
    else:
        tree = _parse_source(fn)
        node = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
        if node is None:
            raise CaptureError(f"no function definition found in the source of {fn.__qualname__}")
        if isinstance(node, ast.AsyncFunctionDef):
            raise CaptureError("async functions cannot be specialized")
    arg_names = [a.arg for a in node.args.args]
    if node.args.vararg or node.args.kwarg or node.args.kwonlyargs or node.args.posonlyargs or node.args.defaults:
        raise CaptureError("kernels take plain positional parameters only (no *args, **kwargs, defaults)")
    closure = {}
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                closure[name] = cell.cell_contents
            except ValueError:
                pass
    names = {}
    for name in _free_names(node, arg_names):
        if name in closure:
            names[name] = _resolve(closure[name])
        elif name in fn.__globals__:
            names[name] = _resolve(fn.__globals__[name])
        elif hasattr(builtins, name):
            names[name] = _resolve(getattr(builtins, name))
        else:
            names[name] = Resolved("unsupported", "an undefined name")
    captured = CapturedFunction(
        name=fn.__name__,
        filename=inspect.getsourcefile(fn) or fn.__code__.co_filename,
        tree=node,
        arg_names=arg_names,
        names=names,
    )
    text = ast.dump(node, include_attributes=False) + repr(
        sorted((k, v.kind, type(v.value).__name__, repr(v.value)) for k, v in names.items())
    )
    captured.fingerprint = hashlib.sha256(text.encode()).hexdigest()
    return captured
