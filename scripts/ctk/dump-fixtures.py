# Writes Chaos Toolkit's own test experiments (chaostoolkit-lib's tests/fixtures/experiments.py, Python dicts
# and YAML strings) as files, one per experiment, for Faultline's import tests. Run by scripts/setup.sh with the
# venv's interpreter, from the unpacked sdist's tests/ folder (the module imports `fixtures.*` and chaoslib).
import json
import os
import sys

import yaml

out = sys.argv[1]
sys.path.insert(0, os.getcwd())
from fixtures import experiments  # noqa: E402

os.makedirs(out, exist_ok=True)
n = 0
for name in sorted(vars(experiments)):
    value = getattr(experiments, name)
    if name.startswith("_"):
        continue
    if isinstance(value, dict) and ("title" in value or "method" in value):
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(value, f, indent=2, default=str)
        n += 1
    elif isinstance(value, str) and value.strip():
        try:
            data = yaml.safe_load(value)
        except yaml.YAMLError:
            data = None  # an unsafe document: written all the same, the importer must refuse it
        if data is None or isinstance(data, dict):
            with open(os.path.join(out, name + ".yaml"), "w") as f:
                f.write(value.lstrip("\n"))
            n += 1
print(n)
