#!/usr/bin/env python3
"""Offline structural check of Kubernetes manifests against the typed models of the
Kubernetes Python client (Debian: python3-kubernetes; its API version, 1.22 for 22.6,
bounds what it knows). Reports unknown fields, wrong value types and missing required
fields; it does not replace a server-side dry run (no defaulting, no admission, no
cross-object checks such as a Service selector matching pods).

Usage: check_k8s_schema.py FILE.yaml...   Exit status 1 on any problem."""
import re
import sys

import kubernetes.client as k8s
import yaml

PRIMITIVES = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "date": str,
    "datetime": str,
}


def model_for(api_version, kind):
    group, _, version = api_version.rpartition("/")
    prefix = version.capitalize()
    name = f"{prefix}{kind}"
    cls = getattr(k8s, name, None)
    if cls is None:
        raise LookupError(f"no model {name} for apiVersion {api_version}, kind {kind}")
    return cls


def check(value, type_name, path, errors):
    if value is None:
        return
    if type_name == "object":  # IntOrString, RawExtension, ...
        return
    if type_name in PRIMITIVES:
        expected = PRIMITIVES[type_name]
        if isinstance(value, bool) and type_name != "bool":
            errors.append(f"{path}: expected {type_name}, got bool")
        elif not isinstance(value, expected):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__}")
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", errors)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        for key, item in value.items():
            check(item, m.group(1), f"{path}.{key}", errors)
        return
    cls = getattr(k8s, type_name, None)
    if cls is None:
        errors.append(f"{path}: checker does not know type {type_name}")
        return
    check_model(value, cls, path, errors)


def check_model(value, cls, path, errors):
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({cls.__name__}), got {type(value).__name__}")
        return
    json_to_attr = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    for key, item in value.items():
        attr = json_to_attr.get(key)
        if attr is None:
            errors.append(f"{path}.{key}: unknown field of {cls.__name__}")
            continue
        check(item, cls.openapi_types[attr], f"{path}.{key}", errors)
    # Required fields: the model's setters raise ValueError on None for them.
    for attr, json_key in cls.attribute_map.items():
        if json_key in value:
            continue
        try:
            obj = cls.__new__(cls)
            obj.local_vars_configuration = k8s.Configuration()
            obj.local_vars_configuration.client_side_validation = True
            setattr(obj, attr, None)
        except ValueError:
            errors.append(f"{path}.{json_key}: required field of {cls.__name__} missing")
        except Exception:  # setters with other checks: not a required-field signal
            pass


def main(files):
    errors = []
    count = 0
    for name in files:
        with open(name) as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if not doc:
                    continue
                where = f"{name}#{i} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
                try:
                    cls = model_for(doc["apiVersion"], doc["kind"])
                except (KeyError, LookupError) as e:
                    errors.append(f"{where}: {e}")
                    continue
                check_model(doc, cls, where, errors)
                count += 1
    for e in errors:
        print(e)
    print(f"check_k8s_schema: {count} objects, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
