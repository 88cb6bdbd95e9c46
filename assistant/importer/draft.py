"""A product section of an article → a draft flow (YAML text that passes the flow checks).

The article's numbered steps become steps in order; a step that checks a result asks "Did that
work?"; "repeat steps 1-3" becomes a loop counter; "If the problem still persists" is where the
failed checks go; the possible causes are declared and shown at the unresolved end. What does
not fit is kept as text marked ``TODO`` for the author.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..probes.checks import PROBES
from ..probes.diagnosis import SYSTEM_NAMES
from .blocks import Block
from .render import Text
from .sections import FALLBACK, Outline, Section, plain

TODO = "TODO"
RESOLVED, FAILED, FINAL = "it-works", "still-not-working", "final-check"

# A step that checks something: "Confirm that …", "… to make sure …", "Verify …".
CHECK = re.compile(r"\b(?:confirm|verify|make sure|ensure|check (?:that|whether|if)|"
                   r"see (?:if|whether))\b", re.I)
# … that the problem itself is gone (not a precondition such as "the agent is open").
RESULT = re.compile(r"\b(?:connected|connects|works?|working|resolved|fixed|synced|syncs|"
                    r"syncing|successful(?:ly)?|reconnected|back online|no longer|appears?|"
                    r"shows? up)\b", re.I)
# "If the status is still displaying disconnected", "If it doesn't connect, …"
FAILURE = re.compile(r"^if\b.*\b(?:still|not|n't|fails?|persists?|continues?|again)\b", re.I)
REPEAT_RANGE = re.compile(r"\brepeat(?:ing)?\s+steps?\s+(\d{1,3})\s*(?:-|–|—|to|through|and)"
                          r"\s*(\d{1,3})\b", re.I)
REPEAT_ONE = re.compile(r"\brepeat(?:ing)?\s+step\s+(\d{1,3})\b(?!\s*(?:-|–|—|to|through))",
                        re.I)
TIMES = {"once": 1, "one more time": 1, "twice": 2, "two more times": 2, "three times": 3,
         "two times": 2, "2 times": 2, "3 times": 3, "three more times": 3}
SUPPORT = re.compile(r"\b(?:contact|call|email|reach|ask)\b.{0,40}\b(?:support|help ?desk|us)\b",
                     re.I)
SEQUENCE = re.compile(r"^(?:then|next|after that|afterwards|finally|now|from there|once (?:that|"
                      r"this|it|you)\b[^,]*,)", re.I)
ACTION = re.compile(r"\b(?:click|go to|open|log (?:in|into|out)|sign (?:in|out)|select|enter|"
                    r"choose|navigate|press|type|restart|close|refresh|disconnect|connect|"
                    r"reconnect|remove|install|wait|save|locate|re-enter|update)\b", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(*\[])")
# Two causes run together in one bullet: "… OAuth screens You may have exceeded …"
RUN_ON = re.compile(r"(?<=[a-z0-9)])\s+(?=(?:You|Your|There|The|This|It|For|When|We|Our|They)"
                    r"\s+[a-z])")
STOP = set("a an the to of in on for and or is are be been was were with within your you it its "
           "this that there may might not be can could will would which who as at by from into "
           "up out if so than then do does doesn't don't has have had".split())


@dataclass
class Draft:
    """One imported flow: its id, YAML ``text`` and what the author should know."""

    id: str
    text: str
    section: Section
    steps: int = 0
    causes: int = 0
    todos: int = 0
    notes: list[str] = field(default_factory=list)


def slug(text: str, sep: str = "-", words: int = 6) -> str:
    kept = [w for w in re.findall(r"[a-z0-9]+", plain(text).lower().replace("'", ""))]
    short = [w for w in kept if w not in STOP][:words] or kept[:words] or ["section"]
    return sep.join(short)[:60].strip(sep)


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.split(text.strip()) if s]


def title_of(text: str, prefix: str = "", limit: int = 110) -> str:
    """The first sentence of ``text``'s first paragraph as plain words, shortened at a word to
    fit ``limit``."""
    text = text.strip().split("\n\n", 1)[0]
    first = plain(sentences(text)[0] if sentences(text) else text) or TODO
    if len(first) > limit:
        first = first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return (prefix + first)[:200]


@dataclass
class _Step:
    number: int
    text: str
    check: bool = False
    result: bool = False
    failure: str | None = None      # the step's own "If it still …, do X" text
    repeat: tuple[int, int, int] | None = None   # first, last step, times
    fallback: bool = False


def _read_step(number: int, text: str) -> _Step:
    step = _Step(number, text)
    words = plain(text)
    step.fallback = bool(FALLBACK.match(words))
    parts = sentences(text)
    for i, sentence in enumerate(parts):
        said = plain(sentence)
        if i > 0 and FAILURE.match(said) and not step.failure:
            step.failure = " ".join(parts[i:])
            step.text = " ".join(parts[:i])
            break
    checked = [plain(s) for s in sentences(step.text) if CHECK.search(plain(s))]
    step.check = bool(checked)
    step.result = any(RESULT.search(s) for s in checked)
    m = REPEAT_RANGE.search(words)
    if m and int(m[1]) < number and int(m[2]) < number and int(m[1]) <= int(m[2]):
        times = next((n for phrase, n in TIMES.items() if phrase in words.lower()), 1)
        step.repeat = (int(m[1]), int(m[2]), times)
    return step


def _prose_steps(section: Section) -> list[Block]:
    """Steps of a section with no numbered list: its paragraphs (and bullets) split where a
    sentence starts the next action ("From there, …", "Then …")."""
    out: list[Block] = []
    texts = section.intro + [b.text for b in section.bullets]
    for paragraph in texts:
        starts_new = bool(ACTION.search(plain(paragraph))) or not out
        for i, sentence in enumerate(sentences(paragraph)):
            if (i == 0 and starts_new) or (i > 0 and SEQUENCE.match(plain(sentence))):
                out.append(Block("item", sentence, 1, True, len(out) + 1))
            else:
                out[-1].text += " " + sentence
    return out


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def build(section: Section, outline: Outline, flow_id: str, source_file: str) -> dict:
    """The flow as a dict (keys in the order a person reads them) and the header notes."""
    notes: list[str] = []
    numbered = bool(section.steps)
    raw = section.steps if numbered else _prose_steps(section)
    intro = section.intro if numbered else []
    if numbered and section.bullets:
        intro = intro + ["- " + b.text for b in section.bullets]
    seen: set[int] = set()
    steps_in: list[_Step] = []
    for i, block in enumerate(raw):
        number = block.number if block.number and block.number not in seen else i + 1
        while number in seen:
            number += 1
        seen.add(number)
        steps_in.append(_read_step(number, block.text))
    by_number = {s.number: s for s in steps_in}
    for s in steps_in:
        if s.repeat:  # the repeated steps' last check is whether it works now
            first, last, _ = s.repeat
            checks = [by_number[k] for k in range(last, first - 1, -1)
                      if k in by_number and by_number[k].check]
            if checks:
                checks[0].result = True
    support = [c for c in section.closing if SUPPORT.search(plain(c))]
    for closing in section.closing:
        if closing in support:
            continue
        steps_in.append(_read_step(max(seen, default=0) + 1, closing))
        seen.add(steps_in[-1].number)
        steps_in[-1].fallback = True
    ids = {s.number: f"step-{s.number}" for s in steps_in}

    system = section.system or slug(section.name or outline.title or "other", "_", 3)
    steps: dict[str, dict] = {}
    counters = 0

    def after(i: int) -> str:
        return ids[steps_in[i + 1].number] if i + 1 < len(steps_in) else FINAL

    def on_fail(i: int) -> str:
        if i + 1 < len(steps_in):
            return ids[steps_in[i + 1].number]
        return FAILED

    if intro:
        steps["before-you-start"] = {
            "kind": "instruction", "title": "Before you start",
            "body": Text("\n\n".join(intro)),
            "answers": [{"id": "start", "label": "Start",
                         "next": ids[steps_in[0].number] if steps_in else FINAL}]}
    if not steps_in:
        steps["todo-steps"] = {
            "kind": "instruction", "title": f"{TODO}: write this section's steps",
            "body": f"{TODO}: the importer found no steps in this section of the article.",
            "answers": [{"id": "done", "label": "Done", "next": FINAL}]}
    loops: list[tuple[_Step, int, int]] = []  # repeat step, its index, the counter number
    for i, s in enumerate(steps_in):
        sid = ids[s.number]
        shown = s.text
        if s.fallback and "," in sentences(s.text)[0]:
            shown = s.text.split(",", 1)[1].strip()  # "If the problem still persists, click …"
            shown = shown[:1].upper() + shown[1:]
        title = title_of(shown, f"Step {s.number}: ")
        body = s.text
        one = REPEAT_ONE.search(plain(s.text))
        if one and int(one[1]) in by_number and int(one[1]) != s.number and not s.repeat:
            body += f"\n\n**Step {one[1]}:**\n\n" + _quote(by_number[int(one[1])].text)
        entry: dict = {"kind": "instruction", "title": title, "body": Text(body)}
        next_fallback = i + 1 < len(steps_in) and steps_in[i + 1].fallback
        if s.repeat:
            counters += 1
            loops.append((s, i, counters))
            entry["answers"] = []  # filled below, once every step exists
        elif s.check:
            entry["kind"] = "question"
            if s.failure:
                no = f"{sid}-continued"
            else:
                no = on_fail(i) if s.result else f"{sid}-failed"
            yes = RESOLVED if s.result else after(i)
            entry["answers"] = [
                {"id": "worked" if s.result else "yes",
                 "label": "Yes, that worked" if s.result else "Yes", "next": yes},
                {"id": "did-not-work" if s.result else "no",
                 "label": "No, it didn't" if s.result else "No", "next": no}]
        elif next_fallback:
            check = f"{sid}-check"
            entry["answers"] = [{"id": "done", "label": "Done", "next": check}]
        else:
            entry["answers"] = [{"id": "done", "label": "Done", "next": after(i)}]
        steps[sid] = entry
        if s.check and s.failure:
            first_said = sentences(s.failure)[0]
            action = (first_said.split(",", 1)[1] if "," in first_said
                      else " ".join(sentences(s.failure)[1:]))
            steps[f"{sid}-continued"] = {
                "kind": "instruction",
                "title": title_of(action.strip() or s.failure, f"Step {s.number} (continued): "),
                "body": Text(s.failure),
                "answers": [{"id": "done", "label": "Done", "next": after(i)}]}
        elif s.check and not s.result and not s.failure:
            steps[f"{sid}-failed"] = {
                "kind": "end", "outcome": "unresolved", "title": f"Step {s.number} didn't work",
                "body": f"{TODO}: the article does not say what to do when step {s.number} "
                        "fails. Say it here, or send 'No' to another step."}
        elif next_fallback and not s.repeat:
            steps[f"{sid}-check"] = {
                "kind": "question", "title": "Did that work?",
                "answers": [{"id": "worked", "label": "Yes, that worked", "next": RESOLVED},
                            {"id": "did-not-work", "label": "No, it didn't",
                             "next": ids[steps_in[i + 1].number]}]}

    for s, i, n in loops:
        first, last, times = s.repeat
        counter = "repeats" if n == 1 else f"repeats-{n}"
        exit_to = after(i) if i + 1 < len(steps_in) else FAILED
        target = ids.get(first) or ids[steps_in[0].number]
        label = f"Done — repeat steps {first} to {last}"
        # The loop ends where the repeated steps check the result: its "No" leaves the loop.
        check_ids = [ids[k] for k in range(last, first - 1, -1)
                     if k in by_number and by_number[k].check and by_number[k].result]
        no = None
        if check_ids:
            no = next(a for a in steps[check_ids[0]]["answers"] if a["id"] == "did-not-work")
        if no is not None and isinstance(no["next"], str):
            no["next"] = [{"when": {"counter": counter, "below": times}, "to": no["next"]},
                          {"to": exit_to}]
            steps[ids[s.number]]["answers"] = [
                {"id": f"repeat-steps-{first}-{last}", "label": label, "next": target,
                 "count": counter}]
        else:
            steps[ids[s.number]]["answers"] = [
                {"id": "done", "label": "Done",
                 "next": [{"when": {"counter": counter, "below": times}, "to": target},
                          {"to": exit_to}], "count": counter}]

    cause_ids = _causes(section, system, notes)
    if FINAL in _targets(steps):
        steps[FINAL] = {
            "kind": "question", "title": "Did that work?",
            "answers": [{"id": "worked", "label": "Yes, that worked", "next": RESOLVED},
                        {"id": "did-not-work", "label": "No, it didn't", "next": FAILED}]}
    steps[RESOLVED] = {"kind": "end", "outcome": "resolved", "title": "It works again",
                       "body": "Good: the steps fixed it."}
    failed_body = ("The steps in this guide didn't fix it."
                   + (" These are the possible causes." if cause_ids[0] else ""))
    if support:
        failed_body += "\n\n" + "\n\n".join(support)
    if section.unplaced:
        failed_body += "\n\n" + "\n\n".join(
            f"{TODO} (text after the possible causes, not placed by the importer): {t}"
            for t in section.unplaced)
    steps[FAILED] = {"kind": "end", "outcome": "unresolved", "title": "Still not working",
                     "body": Text(failed_body), "causes": list(cause_ids[0])}
    if not cause_ids[0]:
        del steps[FAILED]["causes"]
    steps = _reachable(steps, "before-you-start" if intro else next(iter(steps)))

    name = section.name or (SYSTEM_NAMES.get(system) if section.system else None)
    if name is None:
        notes.append(f"{TODO}: this section has no heading: name it (title, source.section).")
    probe = next((p for p, spec in PROBES.items() if spec.system == system), None)
    if probe:
        notes.append(f"{TODO}: {SYSTEM_NAMES[system]} can be checked live (probe {probe}): "
                     "consider starting with a probe step that leads each cause to its fix "
                     "(README, 'Live connection checks').")
    if outline.intro:
        notes.append(f"{TODO} (the article's introduction, about every section): "
                     + " ".join(plain(t) for t in outline.intro))
    for chrome in outline.left_out + section.left_out:
        notes.append(f"Left out: '{chrome}' (the help center's own text; every ending of a "
                     "flow asks 'Did this answer your question?')")
    summary_from = (intro or [s.text for s in steps_in] or [f"{TODO}: one sentence on when to "
                                                              "use this guide."])[0]
    source = {"title": outline.title or f"{TODO}: the article's title"}
    if name:
        source["section"] = name
    if outline.url:
        source["url"] = outline.url
    flow = {
        "id": flow_id,
        "title": f"{outline.title}: {name}"[:200] if outline.title and name else (
            name or outline.title or f"{TODO}: title"),
        "system": system,
        "summary": title_of(summary_from, limit=300),
        "keywords": sorted({w.lower() for w in (SYSTEM_NAMES.get(system) or name or "").split()}),
        "source": source,
        "causes": cause_ids[1],
        "start": next(iter(steps)),
        "steps": steps,
    }
    if not flow["causes"]:
        del flow["causes"]
    return {"flow": flow, "notes": notes, "source_file": source_file}


def _causes(section: Section, system: str, notes: list[str]) -> tuple[list[str], dict]:
    """Declared causes: ``(ids in order, {id: {title, detail}})``."""
    ids: list[str] = []
    out: dict[str, dict] = {}
    for text in section.causes:
        pieces = RUN_ON.split(plain(text).strip())
        for k, piece in enumerate(pieces):
            piece = piece.strip().rstrip(".") + "."
            cid = f"{system}.{slug(piece, '_', 5)}"
            n = 2
            while cid in out:
                cid, n = f"{system}.{slug(piece, '_', 5)}_{n}", n + 1
            title = piece if len(piece) <= 300 else title_of(piece, limit=290)
            detail = "" if len(piece) <= 300 else piece
            if len(pieces) > 1:
                detail = (f"{TODO}: check this cause: the article ran it together with the "
                          f"{'next' if k == 0 else 'previous'} one in a single bullet.")
            out[cid] = {"title": title, "detail": Text(detail)} if detail else {"title": title}
            ids.append(cid)
    return ids, out


def _targets(steps: dict) -> set[str]:
    out: set[str] = set()
    for step in steps.values():
        for a in step.get("answers", []):
            out.update([a["next"]] if isinstance(a["next"], str) else [b["to"] for b in a["next"]])
    return out


def _reachable(steps: dict, start: str) -> dict:
    """Steps in order, without any that nothing leads to (an unused end)."""
    seen, todo = {start}, [start]
    while todo:
        for a in steps[todo.pop()].get("answers", []):
            for to in [a["next"]] if isinstance(a["next"], str) else [b["to"] for b in a["next"]]:
                if to not in seen:
                    seen.add(to)
                    todo.append(to)
    return {k: v for k, v in steps.items() if k in seen}
