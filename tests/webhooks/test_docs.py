"""Every event kind is documented where receivers look: the schema's webhooks section
and the README's table, each with its data fields."""

from __future__ import annotations

from pathlib import Path

import yaml

from cmi.events import KINDS

ROOT = Path(__file__).resolve().parents[2]


def test_the_schema_documents_every_kind_and_its_fields():
    schema = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert schema["openapi"].startswith("3.1")
    assert set(schema["webhooks"]) == {*KINDS, "webhook.test"}
    components = schema["components"]["schemas"]
    for kind in KINDS.values():
        body = schema["webhooks"][kind.name]["post"]["requestBody"]["content"]
        ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert components[ref]["properties"]["type"]["enum"] == [kind.name]
        data_ref = components[ref]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert set(components[data_ref]["properties"]) == set(kind.fields), kind.name


def test_the_readme_lists_every_kind_with_its_fields():
    readme = (ROOT / "README.md").read_text()
    for kind in KINDS.values():
        [row] = [line for line in readme.splitlines() if line.startswith(f"| `{kind.name}` |")]
        for name in kind.fields:
            assert f"`{name}`" in row, (kind.name, name)
