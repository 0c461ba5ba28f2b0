"""A seeded random-program fuzzer for sejits.fuse: each seed builds the source
of a plain NumPy function over 2-3 array arguments and a number (locals,
slices, broadcasting, reductions, in-place and slice stores into arguments
and locals, overlapping stores, `if` on the number or a size, unrolled
`for` loops, several return values), writes it to a file (fuse reads the
source through inspect) and runs it as written and fused on identical copies
of three input sets (the number positive, then negative, then other sizes of
the same ranks). Results must be NumPy's (type, dtype, shape, values; floats
within 1e-9, float32 within 1e-4), the arguments afterwards too, and a
returned array must alias an argument exactly where NumPy's does. A program
that fuse runs as written is fine, but at least 70% of them must be
specialized so that the compiled path is what is exercised.

Programs are valid by construction: the generator keeps NumPy namespaces with
the inputs of every input set, and a candidate statement is kept only if the
program so far plus the statement runs on all of them without an error or a
floating-point warning, and leaves every value finite and moderate (no NaN or
inf to compare, no overflow). Shapes of operands are chosen from the shapes
the candidates actually have in the first namespace, so most candidates are
accepted.

To look at one program: `python3 tests/python/test_fuse_random_programs.py SEED`."""

import importlib.util
import os
import random
import sys
import tempfile
import warnings

import numpy as np
import pytest

import sejits
from fuse_snippets import assert_same_aliasing, clone_arguments

N_PROGRAMS = 120
BASE_SEED = 90_000
MIN_SPECIALIZED = 0.70

# ---- the generator -----------------------------------------------------------------

VIEWS_1D = ["{X}", "{X}[1:]", "{X}[:-1]", "{X}[::2]", "{X}[1::2]", "{X}[1:-1]", "{X}[::-1]", "{X}[2:]",
            "{X}[None, :]", "{X}[:, None]"]
VIEWS_2D = ["{X}", "{X}[1:]", "{X}[:-1]", "{X}[:, 1:]", "{X}[:, :-1]", "{X}[1:, :-1]", "{X}[:-1, 1:]",
            "{X}[1:-1, ::-1]", "{X}[::2]", "{X}[:, ::2]", "{X}[::-1, :]", "{X}.T", "{X}[0]", "{X}[-1]",
            "{X}[:, 0]", "{X}[:, 0:1]", "{X}[0:1]", "{X}[1:-1, 1:-1]", "{X}[None, 0]"]
TARGETS_1D = ["{X}", "{X}", "{X}[1:]", "{X}[:-1]", "{X}[::2]", "{X}[1:-1]", "{X}[::-1]", "{X}[:]"]
TARGETS_2D = ["{X}", "{X}", "{X}[1:]", "{X}[:-1]", "{X}[:, 1:]", "{X}[1:-1, 1:-1]", "{X}[:, 0]", "{X}[0]",
              "{X}[::2]", "{X}[:, ::-1]", "{X}[1:, :-1]", "{X}[:]"]
CONSTANTS = ["0.5", "2.0", "1.5", "0.25", "3", "-1.0", "2"]


class Rejected(Exception):
    """A candidate statement the inputs make invalid (an error, a warning, a non-finite or huge value)."""


def _check_values(ns):
    for name, value in ns.items():
        if name.startswith("__") or name == "np":
            continue
        if isinstance(value, (np.ndarray, np.generic, float, int)) and not isinstance(value, bool):
            array = np.asarray(value)
            if array.dtype.kind == "f" and array.size:
                if not np.all(np.isfinite(array)) or np.max(np.abs(array)) > 1e6:
                    raise Rejected(f"{name} not finite or too large")
            if array.dtype.kind in "iu" and array.size and np.max(np.abs(array)) > 10 ** 12:
                raise Rejected(f"{name} too large")


def run_lines(lines, inputs):
    """The statements run at module level on fresh copies of one input set: the namespace afterwards."""
    arguments, names = inputs
    ns = {"np": np}
    ns.update(zip(names, clone_arguments(arguments)))
    try:
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(compile("\n".join(lines), "<candidate>", "exec"), ns)  # noqa: S102 - generated test code
    except Exception as error:  # noqa: BLE001
        raise Rejected(repr(error)) from error
    _check_values(ns)
    return ns


class Program:
    def __init__(self, seed, name, source, input_sets, parameters):
        self.seed, self.name, self.source, self.input_sets, self.parameters = seed, name, source, input_sets, parameters

    def describe_inputs(self, k):
        arguments, _ = self.input_sets[k]
        parts = []
        for name, value in zip(self.parameters, arguments):
            if isinstance(value, np.ndarray):
                order = "F" if value.flags.f_contiguous and not value.flags.c_contiguous else "C"
                parts.append(f"{name} = np.array({value.tolist()!r}, dtype=np.{value.dtype.name}, order={order!r})")
            else:
                parts.append(f"{name} = {value!r}")
        return "\n".join(parts)


class Generator:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.lines = []
        self.locals = []  # names of locals, in order of first binding
        self.counter = 0

    # -- inputs --

    def make_inputs(self):
        r = self.r
        self.rank = 2 if r.random() < 0.75 else 1
        nargs = r.choice([2, 3])
        self.arrays = ["a", "b", "c"][:nargs]
        dtypes = ["float64"]
        for _ in self.arrays[1:]:
            dtypes.append(r.choices(["float64", "float32", "int64"], weights=[6, 2.5, 1.5])[0])
        row_argument = self.rank == 2 and r.random() < 0.15  # the last array is a row (m,) of the others
        orders = [r.choices(["C", "F", "strided"], weights=[8, 1, 1])[0] for _ in self.arrays]
        sizes = [(r.randint(1, 9), r.randint(1, 9)), (r.randint(1, 9), r.randint(1, 9))]
        values = [round(r.uniform(0.2, 1.5), 3)]
        values += [-values[0], round(r.choice([-1, 1]) * r.uniform(0.2, 1.5), 3)]
        rng = np.random.default_rng(self.seed)
        self.input_sets = []
        for k, (n, m) in enumerate([sizes[0], sizes[0], sizes[1]]):
            arguments = []
            for j, (dtype, order) in enumerate(zip(dtypes, orders)):
                shape = (n, m) if self.rank == 2 else (n,)
                if row_argument and j == len(self.arrays) - 1:
                    shape = (m,)
                if dtype == "int64":
                    array = rng.integers(-4, 5, size=shape).astype(np.int64)
                else:
                    array = rng.uniform(-2.0, 2.0, size=shape).astype(dtype)
                if order == "F":
                    array = np.asfortranarray(array)
                elif order == "strided":
                    wide = np.zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype)
                    wide[..., ::2] = array
                    array = wide[..., ::2]
                arguments.append(array)
            arguments.append(values[k])
            self.input_sets.append((tuple(arguments), tuple(self.arrays) + ("s",)))
        self.parameters = tuple(self.arrays) + ("s",)

    # -- what the namespaces hold --

    def refresh(self):
        self.namespaces = [run_lines(self.lines, inputs) for inputs in self.input_sets]
        self.ns = self.namespaces[0]

    def names(self):
        return list(self.arrays) + [n for n in self.locals if n in self.ns]

    def array_names(self, writable=False, allow_bool=False):
        out = []
        for name in self.names():
            value = self.ns[name]
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                continue
            if value.dtype == np.bool_ and not allow_bool:
                continue
            if writable and not value.flags.writeable:
                continue
            out.append(name)
        return out

    def scalar_names(self):
        return [n for n in self.names() if isinstance(self.ns[n], (float, int, np.floating, np.integer))
                and not isinstance(self.ns[n], (bool, np.bool_))]

    def shape_of(self, src):
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.shape(eval(src, dict(self.ns)))  # noqa: S307 - generated test code
        except Exception:  # noqa: BLE001
            return None

    def dtype_of(self, src):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(eval(src, dict(self.ns))).dtype  # noqa: S307

    def views(self, name):
        rank = self.ns[name].ndim
        patterns = VIEWS_1D if rank == 1 else VIEWS_2D if rank == 2 else ["{X}"]
        return [p.format(X=name) for p in patterns]

    def leaves(self, shape, prefer=None):
        """Sources of array views and numbers that broadcast into `shape`."""
        arrays, numbers = [], []
        for name in self.array_names():
            if prefer is not None and name != prefer and self.r.random() < 0.6:
                continue
            for view in self.views(name):
                view_shape = self.shape_of(view)
                if view_shape is not None and len(view_shape) <= len(shape) and _broadcasts_into(view_shape, shape):
                    arrays.append(view)
        numbers = ["s"] * 3 + CONSTANTS + self.scalar_names() * 2
        return arrays, numbers

    def leaf(self, shape, prefer=None):
        arrays, numbers = self.leaves(shape, prefer)
        if arrays and self.r.random() < 0.75:
            return self.r.choice(arrays)
        return self.r.choice(numbers)

    # -- expressions --

    def expr(self, shape, depth, prefer=None):
        r = self.r
        if depth <= 0 or r.random() < 0.2:
            return self.leaf(shape, prefer)
        L = lambda: self.expr(shape, depth - 1, prefer)  # noqa: E731
        kind = r.choices(["binop", "div", "unary", "minmax", "where", "power", "reduced"],
                         weights=[10, 2, 4, 2, 2, 1, 2])[0]
        if kind == "binop":
            return f"({L()} {r.choice(['+', '-', '*', '+', '*'])} {L()})"
        if kind == "div":
            return f"({L()} / (np.abs({L()}) + 1.0))"
        if kind == "unary":
            return r.choice(["np.sqrt(np.abs({}))", "np.exp(-np.abs({}))", "np.exp(np.minimum({}, 2.0))",
                             "np.abs({})", "(-{})", "np.tanh({})", "np.sin({})"]).format(L())
        if kind == "minmax":
            return f"np.{r.choice(['maximum', 'minimum'])}({L()}, {L()})"
        if kind == "where":
            return f"np.where({self.condition(shape, depth - 1, prefer)}, {L()}, {L()})"
        if kind == "power":
            return f"({L()} ** 2)"
        # a reduction with kept dimensions, or a full one, inside an element-wise expression
        return self.reduction_leaf(shape)

    def condition(self, shape, depth, prefer=None):
        bools = [n for n in self.array_names(allow_bool=True) if self.ns[n].dtype == np.bool_
                 and _broadcasts_into(self.ns[n].shape, shape)]
        if bools and self.r.random() < 0.3:
            return self.r.choice(bools)
        return f"({self.expr(shape, depth, prefer)} {self.r.choice(['>', '<', '>=', '<='])} {self.expr(shape, depth, prefer)})"

    def reduction_leaf(self, shape):
        r = self.r
        names = self.array_names()
        if not names:
            return self.leaf(shape)
        for _ in range(6):
            name = r.choice(names)
            rank = self.ns[name].ndim
            op = r.choice(["sum", "max", "min", "mean"])
            if r.random() < 0.5 or rank == 0:
                src = r.choice([f"{name}.{op}()", f"np.{op}({name})"])
            else:
                axis = r.randrange(rank)
                src = f"{name}.{op}(axis={axis}, keepdims=True)"
            got = self.shape_of(src)
            if got is not None and _broadcasts_into(got, shape):
                return src
        return self.leaf(shape)

    def frame(self, prefer=None):
        """The shape of a new value: that of a random view of a random array."""
        names = self.array_names()
        name = prefer if prefer is not None else self.r.choice(names)
        view = self.r.choice(self.views(name)[:8])
        return view, self.shape_of(view)

    def fresh(self):
        if self.locals and self.r.random() < 0.12:
            return self.r.choice(self.locals)  # rebinding, possibly to another shape
        name = f"t{self.counter}"
        self.counter += 1
        return name

    # -- statements --

    def statement(self):
        r = self.r
        kind = r.choices(["local", "reduce", "store", "like", "view", "copy", "if", "for", "compare"],
                         weights=[8, 4, 8, 3, 2, 1, 2, 2, 1])[0]
        return getattr(self, "st_" + kind)()

    def st_local(self):
        view, shape = self.frame()
        anchor = view if self.r.random() < 0.6 else self.expr(shape, 1)
        op = self.r.choice(["+", "-", "*"])
        name = self.fresh()
        return [f"{name} = {anchor} {op} {self.expr(shape, self.r.randint(1, 3))}"], [name]

    def st_compare(self):
        view, shape = self.frame()
        name = self.fresh()
        return [f"{name} = {view} {self.r.choice(['>', '<', '>='])} {self.expr(shape, 1)}"], [name]

    def st_reduce(self):
        r = self.r
        view, shape = self.frame()
        operand = view if r.random() < 0.5 else f"({self.expr(shape, r.randint(1, 2))})"
        rank = len(shape)
        op = r.choice(["sum", "max", "min", "mean", "argmax", "argmin", "prod", "std", "var", "any", "all", "sum"])
        axis = r.choice([None] + list(range(rank)) + ([-1] if rank else []))
        arguments = [] if axis is None else [f"axis={axis}"]
        if op in ("any", "all"):
            operand = f"({operand} > {r.choice(['0.0', 's'])})"
        if op == "prod":
            operand = f"np.minimum(np.abs({operand}), 1.5)"
        if op in ("std", "var") and r.random() < 0.3:
            arguments.append("ddof=1")
        if op not in ("argmax", "argmin") and axis is not None and r.random() < 0.4:
            arguments.append(f"keepdims={r.choice(['True', 'False'])}")
        call = f"{operand}.{op}({', '.join(arguments)})" if r.random() < 0.5 else \
            f"np.{op}({', '.join([operand] + arguments)})"
        if axis is None and op in ("sum", "mean", "max") and r.random() < 0.15:
            call = f"float({call})"
        name = self.fresh()
        return [f"{name} = {call}"], [name]

    def store_line(self, loop_index=None):
        r = self.r
        names = self.array_names(writable=True)
        target_name = r.choice(names)
        rank = self.ns[target_name].ndim
        patterns = TARGETS_1D if rank == 1 else TARGETS_2D if rank == 2 else ["{X}"]
        target = r.choice(patterns).format(X=target_name)
        shape = self.shape_of(target)
        op = r.choice(["=", "+=", "-=", "*=", "+=", "="])
        if op == "*=" and r.random() < 0.5:
            value = r.choice(["2.0", "0.5", "s", "-1.0"])
        else:
            # overlapping stores: the right side reads the target's own array through other views
            prefer = target_name if r.random() < 0.5 else None
            value = self.expr(shape, r.randint(1, 3), prefer)
        if self.ns[target_name].dtype.kind in "iu":
            if self.dtype_of(value).kind not in "iub":
                value = r.choice(["2", f"{target_name}.sum()", "3"]) if op != "=" else f"{target}.copy() + 1"
        return f"{target} {op} {value}"

    def st_store(self):
        return [self.store_line()], []

    def st_like(self):
        r = self.r
        base = r.choice(self.array_names())
        name = self.fresh()
        make = r.choice(["zeros_like", "empty_like", "ones_like", "full_like"])
        first = f"{name} = np.{make}({base}" + (", 0.25)" if make == "full_like" else ")")
        rank = self.ns[base].ndim
        shape = self.ns[base].shape
        if rank == 0:
            return [f"{name} = {base}.copy()"], [name]
        dummy = np.zeros_like(self.ns[base])  # gives slices of the new array their shapes
        if make == "empty_like":  # every element stored before anything reads it (the value never reads the new array)
            if r.random() < 0.5:
                return [first, f"{name}[1:] = {self.expr(dummy[1:].shape, 2)}",
                        f"{name}[:1] = {self.expr(dummy[:1].shape, 1)}"], [name]
            return [first, f"{name}[:] = {self.expr(shape, 2)}"], [name]
        pattern = r.choice(TARGETS_1D if rank == 1 else TARGETS_2D)
        target_shape = eval(pattern.format(X="dummy"), {"dummy": dummy}).shape  # noqa: S307
        self.ns[name] = dummy  # a zeros/ones/full array may be read by its own store
        try:
            value = self.expr(target_shape, 2)
        finally:
            del self.ns[name]
        return [first, f"{pattern.format(X=name)} {r.choice(['=', '+='])} {value}"], [name]

    def st_view(self):
        base = self.r.choice(self.array_names(writable=True))
        name = self.fresh()
        return [f"{name} = {self.r.choice(self.views(base))}"], [name]

    def st_copy(self):
        base = self.r.choice(self.array_names())
        name = self.fresh()
        how = self.r.choice([".copy()", ".copy()", ".astype(np.float32)", ".astype(np.float64)"])
        return [f"{name} = {self.r.choice(self.views(base))}{how}"], [name]

    def st_if(self):
        r = self.r
        condition = r.choice(["s > 0", "s > 0", "s < 0.5", f"{r.choice(self.arrays)}.shape[0] > 3",
                              f"{r.choice(self.arrays)}.size >= 12"])
        body = [self.store_line() for _ in range(r.randint(1, 2))]
        other = [self.store_line() for _ in range(r.randint(1, 2))]
        new = []
        if r.random() < 0.3:  # a local bound in both branches, to values of one shape
            view, shape = self.frame()
            name = self.fresh()
            body.append(f"{name} = {view} * {self.expr(shape, 1)}")
            other.append(f"{name} = {view} + {self.expr(shape, 1)}")
            new.append(name)
        return ([f"if {condition}:"] + ["    " + line for line in body] + ["else:"]
                + ["    " + line for line in other]), new

    def st_for(self):
        r = self.r
        names = self.array_names(writable=True)
        T = r.choice(names)
        same_shape = [n for n in self.array_names() if self.ns[n].shape == self.ns[T].shape]
        U = r.choice(same_shape)
        c = r.choice(["0.5", "s", "0.25", "-0.5"])
        template = r.randrange(5)
        if template == 0:
            return ["for k in range(3):", f"    {T}[k:] {r.choice(['+=', '-=', '='])} {c} * {U}[k:]"], []
        if template == 1:
            return ["for k in range(1, 3):", f"    {T}[k:] = {T}[k:] + {c} * {T}[:-k]"], []
        if template == 2:
            return ["for k in range(2):", f"    {T}[k] = {T}[k] * {c} + {U}[k + 1]"], []
        if template == 3:
            acc = self.fresh()
            return [f"{acc} = 0.0", "for k in range(3):", f"    {acc} = {acc} + {U}[k:].{r.choice(['sum', 'max', 'mean'])}()"], [acc]
        return ["for k in range(3):", "    " + self.store_line()], []

    # -- the program --

    def returns(self):
        """1-3 values. fuse returns whole arrays only ("returning a view of an array is not
        supported"), so views of arguments are returned rarely, to keep most programs specialized."""
        r = self.r
        count = r.choice([1, 1, 2, 2, 3])
        owned = [n for n in self.locals if n in self.ns and not _is_view(self.ns[n])]
        views = [n for n in self.locals if n in self.ns and _is_view(self.ns[n])]
        values = []
        for _ in range(count):
            pick = r.random()
            if pick < 0.6 and owned:
                values.append(r.choice(owned))
            elif pick < 0.63 and views:
                values.append(r.choice(views))
            elif pick < 0.73:
                values.append(r.choice(self.arrays))
            elif pick < 0.75:
                values.append(r.choice(self.views(r.choice(self.arrays))[1:4]))
            elif pick < 0.87:
                names = self.array_names()
                values.append(f"{r.choice(names)}.{r.choice(['sum', 'max', 'mean'])}()")
            else:
                view, shape = self.frame()
                values.append(self.expr(shape, 2))
        return values

    def build(self):
        self.make_inputs()
        self.refresh()
        wanted = self.r.randint(2, 6)
        accepted = 0
        attempts = 0
        while accepted < wanted and attempts < 200:
            attempts += 1
            try:
                lines, new = self.statement()
                namespaces = [run_lines(self.lines + lines, inputs) for inputs in self.input_sets]
            except Rejected:
                continue
            self.lines += lines
            self.locals += [n for n in new if n not in self.locals]
            self.namespaces, self.ns = namespaces, namespaces[0]
            accepted += 1
        for _ in range(50):
            values = self.returns()
            try:
                for inputs in self.input_sets:
                    run_lines(self.lines + [f"__result = ({', '.join(values)},)"], inputs)
                break
            except Rejected:
                continue
        else:
            values = [self.arrays[0]]
        name = f"fuzz_{self.seed}"
        body = self.lines + [f"return {', '.join(values)}"]
        source = f"def {name}({', '.join(self.parameters)}):\n" + "".join(f"    {line}\n" for line in body)
        return Program(self.seed, name, source, self.input_sets, self.parameters)


def _is_view(value):
    return isinstance(value, np.ndarray) and value.base is not None


def _broadcasts_into(shape, target):
    if len(shape) > len(target):
        return False
    for s, t in zip(reversed(shape), reversed(target)):
        if s != t and s != 1:
            return False
    return True


# ---- programs as importable functions ----------------------------------------------

_DIRECTORY = tempfile.mkdtemp(prefix="sejits_fuzz_")
_PROGRAMS = {}


def program(seed):
    """The program of a seed, its function imported from a file of its own (fuse reads source with inspect)."""
    if seed not in _PROGRAMS:
        generated = Generator(seed).build()
        path = os.path.join(_DIRECTORY, f"{generated.name}.py")
        with open(path, "w") as handle:
            handle.write("import numpy as np\n\n\n" + generated.source)
        spec = importlib.util.spec_from_file_location(generated.name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[generated.name] = module
        spec.loader.exec_module(module)
        generated.function = getattr(module, generated.name)
        generated.fused = sejits.fuse(generated.function)
        generated.float32_inside = "float32" in generated.source or any(
            getattr(value, "dtype", None) == np.float32 for value in generated.input_sets[0][0])
        _PROGRAMS[seed] = generated
    return _PROGRAMS[seed]


SEEDS = [BASE_SEED + k for k in range(N_PROGRAMS)]


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    sejits.config(fallback="warn", compile="sync")


# ---- comparison ----------------------------------------------------------------------

def assert_close(actual, expected, where, float32_inside=False):
    """Same Python type, dtype and shape; floats within 1e-9 (float32 1e-4) with an
    absolute floor of that times the largest magnitude; ints and bools exact.
    `float32_inside`: the program computes in float32 somewhere, so float64
    values may hold float32 results (a float32 std stored into a float64
    array differs from NumPy's by float32's rounding): 1e-4 for every float."""
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != NumPy's {type(expected).__name__}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} values != NumPy's {len(expected)}"
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{where}[{k}]", float32_inside)
        return
    assert type(actual) is type(expected), f"{where}: type {type(actual).__name__} != NumPy's {type(expected).__name__}"
    actual_array, expected_array = np.asarray(actual), np.asarray(expected)
    assert actual_array.dtype == expected_array.dtype, f"{where}: dtype {actual_array.dtype} != NumPy's {expected_array.dtype}"
    assert actual_array.shape == expected_array.shape, f"{where}: shape {actual_array.shape} != NumPy's {expected_array.shape}"
    if expected_array.dtype.kind == "f":
        rtol = 1e-4 if expected_array.dtype.itemsize <= 4 or float32_inside else 1e-9
        scale = max(1.0, float(np.max(np.abs(expected_array)))) if expected_array.size else 1.0
        np.testing.assert_allclose(actual_array, expected_array, rtol=rtol, atol=rtol * scale, err_msg=where)
    else:
        np.testing.assert_array_equal(actual_array, expected_array, err_msg=where)


def run_both(generated, k):
    arguments, _ = generated.input_sets[k]
    plain, fused = clone_arguments(arguments), clone_arguments(arguments)
    with np.errstate(all="ignore"):
        expected = generated.function(*plain)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sejits.SpecializationWarning)
            actual = generated.fused(*fused)
    return expected, actual, plain, fused


def is_specialized(generated):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sejits.SpecializationWarning)
        return "specialized (fuse)" in generated.fused.explain(*generated.input_sets[0][0])


# ---- the tests -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_matches_numpy(seed):
    generated = program(seed)
    for k in range(len(generated.input_sets)):
        expected, actual, plain, fused = run_both(generated, k)
        context = f"\n--- seed {seed}, input set {k} ---\n{generated.source}\n{generated.describe_inputs(k)}"
        try:
            assert_close(actual, expected, "result", generated.float32_inside)
            assert_close(fused, plain, "arguments after the call", generated.float32_inside)
            assert_same_aliasing(actual, expected, fused, plain)
        except AssertionError as error:
            specialized = "specialized" if is_specialized(generated) else "NOT specialized"
            raise AssertionError(f"{error}\n({specialized}){context}") from None


def test_most_random_programs_are_specialized():
    """Run on one worker: every program's explain(), compiled here if another worker compiled it."""
    specialized = [seed for seed in SEEDS if is_specialized(program(seed))]
    fraction = len(specialized) / len(SEEDS)
    reasons = {}
    if fraction < MIN_SPECIALIZED:
        for seed in SEEDS:
            if seed not in specialized:
                text = program(seed).fused.explain(*program(seed).input_sets[0][0])
                reasons[seed] = next((line.strip() for line in text.splitlines() if "reason" in line), text[:300])
    assert fraction >= MIN_SPECIALIZED, f"only {fraction:.0%} specialized; fallbacks: {reasons}"


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        g = Generator(int(argument)).build()
        print(g.source)
        for k in range(len(g.input_sets)):
            print(f"# input set {k}\n{g.describe_inputs(k)}\n")
