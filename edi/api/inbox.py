"""`POST /api/v1/edi/inbox`: where the vendor's ERP posts 997, 855, 856 and 810
interchanges, and a customer's own system (with its scanner token) posts 852s.

A plain view: read the raw bytes, call edi.inbound, render what it answered.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi.api.serializers import ErrorSerializer
from cmi.errors import ApiError
from edi.inbound import interchange_receive

# Far above any interchange an ERP sends in one post; the whole body is kept raw.
MAX_BYTES = 8 * 1024 * 1024


class RawBodyParser(BaseParser):
    """The body as bytes, whatever the content type: X12 is not ours to decode here
    (the codec reads the separators from the ISA and the encoding from the bytes)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        raw = stream.read(MAX_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BYTES:
            raise ApiError(
                "body_too_large",
                f"The interchange is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it.",
                status_code=413,
            )
        return raw


class InboxSetErrorOut(serializers.Serializer):
    segment_position = serializers.IntegerField(
        allow_null=True, help_text="Position of the segment in its set, ST = 1 (as in AK302)."
    )
    segment = serializers.CharField(allow_null=True)
    element_position = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(help_text="Stable, machine-readable.")
    detail = serializers.CharField()


class InboxSetOut(serializers.Serializer):
    group = serializers.IntegerField(help_text="GS06 of the group the set came in.")
    set = serializers.CharField(help_text="ST02.")
    id = serializers.CharField(help_text="ST01: 997, 855, 856, 810 or 852.")
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    errors = InboxSetErrorOut(
        many=True, help_text="Why it was rejected; on an accepted set, what was ignored."
    )
    orders = serializers.ListField(
        child=serializers.IntegerField(), help_text="Orders the set changed."
    )


class InboxAckOut(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True,
        help_text="The 997 written to the outbox for the first group; null when none is "
        "owed (997 groups, scanner posts) or possible (no trading partner profile).",
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="One 997 per acknowledged group."
    )


class InboxResultOut(serializers.Serializer):
    interchange = serializers.IntegerField(help_text="The kept interchange.")
    duplicate = serializers.BooleanField(
        help_text="True when this interchange (sender + ISA13) was received before: "
        "nothing was applied again, and this is the earlier answer."
    )
    sets = InboxSetOut(many=True)
    ack = InboxAckOut()


class InboxErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable.")
    detail = serializers.CharField(help_text="For people.")
    field = serializers.CharField(allow_null=True)
    segment_position = serializers.IntegerField(
        allow_null=True, help_text="Counted from ISA = 1 across the interchange."
    )
    segment_tag = serializers.CharField(allow_null=True)
    element_position = serializers.IntegerField(allow_null=True)


class InboxErrorOut(serializers.Serializer):
    error = InboxErrorDetailOut()
    interchange = serializers.IntegerField(help_text="The kept interchange.")
    # Present when the envelope was read but no set applied: what became of each set
    # and the 997 that says so.
    duplicate = serializers.BooleanField(required=False)
    sets = InboxSetOut(
        many=True, required=False, help_text="When the envelope was read but no set applied."
    )
    ack = InboxAckOut(required=False)


class InboxView(APIView):
    parser_classes = [RawBodyParser]
    max_body_bytes = MAX_BYTES
    read_roles = frozenset()
    write_roles = frozenset({"erp", "device"})

    @extend_schema(
        request={
            "application/edi-x12": OpenApiTypes.BINARY,
            "text/plain": OpenApiTypes.STR,
        },
        responses={
            200: InboxResultOut,
            400: InboxErrorOut,
            401: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
        },
        summary="Post an X12 interchange (997, 855, 856, 810; 852 with a scanner token)",
        description=(
            "The body is one raw interchange; separators are read from its ISA. An envelope "
            "that cannot be read is refused whole (400 naming the segment). Otherwise each "
            "set is checked and applied on its own, all or nothing, and each group except a "
            "997 group is answered with a 997 in the outbox. The same interchange "
            "(sender + ISA13) posted again applies nothing and answers `duplicate: true` with "
            "the first answer. 400 when no set applied."
        ),
    )
    def post(self, request):
        raw = request.data if isinstance(request.data, bytes) else b""
        result = interchange_receive(scope=self.scope, raw=raw)
        return Response(result.body, status=result.status_code)
