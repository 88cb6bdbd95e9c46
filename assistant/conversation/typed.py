"""Free text in a conversation: a customer's description or pasted error routed to a guide
(:meth:`TypedText.route`, :meth:`TypedText.start_from_text`), and words typed at a step
matched to one of its answers (:meth:`TypedText.match_answer`, :meth:`TypedText.say`). Part
of :class:`~.service.Conversations` (a mixin: it uses the flows, the store and the answer
path there); the matching itself is :mod:`assistant.routing`'s."""

from __future__ import annotations

from collections.abc import Collection

from ..engine import CompiledFlow
from ..launch import Launch
from ..store import FlowSession
from . import errors
from .launching import WITHOUT_CHECK
from .results import Said
from .text import _l


class TypedText:
    """The free-text methods of :class:`~.service.Conversations` (which sets ``_routers``,
    a dict language → router, and ``_router_lock``)."""

    @property
    def router(self):
        """The English :class:`~assistant.routing.Router` (see :meth:`router_for`)."""
        return self.router_for(None)

    def router_for(self, language: str | None):
        """The :class:`~assistant.routing.Router` over the served flows for customers writing
        in ``language`` (``"es"``; None or a language the routing does not speak: English),
        built on first use (its index takes a moment to build)."""
        from ..routing.data import BASE_LANGUAGE
        from ..routing.text import STEMMERS
        language = language if language in STEMMERS else BASE_LANGUAGE
        router = self._routers.get(language)
        if router is None:
            with self._router_lock:
                router = self._routers.get(language)
                if router is None:
                    from ..routing import load_router
                    router = self._routers[language] = load_router(self.flows, language)
        return router

    def route(self, text: str, language: str | None = None):
        """Where free ``text`` (a description or a pasted error) written in ``language``
        leads: a :class:`~assistant.routing.Route` (a guide and the step to open, a
        clarifying question, or no guide), whose sentences are in that language. Never raises
        for any text."""
        return self.router_for(language).route(text)

    def start_from_text(self, text: str, *, launch: Launch | None = None,
                        chosen: str | None = None, language: str | None = None):
        """Route ``text`` and, if it leads to a guide, start a session there (at the step of
        the cause it names), keeping the text and what the router said (the first step shows
        it). Returns ``(route, started or None)``.

        ``chosen``: the guide the customer picked after a clarifying question about ``text``
        (one of the route's alternatives, or any served guide): that guide is started at its
        start. ``launch`` as for :meth:`start`; without one, in demo mode, the guide's first
        demo connection is bound (as the demo's start page preselects it). ``language``: the
        customer's, as for :meth:`start`; ``text`` is routed in it (see :meth:`route`) and what
        the router said is kept in it.

        Raises:
            LaunchRefused: the launch token is for another guide than the one routed to.
            FlowNotFound: ``chosen`` is not a served guide.
        """
        text = text.strip()
        if chosen is not None:
            flow = self.flow(chosen).flow
            found = None
            flow_id, step, note = flow.id, None, None
        else:
            found = self.route(text, language)
            if found.flow is None:
                return found, None
            flow_id, step, note = found.flow, found.step, found.message
        if launch is not None and launch.flow_id and launch.flow_id != flow_id:
            raise errors.LaunchRefused(_l("This link is for another guide, so it can't be "
                                          "used to check your connection here."
                                          ).then(WITHOUT_CHECK))
        connection_id = None
        if launch is None and self.connections.demo:
            choices = self.connections.for_system(self.flow(flow_id).flow.system)
            connection_id = choices[0].id if choices else None
        return found, self.start(flow_id, launch=launch, step=step, opened_with=text,
                                 route_note=note, connection_id=connection_id,
                                 language=language)

    def match_answer(self, sid: str, text: str, n: int | None = None):
        """The answer of the session's step at path index ``n`` (None: the current one) that
        free ``text`` means: an :class:`~assistant.routing.AnswerMatch` (``answer``, or
        ``candidates`` to ask about). Changes nothing; :meth:`say` applies it."""
        row, compiled = self.load(sid)
        _, position, _ = self.position_at(row, compiled, row.position if n is None
                                          else max(0, min(n, row.position)))
        return self._match(row, compiled, position.step, text)

    def _match(self, row: FlowSession, compiled: CompiledFlow, step_id: str, text: str):
        """The answer of the session's step ``step_id`` that ``text`` means, read in the
        session's language against the step's answers as the customer sees them (the served
        flow's translation, when the session is on the served version)."""
        router = self.router_for(row.language)
        step = compiled.flow.steps[step_id]
        shown = router.flows.get(compiled.flow.id)
        if shown is not None and shown.version == compiled.flow.version \
                and step_id in shown.steps:
            step = shown.steps[step_id]
        return router.match_answer(step, text)

    def say(self, sid: str, n: int, text: str, revision: int | None,
            sent: Collection[int] = (), *, everything: bool = False,
            read_next: bool = True) -> Said:
        """Free ``text`` typed at the step at path index ``n``, seen at ``revision``: the
        answer it clearly means is applied as by :meth:`answer` (the same revision rules; the
        text is kept with the answer); otherwise nothing changes and the :class:`Said` names
        the candidates to ask about. ``everything``: as :meth:`answer`. ``read_next=False``
        applies it as :meth:`advance` does, for a client that asks for the next step itself
        (``view`` is then None).

        Raises:
            Invalid: ``errors["text"]``: nothing was typed. Otherwise as :meth:`answer`
            (Incomplete, Closed, Stale, CheckedAutomatically).
        """
        text = text.strip()
        row, compiled = self.load(sid)
        if revision is None:
            raise errors.Incomplete()
        if self.closed(row, sent):
            raise errors.Closed()
        if revision != row.revision or n > row.position or n < 0:
            raise errors.Stale()
        if not text:
            raise errors.Invalid(errors={"text": _l("Type your answer, or choose one of the "
                                                    "answers.")})
        _, position, _ = self.position_at(row, compiled, n)
        step = compiled.flow.steps[position.step]
        if step.is_probe:
            raise errors.CheckedAutomatically()
        match = self._match(row, compiled, position.step, text)
        if match.answer is None:
            return Said(row, n, False, match.candidates
                        or tuple(a.id for a in step.answers))
        if not read_next:
            row, at = self.advance(sid, n, match.answer, revision, sent, said=text)
            return Said(row, at, True)
        view = self.answer(sid, n, match.answer, revision, sent, said=text,
                           everything=everything)
        return Said(view.session, view.n, True, view=view)
