"""Derived parameters: a safe arithmetic evaluator (``l2_bytes: "1024 * pes"``).

An expression from a sweep spec is data, so it is parsed with :mod:`ast` and
only a small arithmetic language is accepted: numbers, the names of parameters,
``+ - * / // % **``, unary ``-`` and ``+``, parentheses and the calls ``min``,
``max``, ``round``, ``int``, ``ceil``, ``floor``, ``log2``. Everything else (attributes,
subscripts, lambdas, comprehensions, keyword arguments, strings, any other
name) is a SpecError naming the field and the expression. Nothing is ever
passed to ``eval`` or ``exec``: :func:`compile_expression` checks the tree and
:meth:`Expression.evaluate` walks it with numpy, vectorized over a chunk of points.

Arithmetic is in float64 (so ``2 ** pes`` cannot wrap around as int64 would);
integer parameters are converted back, exactly, by the caller after their check.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import SpecError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _round(x, ndigits=0):
    return np.round(x, int(ndigits))


# name -> (function on float arrays, fewest arguments, most arguments)
FUNCTIONS = {
    "min": (lambda *a: np.minimum.reduce(np.broadcast_arrays(*a)), 2, None),
    "max": (lambda *a: np.maximum.reduce(np.broadcast_arrays(*a)), 2, None),
    "round": (_round, 1, 2),
    "int": (np.trunc, 1, 1),
    "ceil": (np.ceil, 1, 1),
    "floor": (np.floor, 1, 1),
    "log2": (np.log2, 1, 1),
}


@dataclass(frozen=True)
class Expression:
    """A checked expression: ``text`` as written, its tree and the names it reads."""

    text: str
    tree: ast.expr
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The expression over arrays of parameter values (float64; inf or NaN
        where the arithmetic is undefined, e.g. ``log2(0)`` or a division by 0)."""
        with np.errstate(all="ignore"):
            return np.asarray(_walk(self.tree, values), dtype=float)


def compile_expression(text, field: str, names, where: str = "") -> Expression:
    """``text`` parsed and checked: only the arithmetic of the module docstring and
    the parameter ``names``; anything else is a SpecError naming ``field``."""
    head = f"{where}field '{field}' = {text!r}"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise SpecError(f"{head}: expected an arithmetic expression (a string such as \"1024 * pes\")")
    source = str(text)
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise SpecError(f"{head}: not an expression ({exc.msg})") from None
    used: list[str] = []
    _check(tree, head, set(names), used)
    return Expression(source, tree, tuple(dict.fromkeys(used)))


def _check(node: ast.AST, head: str, names: set[str], used: list[str]) -> None:
    """Walk the tree; raise on the first node outside the arithmetic language."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise SpecError(f"{head}: {node.value!r} is not a number; only numbers, parameter names, "
                            "+ - * / // % ** and min/max/round/int/ceil/floor/log2 are allowed")
    elif isinstance(node, ast.Name):
        if node.id not in names:
            raise SpecError(f"{head}: unknown name '{node.id}'; valid: {sorted(names)} and the functions "
                            f"{sorted(FUNCTIONS)}")
        used.append(node.id)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, head, names, used)
        _check(node.right, head, names, used)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, head, names, used)
    elif isinstance(node, ast.Call):
        _check_call(node, head, names, used)
    else:
        raise SpecError(f"{head}: {type(node).__name__} ({ast.unparse(node)!r}) is not allowed; only numbers, "
                        "parameter names, + - * / // % ** and min/max/round/int/ceil/floor/log2 calls")


def _check_call(node: ast.Call, head: str, names: set[str], used: list[str]) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        shown = ast.unparse(node.func)
        raise SpecError(f"{head}: call of {shown!r} is not allowed; valid functions: {sorted(FUNCTIONS)}")
    if node.keywords:
        raise SpecError(f"{head}: {node.func.id}() takes no keyword arguments")
    _, fewest, most = FUNCTIONS[node.func.id]
    count = len(node.args)
    if count < fewest or (most is not None and count > most) or any(isinstance(a, ast.Starred) for a in node.args):
        wanted = f"{fewest}" if most == fewest else f"{fewest} or more" if most is None else f"{fewest} to {most}"
        raise SpecError(f"{head}: {node.func.id}() takes {wanted} argument(s), got {count}")
    if node.func.id == "round" and count == 2 and not (isinstance(node.args[1], ast.Constant)
                                                       and type(node.args[1].value) is int):
        raise SpecError(f"{head}: round()'s second argument must be a whole number of digits")
    for arg in node.args:
        _check(arg, head, names, used)


def _walk(node: ast.AST, values: Mapping[str, np.ndarray]):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return np.asarray(values[node.id], dtype=float)
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_walk(node.left, values), _walk(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_walk(node.operand, values))
    function = FUNCTIONS[node.func.id][0]        # a Call: _check admitted nothing else
    return function(*(_walk(a, values) for a in node.args))


__all__ = ["Expression", "FUNCTIONS", "compile_expression"]
