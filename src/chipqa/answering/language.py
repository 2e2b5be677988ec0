"""The language rules of answering, in one place.

Every list here is general English grammar or the ordinary vocabulary of business news (question words,
function words, words that mark the future, a total, a cause, a place), written from grammar references and
news style, not from the wording of any eval question or article. Nothing here names a company, chip or figure.
Weights that combine these signals are fitted, not written: see `ranker.json` and `chipqa.evaluation.fit`.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Function words and question scaffolding: never keywords of a question.
STOPWORDS = frozenset(
    """a an the and or but nor of in on at to for by with from as into onto over under about after before between
    during within without through per via than then so such this that these those there here it its it's they them
    their theirs he she his her we our you your i me my is are was were be been being am do does did done doing
    have has had having will would shall should can could may might must not no yes also just only very more most
    less least much many how what which who whom whose when where why whether if else any each every some all both
    either neither other others another same own up down out off again further once tell give list name please show
    find say according reported reportedly said says total overall exactly approximately roughly around nearly
    almost""".split()
)

# Words capitalised only because they open a question or a sentence in it: question words, connectives, greetings.
QUESTION_OPENERS = frozenset(
    """how what which who whom whose when where why did does do is are was were will would could can should has
    have had according in of the a an and or for to by per on at as with from tell give list name please say
    ignore answer show find roughly approximately about around after before adding among between by during
    excluding including overall since compared combined given based besides beyond exactly just only summarize
    summarise describe explain otherwise also then so now next finally instead however meanwhile separately
    again anyway lastly first second third furthermore moreover additionally therefore thus hence still yet okay
    ok well alright sure hi hello hey thanks""".split()
)

# Business words that end a company name and may be left out ("Kakao Corp" is "Kakao").
CORPORATE_SUFFIXES = frozenset(
    """inc inc. corp corp. corporation co co. company ltd ltd. limited plc ag se sa nv bv gmbh llc lp group holdings
    holding labs lab technologies technology tech""".split()
)

# Capitalised words of the trade that name no party ("AI", "GPU", "CEO").
GENERIC_CAPS = frozenset("ai gpu gpus cpu cpus hpc it ceo cfo cto coo ipo llm llms api cloud data".split())

# Count nouns for compute hardware: a question about "accelerators" is answered by "GPUs" or "chips".
HARDWARE_NOUNS = frozenset(
    """gpu gpus chip chips accelerator accelerators processor processors unit units card cards device devices
    superchip superchips npu npus tpu tpus lpu lpus""".split()
)
# The same, singular ("chip", "gpu"), for a word compared with its plural "s" stripped.
HARDWARE_SINGULAR = frozenset(n.rstrip("s") for n in HARDWARE_NOUNS)

# The answer a question asks for, by its opening words. Order matters: the first match wins.
ANSWER_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "percent",
        re.compile(
            r"\b(percent|percentage|share of|market share|proportion|fraction|portion|what share)\b|%"
            r"|\b(shares?|stock|share price)\b.*\b(rise|rose|risen|fall|fell|fallen|jump\w*|drop\w*|gain\w*"
            r"|climb\w*|slid|slide|slump\w*|move\w*|react\w*|up|down|change\w*)\b"
            r"|\b(interest rate|coupon|yield|rate of|utili[sz]ation|growth rate|margin|stake|discount|premium)\b"
        ),
    ),
    (
        "money",
        re.compile(
            r"\bhow much\b(?!\s+(more|less|larger|bigger|smaller)\s+(gpus|chips|units|accelerators))"
            r"|\b(spend|spent|spending|invest|invested|investment|cost|costs|price|priced|worth|value|valued"
            r"|revenue|revenues|sales|budget|paid|pay|pays|paying|spends|investing|costing|fund|funding|funded"
            r"|allocat\w*|earmark\w*|capex"
            r"|bookings|bill|tab|price tag|dollars?|euros?|yen|yuan|won|rupees|pounds)\b|[$€£¥₹₩]"
        ),
    ),
    ("count", re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b|\bquantity\b|\bunits\b")),
    ("year", re.compile(r"^(in )?(what|which) year\b")),
    ("time", re.compile(r"^(when|by when|since when|until when|what date|on what date|what month|in what month)\b")),
    (
        "place",
        re.compile(r"^(where|in which (city|country|region|state|town|province|location)|in what (city|country))\b"),
    ),
    ("reason", re.compile(r"^(why|for what reason|what (was|is) the reason|what caused|what led)\b")),
    ("party", re.compile(r"^(who|whom|whose)\b")),
)
# "Which company ...", "What firm ...": the answer is a party; "which chip ..." a product.
PARTY_NOUNS = frozenset(
    """company companies firm firms buyer buyers customer customers operator operators provider providers vendor
    vendors supplier suppliers lab labs laboratory laboratories group groups carrier carriers bank banks lender
    lenders startup startups start-up start-ups country countries government governments agency agencies
    organisation organization institution university universities hyperscaler hyperscalers neocloud neoclouds
    telco telcos partner partners client clients player players maker makers manufacturer
    manufacturers chipmaker chipmakers integrator integrators builder builders subsidiary subsidiaries division
    divisions arm unit affiliate affiliates investor investors utility utilities""".split()
)
PRODUCT_NOUNS = frozenset(
    """chip chips gpu gpus accelerator accelerators processor processors model models system systems product
    products platform platforms generation architecture part parts design designs memory""".split()
)
WHICH = re.compile(r"^(which|what)\s+(?:\w+\s+){0,2}?(\w+)\b")
TIME_NOUNS = frozenset("quarter quarters month months date dates day days week weeks period time".split())
PLACE_NOUNS = frozenset("city cities country countries region regions state states town site sites location".split())

# A question that compares or combines figures.
DIFFERENCE = re.compile(
    r"\bhow (many|much) (more|fewer|less|larger|bigger|higher|lower|smaller)\b|\bdifference\b|\bgap\b"
    r"|\bby how (many|much)\b|\bexceed\w*\b|\bmore than\b.*\bthan\b|\bhow much (larger|bigger|greater)\b"
)
# "How much did revenue grow from Q1 to Q2?": a change between two named periods.
CHANGE_BETWEEN = re.compile(
    r"\b(grow|grew|grown|growth|increase[sd]?|rise|rose|risen|fall|fell|fallen|decline[sd]?|drop(?:ped)?|change[sd]?"
    r"|jump(?:ed)?|climb(?:ed)?|shr[iu]nk|expand(?:ed)?)\b"
)
SUM = re.compile(
    r"\b(combined|in total|together|altogether|total of|sum of|add up|adding|in all|between them|all told|plus)\b"
    r"|\bhow many\b.*\b(both|all three)\b"
)
MOST = re.compile(r"\b(most|largest|biggest|highest|top|leader|leading|greatest|more)\b")
LEAST = re.compile(r"\b(least|smallest|fewest|lowest|less|fewer)\b")
# "Which of X and Y ...", "X or Y": a choice between named parties.
CHOICE = re.compile(r"\b(which|who|whose)\b.*\b(or|and|of)\b")

# A clause about the future or an intention, not a result ("expects to ship", "guidance", "plans").
FUTURE = re.compile(
    r"\b(will|expects? to|expected to|plans? to|planned|planning|aims? to|intends? to|targets?|targeting"
    r"|guidance|guides?|guided|forecasts?|forecasted|projected|outlook|anticipates?|option to|options? on"
    r"|reserved?|scheduled|slated|upcoming|pipeline|to be delivered|due to (?:arrive|ship|start))\b",
    re.IGNORECASE,
)
# An intention governing the figure ("intends to order about 25,000", "is considering buying up to 4,000"): a
# question about what was done is not answered with it.
INTENT = re.compile(
    r"\b(?:intends|intending|intend to|plans|planning|plan to|aims|aiming|aim to|hopes|hoping|hope to|wants|want to"
    r"|seeks|seeking|seek to|looking to|looks to|expects|expecting|expect to"
    r"|is (?:considering|weighing|exploring|in talks)|would like)\b(?: to)?"
    r"(?:\s+[\w-]+){0,3}?(?:\s+of)?"
    r"(?:\s+(?:up to|about|around|roughly|nearly|some|another|an additional|a further))?\s*$",
    re.IGNORECASE,
)
# Right after a figure: it is a difference the sentence states ("40 more than the 240", "2,304 fewer GPUs than").
STATED_DIFFERENCE = re.compile(
    r"\s*(?:[\w-]+\s+){0,2}?(?:more|fewer|less|additional|extra)\b(?:\s+[\w-]+){0,2}?\s+than\b", re.IGNORECASE
)
# A question about an increase or an addition ("how many racks did it add", "by how much did it raise").
INCREMENT_QUESTION = re.compile(
    r"\b(add|adds|added|adding|additional|extra|increase[sd]?|rais(?:e|ed|es)|enlarge[sd]?|cut|cuts|reduce[sd]?)\b"
)
# A verb of something already done ("purchasing" aside): a question about the future is not answered by it.
DONE_VERB = re.compile(
    r"\b(bought|purchased|acquired|ordered|received|installed|deployed|delivered|shipped|took delivery|paid|spent"
    r"|has bought|had bought|completed)\b",
    re.IGNORECASE,
)
# A question about what is done, not planned ("has it confirmed ordering", "actually delivered").
DONE_QUESTION = re.compile(r"\b(confirmed|confirm|actually|finali[sz]ed|completed)\b")
# A forecast rather than a result: a question about what was reported is not answered with it.
GUIDANCE = re.compile(r"\b(guidance|guided|guides|guide[sd]? to|forecasts?|outlook|projected|projection)\b", re.I)
GUIDANCE_QUESTION = re.compile(r"\b(guid\w*|forecast\w*|outlook|project\w*|expect\w*|target\w*|plan\w*|will)\b")
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# A question about the earlier state of something ("its original order", "before the revision").
ASKS_EARLIER = re.compile(
    r"\b(original|originally|initial|initially|first announced|previous|previously|earlier|before)\b"
)
# A clause that denies what it states ("not a confirmed order", "has not yet placed").
NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|yet to)\b|n['’]t\b", re.IGNORECASE)
# A figure given as the earlier value of a change, or as a comparison ("up from 140", "(from $31)",
# "against consensus of $66.0 million").
WAS_BEFORE = re.compile(
    r"(?:\bup from|\bdown from|\(\s*from|\bfrom the|\bfrom|\bcompared with|\bcompared to|\bversus|\bvs\.?"
    r"|\bmore than the|\bless than the|\bfewer than the|\bhigher than the|\bbelow the|\babove the"
    r"|\bagainst|\bconsensus of|\bestimates? of|\bprevious(?:ly)?|\bearlier|\boriginal(?:ly)?)\s*(?:an? |the |its )?"
    r"(?:estimated |planned |reported )?$",
    re.IGNORECASE,
)
# Two figures of one sentence read as a change from the second to the first ("to 20,160, up from 17,280").
CHANGE = re.compile(
    r"^\W*(?:,\s*)?(?:up|down)\s+from\b|^\s*,?\s*from\s*(?:an? |the )?$|\bmore than the\b|\bless than the\b", re.I
)
# A question about the past names it so ("did", "was", "last", "reported").
PAST_QUESTION = re.compile(r"\b(did|was|were|had|last|previous|reported|posted|received|delivered|bought|ordered)\b")
FUTURE_QUESTION = re.compile(
    r"\b(will|expect\w*|plan\w*|guidance|guide|forecast\w*|project\w*|outlook|next|future|target\w*|aim\w*)\b"
)
# A figure for several parties together, or the whole that a part belongs to.
COLLECTIVE = re.compile(
    r"\b(combined|together|in total|a total of|total|collectively|between them|all told|in all|jointly|overall"
    r"|altogether|among them|across)\b",
    re.IGNORECASE,
)
WHOLE_OF = re.compile(r"\b(of|out of|from) (the|its|their|a total of|all)\s*$", re.IGNORECASE)
PART_OF = re.compile(r"^\s*(of|out of)\s+(the|its|their|a|an)?\b", re.IGNORECASE)

# Words that open a clause giving a cause.
CAUSE = re.compile(
    r"\b(because|due to|owing to|as a result of|after|amid|citing|cited|since|so that|in order to|to avoid"
    r"|following|reason|blamed|attributed to|driven by|thanks to|as)\b",
    re.IGNORECASE,
)
# Prepositions that introduce a place.
PLACE_PREPOSITION = re.compile(r"\b(in|at|near|outside|inside|from|to)\s+$", re.IGNORECASE)

MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_MONTH = "|".join(MONTHS)
# A date or period written in prose: "June 12, 2025", "March 2026", "Q3 FY26", "the second half of 2026".
TIME_EXPRESSION = re.compile(
    rf"\b(?:(?:early|mid|late|the end of|end of|the start of|the first half of|the second half of|the first"
    rf" quarter of|the second quarter of|the third quarter of|the fourth quarter of|by|from|in|until)\s+)?"
    rf"(?:(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d|\d{{1,2}}\s+(?:{_MONTH})\.?\s+(?:19|20)\d\d"
    rf"|(?:{_MONTH})\.?\s+(?:19|20)\d\d|Q[1-4]\s*(?:FY\s*)?'?\d{{2,4}}|(?:H[12]|FY)\s*'?\d{{2,4}}"
    rf"|(?:first|second|third|fourth)\s+quarter(?:\s+of)?\s+(?:19|20)\d\d|(?:19|20)\d\d"
    # a month without its year, written as a name ("arrive in June"; not the verb "may")
    rf"|(?<=in |by |on )(?-i:{'|'.join(m.title() for m in MONTHS[:12])})(?!\s+\d))\b",
    re.IGNORECASE,
)
ORDINAL_QUARTERS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
RELATIVE_PERIODS = {
    "last": -1,
    "previous": -1,
    "prior": -1,
    "past": -1,
    "this": 0,
    "current": 0,
    "next": 1,
    "coming": 1,
    "following": 1,
}

# Verbs and nouns of buying: a question's "bought" is the text's "ordered", "acquired", "took delivery of".
ACQUIRE = frozenset(
    """buy buys bought buying purchase purchased purchases purchasing order ordered orders ordering acquire acquired
    acquires acquiring procure procured procuring obtain obtained secure secured securing receive received
    receiving take took deliver delivered delivery deliveries deploy deployed deploying install installed get got
    book booked lease leased rent rented""".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> object:
    """PyStemmer's English (Porter2) stemmer, the one bm25s uses for the BM25 index: built once per process."""
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    """The Porter2 stem of a lower-case word ("purchased" → "purchas")."""
    return str(_stemmer().stemWord(word.lower()))  # type: ignore[attr-defined]


_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def content_words(text: str) -> list[str]:
    """Lower-case words of a text that are not function words, hyphens kept ("Seoul-based")."""
    return [w for w in _WORD.findall(text.lower().replace("’", "'")) if w not in STOPWORDS and len(w) > 1]


def content_stems(text: str) -> list[str]:
    """Stems of a text's content words (hyphenated words also give their parts'), and class markers of the
    verbs among them ("~deliver" for "received")."""
    out = []
    for word in content_words(text):
        out.append(stem(word))
        if "-" in word:
            out.extend(stem(part) for part in word.split("-") if part not in STOPWORDS and len(part) > 1)
    return out + verb_classes(out)


ACQUIRE_STEMS = frozenset(stem(w) for w in ACQUIRE)

# Verbs that say the same of a quantity: what was ordered is not what was delivered or what runs today.
# A question's verb matches the text's verb of the same class ("received" ~ "delivered").
VERB_CLASSES = {
    "order": """buy buys bought buying purchase purchased purchases purchasing order ordered orders ordering acquire
        acquired acquires acquiring procure procured procuring book booked sign signed commit committed agree agreed
        reserve reserved""",
    "deliver": """deliver delivered delivery deliveries receive received receiving ship shipped shipping shipment
        shipments arrive arrived arriving install installed installation land landed reach reached""",
    "operate": """operate operates operated operating run runs running ran own owns owned fleet live online""",
    "add": """add adds added adding more extra additional raise raised increase increased enlarge enlarged expand
        expanded top""",
    "spend": """spend spent spending pay paid pays cost costs costing invest invested investing investment worth
        value valued price priced""",
}
_VERB_CLASS = {stem(w): f"~{name}" for name, words in VERB_CLASSES.items() for w in words.split()}
_VERB_CLASS.update({stem(w): "~hardware" for w in HARDWARE_NOUNS})  # "GPUs" ~ "chips" ~ "accelerators"


def verb_classes(stems: list[str]) -> list[str]:
    """Class markers ("~deliver", "~hardware") for the verbs and hardware nouns among some stems, so that
    synonyms match each other."""
    return [_VERB_CLASS[s] for s in stems if s in _VERB_CLASS]


HARDWARE_STEMS = frozenset(stem(w) for w in HARDWARE_NOUNS)

# A question in words opens with a question word, an auxiliary, a preposition or a request; a keyword query
# ("acme b200 order size latest?") with none of them.
KEYWORD_QUERY = re.compile(
    r"(?!(?:how|what|which|who|whom|whose|when|where|why|whether|did|does|do|is|are|was|were|will|would|could"
    r"|can|should|shall|may|might|has|have|had|tell|give|list|name|describe|explain|show|summari[sz]e|compare"
    r"|according|in|of|on|at|for|from|to|by|with|among|between|if|once|after|before|since|ignore|you|please"
    r"|i|we|let)\b)[\w'’.&-]+(?:\s+[\w'’.&/-]+){0,6}\s*\?*\s*$"
)
# Words right before a name that give something that name: "the system, to be called Bluebonnet", "a cluster
# dubbed Kite".
NAMING_BEFORE = re.compile(r"\b(?:called|named|dubbed|nicknamed|known as|branded(?: as)?)\s+[\"“‘']?$", re.IGNORECASE)
