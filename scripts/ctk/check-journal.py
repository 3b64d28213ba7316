# Loads journals Faultline wrote with Chaos Toolkit's own code (chaostoolkit-lib, in .tools/ctk) and checks them
# the way Chaos Toolkit would read them: the file loads with chaoslib's loader, the experiment in it passes
# chaoslib's validation (every activity, provider and tolerance), each steady-state probe's recorded output is
# judged by chaoslib's own tolerance check and must agree with the journal's tolerance_met, and the journal has
# the fields and statuses chaoslib's runner writes. Prints one JSON line per journal: {"file", "ok", "problems"}.
import json
import sys

from chaoslib.activity import ensure_activity_is_valid
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.hypothesis import within_tolerance
from chaoslib.loader import load_experiment

STATUSES = {"completed", "failed", "aborted", "interrupted"}
RUN_STATUSES = {"succeeded", "failed"}
KEYS = ["chaoslib-version", "platform", "node", "experiment", "start", "end", "duration", "status",
        "deviated", "steady_states", "run", "rollbacks"]


def check(path):
    problems = []
    journal = load_experiment(path)
    for k in KEYS:
        if k not in journal:
            problems.append(f"missing {k}")
    try:
        ensure_experiment_is_valid(journal["experiment"])
    except Exception as e:  # chaoslib's InvalidExperiment, InvalidActivity...
        problems.append(f"experiment: {type(e).__name__}: {e}")
    if journal.get("status") not in STATUSES:
        problems.append(f"status {journal.get('status')!r}")
    if not isinstance(journal.get("deviated"), bool):
        problems.append("deviated is not a boolean")
    judged = 0
    for when in ("before", "after"):
        state = journal["steady_states"].get(when)
        if state is None:
            continue
        met = True
        for run in state["probes"]:
            ensure_activity_is_valid(run["activity"])
            verdict = within_tolerance(run["activity"]["tolerance"], run["output"])
            judged += 1
            if verdict != run["tolerance_met"]:
                problems.append(f"{when}: {run['activity']['name']}: chaoslib says {verdict}, journal {run['tolerance_met']}")
            met = met and verdict
        if met != state["steady_state_met"]:
            problems.append(f"{when}: chaoslib's tolerances say met={met}, journal steady_state_met={state['steady_state_met']}")
    for part in ("run", "rollbacks"):
        for run in journal[part]:
            ensure_activity_is_valid(run["activity"])
            if run["status"] not in RUN_STATUSES:
                problems.append(f"{part}: status {run['status']!r}")
            for k in ("start", "end", "duration", "output"):
                if k not in run:
                    problems.append(f"{part}: {run['activity']['name']}: missing {k}")
    return {"file": path, "ok": not problems, "problems": problems, "judged": judged,
            "status": journal.get("status"), "deviated": journal.get("deviated")}


for p in sys.argv[1:]:
    try:
        print(json.dumps(check(p)))
    except Exception as e:
        print(json.dumps({"file": p, "ok": False, "problems": [f"{type(e).__name__}: {e}"]}))
