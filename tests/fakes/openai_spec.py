"""Validate requests (and the fake's own payloads) against the official OpenAPI spec.

The spec is ``$ANALYST_SHARED_DIR/specs/openai-openapi.yml`` (default ``<repo>/../shared``):
OpenAPI 3.1, i.e. JSON Schema 2020-12 with ``$ref``s into ``#/components/schemas``. Parsing the
2.9 MB YAML takes ~0.6 s, so it is parsed once per process and cached as JSON under the
system temp dir, keyed by the file's sha256 (~0.05 s to load afterwards).

Checks per request: the path template and method exist (paths are matched without ``/v1``),
query parameter names are declared (values coerced and checked against their schemas), JSON
bodies match the operation's ``requestBody`` schema, multipart fields match the multipart
schema (bracket fields such as ``expires_after[anchor]`` are folded into objects; file parts
become a placeholder string).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:openai-openapi"
_HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_FILE_PLACEHOLDER = "<binary>"
_CACHE_VERSION = 1  # bump when _normalise changes

# Documented drift: SDK 3.51.0 is newer than the spec (reference/openai.md §9). Per
# (method, spec path template): body fields the SDK may send that spec 2.3.0 does not know.
# They skip validation; every other field is validated, and unknown top-level fields are
# rejected as the real API does ("Unrecognized request argument supplied").
REQUEST_DRIFT: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/responses"): {
        "access_programs": "ResponseCreateParams.access_programs (SDK 3.51), not in the spec",
        "image": "ResponseCreateParams.image, request-level image options (SDK 3.51)",
    },
}

# Query parameters the SDK sends that the spec does not declare, per operation.
QUERY_DRIFT: dict[tuple[str, str], dict[str, str]] = {}

# Wire vs spec on the response side: where every real capture (and so the fake) disagrees
# with the spec. `without_wire_drift` masks exactly these before validating a payload.
WIRE_DRIFT = {
    "Response.user": "null in every capture; the spec says string (a deprecated field)",
    "Response.usage": "null until the response ends (every capture); the spec says object",
    "ContainerFileResource.bytes": "null for model-created files (W1); the spec says integer",
    "ResponseUsage.input_tokens_details.cache_write_tokens": "absent in the 2025 captures; "
    "required by the spec and SDK 3.51 (the fake sends it)",
    "error event": 'live streams send {"type":"error","error":{...}}; the spec only has the '
    "flat ResponseErrorEvent (reference §2.5)",
}


def without_wire_drift(node: Any) -> Any:
    """A copy of a payload with the `WIRE_DRIFT` differences masked."""
    if isinstance(node, list):
        return [without_wire_drift(value) for value in node]
    if not isinstance(node, dict):
        return node
    out = {key: without_wire_drift(value) for key, value in node.items()}
    if out.get("object") == "response":
        for name in ("user", "usage"):
            if name in out and out[name] is None:
                del out[name]
    if out.get("object") == "container.file" and out.get("bytes", 0) is None:
        out["bytes"] = 0
    if "cached_tokens" in out and "cache_write_tokens" not in out:
        out["cache_write_tokens"] = 0
    if out.get("type") == "error" and isinstance(out.get("error"), dict):
        nested = out.pop("error")
        out |= {key: nested.get(key) for key in ("code", "message", "param")}
    return out


def shared_dir() -> Path:
    configured = os.environ.get("ANALYST_SHARED_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared"


def spec_path() -> Path:
    return shared_dir() / "specs" / "openai-openapi.yml"


def _normalise(node: Any) -> Any:
    """OpenAPI 3.0 leftovers (``nullable``) -> JSON Schema; YAML dates -> strings; ``oneOf`` ->
    ``anyOf``: the spec's unions overlap (e.g. ``InputItem``: a typeless ``{"role","content"}``
    message is valid under both ``EasyInputMessage`` and ``Item``), so exclusivity cannot be
    enforced; every value must still match at least one branch."""
    if isinstance(node, dict):
        out = {
            ("anyOf" if key == "oneOf" else key): _normalise(value) for key, value in node.items()
        }
        if out.pop("nullable", False) is True:
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [_normalise(value) for value in node]
    if isinstance(node, (str, int, float, bool)) or node is None:
        return node
    return str(node)


@functools.cache
def load_spec_document(path: Path | None = None) -> dict[str, Any]:
    source = path or spec_path()
    raw = source.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    cache = (
        Path(tempfile.gettempdir()) / "analyst-openapi-cache" / f"{digest}-v{_CACHE_VERSION}.json"
    )
    if cache.exists():
        return json.loads(cache.read_bytes())  # type: ignore[no-any-return]
    document = _normalise(yaml.load(raw, Loader=yaml.CSafeLoader))
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(document))
    partial.replace(cache)
    return document  # type: ignore[no-any-return]


def _pointer_escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    spec: Mapping[str, Any]

    @property
    def pointer(self) -> str:
        return f"#/paths/{_pointer_escape(self.template)}/{self.method}"


def _most_specific(error: ValidationError) -> ValidationError:
    """For a failed union over typed objects, the errors of the branch whose ``type`` matched
    (so "'container' is a required property" instead of "not valid under any of ...")."""
    while error.context and isinstance(error.instance, dict) and "type" in error.instance:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        matching = [
            errors
            for errors in branches.values()
            if not any(list(sub.relative_path)[:1] == ["type"] for sub in errors)
        ]
        if len(matching) != 1:
            break
        found = best_match(matching[0])
        if found is None:
            break
        error = found
    return error


def _format_error(error: ValidationError, where: str) -> str:
    error = _most_specific(error)
    location = error.json_path if error.json_path != "$" else "top level"
    message = error.message
    if len(message) > 240:
        message = message[:237] + "..."
    return f"{where}: {message} (at {location})"


class OpenAPISpec:
    """The parsed spec: operation lookup and schema validation."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        resource = DRAFT202012.create_resource(document)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._resolver = self.registry.resolver(base_uri=SPEC_URI)
        self.operations = self._index_operations(document)

    @staticmethod
    def _index_operations(document: Mapping[str, Any]) -> list[Operation]:
        operations = []
        for template, item in document["paths"].items():
            if "?" in template:  # e.g. "/responses?beta=true": beta variants of the same path
                continue
            segments = template.strip("/").split("/")
            regex = "/".join(
                "[^/]+" if segment.startswith("{") else re.escape(segment) for segment in segments
            )
            literal = sum(not segment.startswith("{") for segment in segments)
            for method in _HTTP_METHODS:
                if method in item:
                    pattern = re.compile(f"/{regex}")
                    operations.append(Operation(method, template, pattern, literal, item[method]))
        operations.sort(key=lambda op: -op.literal_segments)
        return operations

    def find(self, method: str, path: str) -> Operation | None:
        for operation in self.operations:
            if operation.method == method.lower() and operation.pattern.fullmatch(path):
                return operation
        return None

    def path_exists(self, path: str) -> bool:
        return any(operation.pattern.fullmatch(path) for operation in self.operations)

    # -- schemas -------------------------------------------------------------------------

    @functools.cache  # noqa: B019 - one spec object per process; cache lives as long as it
    def validator(self, pointer: str) -> Draft202012Validator:
        """A validator for the schema at ``pointer`` (e.g. ``#/components/schemas/Response``)."""
        return Draft202012Validator({"$ref": SPEC_URI + pointer}, registry=self.registry)

    def component_errors(self, name: str, instance: Any) -> list[str]:
        """Validation errors of ``instance`` against ``#/components/schemas/<name>``."""
        validator = self.validator(f"#/components/schemas/{_pointer_escape(name)}")
        return [_format_error(error, name) for error in validator.iter_errors(instance)]

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self._resolver.lookup(schema["$ref"]).contents
        return schema

    def _coerce(self, value: Any, schema: Mapping[str, Any]) -> Any:
        """Coerce form/query strings to what ``schema`` expects (integers, booleans, objects)."""
        schema = self._resolve(schema)
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            coerced = self._coerce(value, branch)
            if coerced is not value:
                return coerced
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if isinstance(value, str):
            if "integer" in kinds and re.fullmatch(r"-?\d+", value):
                return int(value)
            if "number" in kinds and re.fullmatch(r"-?\d+(\.\d+)?", value):
                return float(value)
            if "boolean" in kinds and value in ("true", "false"):
                return value == "true"
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            return {
                key: self._coerce(item, properties[key]) if key in properties else item
                for key, item in value.items()
            }
        if isinstance(value, list) and "items" in schema:
            return [self._coerce(item, schema["items"]) for item in value]
        return value

    # -- requests ------------------------------------------------------------------------

    def request_errors(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        content_type: str | None = None,
        body: Any = None,
        has_body: bool = False,
        form: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Everything wrong with a request; ``form`` maps multipart field names to values."""
        where = f"{method.upper()} {path}"
        operation = self.find(method, path)
        if operation is None:
            if self.path_exists(path):
                return [f"{where}: method not allowed by the spec"]
            return [f"{where}: no such path in the spec"]
        errors = self._query_errors(operation, query, where)
        errors += self._body_errors(operation, content_type, body, has_body, form, where)
        return errors

    def _query_errors(
        self, operation: Operation, query: Iterable[tuple[str, str]], where: str
    ) -> list[str]:
        declared: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for index, raw in enumerate(operation.spec.get("parameters", [])):
            param = self._resolve(raw)
            if param.get("in") == "query":
                pointer = raw.get("$ref") or f"{operation.pointer}/parameters/{index}"
                declared[param["name"]] = (pointer, param)
        tolerated = QUERY_DRIFT.get((operation.method, operation.template), {})
        values: dict[str, list[str]] = {}
        for raw_name, raw_value in query:
            values.setdefault(raw_name.removesuffix("[]"), []).append(raw_value)
        errors = []
        for name, given in values.items():
            if name in tolerated:
                continue
            if name not in declared:
                errors.append(f"{where}: unknown query parameter {name!r}")
                continue
            pointer, param = declared[name]
            schema = self._resolve(param.get("schema", {}))
            value: Any = given if schema.get("type") == "array" else given[-1]
            value = self._coerce(value, schema)
            validator = self.validator(pointer + "/schema")
            errors += [_format_error(e, f"{where} ?{name}") for e in validator.iter_errors(value)]
        for name, (_, param) in declared.items():
            if param.get("required") and name not in values:
                errors.append(f"{where}: missing required query parameter {name!r}")
        return errors

    def _body_errors(
        self,
        operation: Operation,
        content_type: str | None,
        body: Any,
        has_body: bool,
        form: Mapping[str, Any] | None,
        where: str,
    ) -> list[str]:
        request_body = operation.spec.get("requestBody")
        if request_body is None:
            if form is not None or (has_body and body not in (None, {})):
                return [f"{where}: the spec defines no request body for this operation"]
            return []
        request_body = self._resolve(request_body)
        media = (content_type or "").split(";")[0].strip().lower()
        if not has_body and form is None:
            if request_body.get("required"):
                return [f"{where}: a request body is required"]
            return []
        if media not in request_body["content"]:
            allowed = ", ".join(request_body["content"])
            return [f"{where}: content type {media or '(none)'!r} not allowed (spec: {allowed})"]
        escaped = _pointer_escape(media)
        pointer = f"{operation.pointer}/requestBody/content/{escaped}/schema"
        if "$ref" in operation.spec["requestBody"]:
            pointer = operation.spec["requestBody"]["$ref"] + f"/content/{escaped}/schema"
        schema = request_body["content"][media]["schema"]
        instance = self._coerce(fold_form(form), schema) if form is not None else body
        drift = REQUEST_DRIFT.get((operation.method, operation.template), {})
        if isinstance(instance, dict):
            instance = {key: value for key, value in instance.items() if key not in drift}
            known = self._property_names(schema)
            unknown = sorted(set(instance) - known) if known else []
            if unknown:
                return [f"{where}: unrecognized request argument(s) {unknown} (not in the spec)"]
        validator = self.validator(pointer)
        error = best_match(validator.iter_errors(instance))
        return [] if error is None else [_format_error(error, where)]

    def _property_names(self, schema: Mapping[str, Any]) -> set[str]:
        """Top-level property names of an object schema, through ``allOf``."""
        schema = self._resolve(schema)
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            names |= self._property_names(part)
        return names


def fold_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """``{"expires_after[anchor]": "created_at"}`` -> ``{"expires_after": {"anchor": ...}}``;
    repeated ``name[]`` fields arrive as lists; file parts become a placeholder string."""
    folded: dict[str, Any] = {}
    for name, value in form.items():
        keys = re.findall(r"[^\[\]]+", name)
        if not keys:
            continue
        target = folded
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = _FILE_PLACEHOLDER if not isinstance(value, (str, list)) else value
    return folded


@functools.cache
def get_spec() -> OpenAPISpec:
    """The process-wide parsed spec (loaded on first use)."""
    return OpenAPISpec(load_spec_document())
