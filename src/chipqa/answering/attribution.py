"""Whose figure is it: the checks that tie a figure to the asked party and model, or to someone else's.

A mixin of Scorer (features.py): each method reads the question (`q`), its term matcher and its required
terms, and returns a feature in [0, 1] that `select.verified` gates on or the ranker weighs: another party
named before the figure or as its verb's subject, a parallel list, another model's code before or after it,
a total beside per-model parts, a mix of models, a table row of someone else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chipqa.answering import language as lang
from chipqa.answering.clauses import HARDWARE, modifier_after, products, unit_fit
from chipqa.answering.gather import Sentence, TermMatcher
from chipqa.answering.parties import NAME, name_pair, party_names, plural_anaphor
from chipqa.answering.understand import Question
from chipqa.core.figures import Figure
from chipqa.core.text import UPPER

# A party named as the subject of the verb whose object is the figure: "Lambda had bought", "Vultr ordered".
# (Not "shipped" or "delivered": their subject is the supplier.)
_VERBS_OF_HAVING = "|".join(
    sorted(
        {
            *lang.VERB_CLASSES["order"].split(),
            *lang.VERB_CLASSES["operate"].split(),
            "received",
            "installed",
            "deployed",
        },
        key=len,
        reverse=True,
    )
)
_BUYER_BEFORE = re.compile(
    rf"(?P<name>(?:{UPPER}[\w&'’.-]*\s+){{0,3}}{UPPER}[\w&'’.-]*)\s+(?:(?:has|have|had|will|would|also|reportedly|"
    rf"already|now|then)\s+){{0,2}}(?:{_VERBS_OF_HAVING})\s+(?:(?:about|around|roughly|approximately|some|nearly|"
    rf"almost|over|more\s+than|at\s+least|up\s+to|an\s+estimated)\s+)?$"
)
# Between two model codes of a list: a comma, "and", "or", a slash, perhaps a maker's name ("and AMD MI300X").
_PRODUCT_LIST_GAP = re.compile(rf"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|&)\s+|/)(?:{UPPER}[^\W\d_]+\s+){{0,2}}")
# The buyer named after a figure: "36,000 stacks ordered from Micron by Penang Lumina".
_AGENT_AFTER = re.compile(
    rf"\b(?:ordered|bought|purchased|acquired|booked|placed|reserved|taken)\b[^.;]{{0,60}}?\bby\s+((?:{UPPER}[\w&'’.-]*\s*){{1,4}})"
)


# Between the words of one name: a space, or "of", "at", "de" or "&" ("University of Texas at Austin").
_NAME_JOINER = re.compile(r"\s+(?:(?:of|at|de|du|del|der|von|&)\s+)?$")


def whole_name(text: str, m: re.Match[str]) -> str:
    """The name a capitalised word ends, with the capitalised words joined to it before ("University" of "Rice
    University", "Austin" of "the University of Texas at Austin"); NAME matches one word at a time."""
    start = m.start()
    words = list(NAME.finditer(text, max(0, start - 80), start))
    for w in reversed(words):
        if not _NAME_JOINER.fullmatch(text[w.end() : start]) or w.group(0).lower() in lang.STOPWORDS:
            break
        start = w.start()
    return text[start : m.end()]


class Attribution:
    """The attribution checks; Scorer sets the attributes below."""

    q: Question
    matcher: TermMatcher
    required: list[int]

    def _foreign_before(self, s: Sentence, fig: Figure, clause_start: int) -> float:
        """1 when the party nearest before the figure is not one the question asks about: in a table row, the
        row's label; elsewhere the name nearest before it in its sentence (a maker's name before a model code,
        as in "Nvidia B200", names no party)."""
        text = s.text
        if s.kind == "table_row" and s.row_label:
            label = s.doc.text[s.row_label[0] : s.row_label[1]]
            return 0.0 if self._is_question_name(label) else 1.0
        names = party_names(text, 0, fig.start, self.q.names or None)
        if not names:
            return 0.0
        nearest = names[-1]
        if self._is_question_name(nearest.group(0)) or self._is_question_name(whole_name(text, nearest)):
            return 0.0  # "Rice University 864": the name is its words together, "University" alone no party
        # A name of the question between it and the figure would have been nearer; this one is someone else's.
        if nearest.start() >= clause_start or not any(self._is_question_name(n.group(0)) for n in names):
            return 1.0
        return 0.5

    def _owned_elsewhere(self, text: str, fig: Figure, figures: Sequence[Figure]) -> float:
        """1 in a parallel list ("A bought 224,000, B 196,000 and C 169,000") when the name between the
        previous figure and this one is another party's while the asked party owns another figure of the
        same sentence the same way (the name at most two words before the figure): this figure is that other
        party's, not the asked one's."""
        if not self.q.names:
            return 0.0

        def owner(f: Figure) -> str | None:
            start = max((g.end for g in figures if g.end <= f.start), default=0)
            found = party_names(text, start, f.start, self.q.names)
            if not found or len(re.findall(r"[\w'’-]+", text[found[-1].end() : f.start])) > 2:
                return None  # a list pairs each name with the figure right after it ("Meta acquired 224,000")
            return whole_name(text, found[-1])

        own = owner(fig)
        if own is None or self._is_question_name(own):
            return 0.0
        for other in figures:
            if other.start != fig.start and other.kind == fig.kind:
                name = owner(other)
                if name is not None and self._is_question_name(name):
                    return 1.0
        return 0.0

    def _buyer_before(self, text: str, fig: Figure, clause_start: int) -> float:
        """1 when the figure is what another party, named as the subject right before its verb, bought, got or
        runs ("said Lambda had bought roughly 41,000 GPUs"): the name, at most an auxiliary or an adverb, the
        verb, at most a qualifier, then the figure."""
        if not any(not self.q.terms[i].code for i in self.required):
            return 0.0  # the question names no party to tell apart
        m = _BUYER_BEFORE.search(text, clause_start, fig.start)
        if not m:
            return 0.0
        found = party_names(text, m.start("name"), m.end("name"), self.q.names or None)
        if not found or found[-1].end() != m.end("name"):
            return 0.0
        before = text[max(0, found[0].start() - 8) : found[0].start()]
        if re.search(r"\b(?:of|from|at|in|for|with|by|to|like|than)\s+$", before):
            return 0.0  # "the publisher of PUBG has ordered": the name ends a phrase, it is not the subject
        whole = text[found[0].start() : m.end("name")]  # "Varro Labs": NAME matches a word at a time
        if self._is_question_name(whole) or any(self._is_question_name(n.group(0)) for n in found):
            return 0.0
        return 1.0

    def _mixed(self, text: str, fig: Figure, figures: Sequence[Figure], clause_start: int, clause_end: int) -> float:
        """1 when the figure counts several models at once ("10,900 GPUs, mostly H100, H200 and B200") while
        the question asks about only some of them; models that have figures of their own ("5,500 K9s and 3,500 H4s")
        are not mixed into this one."""
        after = [f.start for f in figures if f.start > fig.start]
        end = min([clause_end, *after])
        # models named before the figure but after an earlier one are that one's ("2,400 MI300X and 4,000 MI325X")
        earlier = any(clause_start <= f.start and f.end <= fig.start for f in figures)
        start = fig.start if earlier else clause_start
        clause = text[clause_start:end]
        groups = products(text, start, end)
        # Two products joined as a list: "H100, H200 and B200", "A100 and H800", "B200/B300".
        listed = any(
            _PRODUCT_LIST_GAP.fullmatch(text[a[-1].end() : b[0].start()])
            for a, b in zip(groups, groups[1:], strict=False)
        )
        codes = {" ".join(m.group(0).upper() for m in g) for g in groups}
        asked = [i for i, t in enumerate(self.q.terms) if t.code]
        unasked = [c for c in codes if not any(self.matcher.strength(i, c) > 0 for i in asked)]
        if not asked or len(codes) < 2 or not unasked:
            return 0.0  # a question that names every model counted ("A100 and H800 units") asks for the mix
        return 1.0 if listed or re.search(r"\b(mix|mostly|mainly|including)\b", clause) else 0.0

    def _foreign_agent(self, text: str, fig: Figure, clause_end: int) -> float:
        """1 when the clause names the figure's buyer after it as someone else ("36,000 stacks ordered ... by
        Penang Lumina")."""
        after = text[fig.end : clause_end]
        m = _AGENT_AFTER.search(after)
        if not m or m.group(1).split()[0].lower() in lang.MONTHS:
            return 0.0
        return 0.0 if self._is_question_name(m.group(1).strip()) else 1.0

    def _codes(
        self, text: str, fig: Figure, figures: Sequence[Figure], clause_start: int, modifier: str
    ) -> tuple[float, float]:
        """(foreign_code_before, code_missing) for a question that names a model: the model code nearest
        before the figure in its clause is another one ("the H200 fleet ran at 94% and the MI355X fleet at
        81%"); or the figure's own words do not name the asked model while the sentence ties it to another
        figure ("14,336 at year end: 8,192 H200s and 6,144 MI355X")."""
        asked = [i for i, t in enumerate(self.q.terms) if t.code]
        if not asked:
            return 0.0, 0.0
        # a model named right after an earlier figure is what that one counts ("2,400 MI300X and 4,000 MI325X")
        start = clause_start
        for other in figures:
            if clause_start <= other.start and other.end <= fig.start:
                words = modifier_after(text, other)
                at = text.find(words, other.end) if words else -1
                if 0 <= at - other.end <= 2 and at + len(words) <= fig.start:
                    start = max(start, at + len(words))
        before = products(text, start, fig.start)
        foreign = 0.0
        # the nearest product before the figure, all its codes: "GB300 NVL72" is one product
        if before:
            # with the word before it, which may be the product's family ("Halo H4", "Gaudi 3")
            family = re.search(r"[^\W\d_]+\s+$", text[clause_start : before[-1][0].start()])
            named = text[clause_start + family.start() if family else before[-1][0].start() : before[-1][-1].end()]
            if not any(self.matcher.strength(i, named) > 0 for i in asked):
                foreign = 1.0
        in_modifier = any(self.matcher.strength(i, modifier) > 0 for i in asked)
        elsewhere = any(self.matcher.strength(i, text) > 0 for i in asked)
        others = [f for f in figures if f.start != fig.start]
        missing = (
            1.0
            if not in_modifier and elsewhere and others and foreign == 0.0 and not self._tied_before(text, fig, asked)
            else 0.0
        )
        return foreign, missing

    def _code_elsewhere(self, text: str, fig: Figure, figures: Sequence[Figure], modifier: str) -> float:
        """1 when the asked model is what another figure of the sentence counts ("14,336 at year end: 8,192
        H200s and 6,144 MI355X" for the H200s: 8,192 is theirs) and this figure's own words do not name it."""
        asked = [i for i, t in enumerate(self.q.terms) if t.code]
        if not asked or any(self.matcher.strength(i, modifier) > 0 for i in asked):
            return 0.0
        if self._tied_before(text, fig, asked) or lang.PART_OF.match(text[fig.end : fig.end + 16]):
            return 0.0  # "5,800 of them": a part of the figure that names the model
        for other in figures:
            counts = {other.kind, fig.kind} <= {"count", "number"}
            if other.start != fig.start and (counts or other.kind == fig.kind) and unit_fit(self.q.unit, other) > 0:
                words = modifier_after(text, other)  # 4,160 GPUs beside 520 B200 systems are no rival
                if any(self.matcher.strength(i, words) > 0 for i in asked):
                    return 1.0
        return 0.0

    def _tied_before(self, text: str, fig: Figure, asked: list[int]) -> bool:
        """An asked model is named just before the figure ("MI355X fleet at 81%")."""
        window = text[max(0, fig.start - 30) : fig.start]
        return any(self.matcher.strength(i, window) > 0 for i in asked)

    def _row_mismatch(self, s: Sentence) -> float:
        """1 for a table row that does not itself name every party and model the question requires: a row is a
        record of its own, and the neighbouring rows are other buyers'."""
        if s.kind != "table_row":
            return 0.0
        needed = [i for i in self.required if not self.q.terms[i].optional]
        return 0.0 if self.matcher.present(s.text, needed) else 1.0

    def _other_subject(self, s: Sentence) -> float:
        """1 when a sentence that does not name the question's subject plainly belongs to another one: it says
        "Both companies" after a pair of names that leaves the subject out, or it stands under a heading that
        names someone else ("Foxconn's Kaohsiung AI factory" over "The company has ordered ...")."""
        if not self.required or self.matcher.present(s.text, self.required):
            return 0.0
        doc = s.doc.text
        if plural_anaphor(s.text):
            for a, b in [*reversed(s.before), *([s.heading] if s.heading else [])]:
                pair = name_pair(doc, a, b)
                if pair:
                    return 0.0 if any(self.matcher.strength(i, pair) > 0 for i in self.required) else 1.0
        if self.matcher.present(s.context_text, self.required):
            return 0.0
        if s.heading and s.kind != "table_row":
            heading = doc[s.heading[0] : s.heading[1]].strip("#* ")
            names = party_names(doc, *s.heading, self.q.names or None)
            if names and heading != s.doc.title and not any(self._is_question_name(n.group(0)) for n in names):
                return 0.5  # probably another party's section: weighed, not ruled out
        return 0.0

    def _referent(self, s: Sentence) -> float:
        """Whom a sentence that does not name the question's subject is about ("The company ordered ..."): the
        nearest party named before it (previous sentences, then its heading, then the article's lead): 1 when
        that is the question's, 0 when it is another party, 0.5 when the sentence names the subject itself or
        nothing before it names anyone."""
        if not self.required or self.matcher.present(s.text, self.required):
            return 0.5
        doc = s.doc.text
        spans = [*reversed(s.before), *([s.heading] if s.heading else []), *([s.lead] if s.lead else [])]
        if plural_anaphor(s.text):
            # "Both companies ordered ...", "They ...": the last pair of names joined by "and" before it.
            for a, b in spans:
                pair = name_pair(doc, a, b)
                if pair:
                    return 1.0 if any(self.matcher.strength(i, pair) > 0 for i in self.required) else 0.0
            return 0.5
        for a, b in spans:
            names = party_names(doc, a, b, self.q.names or None)
            if names:
                return 1.0 if any(self._is_question_name(n.group(0)) for n in names[-2:]) else 0.0
        return 0.5

    def _modifier(self, modifier: str, sentence: str) -> tuple[float, float]:
        """(foreign, match): what the figure counts, named right after it ("485,000 Hopper chips": its last
        name or code, a maker's prefix aside), is not / is a thing the question names. Foreign counts only when
        the question names a thing of its own that the sentence does not give."""
        names = [m.group(0) for m in NAME.finditer(modifier) if m.group(0).lower().rstrip("s") not in HARDWARE]
        if not names:
            return 0.0, 0.0
        product = names[-1]
        if self._is_question_name(product) or self._names_question_term(modifier):
            return 0.0, 1.0  # "Hopper chips"; "Tensor Processing Units", a name of several words
        asked = [i for i in self.required if self.q.terms[i].product]
        return (1.0 if asked else 0.0), 0.0

    def _names_question_term(self, text: str) -> bool:
        return any(self.matcher.strength(i, text) >= 1.0 for i in range(len(self.q.terms)))

    def _is_question_name(self, name: str) -> bool:
        return any(self.matcher.strength(i, name) > 0 for i in range(len(self.q.terms))) or any(
            name.lower().startswith(t.text.lower()) or t.text.lower().startswith(name.lower() + " ")
            for t in self.q.terms
        )  # "Lambda Labs" asked, "Lambda" written: the short form of the same name

    def _collective(self, clause: str, fig: Figure) -> float:
        """1 when the figure is a total for several parties while the question asks about one."""
        if self.q.operation == "sum" or len(self.q.items) >= 2:
            return 0.0
        if lang.COLLECTIVE.search(clause):
            return 1.0
        names = [m.group(0) for m in NAME.finditer(clause)]
        joined = re.search(rf"\b{UPPER}[\w-]+(?:,\s*{UPPER}[\w-]+)*\s+(?:and|&)\s+{UPPER}[\w-]+\b", clause)
        return 0.5 if joined and len(names) >= 2 else 0.0
