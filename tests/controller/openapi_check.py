#!/usr/bin/python3
"""Checks docs/openapi.json with Debian's python3-jsonschema (run by tests/controller/openapi_test.cpp).

  openapi_check.py spec SPEC OFFICIAL_SCHEMA
      SPEC must be valid by the official OpenAPI 3.0 JSON Schema (Draft 4), as Debian's package
      openapi-specification ships it (/usr/share/openapi-specification/schemas/v3.0/schema.json).

  openapi_check.py answer SPEC METHOD TARGET STATUS CONTENT_TYPE BODY_FILE
      A real answer (its status, Content-Type and body) to METHOD TARGET (a concrete path, query
      allowed) must be one SPEC declares: the operation, the status and the media type, and a
      JSON body must match the declared schema, with its $refs resolved. Objects may carry no
      property the schema does not name (unless it says additionalProperties): a field the
      server added without the spec is drift.

Exit status 0 when it holds; 1 with every error printed otherwise; 2 on a wrong invocation.
"""
import json
import re
import sys

import jsonschema


def fail(lines):
    for line in lines:
        print(line)
    sys.exit(1)


def error_lines(errors):
    lines = []
    for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        lines.append(f"  at {where}: {e.message[:500]}")
        if e.context:  # oneOf/anyOf: why each alternative failed
            for sub in e.context[:8]:
                sub_where = "/".join(str(p) for p in sub.absolute_path) or "(top)"
                lines.append(f"    - at {sub_where}: {sub.message[:300]}")
    return lines


def check_spec(spec_file, schema_file):
    with open(schema_file, encoding="utf-8") as f:
        schema = json.load(f)
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    jsonschema.Draft4Validator.check_schema(schema)
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(spec))
    if errors:
        fail([f"{spec_file} is not valid OpenAPI 3.0 ({len(errors)} errors):"] +
             error_lines(errors))
    if not str(spec.get("openapi", "")).startswith("3.0."):
        fail([f"{spec_file}: openapi is {spec.get('openapi')!r}, not 3.0.x"])
    print(f"{spec_file}: valid OpenAPI {spec['openapi']} "
          f"({sum(len(v) for v in spec['paths'].values())} operations)")


def pointer(spec, ref):
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are resolved: {ref}")
    node = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(spec, node, seen=()):
    """`node` with its $refs resolved (recursively)."""
    while isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            raise ValueError(f"recursive $ref {node['$ref']}")
        seen = seen + (node["$ref"],)
        node = pointer(spec, node["$ref"])
    return node, seen


def json_schema(spec, node, seen=()):
    """An OpenAPI 3.0 Schema Object as plain JSON Schema (Draft 4): $refs inlined, `nullable`
    turned into a null alternative, objects closed to properties they do not name."""
    node, seen = resolved(spec, node, seen)
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: json_schema(spec, s, seen) for name, s in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and
                                         isinstance(value, dict)):
            out[key] = json_schema(spec, value, seen)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [json_schema(spec, s, seen) for s in value]
        elif key in ("nullable", "example", "discriminator", "xml", "externalDocs",
                     "deprecated", "readOnly", "writeOnly"):
            continue
        else:
            out[key] = value
    if out.get("type") == "object" and "properties" in out and \
            "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def find_operation(spec, method, target):
    path = target.split("?", 1)[0]
    candidates = []
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            # The most literal template wins (/media/missing over /media/{media_hash}).
            candidates.append((template.count("{"), template, item[method.lower()]))
    if not candidates:
        fail([f"{method} {path}: no operation in the spec matches"])
    candidates.sort(key=lambda c: c[0])
    return candidates[0][1], candidates[0][2]


def check_answer(spec_file, method, target, status, content_type, body_file):
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    template, operation = find_operation(spec, method, target)
    name = f"{method} {target} ({template}, {operation.get('operationId')}) → {status}"
    responses = operation.get("responses", {})
    response = responses.get(status) or responses.get(status[0] + "XX") or \
        responses.get("default")
    if response is None:
        fail([f"{name}: the spec declares no response {status} "
              f"(it has {', '.join(sorted(responses))})"])
    response, _ = resolved(spec, response)
    media_type = content_type.split(";", 1)[0].strip().lower()
    content = response.get("content", {})
    if media_type not in content:
        fail([f"{name}: answered {content_type!r}, the spec has {', '.join(content) or 'none'}"])
    with open(body_file, "rb") as f:
        body = f.read()
    schema = content[media_type].get("schema")
    if media_type != "application/json" and not media_type.endswith("+json"):
        print(f"{name}: {media_type}, {len(body)} bytes: as declared")
        return
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail([f"{name}: the body is not JSON: {e}"])
    if schema is None:
        fail([f"{name}: the spec declares no schema for {media_type}"])
    plain = json_schema(spec, schema)
    jsonschema.Draft4Validator.check_schema(plain)
    errors = list(jsonschema.Draft4Validator(plain).iter_errors(answer))
    if errors:
        fail([f"{name}: the answer does not match the spec's schema ({len(errors)} errors):"] +
             error_lines(errors) + ["answer: " + body.decode("utf-8", "replace")[:2000]])
    print(f"{name}: matches the spec")


def main(argv):
    if len(argv) == 4 and argv[1] == "spec":
        check_spec(argv[2], argv[3])
    elif len(argv) == 8 and argv[1] == "answer":
        check_answer(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
