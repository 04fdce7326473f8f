"""Validates recipes against the recipe JSON Schema as an editor's YAML language server would: each file's first
line names the schema (`# yaml-language-server: $schema=RELATIVE`, which must resolve to the schema given), the YAML
becomes JSON (floats read as YAML 1.2 reads them: PyYAML's YAML 1.1 would take 5.38345e28 for a string) and is
checked with python3-jsonschema. Prints one line per recipe; exits 1 when any fails."""
import json
import os
import re
import sys

import jsonschema
import yaml


class Yaml12Loader(yaml.SafeLoader):
    pass


Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"),
    list("-+0123456789."))

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def problems(path, schema_path, validator):
    with open(path) as f:
        text = f.read()
    first = MODELINE.match(text.splitlines()[0] if text else "")
    if not first:
        return ["first line is not '# yaml-language-server: $schema=...'"]
    named = os.path.normpath(os.path.join(os.path.dirname(path), first.group(1)))
    if named != os.path.normpath(schema_path):
        return [f"$schema={first.group(1)} is {named}, not {schema_path}"]
    document = json.loads(json.dumps(yaml.load(text, Loader=Yaml12Loader)))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=str)]


def main():
    schema_path, recipes = sys.argv[1], sys.argv[2:]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    failed = 0
    for path in recipes:
        found = problems(path, schema_path, validator)
        print(f"{'ok' if not found else 'invalid'} {path}" + "".join(f"\n  {p}" for p in found), flush=True)
        failed += bool(found)
    sys.exit(1 if failed else 0)


main()
