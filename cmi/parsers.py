from rest_framework import parsers
from rest_framework.exceptions import ParseError

from cmi.text import TEXT_INVALID, surrogate_path


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also for bodies nested deep enough to exhaust the stack, and
    refusing a lone surrogate (`"\\ud800"` is valid JSON text but no valid string: it
    cannot be stored, nor echoed in an error message) wherever it is."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON nests too deeply.") from exc
        where = surrogate_path(data)
        if where is not None:
            from cmi.errors import ApiError  # cmi.errors imports DRF, which imports this

            raise ApiError(
                TEXT_INVALID, "The body holds an invalid (surrogate) character.", field=where
            )
        return data
