"""A fast path for loading with a marshmallow schema: the schema's fields, validators and hooks
compiled once into plain functions, which either give exactly what `schema.load` gives or
give up (`Unsure`), and then `schema.load` itself runs and names what is wrong.

marshmallow walks every field of every nested schema through error stores and hook look-ups:
a 2.4 KB workout took ~1 ms to load, more than the rest of a POST. The compiled path takes
only what it can decide the way marshmallow decides it (a str for a String, an int for an
Integer, a list for a List, ...); every other value, every missing required field, every
unknown key and every refusal by a validator or hook is left to marshmallow. So a document is
accepted only if marshmallow accepts it, with the same result (tests/unit/contracts).
"""

import math
from collections.abc import Callable
from typing import Any, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

Loader = Callable[[Any], Any]
_OWN_DESERIALIZE = (fields.UUID, fields.AwareDateTime, fields.DateTime, fields.Dict)
_COMPILED_TYPES = (
    fields.String,
    fields.Integer,
    fields.Float,
    fields.Boolean,
    fields.Nested,
    fields.List,
)


class Unsure(Exception):
    """The compiled path does not decide this document: `schema.load` does."""


class _NotCompilable(Exception):
    """The schema uses what the compiled path does not reproduce: it always falls back."""


def _accepting(field: fields.Field) -> Callable[[Any], Any]:
    """The value `field` deserializes a present, non-None value to, before its validators."""
    kind = type(field)
    if kind is fields.String:

        def string(value: Any) -> Any:
            if type(value) is not str:
                raise Unsure
            return value

        return string
    if kind is fields.Integer:

        def integer(value: Any) -> Any:
            if type(value) is not int:
                raise Unsure
            return value

        return integer
    if kind is fields.Float and isinstance(field, fields.Float):
        if field.as_string or field.allow_nan:
            raise _NotCompilable

        def number(value: Any) -> Any:
            if type(value) is not float and type(value) is not int:
                raise Unsure
            value = float(value)
            if not math.isfinite(value):
                raise Unsure
            return value

        return number
    # fields.Boolean, or a subclass that takes JSON's true and false alone (payloads_v1.JsonBoolean):
    # the compiled path takes nothing else either.
    if kind is fields.Boolean or getattr(kind, "only_json_booleans", False):

        def boolean(value: Any) -> Any:
            if value is not True and value is not False:
                raise Unsure
            return value

        return boolean
    if kind is fields.Nested and isinstance(field, fields.Nested):
        if field.many:
            raise _NotCompilable
        nested = field.schema
        if field.unknown not in (None, nested.unknown):
            raise _NotCompilable
        return _compile(nested)
    if kind is fields.List and isinstance(field, fields.List):
        inner = _field_loader(field.inner)

        def listed(value: Any) -> Any:
            if type(value) is not list:
                raise Unsure
            return [inner(item) for item in value]

        return listed

    if kind not in _OWN_DESERIALIZE:
        raise _NotCompilable

    # These fields read nothing but the value: their own deserialize is what marshmallow runs.
    def own(value: Any) -> Any:
        try:
            return field.deserialize(value)
        except ValidationError:
            raise Unsure from None

    return own


def _validated(field: fields.Field, load: Callable[[Any], Any]) -> Callable[[Any], Any]:
    validators = list(field.validators)
    if type(field) not in _COMPILED_TYPES:
        return load  # deserialize ran the validators already
    if not validators:
        return load

    def checked(value: Any) -> Any:
        output = load(value)
        for validator in validators:
            try:
                if validator(output) is False:
                    raise Unsure
            except ValidationError:
                raise Unsure from None
        return output

    return checked


def _field_loader(field: fields.Field) -> Callable[[Any], Any]:
    load = _validated(field, _accepting(field))
    allow_none = field.allow_none

    def present(value: Any) -> Any:
        if value is None:
            if allow_none:
                return None
            raise Unsure
        return load(value)

    return present


def _compile(schema: Schema) -> Loader:
    hooks = schema._hooks
    if hooks[PRE_LOAD] or schema.unknown != RAISE or schema.partial or schema.many:
        raise _NotCompilable
    plan = []  # (data key, attribute, required, default, loader)
    for name, field in schema.load_fields.items():
        if field.attribute not in (None, name):
            raise _NotCompilable
        key = field.data_key if field.data_key is not None else name
        plan.append((key, name, field.required, field.load_default, _field_loader(field)))
    keys = frozenset(key for key, *_ in plan)
    field_hooks = []
    for attr_name, _, hook_kwargs in hooks[VALIDATES]:
        for field_name in hook_kwargs["field_names"]:
            hooked = schema.fields.get(field_name)
            if hooked is None:
                raise _NotCompilable
            data_key = hooked.data_key if hooked.data_key is not None else field_name
            field_hooks.append((getattr(schema, attr_name), field_name, data_key))
    schema_hooks = [
        (getattr(schema, attr_name), hook_kwargs.get("pass_original", False))
        for pass_collection in (True, False)
        for attr_name, hook_many, hook_kwargs in hooks[VALIDATES_SCHEMA]
        if hook_many == pass_collection
    ]
    post_hooks = [
        (getattr(schema, attr_name), hook_kwargs.get("pass_original", False))
        for pass_collection in (True, False)
        for attr_name, hook_many, hook_kwargs in hooks[POST_LOAD]
        if hook_many == pass_collection
    ]
    options = {"partial": schema.partial, "many": False, "unknown": RAISE}

    def load(data: Any) -> Any:
        if type(data) is not dict or not keys.issuperset(data):
            raise Unsure
        result = schema.dict_class()
        for key, name, required, default, loader in plan:
            value = data.get(key, missing)
            if value is missing:
                if required:
                    raise Unsure
                if default is not missing:
                    result[name] = default() if callable(default) else default
                continue
            result[name] = loader(value)
        try:
            for hook, field_name, data_key in field_hooks:
                if field_name in result and hook(result[field_name], data_key=data_key) is missing:
                    raise Unsure
            for hook, pass_original in schema_hooks:
                if pass_original:
                    hook(result, data, **options)
                else:
                    hook(result, **options)
            for hook, pass_original in post_hooks:
                result = hook(result, data, **options) if pass_original else hook(result, **options)
        except ValidationError:
            raise Unsure from None
        return result

    return load


def _schema_loader(schema: Schema) -> Loader | None:
    """The compiled loader of this schema instance (built on first use), None if it has none."""
    try:
        return schema.__dict__["_compiled_load"]
    except KeyError:
        pass
    try:
        loader: Loader | None = _compile(schema)
    except _NotCompilable:
        loader = None
    schema.__dict__["_compiled_load"] = loader
    return loader


def load(schema: Schema, data: Any) -> Any:
    """`schema.load(data)`, through the compiled path when it decides."""
    loader = _schema_loader(schema)
    if loader is not None:
        try:
            return loader(data)
        except Unsure:
            pass
    return Schema.load(schema, data)


class CompiledLoad(Schema):
    """A schema whose plain `load(data)` takes the compiled path first (`load` above)."""

    def load(
        self,
        data: Any,
        *,
        many: bool | None = None,
        partial: Any = None,
        unknown: Literal["exclude", "include", "raise"] | None = None,
    ) -> Any:
        if many is None and partial is None and unknown in (None, self.unknown):
            return load(self, data)
        return super().load(data, many=many, partial=partial, unknown=unknown)
