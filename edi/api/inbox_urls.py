"""The inbox ERPs and customers post X12 to."""

from django.urls import path

from edi.api.inbox import InboxView

urlpatterns = [path("inbox", InboxView.as_view(), name="edi-inbox")]
