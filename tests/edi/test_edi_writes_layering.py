"""EDI changes orders, lines and bins only through replenishment's services.

Read from the source with `ast`, no database: in edi/, no write or lock is called on
a replenishment or stocking model (`Order.objects...update()`, `Bin.objects
.bulk_update()`), no `.save()` or `.delete()` on an instance of one, and no field of
one is assigned. Instances are followed through annotations, assignments, loops,
comprehensions and functions whose return annotation names such a model.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
OWNERS = ("replenishment", "stocking")
FOREIGN_MODULES = {f"{app}.models" for app in OWNERS}
# Writes, and the row locks that come before writes: both are the owner's business.
WRITE_METHODS = frozenset(
    {
        "save",
        "delete",
        "update",
        "bulk_update",
        "bulk_create",
        "create",
        "get_or_create",
        "update_or_create",
        "select_for_update",
    }
)
INSTANCE_WRITES = frozenset({"save", "delete"})


def _field_names() -> frozenset[str]:
    names = set()
    for app in OWNERS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                names |= {field.name, field.attname}
    return frozenset(names)


def _names(node: ast.AST | None) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node else set()


def _root(node: ast.AST) -> str | None:
    """The name an attribute/call/subscript chain starts from: `Bin` in Bin.objects.filter()."""
    while True:
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _sources() -> list[Path]:
    return sorted(p for p in (ROOT / "edi").rglob("*.py") if "migrations" not in p.parts)


def _returning_models(trees: list[ast.Module], models: set[str]) -> set[str]:
    """Functions (of edi and replenishment's reads and writes) whose return annotation
    names a foreign model: what they return is an instance to follow."""
    out = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and _names(node.returns) & models:
                out.add(node.name)
    return out


def violations(sources: list[tuple[str, str]]) -> list[str]:
    """Every direct write to a replenishment or stocking model in the given sources
    (name, text), as 'file:line: what'."""
    fields = _field_names()
    trees = [(name, ast.parse(text)) for name, text in sources]
    # What edi's own helpers and replenishment's reads and services return.
    known = [ast.parse(p.read_text()) for p in _sources()] + [
        ast.parse((ROOT / "replenishment" / f).read_text()) for f in ("selectors.py", "services.py")
    ]
    producers = _returning_models([t for _, t in trees] + known, _all_models())
    found: list[str] = []
    for name, tree in trees:
        models = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in FOREIGN_MODULES:
                models |= {alias.asname or alias.name for alias in node.names}
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            found += _function_violations(name, func, models, producers, fields)
        # Module level too (a write at import time would be no better).
        found += _calls_on_models(name, tree, models)
    return sorted(set(found))


def _all_models() -> set[str]:
    return {m.__name__ for app in OWNERS for m in apps.get_app_config(app).get_models()}


def _calls_on_models(name: str, tree: ast.AST, models: set[str]) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITE_METHODS
            and _root(node.func.value) in models
        ):
            out.append(f"{name}:{node.lineno}: {_root(node.func.value)}...{node.func.attr}()")
    return out


def _function_violations(
    name: str, func: ast.FunctionDef, models: set[str], producers: set[str], fields: frozenset
) -> list[str]:
    tainted = {
        a.arg
        for a in [*func.args.args, *func.args.kwonlyargs]
        if _names(a.annotation) & (models | _all_models())
    }

    def taints(value: ast.AST | None) -> bool:
        if value is None:
            return False
        mentioned = _names(value)
        calls = {
            n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
            for n in ast.walk(value)
            if isinstance(n, ast.Call)
        }
        return bool(mentioned & (models | tainted) or calls & producers)

    # Follow instances to a fixed point: assignments may come in any order in loops.
    for _ in range(5):
        before = len(tainted)
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and taints(node.value):
                for target in node.targets:
                    tainted |= _targets(target)
            elif (
                isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr)
                and taints(node.value)
            ) or (isinstance(node, ast.For | ast.comprehension) and taints(node.iter)):
                tainted |= _targets(node.target)
        if len(tainted) == before:
            break
    out = []
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in INSTANCE_WRITES
            and _root(node.func.value) in tainted
        ):
            out.append(f"{name}:{node.lineno}: {_root(node.func.value)}.{node.func.attr}()")
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AugAssign | ast.AnnAssign)
            else []
        )
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr in fields
                and _root(target.value) in tainted
            ):
                out.append(f"{name}:{node.lineno}: {_root(target.value)}.{target.attr} = ...")
    return out


def test_edi_never_writes_orders_lines_or_bins_itself():
    """No module of edi/ saves, updates, bulk-writes, creates, deletes or locks a
    replenishment or stocking model, or assigns a field of one of their instances."""
    sources = [(str(p.relative_to(ROOT)), p.read_text()) for p in _sources()]
    assert violations(sources) == []


def test_the_check_finds_the_writes_it_forbids():
    """The check is not blind: each kind of direct write in a sample handler is found."""
    sample = """
from replenishment.models import Order, OrderLine
from stocking.models import Bin
from edi.inbound.common import vendor_order


def apply(ctx, bins: dict[int, Bin]) -> None:
    order = vendor_order(ctx, "PO1")
    order.status = "shipped"
    order.save(update_fields=["status"])
    for line in OrderLine.objects.filter(order_id=order.pk):
        line.quantity_shipped += 1
    Bin.objects.bulk_update(list(bins.values()), ["on_order"])
    Order.objects.filter(pk=1).update(status="cancelled")
    for found in bins.values():
        found.on_order = 0
    OrderLine.objects.select_for_update().filter(pk=1).first()
"""
    found = violations([("sample.py", sample)])
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted(
        [
            "order.status = ...",
            "order.save()",
            "line.quantity_shipped = ...",
            "Bin...bulk_update()",
            "Order...update()",
            "found.on_order = ...",
            "OrderLine...select_for_update()",
        ]
    )
