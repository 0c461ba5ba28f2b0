"""Kernel capture: the function's own AST node (found by the position of its
code object in the parsed source file), its parameters, and its free names.

Free names are read again on every call (`LiveNames`), so a kernel always
computes what the Python function computes with the values current at the
call: numbers are passed to the compiled kernel as trailing scalar arguments,
everything else (modules, functions, numbers used as indices or loop bounds)
is part of the dispatch key and becomes a constant of the kernel."""

import ast
import builtins
import functools
import hashlib
import inspect
import linecache
import math
import sys
import types
from dataclasses import dataclass, field

import numpy as np

from sejits._errors import KernelNotSendable, UndefinedNameError


class CaptureError(KernelNotSendable):
    """The kernel's source could not be read, parsed or identified."""


@dataclass
class Resolved:
    """What a free name means: ("constant", value), ("ref", "numpy.sin"),
    ("scalar", None) (a trailing scalar argument), ("helper", function) (a
    plain Python function the daemon inlines; bind() makes the value its
    key in the request) or ("unsupported", "a list")."""

    kind: str
    value: object


@dataclass(frozen=True)
class ParsedKernel:
    """What the source says, read once per function."""

    name: str
    filename: str
    tree: ast.AST  # ast.FunctionDef or ast.Lambda, line numbers as in the file
    params: tuple  # parameter names in binding order (positional, then keyword-only)
    free_names: tuple  # names read but neither parameters nor assigned, in order of first use
    structural_names: frozenset  # free names used inside an index or a loop's iterable: they must be constants


@dataclass
class CapturedFunction:
    """A parsed kernel with its free names resolved to the values of one call."""

    name: str
    filename: str
    tree: ast.AST
    arg_names: list  # the parameters, then the free names passed as scalar arguments
    names: dict = field(default_factory=dict)  # free name -> Resolved
    fingerprint: str = ""
    # (object name, attribute) -> number, e.g. ("self", "center") -> -4.0 for
    # class-based stencils: attributes read as constants.
    attributes: dict = field(default_factory=dict)
    scalar_names: tuple = ()
    # The helper functions the kernel calls (CapturedFunction each, named by
    # its key), and, for a helper, its parameters' defaults (name -> value).
    helpers: list = field(default_factory=list)
    defaults: dict = field(default_factory=dict)

    @property
    def line(self):
        return self.tree.lineno


_MODULES = {np: "numpy", math: "math", builtins: "builtins"}
_NUMBER_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)
_UNDEFINED = object()  # a free name bound nowhere (yet)


def _qualified_name(value):
    """'numpy.sin' for np.sin, 'math' for the math module, None otherwise."""
    for module, module_name in _MODULES.items():
        if value is module:
            return module_name
    special = sys.modules.get("scipy.special")  # only when the user imported it: sejits never does
    if special is not None and value is special:
        return "scipy.special"
    if isinstance(value, types.ModuleType):
        return None
    module_name = _MODULES.get(_module_of(value))
    name = getattr(value, "__name__", None)
    if module_name and name and getattr(_module_of(value), name, None) is value:
        return f"{module_name}.{name}"
    if special is not None and isinstance(value, np.ufunc) and getattr(special, value.__name__, None) is value:
        return f"scipy.special.{value.__name__}"  # from scipy.special import erf
    return None


def _module_of(value):
    if isinstance(value, np.ufunc) or getattr(value, "__module__", "") in ("numpy", "numpy._core.multiarray"):
        return np
    if getattr(value, "__module__", None) == "math":
        return math
    if getattr(value, "__module__", None) == "builtins":
        return builtins
    return None


def resolve(value):
    """What a free name's value means in a kernel."""
    if value is _UNDEFINED:
        return Resolved("unsupported", "an undefined name")
    if isinstance(value, _NUMBER_TYPES):
        return Resolved("constant", value)
    qualified = _qualified_name(value)
    if qualified:
        return Resolved("ref", qualified)
    helper = helper_function(value)
    if helper is not None:
        return Resolved("helper", helper)
    return Resolved("unsupported", f"a {type(value).__name__}")


_LIBRARY_MODULES = {"numpy", "math", "builtins", "scipy", "sejits"}


def helper_function(value):
    """The plain Python function a call to `value` inlines: a user's function
    (module-level or a closure, lambdas too), or the function of a sejits
    element-wise kernel; None for anything else."""
    if getattr(value, "specializer", None) == "elementwise" and not isinstance(value, type):
        value = getattr(value, "__wrapped__", None)
    if not isinstance(value, types.FunctionType):
        return None
    if (getattr(value, "__module__", None) or "").split(".")[0] in _LIBRARY_MODULES:
        return None
    return value


# ---- finding the kernel's node -------------------------------------------------

@functools.lru_cache(maxsize=32)
def _parse_file(filename, text):
    try:
        return ast.parse(text, filename)
    except (SyntaxError, ValueError):
        return None


def _file_tree(fn):
    """The parsed source file (or notebook cell) that defined `fn`, or None."""
    filename = fn.__code__.co_filename
    try:
        lines, _ = inspect.findsource(fn)
    except (OSError, TypeError):
        lines = linecache.getlines(filename)
    if not lines:
        return None
    return _parse_file(filename, "".join(lines))


def _span(node):
    return (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)


def _code_positions(code):
    """(line, column) of every instruction that has one (Python 3.11+)."""
    if not hasattr(code, "co_positions"):
        return []
    # Artificial instructions (RESUME, an implicit return) span nothing: (line, line, 0, 0).
    return [(line, col) for line, end_line, col, end_col in code.co_positions()
            if None not in (line, end_line, col, end_col) and (end_line, end_col) > (line, col)]


def _same_content(node, code):
    """Whether the lambda `node` compiles to code with `code`'s constants and
    names (closures compile as globals on their own: names are compared as a set)."""
    try:
        compiled = compile(ast.Expression(body=node), "<lambda>", "eval")
    except (SyntaxError, ValueError):
        return False
    inner = next((c for c in compiled.co_consts if isinstance(c, types.CodeType)), None)
    if inner is None:
        return False
    return (inner.co_consts == code.co_consts and inner.co_varnames[:inner.co_argcount] == code.co_varnames[:code.co_argcount]
            and set(inner.co_names) | set(inner.co_freevars) == set(code.co_names) | set(code.co_freevars))


def _lambda_node(fn):
    """The lambda expression that compiled to `fn`: among the lambdas that
    start on its first line, the innermost one whose span holds every
    instruction of its code (or, before Python 3.11, the only one with its
    constants and names). Never a guess: an ambiguity is a CaptureError."""
    code = fn.__code__
    tree = _file_tree(fn)
    if tree is None:
        raise CaptureError(f"the source of the lambda on line {code.co_firstlineno} is not available")
    candidates = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno]
    positions = _code_positions(code)
    if positions:
        inside = [n for n in candidates if all(_span(n)[0] <= p <= _span(n)[1] for p in positions)]
        # Spans that hold the code are nested: the innermost starts last.
        candidates = sorted(inside, key=lambda n: (n.lineno, n.col_offset))[-1:]
    else:
        candidates = [n for n in candidates if _same_content(n, code)]
    if len(candidates) != 1:
        found = "no lambda" if not candidates else f"{len(candidates)} lambdas that it cannot tell apart"
        raise CaptureError(f"line {code.co_firstlineno} of {code.co_filename} has {found} matching the kernel "
                           "(was the file edited after it was imported?); define it with 'def' to specialize it")
    node = candidates[0]
    if [a.arg for a in node.args.args] != list(code.co_varnames[:code.co_argcount]):
        raise CaptureError(f"the lambda on line {code.co_firstlineno} does not match its source (edited since import?)")
    return node


def _function_node(fn):
    """The `def` that compiled to `fn`: its first line (the first decorator's,
    when it has decorators) and its name."""
    code = fn.__code__
    tree = _file_tree(fn)
    if tree is None:
        raise CaptureError(f"the source of {getattr(fn, '__qualname__', fn)!r} is not available")

    def first_line(node):
        return node.decorator_list[0].lineno if node.decorator_list else node.lineno

    matches = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
               and n.name == code.co_name and first_line(n) == code.co_firstlineno]
    if len(matches) != 1:
        raise CaptureError(f"the definition of {fn.__qualname__} on line {code.co_firstlineno} of {code.co_filename} "
                           "was not found in its source (edited since import?)")
    if isinstance(matches[0], ast.AsyncFunctionDef):
        raise CaptureError("async functions cannot be specialized")
    return matches[0]


# ---- names ---------------------------------------------------------------------

def _parameters(node):
    args = node.args
    if args.vararg or args.kwarg:
        raise CaptureError("kernels take named parameters only (no *args or **kwargs)")
    return tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])


def _body_nodes(node):
    """Every node of the function's body: not its decorators, defaults or
    annotations, which the enclosing scope evaluated when it was defined."""
    for statement in node.body if isinstance(node.body, list) else [node.body]:
        yield from ast.walk(statement)


def _free_names(node, params):
    assigned = set(params)
    for child in _body_nodes(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            assigned.add(child.id)
        elif isinstance(child, ast.arg):  # a nested lambda's parameters
            assigned.add(child.arg)
    used = []
    for child in _body_nodes(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id not in assigned:
            if child.id not in used:
                used.append(child.id)
    return tuple(used)


def _structural_names(node):
    """Names read inside an index (`a[0, k]`) or a loop's iterable
    (`range(n)`): the daemon needs their values as constants."""
    found = set()
    roots = [n.slice for n in _body_nodes(node) if isinstance(n, ast.Subscript)]
    roots += [n.iter for n in _body_nodes(node) if isinstance(n, ast.For)]
    for root in roots:
        found.update(n.id for n in ast.walk(root) if isinstance(n, ast.Name))
    return frozenset(found)


def parse(fn):
    """Reads and parses `fn`'s source once."""
    if not isinstance(getattr(fn, "__code__", None), types.CodeType):
        raise CaptureError(f"{fn!r} is not a Python function")
    node = _lambda_node(fn) if fn.__code__.co_name == "<lambda>" else _function_node(fn)
    params = _parameters(node)
    return ParsedKernel(name=fn.__name__, filename=inspect.getsourcefile(fn) or fn.__code__.co_filename, tree=node,
                        params=params, free_names=_free_names(node, params), structural_names=_structural_names(node))


def undefined_name(parsed, name, source):
    """The UndefinedNameError of a free name bound nowhere, worded as
    Python's NameError and placed at the kernel's first read of it."""
    lines = [n.lineno for n in ast.walk(parsed.tree) if isinstance(n, ast.Name) and n.id == name]
    where = f"{parsed.filename}:{min(lines) if lines else parsed.tree.lineno}"
    if isinstance(source, types.CellType):
        message = f"cannot access free variable '{name}' where it is not associated with a value in enclosing scope"
    else:
        message = f"name '{name}' is not defined"
    return UndefinedNameError(f"{where}: {message}", name=name)


class LiveNames:
    """Where each free name of the kernel is read at a call: its closure cell,
    or its module's globals and then the builtins. Numbers outside indices
    and loop bounds are `scalar_names` (passed to the kernel at every call,
    one compiled kernel for all their values); the others are `key_names`
    (their current values are part of the dispatch key: a new value is a new
    kernel). sejits._native.Dispatcher reads the same sources in C."""

    def __init__(self, fn, parsed, scalars_allowed=True):
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        builtin_names = vars(builtins)
        sources = {name: cells[name] if name in cells else (fn.__globals__, name, builtin_names)
                   for name in parsed.free_names}
        self.scalar_names = tuple(
            name for name in parsed.free_names
            if scalars_allowed and name not in parsed.structural_names and isinstance(current(sources[name]), _NUMBER_TYPES))
        self.key_names = tuple(name for name in parsed.free_names if name not in self.scalar_names)
        self.scalar_sources = tuple(sources[name] for name in self.scalar_names)
        # The helper functions' free names are constants of the kernel: their
        # values are part of the key too (after the key names' own sources).
        self.key_sources = tuple(sources[name] for name in self.key_names) + _helper_key_sources(
            [current(sources[name]) for name in self.key_names])

    def scalar_values(self):
        return tuple(current(source) for source in self.scalar_sources)

    def check_defined(self, parsed, values, scalars=False):
        """Raises the UndefinedNameError of the first of `values` (the key
        names', or the scalar names') that is bound nowhere now."""
        names, sources = (self.scalar_names, self.scalar_sources) if scalars else (self.key_names, self.key_sources)
        for name, source, value in zip(names, sources, values):
            if value is _UNDEFINED:
                raise undefined_name(parsed, name, source)

    def key_values(self):
        return tuple(current(source) for source in self.key_sources)


def _helper_key_sources(values):
    """Where the free names of the helper functions among `values` (and of
    the helpers they call) are read, each helper once."""
    found, seen, pending = [], set(), list(values)
    while pending:
        fn = helper_function(pending.pop())
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        try:
            parsed = parse(fn)
        except CaptureError:
            continue  # reported when the kernel is captured
        for source in _helper_sources(fn, parsed).values():
            found.append(source)
            pending.append(current(source))
    return tuple(found)


def current(source):
    """The value a free name has now (a cell, or (globals, name, builtins))."""
    if isinstance(source, types.CellType):
        try:
            return source.cell_contents
        except ValueError:  # a closure variable not assigned yet
            return _UNDEFINED
    namespace, name, builtin_names = source
    value = namespace.get(name, _UNDEFINED)
    return builtin_names.get(name, _UNDEFINED) if value is _UNDEFINED else value


# A constant array (stencil weights) holds at most this many numbers: each
# one is a constant of the kernel, sent in its AST and compared on every call.
MAX_CONSTANT_ARRAY = 4096


def constant_array(value):
    """A NumPy array, or a (nested) list or tuple, of at most
    MAX_CONSTANT_ARRAY numbers as ("ndarray" or "sequence", nested tuples of
    its numbers: NumPy scalars of its dtype for an array, the numbers as they
    are for a sequence); None for anything else."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0 or value.size > MAX_CONSTANT_ARRAY or value.dtype.kind not in "biuf":
            return None
        scalar = value.dtype.type
        def nested(part):
            return tuple(nested(p) for p in part) if isinstance(part, list) else scalar(part)
        return "ndarray", nested(value.tolist())
    if not isinstance(value, (list, tuple)):
        return None
    count = 0

    def walk(part):
        nonlocal count
        if isinstance(part, (list, tuple)):
            return tuple(walk(p) for p in part)
        if not isinstance(part, _NUMBER_TYPES):
            raise TypeError
        count += 1
        return part
    try:
        numbers = walk(value)
    except (TypeError, RecursionError):
        return None
    return ("sequence", numbers) if 0 < count <= MAX_CONSTANT_ARRAY else None


def _typed(part):
    """Nested numbers with their types and exact values (1, 1.0 and -0.0 differ)."""
    if isinstance(part, (list, tuple)):
        return tuple(_typed(p) for p in part)
    return type(part), repr(part)


def _content_key(value):
    """The key element of a small array, list or tuple of numbers: its
    values, dtype and shape (a change in place is a new key); None otherwise."""
    if isinstance(value, np.ndarray):
        if value.size > MAX_CONSTANT_ARRAY or value.dtype.hasobject:
            return None
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)) and len(value) <= MAX_CONSTANT_ARRAY:
        found = constant_array(value)
        return None if found is None else ("sequence", _typed(found[1]))
    return None


def key_elements(values):
    """The dispatch key's part for the key names' values: type and value
    (1, 1.0 and True must differ), the contents of a small array or sequence
    of numbers, or type and identity when unhashable. sejits._native.Dispatcher
    builds (type, value) in C: a value keyed by content misses there and comes
    here (the slow path)."""
    elements = []
    for value in values:
        content = _content_key(value)
        if content is not None:
            value = content
        else:
            try:
                hash(value)
            except TypeError:
                value = ("unhashable", id(value))
        elements += (type(value), value)
    return tuple(elements)


def bind(parsed, live, key_values, attributes=None, constant_arrays=False):
    """The kernel as compiled for one call: key names resolved to their
    values, scalar names appended to the parameters, the helper functions
    it calls captured with their own free names. `constant_arrays`: small
    arrays and sequences of numbers are constants too (stencil weights),
    Resolved("ndarray" or "sequence", nested tuples of numbers)."""
    names = {name: Resolved("scalar", None) for name in live.scalar_names}
    for name, value in zip(live.key_names, key_values):
        found = constant_array(value) if constant_arrays else None
        names[name] = Resolved(*found) if found is not None else resolve(value)
    captured = CapturedFunction(name=parsed.name, filename=parsed.filename, tree=parsed.tree,
                                arg_names=[*parsed.params, *live.scalar_names], names=names,
                                attributes=dict(attributes or {}), scalar_names=live.scalar_names)
    captured.helpers = _capture_helpers(captured)
    text = _describe(captured) + repr(sorted((k, repr(v)) for k, v in captured.attributes.items()))
    for helper in captured.helpers:  # a changed helper body is another kernel
        text += helper.name + _describe(helper) + repr(sorted((k, repr(v)) for k, v in helper.defaults.items()))
    captured.fingerprint = hashlib.sha256(text.encode()).hexdigest()
    return captured


def _describe(captured):
    return ast.dump(captured.tree, include_attributes=False) + repr(captured.arg_names) + repr(
        sorted((k, v.kind, type(v.value).__name__, repr(v.value)) for k, v in captured.names.items()))


def _helper_sources(fn, parsed):
    """Where each free name of helper `fn` is read: its closure, else its module and the builtins."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    return {name: cells[name] if name in cells else (fn.__globals__, name, vars(builtins)) for name in parsed.free_names}


def _capture_helpers(captured):
    """Every helper function `captured` calls, directly or through other
    helpers, each once, as a CapturedFunction named by a key unique in the
    request ("module.qualname", "#2"... for another closure of the same
    def); the Resolved("helper", ...) names point at those keys. A helper
    whose source cannot be read is an unsupported name. Recursion is the
    daemon's to report (with the lines): the helpers are listed once."""
    keys, helpers, pending = {}, [], [captured]
    while pending:
        current_function = pending.pop(0)
        for name, resolved in list(current_function.names.items()):
            if resolved.kind != "helper" or isinstance(resolved.value, str):
                continue
            fn = resolved.value
            if fn not in keys:
                try:
                    parsed = parse(fn)
                except CaptureError as error:
                    current_function.names[name] = Resolved("unsupported", f"the function {fn.__qualname__}: {error}")
                    continue
                key = f"{fn.__module__}.{fn.__qualname__}"
                taken = {helper.name for helper in helpers}
                suffix = 2
                while key in taken or key == captured.name:
                    key, suffix = f"{fn.__module__}.{fn.__qualname__}#{suffix}", suffix + 1
                keys[fn] = key
                names = {n: resolve(current(source)) for n, source in _helper_sources(fn, parsed).items()}
                helper = CapturedFunction(name=key, filename=parsed.filename, tree=parsed.tree, arg_names=list(parsed.params),
                                          names=names, defaults=_defaults(fn, parsed))
                helpers.append(helper)
                pending.append(helper)
            current_function.names[name] = Resolved("helper", keys[fn])
    return helpers


def _defaults(fn, parsed):
    """The values of `fn`'s parameter defaults, by parameter name."""
    defaults = dict(fn.__kwdefaults__ or {})
    positional = [p for p in parsed.params if p not in defaults]
    for name, value in zip(reversed(positional), reversed(fn.__defaults__ or ())):
        defaults[name] = value
    return defaults


def capture(fn):
    """Parses `fn` and resolves its free names to their current values."""
    parsed = parse(fn)
    live = LiveNames(fn, parsed)
    return bind(parsed, live, live.key_values())
