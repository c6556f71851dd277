"""Keyset paging: the next page is "the rows after this one in the sort", never an OFFSET.

An OFFSET makes the database sort and skip every row before the page (page 150 of a
sorted join read 7,500 rows to show 50). Here a link carries the primary key of the
row at the page's edge (`?after=` or `?before=`); the page reads that row's sort values
and asks for the rows beyond it, which an index on the sort columns answers directly.

The orderings must end with the primary key (so that they are total) and go one way
(all ascending or all descending). The edge row is looked up in the same queryset as
the page: an id from another customer, or one filtered out, restarts at the first page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import HttpRequest


@dataclass
class KeysetPage:
    object_list: list
    has_next: bool
    has_previous: bool
    next_cursor: int | None = None
    previous_cursor: int | None = None
    count: int | None = None
    extra: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def paginator(self) -> KeysetPage:
        """`page.paginator.count`, as with Django's Paginator (the total, when known)."""
        return self

    @property
    def paged(self) -> bool:
        return self.has_next or self.has_previous


def _cursor(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return None


def _beyond(fields: Sequence[str], values: Sequence[object], *, forward: bool) -> Q:
    """Rows after (forward) or before the row with `values`, in the order `fields`."""
    descending = fields[0].startswith("-")
    names = [f.lstrip("-") for f in fields]
    # "after" in a descending order is "less than"; going back flips it again.
    greater = forward != descending
    op = "gt" if greater else "lt"
    beyond = Q()
    equal: dict[str, object] = {}
    for name, value in zip(names, values, strict=True):
        beyond |= Q(**equal, **{f"{name}__{op}": value})
        equal[name] = value
    return beyond


def keyset_page(
    request: HttpRequest,
    qs: QuerySet,
    fields: Sequence[str],
    size: int,
    *,
    count: bool = False,
    total: int | None = None,
) -> KeysetPage:
    """One page of `qs` in the order `fields` (which ends with "pk" or "-pk"), from the
    cursor in the request. Queries: one for the page, one for the edge row when a cursor
    is given, one for the total when `count` (or pass a `total` already known)."""
    assert fields[-1].lstrip("-") == "pk", "a keyset order ends with the primary key"
    assert len({f.startswith("-") for f in fields}) == 1, "a keyset order goes one way"
    after, before = _cursor(request, "after"), _cursor(request, "before")
    names = [f.lstrip("-") for f in fields]
    edge = None
    forward = before is None
    if after is not None or before is not None:
        edge = qs.filter(pk=after if after is not None else before).values_list(*names).first()
    if count:
        total = qs.count()
    if edge is None:
        rows = list(qs.order_by(*fields)[: size + 1])
        return KeysetPage(
            object_list=rows[:size],
            has_next=len(rows) > size,
            has_previous=False,
            next_cursor=rows[size - 1].pk if len(rows) > size else None,
            count=total,
        )
    if forward:
        rows = list(qs.filter(_beyond(fields, edge, forward=True)).order_by(*fields)[: size + 1])
        shown = rows[:size]
        return KeysetPage(
            object_list=shown,
            has_next=len(rows) > size,
            has_previous=True,
            next_cursor=shown[-1].pk if len(rows) > size else None,
            previous_cursor=shown[0].pk if shown else None,
            count=total,
        )
    flipped = [f[1:] if f.startswith("-") else f"-{f}" for f in fields]
    rows = list(qs.filter(_beyond(fields, edge, forward=False)).order_by(*flipped)[: size + 1])
    shown = rows[:size][::-1]
    return KeysetPage(
        object_list=shown,
        has_next=True,
        has_previous=len(rows) > size,
        next_cursor=shown[-1].pk if shown else None,
        previous_cursor=shown[0].pk if len(rows) > size else None,
        count=total,
    )
