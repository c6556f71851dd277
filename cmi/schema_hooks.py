"""Make the committed OpenAPI schema the same whichever database generated it.

drf-spectacular copies integer bounds from the database backend (16 and 32-bit
on PostgreSQL, 64-bit on SQLite); those bounds say nothing about the API, so drop them.
"""

BACKEND_BOUNDS = {2**15 - 1, -(2**15), 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)}


def strip_backend_integer_bounds(result, generator, request, public):
    def walk(node):
        if isinstance(node, dict):
            for key in ("maximum", "minimum"):
                if node.get(key) in BACKEND_BOUNDS:
                    del node[key]
            kind = node.get("type")
            # OpenAPI 3.1 spells a nullable integer `type: [integer, "null"]`.
            is_integer = kind == "integer" or (isinstance(kind, list) and "integer" in kind)
            if is_integer and node.get("format") == "int64":
                del node["format"]  # derived from the same backend bounds
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


# Answers any operation can give whatever its view says: the API's error shape.
_GENERIC = {
    "400": "The request could not be read (not JSON, invalid text, invalid query).",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The credentials may not do this.",
    "404": "Not found: an id outside your scope, or a page past the end (`?page=0`).",
    "429": "Too many requests; retry after the `Retry-After` header's seconds.",
}
_WITH_BODY = {
    "413": "The body is larger than this endpoint takes (`body_too_large`).",
    "415": "The content type is not one this endpoint reads.",
}
_METHODS = ("get", "put", "patch", "post", "delete")


def document_generic_responses(result, generator, request, public):
    """Every operation documents the error answers the framework gives on its own
    (parsing, authentication, scope, paging, body size, throttling), in the shared
    error shape, so a generated client knows each status it can meet."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            extra = dict(_GENERIC)
            if "requestBody" in operation:
                extra |= _WITH_BODY
            for status, description in extra.items():
                responses.setdefault(status, {"content": error, "description": description})
            operation["responses"] = dict(sorted(responses.items()))
    return result
