"""What an artifact offers, as the daemon describes it (SpecializeResponse.
interface; specializers/interface.h): entry points by role ("call",
"iterate", ...), each with its parameters in order, their roles, dtypes and,
for outputs and workspaces, a shape rule. Kept as plain data in handles (the
handle cache writes them as JSON), so that a cache hit needs no protobuf.
Client code asks for an entry by role and never names a symbol."""

import numpy as np


def from_proto(message):
    """The interface of a SpecializeResponse, as plain data."""
    from sejits.v1 import ast_pb2, specializer_pb2

    def role_name(role):  # PARAM_IN_OUT -> "inout": the wire enum is the one list of roles
        return specializer_pb2.ParamRole.Name(role).removeprefix("PARAM_").replace("_", "").lower()

    def dimension(dim):
        which = dim.WhichOneof("size")
        if which == "axis_of":
            return {"axis_of": [dim.axis_of.parameter, dim.axis_of.axis]}
        return {which: getattr(dim, which)}

    def param(p):
        described = {"name": p.name, "role": role_name(p.role), "dtype": ast_pb2.DType.Name(p.dtype).lower()}
        if described["role"] in ("output", "workspace"):
            described["shape"] = {"broadcast": list(p.shape.broadcast), "dims": [dimension(d) for d in p.shape.dims],
                                  "shape_entry": p.shape.shape_entry}
        return described

    described = {"entries": [{"role": e.role, "symbol": e.symbol, "params": [param(p) for p in e.params]}
                             for e in message.entries]}
    if message.HasField("returns"):  # a whole function's results (sejits.fuse)
        kinds = {specializer_pb2.ReturnedValue.OUTPUT: "output", specializer_pb2.ReturnedValue.ARGUMENT: "argument",
                 specializer_pb2.ReturnedValue.PYTHON_SCALAR: "python"}
        described["returns"] = {"tuple": message.returns.tuple,
                                "values": [[kinds[v.kind], v.index] for v in message.returns.values]}
    return described


def entry(interface, role):
    """The entry point playing `role`; LookupError naming the roles there are."""
    for candidate in interface["entries"]:
        if candidate["role"] == role:
            return candidate
    roles = ", ".join(e["role"] for e in interface["entries"]) or "none"
    raise LookupError(f"the artifact has no '{role}' entry point (it has: {roles})")


def has_entry(interface, role):
    return any(candidate["role"] == role for candidate in interface["entries"])


def result_dtype(interface):
    """The dtype of the first output (what single-result kernels return);
    where entries only update arrays in place, of the first in-out one
    (interface.cc's KernelInterface::result_dtype, the same rule)."""
    for role in ("output", "inout"):
        for candidate in interface["entries"]:
            for p in candidate["params"]:
                if p["role"] == role:
                    return np.dtype(p["dtype"])
    raise LookupError("the artifact's interface has no output or in-out array")


def output_dtypes(interface, role="call"):
    """The dtype names of the outputs of the entry playing `role`, in order (one
    for most kernels; an element-wise kernel returning a tuple has several)."""
    return tuple(str(np.dtype(p["dtype"])) for p in entry(interface, role)["params"] if p["role"] == "output")


def argument_codes(entry_point, dtype_code):
    """How the entry takes its parameters, as the native layer passes them:
    a scalar's dtype code, 0 for an array."""
    return tuple(dtype_code(np.dtype(p["dtype"])) if p["role"] == "scalar" else 0 for p in entry_point["params"])



def output_shape(entry_point, index, shapes, params):
    """The shape of parameter `index` of an entry (an output or workspace)
    from the other parameters' shapes (`shapes[k]`, () for scalars) and the
    request's params, by the rule the daemon sent (interface.cc's
    output_shape, the tested definition). ValueError when the shapes do not
    broadcast, an axis or param is missing, or an entry must compute it."""
    param = entry_point["params"][index]
    rule = param["shape"]
    if rule["broadcast"]:
        return tuple(np.broadcast_shapes(*(tuple(shapes[k]) for k in rule["broadcast"])))
    if rule["shape_entry"]:
        raise ValueError(f"the shape of '{param['name']}' is computed by the entry '{rule['shape_entry']}': call it first")
    return tuple(_dimension_size(dimension, shapes, params) for dimension in rule["dims"])


def _dimension_size(dimension, shapes, params):
    if "constant" in dimension:
        return int(dimension["constant"])
    if "axis_of" in dimension:
        parameter, axis = dimension["axis_of"]
        shape = shapes[parameter]
        if not -len(shape) <= axis < len(shape):
            raise ValueError(f"shape rule names axis {axis} of parameter {parameter}, of rank {len(shape)}")
        return int(shape[axis])
    value = params.get(dimension["param"])
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if size < 0:
        raise ValueError(f"shape rule needs the integer param '{dimension['param']}'")
    return size
