"""Scan in the browser: a page for a phone at the shelf, and the JSON endpoint it posts to.

The page records receive, issue and count events in the browser (typed, from a
handheld scanner acting as a keyboard, or from the camera), each with its own UUID and
the time it happened, and keeps them in localStorage until the server has answered.
The endpoint takes the envelope of `POST /api/v1/scans` and hands it to the same
service, with the scope narrowed to the one customer of the URL: a code of another
customer's bin is not found, whoever is signed in. The service records the signed-in
person on every event and runs the replenishment hook for the touched bins.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from cmi.errors import ApiError, error_body
from cmi.models import Customer
from cmi.scoping import Scope
from portals.forms_scan import scan_envelope_parse
from portals.views.access import customer_view
from stocking.models import ScanEvent
from stocking.selectors import SCAN_BIN_COLUMNS, scan_bin_list
from stocking.services import REJECTED, scan_batch_ingest

KINDS = (("receive", "Receive"), ("issue", "Issue"), ("count", "Count"))

# Only its check is used; get_response is never called.
_csrf = CsrfViewMiddleware(lambda request: HttpResponse())


def _error(code: str, detail: str, status: int, field: str | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, detail, field), status=status)


def json_customer_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The rules of `customer_view` with answers in JSON: the page's script reads them.

    Django's own CSRF check runs here instead of in the middleware so that a missing
    token is a JSON 403 too (the page tells the person to reload) and not an HTML page.
    """
    scoped = customer_view()(view)

    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request: HttpRequest, customer_id: int) -> HttpResponse:
        if request.method != "POST":
            return _error("method_not_allowed", "Only POST is allowed here.", 405)
        if not request.user.is_authenticated:
            return _error("not_authenticated", "Sign in again; the scans wait here.", 401)
        try:
            refused = _csrf.process_view(request, None, (), {})
        except RequestDataTooBig:
            return _too_large()
        if refused is not None:
            return _error(
                "csrf_failed", "The page's security token is missing or old; reload it.", 403
            )
        try:
            return scoped(request, customer_id=customer_id)
        except Http404:
            return _error("not_found", "Not found.", 404)
        except PermissionDenied:
            return _error("permission_denied", "Your role cannot record scans here.", 403)

    return wrapped


def _too_large() -> JsonResponse:
    return _error("batch_too_large", "The body is too large; send fewer scans.", 413, "scans")


@customer_view()
@require_GET
def scan_page(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    return render(
        request,
        "portals/scan/page.html",
        {
            "customer": customer,
            "section": "scan",
            "kinds": KINDS,
            # Queued events belong to this person and this customer: another person
            # signing in on the same phone does not send them under their own name.
            "storage_key": f"cmi-scan-queue:{scope.user_id}:{customer.pk}",
        },
    )


# --- the installable app: manifest, service worker, the bins kept for offline use ---------

WORKER = Path(__file__).resolve().parents[1] / "static" / "portals" / "scan-sw.js"
THEME = "#0b5cad"  # --accent of portal.css


@customer_view()
@require_GET
def scan_manifest(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    """The web app manifest: the scan page of this customer, installable on a phone's
    home screen and opened like an app. The page links it with credentials, so it is
    behind the same sign-in (and the same 404 for another customer) as the page."""
    start = reverse("portals:scan", args=[customer.pk])
    icons = [
        {"src": static(f"portals/icons/scan-{size}.png"), "sizes": f"{size}x{size}",
         "type": "image/png", "purpose": purpose}
        for size in (192, 512)
        for purpose in ("any", "maskable")
    ]  # fmt: skip
    manifest = {
        "id": start,
        "name": f"Scan · {customer.name}",
        "short_name": "Scan",
        "description": "Record receipts, issues, counts and kanban cards at the shelf.",
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": icons,
    }
    return JsonResponse(manifest, content_type="application/manifest+json")


@require_GET
def scan_worker(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The service worker, served from the scan page's own path so its scope covers the
    page (a script under /static/ could only control /static/). It is the same static
    file for everyone and holds no data, so it needs no sign-in; `no-cache` makes the
    browser check for a new version on every visit."""
    response = HttpResponse(WORKER.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@customer_view()
@require_GET
@never_cache
def scan_bins(request: HttpRequest, scope: Scope, customer: Customer) -> JsonResponse:
    """The bins this person may scan here, kanban bins first: the page draws the kanban
    cards from it and names the bin of a scan made offline. The service worker keeps the
    last answer for when there is no connection."""
    keys = ("label", "sku", "description", "location", "kanban_quantity")
    assert len(keys) == len(SCAN_BIN_COLUMNS)
    rows = scan_bin_list(scope=scope, customer_id=customer.pk)
    return JsonResponse({"bins": [dict(zip(keys, row, strict=True)) for row in rows]})


@json_customer_endpoint
def scan_events(request: HttpRequest, scope: Scope, customer: Customer) -> JsonResponse:
    """The API's answer per event (accepted, duplicate, rejected with a code), plus the
    bin each stored event landed on, so the person at the shelf sees what they scanned."""
    try:
        events = scan_envelope_parse(request.body)
    except RequestDataTooBig:
        return _too_large()
    except ApiError as err:
        return _error(err.error_code, str(err.detail), err.status_code, err.field)
    here = dataclasses.replace(scope, customer_ids=frozenset({customer.pk}))
    body = scan_batch_ingest(scope=here, events=events).as_dict()
    _add_bins(here, body["results"])
    return JsonResponse(body)


def _add_bins(scope: Scope, results: list[dict]) -> None:
    """One query for the whole batch: the bin (and its on-hand now) of each stored event."""
    ids = [r["event_id"] for r in results if r["status"] != REJECTED]
    stored = {
        str(e.event_id): e
        for e in ScanEvent.objects.for_scope(scope)
        .filter(event_id__in=ids)
        .select_related("bin__item", "bin__location", "ledger_entry")
    }
    for r in results:
        event = stored.get(r["event_id"]) if r["status"] != REJECTED else None
        found = event.bin if event is not None else None
        entry = getattr(event, "ledger_entry", None) if event is not None else None
        r["bin"] = (
            {
                "label": found.label,
                "sku": found.item.sku,
                "description": found.item.description,
                "location": found.location.code,
                "on_hand": found.on_hand,
            }
            if found is not None
            else None
        )
        if entry is not None and (entry.lot or entry.expiry):
            # from a GS1 code that carried them
            r["lot"] = entry.lot
            r["expiry"] = entry.expiry.isoformat() if entry.expiry else None


urlpatterns: list = [
    path("customers/<int:customer_id>/scan/", scan_page, name="scan"),
    path("customers/<int:customer_id>/scan/events/", scan_events, name="scan_events"),
    path("customers/<int:customer_id>/scan/bins/", scan_bins, name="scan_bins"),
    path(
        "customers/<int:customer_id>/scan/manifest.webmanifest",
        scan_manifest,
        name="scan_manifest",
    ),
    path("customers/<int:customer_id>/scan/sw.js", scan_worker, name="scan_worker"),
]
