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
            if node.get("type") == "integer" and node.get("format") == "int64":
                del node["format"]  # derived from the same backend bounds
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
