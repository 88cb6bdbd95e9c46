"""Routing data: the routing files beside the loaded flows (their format is in :mod:`.schema`),
checked against the flows and the diagnosis catalogue, with another language's files added.

**Other languages** (``es``): ``routing/_common.es.yaml`` and ``routing/<flow id>.es.yaml``, the
same keys, for customers who write in that language. They add to the base files: names,
synonyms, phrases and word lists are the base's plus theirs (customers mix in English words and
vendors' messages stay English), while what is said to the customer (questions, ``no_guide``,
``messages``, each cause's ``recognised``) is theirs, and must be complete: a family, a
message or a cause sentence of the base without one in the language is refused, so the
customer never reads a sentence in another language. A flow without a file in the language
keeps its base words, as a flow without a translation keeps its text.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..flow import Flow, FlowError, FlowProblem
from ..flow.translate import translation_language
from .schema import (
    BASE_LANGUAGE,
    COMMON_FILE,
    ROUTING_DIR,
    Answers,
    CommonFile,
    FlowWords,
    Messages,
    RoutingData,
    line_of,
    read_file,
)


def _cross_check(path: Path, words: FlowWords, flow: Flow | None,
                 system_causes: tuple[str, ...], suffix: str = "") -> list[FlowProblem]:
    """A flow's words must name a loaded flow whose file name they share, and only causes of
    that flow's system."""
    name = str(path)
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    if flow is None:
        return [FlowProblem(name, line_of(node, ("flow",)), "flow",
                            f"no flow '{words.flow}' is loaded")]
    problems = []
    if path.name != f"{words.flow}{suffix}.yaml":
        problems.append(FlowProblem(name, line_of(node, ("flow",)), "flow",
                                    f"the file of flow '{words.flow}' must be named "
                                    f"{words.flow}{suffix}.yaml"))
    for cause in words.causes:
        if cause not in system_causes:
            problems.append(FlowProblem(name, line_of(node, ("causes", cause)),
                                        f"causes.{cause}",
                                        f"not a cause of {flow.system} in the diagnosis "
                                        "catalogue"))
    return problems


def _language_of(path: Path) -> str:
    """``'es'`` for ``salesforce.es.yaml`` and ``_common.es.yaml``; the base language else."""
    return translation_language(path) or BASE_LANGUAGE


def _common_file(language: str) -> str:
    """``_common.yaml``, ``_common.es.yaml``."""
    return COMMON_FILE if language == BASE_LANGUAGE else f"_common.{language}.yaml"


def _read_language(flows: dict[str, Flow], folders: list[Path], language: str
                   ) -> tuple[CommonFile | None, Path | None, dict[str, tuple[FlowWords, Path]],
                              list[FlowProblem]]:
    """The files of one ``language`` in ``folders``: the first common file, each flow's words
    (with its file) and the problems found."""
    from ..probes.diagnosis import causes_for

    common: CommonFile | None = None
    common_path: Path | None = None
    per_flow: dict[str, tuple[FlowWords, Path]] = {}
    problems: list[FlowProblem] = []
    suffix = "" if language == BASE_LANGUAGE else f".{language}"
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            if _language_of(path) != language:
                continue
            try:
                if path.name == _common_file(language):
                    if common_path is None:
                        common_path = path
                        common = read_file(path, CommonFile)
                    continue
                words = read_file(path, FlowWords)
            except FlowError as e:
                problems.extend(e.problems)
                continue
            flow = flows.get(words.flow)
            try:
                system_causes = causes_for(flow.system) if flow else ()
            except ValueError:
                system_causes = ()
            found = _cross_check(path, words, flow, system_causes, suffix)
            problems.extend(found)
            if not found:
                per_flow.setdefault(words.flow, (words, path))
    return common, common_path, per_flow, problems


def _check_families(common: CommonFile, path: Path, flows: dict[str, Flow]
                    ) -> list[FlowProblem]:
    """The families of a common file beside these flows must name them."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    return [FlowProblem(str(path), line_of(node, ("families", i, "flows", j)),
                        f"families[{i}].flows[{j}]", f"no flow '{flow_id}' is loaded")
            for i, family in enumerate(common.families)
            for j, flow_id in enumerate(family.flows) if flow_id not in flows]


def _merged(base: RoutingData, common: CommonFile, common_path: Path,
            per_flow: dict[str, tuple[FlowWords, Path]], language: str
            ) -> tuple[RoutingData | None, list[FlowProblem]]:
    """``base`` with a language's files added (see the module docstring), or the sentences
    for customers the language's files lack."""
    problems: list[FlowProblem] = []
    node = yaml.compose(common_path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    if "messages" not in common.model_fields_set or \
            common.messages.model_fields_set != set(Messages.model_fields):
        missing = sorted(set(Messages.model_fields) - (
            common.messages.model_fields_set if "messages" in common.model_fields_set else set()))
        problems.append(FlowProblem(str(common_path), line_of(node, ("messages",)), "messages",
                                    f"no {language} text for: {', '.join(missing)}"))
    families = []
    for family in base.common.families:
        own = [f for f in common.families if set(f.flows) == set(family.flows)]
        if not own:
            problems.append(FlowProblem(str(common_path), line_of(node, ("families",)),
                                        "families", f"no {language} question for the family of "
                                        f"{', '.join(family.flows)}"))
            continue
        names = list(dict.fromkeys([*family.names, *own[0].names]))
        families.append(own[0].model_copy(update={"names": names, "flows": family.flows}))

    def both(key: str) -> list[str]:
        return list(dict.fromkeys([*getattr(base.common, key), *getattr(common, key)]))

    merged_common = common.model_copy(update={
        "families": families,
        **{key: both(key) for key in ("other_products", "problem_words", "activity_words",
                                      "healthy_words", "contrast_words", "exception_words",
                                      "stop_words", "keep_words")},
        "answers": Answers(yes=list(dict.fromkeys([*base.common.answers.yes,
                                                   *common.answers.yes])),
                           no=list(dict.fromkeys([*base.common.answers.no,
                                                  *common.answers.no])))})
    flows: dict[str, FlowWords] = {}
    for flow_id, words in base.flows.items():
        own, path = per_flow.get(flow_id, (None, None))
        if own is None:   # not translated: its words and sentences as they are, like its text
            flows[flow_id] = words
            continue
        own_node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        causes = {}
        for cause, entry in words.causes.items():
            mine = own.causes.get(cause)
            if mine is None:
                problems.append(FlowProblem(str(path), line_of(own_node, ("causes",)), "causes",
                                            f"no {language} sentence for the cause {cause}"))
                continue
            causes[cause] = mine.model_copy(update={
                "phrases": list(dict.fromkeys([*entry.phrases, *mine.phrases]))})
        for cause, mine in own.causes.items():
            causes.setdefault(cause, mine)
        flows[flow_id] = own.model_copy(update={
            "names": list(dict.fromkeys([*words.names, *own.names])),
            "synonyms": list(dict.fromkeys([*words.synonyms, *own.synonyms])),
            "causes": causes})
    if problems:
        return None, problems
    return RoutingData(merged_common, flows, language), []


def _shipped_common(language: str, problems: list[FlowProblem]
                   ) -> tuple[CommonFile | None, Path]:
    """The common file of ``language`` shipped with the package, and its path: for flows
    elsewhere (FLOWS_PATH) without their own. Its problems (missing, bad YAML, unknown keys)
    are added to ``problems`` and the file is then None."""
    from ..resources import flows_dir
    path = flows_dir() / ROUTING_DIR / _common_file(language)
    try:
        return read_file(path, CommonFile), path
    except FlowError as e:
        problems.extend(e.problems)
        return None, path


def load_routing(flows: dict[str, Flow], folders: list[Path],
                 language: str = BASE_LANGUAGE) -> RoutingData:
    """The routing data of ``flows`` for customers writing in ``language``: the first
    ``_common.yaml`` found in ``folders`` (each a ``routing/`` folder beside flow files) and
    every ``<flow id>.yaml`` there; for another language, those with its files added
    (``_common.es.yaml``, ``<flow id>.es.yaml``; see the module docstring).

    Raises FlowError with every problem (bad YAML, unknown keys, a file naming a flow that is
    not loaded, a cause of another system, a family naming an unknown flow, no common file,
    a sentence for the customer missing in ``language``)."""
    common, common_path, found, problems = _read_language(flows, folders, BASE_LANGUAGE)
    if common_path is None:
        common, common_path = _shipped_common(BASE_LANGUAGE, problems)
    elif common is not None:
        # the shipped one used for other flows keeps only the families whose flows are loaded
        problems.extend(_check_families(common, common_path, flows))
    if problems:
        raise FlowError(problems)
    assert common is not None
    common = _loaded_families(common, flows)
    data = RoutingData(common, {fid: words for fid, (words, _) in found.items()})
    if language == BASE_LANGUAGE:
        return data
    common_l, common_l_path, found_l, problems = _read_language(flows, folders, language)
    if common_l_path is None and not problems:
        common_l, common_l_path = _shipped_common(language, problems)
    elif common_l is not None:
        problems.extend(_check_families(common_l, common_l_path, flows))
    if not problems:
        merged, problems = _merged(data, _loaded_families(common_l, flows), common_l_path,
                                   found_l, language)
    if problems:
        raise FlowError(problems)
    return merged


def _loaded_families(common: CommonFile, flows: dict[str, Flow]) -> CommonFile:
    """``common`` with only the families, and their flows, that are loaded."""
    families = [f for f in common.families if sum(1 for i in f.flows if i in flows) >= 2]
    return common.model_copy(update={"families": [
        f.model_copy(update={"flows": [i for i in f.flows if i in flows]}) for f in families]})


def routing_folders(flows: dict[str, Flow]) -> list[Path]:
    """The ``routing/`` folders beside the loaded flows' files, in the flows' order."""
    out: list[Path] = []
    for flow in flows.values():
        folder = Path(flow.file).parent / ROUTING_DIR
        if folder not in out:
            out.append(folder)
    return out


def routing_languages(folders: list[Path]) -> list[str]:
    """The base language and each language with a routing file in ``folders``."""
    found = {_language_of(p) for f in folders if f.is_dir() for p in f.glob("*.yaml")}
    return [BASE_LANGUAGE, *sorted(found - {BASE_LANGUAGE})]
