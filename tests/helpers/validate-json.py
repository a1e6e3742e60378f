#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""validate-json.py SCHEMA FILE...: check each FILE (one JSON document, or
with --lines one document per line, as bench's runs.jsonl) against the JSON
Schema SCHEMA (draft 2020-12, docs/schema/). The other *.schema.json beside
SCHEMA are loaded too, so a "$ref" to one of them (the bench line's
"report") resolves. Prints every failing path and why; exit 1 when any
document fails, 2 on a usage or read error, 0 when all are valid."""
import glob
import json
import os
import sys

import jsonschema
from referencing import Registry, Resource


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def where(err):
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)


def main(argv):
    lines = "--lines" in argv
    args = [a for a in argv if a != "--lines"]
    if len(args) < 2:
        print("usage: validate-json.py [--lines] SCHEMA FILE...", file=sys.stderr)
        return 2
    try:
        schema = load(args[0])
        resources = []
        for p in glob.glob(os.path.join(os.path.dirname(os.path.abspath(args[0])), "*.schema.json")):
            s = load(p)
            if "$id" in s:
                resources.append((s["$id"], Resource.from_contents(s)))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = cls(schema, registry=Registry().with_resources(resources))
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"validate-json: schema {args[0]}: {e}", file=sys.stderr)
        return 2
    bad = 0
    for path in args[1:]:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [(i + 1, json.loads(l)) for i, l in enumerate(f) if l.strip()] if lines else [(0, json.load(f))]
        except (OSError, ValueError) as e:
            print(f"validate-json: {path}: {e}", file=sys.stderr)
            return 2
        for n, doc in docs:
            name = f"{path}:{n}" if lines else path
            errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
            for e in errs:
                # oneOf/anyOf: the branch errors say more than "not valid under any".
                sub = sorted(e.context, key=lambda c: -len(c.absolute_path))[:3] if e.context else []
                print(f"{name}: {where(e)}: {e.message}", file=sys.stderr)
                for c in sub:
                    print(f"{name}:   {where(c)}: {c.message}", file=sys.stderr)
            bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
