"""The outbox the ERP pulls, the partner profile, and the overdue answers."""

from django.urls import path

from edi.api import outbox

urlpatterns = [
    path("partner", outbox.PartnerView.as_view(), name="edi-partner"),
    path("outbox", outbox.OutboxListView.as_view(), name="edi-outbox"),
    path(
        "outbox/<int:document_id>/payload",
        outbox.OutboxPayloadView.as_view(),
        name="edi-outbox-payload",
    ),
    path(
        "outbox/<int:document_id>/delivery",
        outbox.OutboxDeliveryView.as_view(),
        name="edi-outbox-delivery",
    ),
    path("overdue", outbox.OverdueListView.as_view(), name="edi-overdue"),
]
