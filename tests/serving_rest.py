"""TF Serving's REST predict API (`POST /v1/models/NAME:predict`), done in process on a loaded SavedModel.

`predict(loaded, request)` takes the JSON body a client would send and
returns the JSON body TF Serving would answer, following the rules of TF
Serving's `tensorflow_serving/util/json_tensor.{h,cc}`:

- the body holds "instances" (row format) or "inputs" (columnar format),
  never both, and an optional "signature_name" (default "serving_default");
- row format: a non-empty list, one item per example, stacked along a new
  first axis. With one named input each item may be the value itself; with
  several each item is an object with exactly one key per input (objects
  are allowed with one input too). The answer is {"predictions": [...]}: one
  value per example with one output, else one object per example; all
  outputs must share the first dimension;
- columnar format: the value itself (one input only) or an object holding
  every named input (other keys are ignored); the answer is
  {"outputs": value} with one output, else {"outputs": {name: value}};
- a value is a (nested) list, dense, of the input's dtype: numbers for
  floats (within the type's range), integers for ints, strings or
  {"b64": ...} for strings (output strings are base64 objects only when the
  output's name ends with "_bytes").

Used by tests/test_export.py to turn requests in both formats into signature
calls; a real `tensorflow_model_server` is checked against the same requests
where it is installed (the `tfserving` marker).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import tensorflow as tf


class RestError(ValueError):
    """A request TF Serving would refuse with HTTP 400 (an "error" body)."""


def _is_b64(value) -> bool:
    return isinstance(value, dict) and list(value) == ["b64"] and isinstance(value["b64"], str)


def _leaf(value, spec: tf.TensorSpec, where: str):
    dtype = spec.dtype
    if dtype == tf.string:
        if _is_b64(value):
            return base64.b64decode(value["b64"], validate=True)
        if isinstance(value, str):
            return value.encode()
    elif isinstance(value, bool):
        pass  # JSON true/false is no number
    elif dtype.is_floating and isinstance(value, (int, float)):
        if np.isfinite(value) and not (dtype.min <= value <= dtype.max):
            raise RestError(f"{where}: cannot convert {value} to {dtype.name} without loss of precision")
        return value
    elif dtype.is_integer and isinstance(value, int):
        return value
    raise RestError(f"{where}: JSON value {json.dumps(value)} is not of expected type {dtype.name}")


def _shape(value) -> list[int]:
    return [len(value)] + (_shape(value[0]) if len(value) else []) if isinstance(value, list) else []


def _tensor(value, spec: tf.TensorSpec, where: str) -> np.ndarray:
    """A dense array of `spec`'s dtype from a JSON value, or a RestError like TF Serving's."""
    shape = _shape(value)

    def leaves(v, level):
        if not isinstance(v, list):
            if level != len(shape):
                raise RestError(f"{where}: value found at level {level + 1}, expected at level {len(shape)}")
            return [_leaf(v, spec, where)]
        if level >= len(shape) or len(v) != shape[level]:
            raise RestError(f"{where}: list of size {len(v)} at level {level}, expected a dense tensor {shape}")
        return [x for item in v for x in leaves(item, level + 1)]

    flat = leaves(value, 0)
    dtype = object if spec.dtype == tf.string else spec.dtype.as_numpy_dtype
    return np.array(flat, dtype=dtype).reshape(shape)


def request_inputs(request: dict, signature) -> tuple[dict, str]:
    """The signature's keyword arguments from a predict request body, and its format ("row" or "columnar")."""
    specs = signature.structured_input_signature[1]
    names = sorted(specs)
    if "instances" in request and "inputs" in request:
        raise RestError("expecting only one of 'inputs' or 'instances' keys")
    if "instances" in request:
        items = request["instances"]
        if not isinstance(items, list) or not items:
            raise RestError("'instances' must be a non-empty list")
        objects = isinstance(items[0], dict) and not _is_b64(items[0])
        if not objects and len(names) > 1:
            raise RestError("instances is a plain list, but the signature has several named inputs")
        rows = {name: [] for name in names}
        for k, item in enumerate(items):
            if objects != (isinstance(item, dict) and not _is_b64(item)):
                raise RestError(f"item {k} of 'instances' mixes objects and values")
            if objects and set(item) != set(names):
                raise RestError(f"item {k} of 'instances': keys {sorted(item)} must be equal to {names}")
            for name in names:
                rows[name].append(_tensor(item[name] if objects else item, specs[name], f"instances[{k}].{name}"))
        inputs = {}
        for name, row in rows.items():
            if len({r.shape for r in row}) > 1:
                raise RestError(f"'instances' hold {name} of different shapes {sorted({r.shape for r in row})}")
            inputs[name] = np.stack(row)
        return inputs, "row"
    if "inputs" in request:
        value = request["inputs"]
        if not isinstance(value, dict) or _is_b64(value):
            if len(names) > 1:
                raise RestError("inputs is a plain value, but the signature has several named inputs")
            return {names[0]: _tensor(value, specs[names[0]], names[0])}, "columnar"
        missing = [name for name in names if name not in value]
        if missing:
            raise RestError(f"missing named input: {missing[0]} in 'inputs' object")
        return {name: _tensor(value[name], specs[name], name) for name in names}, "columnar"
    raise RestError("missing 'inputs' or 'instances' key")


def _json_value(name: str, array: np.ndarray):
    if array.dtype == object:  # strings
        encode = (
            (lambda b: {"b64": base64.b64encode(b).decode()}) if name.endswith("_bytes") else (lambda b: b.decode())
        )
        return np.vectorize(encode, otypes=[object])(array).tolist() if array.ndim else encode(array.item())
    return array.tolist()


def predict(loaded, request: dict) -> dict:
    """TF Serving's answer to a predict request body, from a SavedModel loaded with `tf.saved_model.load`.

    Raises:
        RestError: a malformed request (TF Serving: HTTP 400).
        tf.errors.InvalidArgumentError, ValueError, TypeError: the signature refused the tensors.
    """
    request = json.loads(json.dumps(request))  # exactly what goes over the wire
    signature_name = request.get("signature_name", "serving_default")
    if signature_name not in loaded.signatures:
        raise RestError(f"serving signature name: {signature_name!r} not found in signature def")
    signature = loaded.signatures[signature_name]
    inputs, form = request_inputs(request, signature)
    specs = signature.structured_input_signature[1]
    outputs = {
        name: value.numpy()
        for name, value in signature(
            **{name: tf.constant(value, dtype=specs[name].dtype) for name, value in inputs.items()}
        ).items()
    }
    names = sorted(outputs)
    if form == "columnar":
        if len(names) == 1:
            return json.loads(json.dumps({"outputs": _json_value(names[0], outputs[names[0]])}))
        return json.loads(json.dumps({"outputs": {name: _json_value(name, outputs[name]) for name in names}}))
    sizes = {outputs[name].shape[0] if outputs[name].ndim else None for name in names}
    if len(sizes) != 1 or None in sizes:
        raise RestError(f"row format needs outputs of one batch size, got {sizes}")
    columns = {name: _json_value(name, outputs[name]) for name in names}
    rows = [
        columns[names[0]][i] if len(names) == 1 else {name: columns[name][i] for name in names}
        for i in range(sizes.pop())
    ]
    return json.loads(json.dumps({"predictions": rows}))
