"""How much of the shipped flows' article content a draft import of the seed article captures.

Run ``.venv/bin/python tests/import_capture.py [ARTICLE]`` to print the figures; the tests in
test_import.py assert them.

The shipped flows' *article steps* are the steps written from the article's own instructions
(listed below in the article's order, each with the article's words it was written from); their
*causes* are the flows' declared causes. A shipped step is captured when one of the draft's
steps (not its introduction) holds nearly all of those words (``STEP_SHARE``), a cause when a
draft cause's title holds nearly all of its words (``CAUSE_SHARE``); *in order* counts the
longest run of captured steps whose draft steps come in the article's order.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
# A copy of ../shared/seed/connection-reset-article.txt (test_import.py checks they agree).
SEED = REPO / "tests" / "fixtures" / "articles" / "connection-reset-article.txt"
SHARED_SEED = REPO.parent / "shared" / "seed" / "connection-reset-article.txt"
# Each shipped step written from the article, with the article's words it was written from.
ARTICLE_STEPS = {
    "quickbooks-desktop": [
        ("step-1-check-marks", "Confirm that the Autofy Agent is open and you see two green "
                               "check marks, one in Autofy tab and the other in the Accounting "
                               "tab."),
        ("step-2-connect", "Click the Accounting tab and click the connect button. This should "
                           "reestablish the connection to QuickBooks."),
        ("step-3-refresh", "Refresh your Autofy web page to confirm that the Autofy Agent "
                           "Status is Connected."),
        ("step-3-close-and-sign-out", "If the status is still displaying disconnected. Close "
                                      "the Autofy desktop agent and sign out of the Autofy "
                                      "website."),
        ("step-4-log-back-in", "Log back into the Autofy website and open up the Autofy desktop "
                               "agent again, and repeat steps 1-3."),
        ("step-5-remove-user-token", "If the problem still persists, click on the Autofy tab in "
                                     "the Autofy desktop agent and click edit under the User "
                                     "Token and remove the User Token then click save."),
        ("step-6-red-x", "This will change the green check marks in the Agent tabs to red "
                         "X's."),
        ("step-7-agent-key", "Locate your Agent Key under the QuickBooks section in the Autofy "
                             "website and re-enter the key into the Autofy desktop Agent and "
                             "then click save. This should reestablish the connection between "
                             "your Autofy account online and the Autofy Desktop agent."),
        ("step-8-connect-again", "Repeat Step 2. This will reconnect the Autofy desktop agent "
                                 "to your Quickbooks."),
    ],
    "quickbooks-online": [
        ("disconnect", "To reset your connection to QuickBooks Online, log into Autofy, and go "
                       "to the Channels page. There, under the QuickBooks channel, you can "
                       "click the link that says \"Disconnect\"."),
        ("connect", "From there, simply click on the Connect to QuickBooks button again to "
                    "connect."),
    ],
    "salesforce": [
        ("disconnect", "To reset your connection to Salesforce, log into Autofy, and go to the "
                       "Channels page. There you can click the button that says "
                       "\"Disconnect\"."),
        ("connect", "From there, just click on the Connect to Salesforce button again to "
                    "connect. Autofy will connect you to the Salesforce Org that you're "
                    "currently logged into."),
    ],
}
STEP_SHARE = 0.9
CAUSE_SHARE = 0.9
_STOP = set("a an the to of in on and or is are be you your it this that then there for with "
            "click".split())


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower().replace("'", "")) if w not in _STOP}


def _share(part: set[str], whole: str) -> float:
    return len(part & words(whole)) / len(part) if part else 0.0


def _longest_increasing(seq: list[int]) -> int:
    best: list[int] = []
    for x in seq:
        i = next((k for k, v in enumerate(best) if v >= x), len(best))
        best[i:i + 1] = [x]
    return len(best)


def measure(drafts: dict[str, str], flows_dir: Path = REPO / "flows") -> dict[str, dict]:
    """``{flow id: {steps, steps_in_order, steps_total, causes, causes_total, missing}}`` for
    drafts given as ``{flow id: YAML text}``."""
    out = {}
    for fid, step_ids in ARTICLE_STEPS.items():
        shipped = yaml.safe_load((flows_dir / f"{fid}.yaml").read_text())
        draft = yaml.safe_load(drafts.get(fid, "steps: {}\ncauses: {}"))
        draft_steps = list(draft.get("steps", {}).items())
        positions, missing = [], []
        for sid, said in step_ids:
            assert sid in shipped["steps"], f"{fid} has no step {sid}"
            want = words(said)
            scores = [(_share(want, d.get("body", "") + " " + d["title"]), -i)
                      for i, (name, d) in enumerate(draft_steps) if name != "before-you-start"]
            score, at = max(scores, default=(0.0, 1))
            if score >= STEP_SHARE:
                positions.append(-at)
            else:
                missing.append(sid)
        causes, draft_causes = 0, (draft.get("causes") or {}).values()
        for cid, cause in shipped["causes"].items():
            if any(_share(words(cause["title"]), c["title"]) >= CAUSE_SHARE
                   for c in draft_causes):
                causes += 1
            else:
                missing.append(cid)
        out[fid] = {"steps": len(positions), "steps_in_order": _longest_increasing(positions),
                    "steps_total": len(step_ids), "causes": causes,
                    "causes_total": len(shipped["causes"]), "missing": missing}
    return out


def main(article: str) -> None:
    from assistant.importer import import_article
    figures = measure({d.id: d.text for d in import_article(article)})
    total = [0, 0, 0]
    for fid, f in figures.items():
        print(f"{fid}: steps {f['steps_in_order']}/{f['steps_total']} in order "
              f"({f['steps']} found), causes {f['causes']}/{f['causes_total']}"
              + (f"; missing {', '.join(f['missing'])}" if f["missing"] else ""))
        total[0] += f["steps_in_order"] + f["causes"]
        total[1] += f["steps_total"] + f["causes_total"]
    print(f"captured in order: {total[0]}/{total[1]} = {100 * total[0] / total[1]:.0f} %")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main(sys.argv[1] if len(sys.argv) > 1 else str(SEED))
