"""A safe evaluator for ``condition_expression`` (conditional edges).

The expression is parsed with :func:`parse_condition_expression` (the grammar a config is validated
against) and the resulting tree is walked here: nothing is ever passed to ``eval`` or ``exec``, no
attribute access or subscripting is possible, and only the whitelisted functions can be called.
Sizes are bounded so that an expression cannot allocate unbounded memory (``"a" * 10**9``).

Every failure (bad syntax, an unknown name, a type mismatch, division by zero) raises
:class:`ConditionError`; the engine reports it as a ``workflow_error`` naming the expression.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from workflow_service.models.workflow_config import parse_condition_expression

MAX_SEQUENCE_LENGTH = 100_000
_LITERAL_NAMES = {"true": True, "false": False, "null": None, "none": None, "True": True, "False": False}


class ConditionError(Exception):
    """A condition expression could not be evaluated; the message says why."""


NameResolver = Callable[[str], Any]


@lru_cache(maxsize=1024)
def _compile(expression: str) -> ast.Expression:
    try:
        return parse_condition_expression(expression)
    except ValueError as exc:
        raise ConditionError(str(exc)) from None


def _sequence_length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _add(left: Any, right: Any) -> Any:
    if _sequence_length(left) + _sequence_length(right) > MAX_SEQUENCE_LENGTH:
        raise ConditionError(f"condition expression builds a value longer than {MAX_SEQUENCE_LENGTH}")
    return left + right


def _multiply(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 100_000:
        raise ConditionError("condition expression builds a number that is too large")
    for sequence, count in ((left, right), (right, left)):
        if (
            isinstance(sequence, str | list | tuple)
            and isinstance(count, int)
            and len(sequence) * max(count, 0) > MAX_SEQUENCE_LENGTH
        ):
            raise ConditionError(f"condition expression builds a value longer than {MAX_SEQUENCE_LENGTH}")
    return left * right


def _divide(left: Any, right: Any) -> Any:
    if right == 0:
        raise ConditionError("condition expression divides by zero")
    return left / right


_BINARY = {ast.Add: _add, ast.Sub: operator.sub, ast.Mult: _multiply, ast.Div: _divide}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: left in right,
    ast.NotIn: lambda left, right: left not in right,
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _text(item) in container
    return item in container


# name -> (function, number of arguments)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "lower": (lambda value: _text(value).lower(), 1),
    "upper": (lambda value: _text(value).upper(), 1),
    "strip": (lambda value: _text(value).strip(), 1),
    "len": (len, 1),
    "int": (int, 1),
    "float": (float, 1),
    "str": (_text, 1),
    "contains": (_contains, 2),
    "startswith": (lambda value, prefix: _text(value).startswith(_text(prefix)), 2),
    "endswith": (lambda value, suffix: _text(value).endswith(_text(suffix)), 2),
}


def _evaluate(node: ast.AST, resolve: NameResolver) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        try:
            return resolve(node.id)
        except LookupError:
            if node.id in _LITERAL_NAMES:
                return _LITERAL_NAMES[node.id]
            raise
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, resolve)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, resolve)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = _evaluate(operand, resolve)
            if bool(value) is not is_and:
                return value
        return value
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, resolve)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, resolve), _evaluate(node.right, resolve))
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]  # the grammar allows only plain names
        function, arity = _FUNCTIONS[name]
        if len(node.args) != arity:
            raise ConditionError(f"{name}() takes {arity} argument{'s' if arity > 1 else ''}")
        return function(*(_evaluate(arg, resolve) for arg in node.args))
    if isinstance(node, ast.List):
        return [_evaluate(item, resolve) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(item, resolve) for item in node.elts)
    if isinstance(node, ast.Dict):
        return {
            _evaluate(key, resolve) if key is not None else None: _evaluate(value, resolve)
            for key, value in zip(node.keys, node.values, strict=True)
        }
    raise ConditionError(f"condition expression may not contain {type(node).__name__}")  # pragma: no cover


def evaluate_expression(expression: str, resolve: NameResolver) -> Any:
    """The value of ``expression`` (placeholders already filled); names go through ``resolve``.

    ``resolve`` raises ``LookupError`` (KeyError, or one with a ``name`` attribute) for an unknown
    name; ``true``/``false``/``null`` then stand for the literals. Raises :class:`ConditionError` for every failure.
    """
    tree = _compile(expression)
    try:
        return _evaluate(tree.body, resolve)
    except ConditionError:
        raise
    except LookupError as exc:
        name = getattr(exc, "name", None) or (exc.args[0] if exc.args else "?")
        raise ConditionError(f"condition expression uses an unknown variable: {name}") from None
    except RecursionError:
        raise ConditionError("condition expression is nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError, MemoryError) as exc:
        raise ConditionError(f"condition expression failed: {type(exc).__name__}: {exc}") from None


def evaluate_condition(expression: str, resolve: NameResolver) -> bool:
    """Whether ``expression`` holds (its value's truthiness). Raises :class:`ConditionError`."""
    return bool(evaluate_expression(expression, resolve))
