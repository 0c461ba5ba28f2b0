"""CapturedFunction -> sejits.v1.FunctionAst: Python's ast mirrored node for
node, free names replaced by what they resolved to."""

import ast

import numpy as np

from sejits import _native
from sejits._capture import Resolved
from sejits._errors import KernelNotSendable
from sejits.v1 import ast_pb2 as pb

# Expressions and statements nested deeper than this are not sent: the
# encoder recurses once per level, within Python's recursion limit (1000). The
# daemon accepts up to its --max_ast_depth (1000 by default).
MAX_AST_DEPTH = 400

_BINOPS = {
    ast.Add: pb.ADD, ast.Sub: pb.SUB, ast.Mult: pb.MULT, ast.Div: pb.DIV, ast.FloorDiv: pb.FLOOR_DIV,
    ast.Mod: pb.MOD, ast.Pow: pb.POW, ast.MatMult: pb.MAT_MULT, ast.LShift: pb.LSHIFT, ast.RShift: pb.RSHIFT,
    ast.BitOr: pb.BIT_OR, ast.BitXor: pb.BIT_XOR, ast.BitAnd: pb.BIT_AND,
}
_UNARYOPS = {ast.UAdd: pb.UADD, ast.USub: pb.USUB, ast.Not: pb.NOT, ast.Invert: pb.INVERT}
_CMPOPS = {
    ast.Eq: pb.EQ, ast.NotEq: pb.NOT_EQ, ast.Lt: pb.LT, ast.LtE: pb.LT_E, ast.Gt: pb.GT, ast.GtE: pb.GT_E,
    ast.Is: pb.IS, ast.IsNot: pb.IS_NOT, ast.In: pb.IN, ast.NotIn: pb.NOT_IN,
}
# The wire names dtypes no kernel takes too (FLOAT16, COMPLEX64, ...), so that
# the daemon's refusal can name them: those are the proto's, by NumPy name.
# The dtypes kernels take come from the kernel ABI's table (_native.dtype_code).
_KERNEL_DTYPE_NAMES = frozenset(name for _, name in _native.DTYPES)
_WIRE_ONLY_DTYPES = {np.dtype(name.lower()): code for name, code in pb.DType.items()
                     if code not in (pb.DTYPE_UNSPECIFIED, pb.OTHER) and name.lower() not in _KERNEL_DTYPE_NAMES}

_UNSUPPORTED_NAMES = {
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension", ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression", ast.Lambda: "a nested lambda", ast.Dict: "a dict display",
    ast.Set: "a set display", ast.List: "a list display", ast.Starred: "a starred expression",
    ast.JoinedStr: "an f-string", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.With: "a 'with' block", ast.Try: "a 'try' block", ast.Raise: "'raise'",
    ast.FunctionDef: "a nested function", ast.ClassDef: "a class definition", ast.Import: "'import'",
    ast.ImportFrom: "'import'", ast.Global: "'global'", ast.Nonlocal: "'nonlocal'", ast.Delete: "'del'",
    ast.Assert: "'assert'", ast.AnnAssign: "an annotated assignment",
}


class EncodeError(KernelNotSendable):
    pass


def dtype_code(dtype):
    """The sejits.v1.DType of a NumPy dtype (OTHER: one the wire does not name)."""
    dtype = np.dtype(dtype)
    return _native.dtype_code(dtype) or _WIRE_ONLY_DTYPES.get(dtype, pb.OTHER)


def _position(message, node):
    message.pos.line = getattr(node, "lineno", 0)
    message.pos.col = getattr(node, "col_offset", 0)


def _constant(message, value):
    if isinstance(value, (bool, np.bool_)):
        message.bool_value = bool(value)
    elif isinstance(value, (int, np.integer)):
        if isinstance(value, np.unsignedinteger) and int(value) > 2**63 - 1:
            message.uint_value = int(value)
        elif -(2**63) <= int(value) < 2**63:
            message.int_value = int(value)
        else:
            message.big_int_value = str(int(value))
    elif isinstance(value, (float, np.floating)):
        message.float_value = float(value)
    elif isinstance(value, str):
        message.str_value = value[:200]
    elif value is None:
        message.none_value = True
    elif value is Ellipsis:
        message.ellipsis_value = True
    else:
        raise EncodeError(f"unsupported constant of type {type(value).__name__}")
    if isinstance(value, np.generic):
        message.dtype = dtype_code(value.dtype)


def _nested_constants(out, value, node):
    _position(out, node)
    if isinstance(value, tuple):
        for part in value:
            _nested_constants(out.tuple.elts.add(), part, node)
    else:
        _constant(out.constant, value)


def _constant_array(out, kind, value, node):
    """A constant array (stencil weights) as the expression that builds it:
    a sequence as nested tuples of its numbers, a NumPy array as
    numpy.array(<nested tuples of NumPy scalars of its dtype>)."""
    if kind == "sequence":
        _nested_constants(out, value, node)
        return
    out.call.func.global_ref.qualified_name = "numpy.array"
    _position(out.call.func, node)
    _nested_constants(out.call.args.add(), value, node)


class _Encoder:
    def __init__(self, captured):
        self.names = captured.names
        self.attributes = captured.attributes

    def expr(self, node, out, depth):
        if depth > MAX_AST_DEPTH:
            raise EncodeError(f"line {node.lineno}: the expression nests too deeply for sejits "
                              f"(more than {MAX_AST_DEPTH} levels)")
        _position(out, node)
        d = depth + 1
        if isinstance(node, ast.Name):
            resolved = self.names.get(node.id)
            if resolved is None or resolved.kind == "scalar":  # a local, a parameter, or a scalar argument
                out.name.id = node.id
            elif resolved.kind == "constant":
                _constant(out.constant, resolved.value)
            elif resolved.kind in ("ref", "helper"):  # a helper by its key in FunctionAst.helpers
                out.global_ref.qualified_name = resolved.value
            elif resolved.kind in ("ndarray", "sequence"):
                _constant_array(out, resolved.kind, resolved.value, node)
            else:
                out.unsupported.what = f"the name '{node.id}' (bound to {resolved.value})"
        elif isinstance(node, ast.Constant):
            _constant(out.constant, node.value)
        elif isinstance(node, ast.BinOp):
            out.bin_op.op = _BINOPS[type(node.op)]
            self.expr(node.left, out.bin_op.left, d)
            self.expr(node.right, out.bin_op.right, d)
        elif isinstance(node, ast.UnaryOp):
            out.unary_op.op = _UNARYOPS[type(node.op)]
            self.expr(node.operand, out.unary_op.operand, d)
        elif isinstance(node, ast.BoolOp):
            out.bool_op.op = pb.AND if isinstance(node.op, ast.And) else pb.OR
            for value in node.values:
                self.expr(value, out.bool_op.values.add(), d)
        elif isinstance(node, ast.Compare):
            self.expr(node.left, out.compare.left, d)
            for op, comparator in zip(node.ops, node.comparators):
                out.compare.ops.append(_CMPOPS[type(op)])
                self.expr(comparator, out.compare.comparators.add(), d)
        elif isinstance(node, ast.IfExp):
            self.expr(node.test, out.if_exp.test, d)
            self.expr(node.body, out.if_exp.body, d)
            self.expr(node.orelse, out.if_exp.orelse, d)
        elif isinstance(node, ast.Call):
            self.expr(node.func, out.call.func, d)
            for arg in node.args:
                self.expr(arg, out.call.args.add(), d)
            for keyword in node.keywords:
                k = out.call.keywords.add()
                k.arg = keyword.arg or "**"
                self.expr(keyword.value, k.value, d)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                (node.value.id, node.attr) in self.attributes):
            value = self.attributes[(node.value.id, node.attr)]
            if isinstance(value, Resolved):  # a constant array attribute (class stencils' weights)
                _constant_array(out, value.kind, value.value, node)
            else:
                _constant(out.constant, value)
        elif isinstance(node, ast.Attribute):
            out.attribute.attr = node.attr
            self.expr(node.value, out.attribute.value, d)
        elif isinstance(node, ast.Subscript):
            self.expr(node.value, out.subscript.value, d)
            self.expr(node.slice, out.subscript.slice, d)
        elif isinstance(node, ast.Tuple):
            for element in node.elts:
                self.expr(element, out.tuple.elts.add(), d)
        elif isinstance(node, ast.Slice):
            out.slice.SetInParent()
            for part in ("lower", "upper", "step"):
                if getattr(node, part) is not None:
                    self.expr(getattr(node, part), getattr(out.slice, part), d)
        else:
            out.unsupported.what = _UNSUPPORTED_NAMES.get(type(node), f"the construct '{type(node).__name__}'")

    def stmts(self, nodes, out, depth):
        for node in nodes:
            self.stmt(node, out.add(), depth)

    def stmt(self, node, out, depth):
        if depth > MAX_AST_DEPTH:
            raise EncodeError(f"line {node.lineno}: the statements nest too deeply for sejits "
                              f"(more than {MAX_AST_DEPTH} levels)")
        _position(out, node)
        d = depth + 1
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.expr(target, out.assign.targets.add(), d)
            self.expr(node.value, out.assign.value, d)
        elif isinstance(node, ast.AugAssign):
            self.expr(node.target, out.aug_assign.target, d)
            out.aug_assign.op = _BINOPS[type(node.op)]
            self.expr(node.value, out.aug_assign.value, d)
        elif isinstance(node, ast.Return):
            out.return_stmt.SetInParent()
            if node.value is not None:
                self.expr(node.value, out.return_stmt.value, d)
        elif isinstance(node, ast.If):
            self.expr(node.test, out.if_stmt.test, d)
            self.stmts(node.body, out.if_stmt.body, d)
            self.stmts(node.orelse, out.if_stmt.orelse, d)
        elif isinstance(node, ast.For):
            self.expr(node.target, out.for_stmt.target, d)
            self.expr(node.iter, out.for_stmt.iter, d)
            self.stmts(node.body, out.for_stmt.body, d)
            self.stmts(node.orelse, out.for_stmt.orelse, d)
        elif isinstance(node, ast.While):
            self.expr(node.test, out.while_stmt.test, d)
            self.stmts(node.body, out.while_stmt.body, d)
            self.stmts(node.orelse, out.while_stmt.orelse, d)
        elif isinstance(node, ast.Break):
            out.break_stmt.SetInParent()
        elif isinstance(node, ast.Continue):
            out.continue_stmt.SetInParent()
        elif isinstance(node, ast.Expr):
            self.expr(node.value, out.expr.value, d)
        elif isinstance(node, ast.Pass):
            out.pass_stmt.SetInParent()
        else:
            out.unsupported.what = _UNSUPPORTED_NAMES.get(type(node), f"the statement '{type(node).__name__}'")


def encode_function(captured, message=None):
    """The FunctionAst message for a captured kernel, written into `message`
    when given (e.g. `request.function`): assigning a built message copies it
    through protobuf's parser, which refuses trees over 100 levels deep."""
    if message is None:
        message = pb.FunctionAst()
    message.name = captured.name
    message.filename = captured.filename
    node = captured.tree
    _position(message, node)
    message.is_lambda = isinstance(node, ast.Lambda)
    # The parameters in binding order, then the free names passed as scalar arguments.
    arg_nodes = {a.arg: a for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
    for name in captured.arg_names:
        argument = message.args.add(name=name)
        _position(argument, arg_nodes.get(name, node))
        if name in captured.defaults:  # a helper's
            default = argument.default_value
            _position(default, arg_nodes.get(name, node))
            try:
                _constant(default.constant, captured.defaults[name])
            except EncodeError:
                default.unsupported.what = f"a default of type {type(captured.defaults[name]).__name__}"
    encoder = _Encoder(captured)
    if isinstance(node, ast.Lambda):
        stmt = message.body.add()
        _position(stmt, node)
        encoder.expr(node.body, stmt.return_stmt.value, 4)
    else:
        encoder.stmts(node.body, message.body, 2)
    for helper in captured.helpers:
        encode_function(helper, message.helpers.add())
    return message
