"""The customer's language: Flask-Babel, its gettext catalogues and the choice of locale.

Catalogues live in ``assistant/translations/<lang>/LC_MESSAGES/messages.po`` (the source, in
git); the app compiles each to ``messages.mo`` in ``<instance>/translations`` when that is
missing or older than its ``.po`` (:func:`compile_catalogues`), so a fresh clone, ``make run``
and ``make test`` need no extra step and no compiled file is committed.

The locale of a request (:func:`select_locale`): ``?lang=`` if it names a language we have,
else the language stored on the session being shown (chosen with the switcher, or when the
session started), else the browser's ``Accept-Language``, else English. The console stays
English (``console.*`` pages are staff pages).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, format_decimal, get_locale, get_translations, gettext, refresh
from jinja2 import pass_eval_context
from markupsafe import Markup

from ..conversation.text import Text
from ..flow import Flow
from ..flow.translate import localize
from ..resources import PACKAGE

CATALOGUES = PACKAGE / "translations"
DEFAULT = "en"
# Pages without a session that a page opened with ?lang= links to (session pages have theirs).
LINKED = frozenset({"wizard.start", "wizard.begin", "wizard.start_session", "wizard.describe"})
NAMES = {"en": "English", "es": "Español"}  # each language's name in itself, for the switcher


@cache  # the catalogues ship with the package; asked several times per request (a listdir)
def languages() -> tuple[str, ...]:
    """The languages the UI speaks: English and every catalogue shipped."""
    found = sorted(p.name for p in CATALOGUES.iterdir()
                   if (p / "LC_MESSAGES" / "messages.po").is_file())
    return (DEFAULT, *[lang for lang in found if lang != DEFAULT])


def compile_catalogues(target: Path) -> Path:
    """Compile each ``.po`` under :data:`CATALOGUES` to ``target/<lang>/LC_MESSAGES/
    messages.mo`` unless an up-to-date one is there; returns ``target``.

    Raises:
        OSError: ``target`` cannot be written.
    """
    for po in CATALOGUES.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(CATALOGUES).with_suffix(".mo")
        if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        partial = mo.with_suffix(f".{id(catalog)}.tmp")  # two workers at once: no torn file
        with partial.open("wb") as f:
            write_mo(f, catalog)
        partial.replace(mo)
    return target


def normalize(value: str | None) -> str | None:
    """``"es-MX"``, ``"ES"``, ``"es_419"`` → ``"es"`` if we speak it; else None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in languages() else None


def select_locale() -> str:
    """The request's language (see the module's docstring)."""
    if not has_request_context():
        return DEFAULT
    if request.blueprint == "console":
        return DEFAULT
    return (normalize(request.args.get("lang")) or getattr(g, "session_language", None)
            or request.accept_languages.best_match(languages()) or DEFAULT)


def current_language() -> str:
    """The language of the page being rendered (``"en"``, ``"es"``)."""
    return str(get_locale() or DEFAULT)


def translated(text):
    """``text`` in the page's language: a :class:`~assistant.conversation.text.Text` from the
    application layer sentence by sentence (integers formatted for the locale); plain text
    as it is; None stays None."""
    if not isinstance(text, Text):
        return text
    return " ".join(
        gettext(msgid, **{k: format_decimal(v) if isinstance(v, int) and not isinstance(
            v, bool) else v for k, v in params.items()})
        if params else gettext(msgid) for msgid, params in text.parts)


def translated_errors(errors: dict | None) -> dict:
    """Each field's message of ``errors`` (field → text) in the page's language."""
    return {field: translated(text) for field, text in (errors or {}).items()}


def use_session_language(language: str | None) -> None:
    """The page shows a session: its stored language applies unless ``?lang=`` says other."""
    g.session_language = normalize(language)
    refresh()  # a locale already chosen for this request (an error, a route) is chosen again


def _translations():
    """The request's catalogue, looked up once per locale per request: Flask-Babel's own
    lookup walks several context objects on each of the ~20 strings of a step page."""
    ctx = getattr(g, "_flask_babel", None)
    locale = getattr(ctx, "babel_locale", None)
    cached = getattr(ctx, "translations_for", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    ctx = getattr(g, "_flask_babel", None)  # made by the lookup when missing
    if ctx is not None:
        ctx.translations_for = (getattr(ctx, "babel_locale", None), translations)
    return translations


def _template_gettext() -> dict:
    """The templates' ``_``, ``gettext``, ``ngettext``, ``pgettext`` and ``npgettext``: Jinja's
    newstyle gettext (the translation is a format string for the call's keyword arguments,
    escaped under autoescape; see jinja2.ext._make_new_gettext), from the request's catalogue.

    They take the evaluation context, not the template context as Jinja's own do: Jinja 3.1
    calls a ``pass_context`` function inside a loop, or in a block that ``{% set %}`` a
    variable, with a derived copy of the whole context (``jinja2.runtime.Context.call``),
    ~10 µs a call, and a step page makes ~20 of them, two per transcript line."""
    def formatted(eval_ctx, text: str, variables: dict):
        return (Markup(text) if eval_ctx.autoescape else text) % variables

    @pass_eval_context
    def gettext_(eval_ctx, string, **variables):
        return formatted(eval_ctx, _translations().ugettext(string), variables)

    @pass_eval_context
    def ngettext_(eval_ctx, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return formatted(eval_ctx, _translations().ungettext(singular, plural, num), variables)

    @pass_eval_context
    def pgettext_(eval_ctx, context, string, **variables):
        variables.setdefault("context", context)
        return formatted(eval_ctx, _translations().upgettext(context, string), variables)

    @pass_eval_context
    def npgettext_(eval_ctx, context, singular, plural, num, **variables):
        variables.setdefault("context", context)
        variables.setdefault("num", num)
        return formatted(eval_ctx, _translations().unpgettext(context, singular, plural, num),
                         variables)

    return {"_": gettext_, "gettext": gettext_, "ngettext": ngettext_, "pgettext": pgettext_,
            "npgettext": npgettext_}


def install(app: Flask) -> None:
    """Set Flask-Babel up on ``app``: catalogues compiled into the instance folder, the
    locale selector, and for templates ``current_language()``, ``language_names`` and
    ``languages``; wizard and embed URLs keep a ``?lang=`` the page was opened with."""
    target = compile_catalogues(Path(app.instance_path) / "translations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(target))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_language=current_language, language_names=NAMES,
                                 languages=languages())
    app.jinja_env.filters["number"] = format_decimal  # 15,000 / 15.000 by language
    app.jinja_env.filters["translated"] = translated  # the application layer's texts
    app.jinja_env.newstyle_gettext = True  # {% trans %} passes its variables to gettext
    app.jinja_env.globals.update(_template_gettext())

    @app.url_defaults
    def _keep_lang(endpoint: str, values: dict) -> None:
        # A page opened with ?lang=es links on in Spanish (GET pages carry no session).
        if (endpoint in LINKED or endpoint.startswith("embed.")) and has_request_context():
            lang = normalize(request.args.get("lang")) or g.get("session_language")
            if lang and "lang" not in values:
                values["lang"] = lang


class FlowTexts:
    """The flows' translations (see :mod:`assistant.flow.translate`), and each flow version
    in each language made once: ``localized(flow)`` is the flow in the page's language."""

    def __init__(self, translations: dict):
        self.translations = translations  # {(flow_id, language): FlowTranslation}
        self._made: dict[tuple[str, str, str], Flow] = {}

    def localized(self, flow: Flow, language: str | None = None) -> Flow:
        """``flow`` in ``language`` (default: the page's); as it is without a translation."""
        language = language or current_language()
        translation = self.translations.get((flow.id, language))
        if translation is None:
            return flow
        key = (flow.id, flow.version, language)
        if key not in self._made:
            self._made[key] = localize(flow, translation)
        return self._made[key]


def localized(flow: Flow) -> Flow:
    """``flow`` in the current page's language."""
    from flask import current_app
    texts = current_app.extensions.get("flow_texts")
    return texts.localized(flow) if texts is not None else flow
