"""Writes a large OpenAPI 3.0 document (JSON) for `make bench-dashboard`: OPERATIONS operations over 25 tags, each
with CommonMark descriptions, parameters, a request body or responses referring to 60 shared schemas with nested
objects and arrays, padded to about TARGET_BYTES. Usage: big_openapi.py OPERATIONS TARGET_BYTES > doc.json"""
import json
import sys

operations, target = int(sys.argv[1]), int(sys.argv[2])
prose = ("Returns the **resource** with its `id`, as described in [the guide](https://example.com/guide). "
         "Fields marked required are always present; others may be left out when empty.\n\n"
         "- pages of at most 100 items\n- sorted by creation time\n")
schemas = {}
for s in range(60):
    schemas[f"Model{s}"] = {
        "type": "object", "required": ["id", "name"], "description": f"Model number {s}. " + prose,
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "The identifier."},
            "name": {"type": "string", "description": "A name shown to people.", "example": f"model {s}"},
            "status": {"type": "string", "enum": ["active", "retired", "pending"]},
            "count": {"type": "integer", "format": "int64", "minimum": 0},
            "createdAt": {"type": "string", "format": "date-time"},
            "owner": {"$ref": f"#/components/schemas/Model{(s + 1) % 60}"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "children": {"type": "array", "items": {"$ref": f"#/components/schemas/Model{(s + 7) % 60}"}},
            "settings": {"type": "object", "properties": {
                "enabled": {"type": "boolean"}, "limit": {"type": "number"},
                "window": {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}}},
        },
    }
paths = {}
for i in range(operations):
    tag = f"area-{i % 25}"
    path = f"/{tag}/items{i}/{{itemId}}"
    model = f"#/components/schemas/Model{i % 60}"
    method = ["get", "put", "post", "delete"][i % 4]
    operation = {
        "tags": [tag], "operationId": f"operation{i}", "summary": f"Operation number {i}",
        "description": prose * 9,
        "parameters": [
            {"name": "itemId", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The item."},
            {"name": "expand", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "description": "Related items."},
            {"name": "X-Request-Id", "in": "header", "schema": {"type": "string", "format": "uuid"}},
        ],
        "responses": {
            "200": {"description": "The item.", "content": {"application/json": {"schema": {"$ref": model},
                    "example": {"id": "5f0c7c9e-0000-4000-8000-000000000000", "name": "example"}}}},
            "400": {"description": "The request was malformed."},
            "404": {"description": "No such item."},
        },
    }
    if method in ("put", "post"):
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": model}}}}
    paths.setdefault(path, {})[method] = operation
document = {"openapi": "3.0.3", "info": {"title": "A large API", "version": "1.0.0", "description": prose},
            "tags": [{"name": f"area-{t}", "description": prose} for t in range(25)],
            "paths": paths, "components": {"schemas": schemas}}
text = json.dumps(document, indent=2)
# Padding, if asked for more: a vendor extension the catalog ignores.
if len(text) < target:
    document["x-padding"] = "x" * (target - len(text))
    text = json.dumps(document, indent=2)
print(text)
