"""A child's identifiers refused in free text: the bot keeps initials and a case reference, nothing more.

Every pattern lives here. Each is tuned so that a practitioner's ordinary notes pass (dates, times,
case references, money, percentages, Section 47 and the like) and only the identifier is refused.
Names cannot be told apart from ordinary words, so none is looked for: the form asks people not
to type one. A refusal says which kind of identifier was found, never the text that matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flows.errors import Refused

RULE = "Initials only; no names, dates of birth, addresses or contact details."

# ---------------------------------------------------------------- NHS numbers

# Ten digits, together or written 3-3-4 with spaces or hyphens, not part of a longer run of digits
# nor of a date. Both gaps or neither: "MOS-123456 2026-04-01" is a reference and a date.
_NHS_NUMBER = re.compile(r"(?<!\d)(?<!\d[/.-])(?:\d{10}|\d{3}[ -]\d{3}[ -]\d{4})(?!\d|[/.-]\d)")


def nhs_check_digit_valid(digits: str) -> bool:
    """The NHS number's modulus 11 check: weights 10 to 2 on the first nine digits."""
    total = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    # 10 is never a valid check digit: such a number is not an NHS number.
    return check != 10 and check == int(digits[9])


def _has_nhs_number(text: str) -> bool:
    # Ten digits failing the check are more likely some other reference, so they pass.
    return any(nhs_check_digit_valid(re.sub(r"\D", "", m.group())) for m in _NHS_NUMBER.finditer(text))


# ---------------------------------------------------------------- postcodes

# The UK's postcode areas (and the Crown dependencies'). Checking the area keeps out shapes that
# only look like postcodes: Y7 (Year 7), KS2 (Key Stage 2), P5, A1.
_POSTCODE_AREAS = frozenset(
    """
    AB AL B BA BB BD BF BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY
    E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL
    LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN
    SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
""".split()
)
# Outward code (area, district) then inward code (a digit and two letters, never C I K M O V),
# with or without the space.
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?P<area>[A-Z]{1,2})\d[A-Z0-9]?(?P<space>\s?)(?P<inward>\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])"
    r"|(?<![A-Za-z0-9])GIR\s?0AA(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ORDINAL_SUFFIX = {"1": "st", "2": "nd", "3": "rd"}


def _is_prose(inward: str) -> bool:
    # "S47 2nd strategy meeting", "S20 1st review", "S17 1yr", "S47 2hr meeting": an ordinal or
    # a unit in lower case after a Section number is prose. In capitals it is a postcode (B33 8TH).
    digit, suffix = inward[0], inward[1:]
    return suffix in (_ORDINAL_SUFFIX.get(digit, "th"), "yr", "hr")


def _has_postcode(text: str) -> bool:
    for m in _POSTCODE.finditer(text):
        if m.group("area") is None:  # GIR 0AA
            return True
        if m.group("area").upper() in _POSTCODE_AREAS and not (m.group("space") and _is_prose(m.group("inward"))):
            return True
    return False


# ---------------------------------------------------------------- dates of birth

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# A numeric date needs its year ("born 2.5kg" is a weight); a date in words may leave it out.
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
    rf"|\d{{4}}-\d{{1,2}}-\d{{1,2}}"
    rf"|(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{2,4}})?"
    rf"|{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{4}})(?![\w/])"
)
# "DOB", "D.O.B.", "date of birth", "birth date", "birthday"; and "born" (not "unborn", "newborn",
# "first-born"). A year alone after them ("born in 2015") is no more than an age, so it passes.
_DOB_WORD = r"(?:\bd\.?o\.?b\b\.?|\bdate[\s-]+of[\s-]+birth\b|\bbirth\s*date\b|\bbirthday\b)"
_BORN = r"(?<![\w-])born\b"
# Between the word and the date, only the words people put there ("born prematurely on", "born in
# Croydon on", "born at 34 weeks on", "DOB is"), so a later event's date in the same sentence
# passes: "born in Ghana, came here 3 May 2001", "born at home and on 3 May 2024 moved".
_GAP_WORD = r"(?:on|in|at|is|was|of|approx\.?|approximately|around|about|prematurely|early|late)"
_GAP = (
    rf"[\s:=,(-]*(?:(?:{_GAP_WORD}|(?:at|in)\s+[^\s.;,!?()]+\s+on"
    rf"|at\s+\d{{1,2}}(?:\+\d)?\s+weeks(?:\s+on)?)\s+)*"
)
_DATE_OF_BIRTH = re.compile(
    rf"(?:{_DOB_WORD}|{_BORN}){_GAP}{_DATE}"
    rf"|(?<![\w/]){_DATE}\s*[(\[,-]?\s*{_DOB_WORD}",
    re.IGNORECASE,
)


def _has_date_of_birth(text: str) -> bool:
    return _DATE_OF_BIRTH.search(text) is not None


# ---------------------------------------------------------------- phone numbers

# UK numbers starting 01, 02, 03 (landlines, non-geographic) and 07 (mobiles): the trunk 0 (the
# area code may be in brackets) or +44 / 0044 (with or without "(0)"), then ten digits in the
# groupings people write. Exactly ten digits after the trunk, so an NHS number (ten digits in all)
# or a reference of other lengths is not a phone number. Not inside a reference or a date (no
# letter, digit, slash, dot or hyphen just before). Not caught: the few 01 numbers with nine
# digits after the 0, and 08 and 09 numbers (services, not people).
_TRUNK = r"(?:\(?0|(?:\+|\b00)\s?44[ -]?(?:\(0\)[ -]?)?)"
_SEP = r"[ -]?"
_PHONE = re.compile(
    rf"(?<![\w/.-]){_TRUNK}[1237]"
    rf"(?:\d\)?{_SEP}\d{{4}}{_SEP}\d{{4}}"  # 020 8255 2888, 02082552888
    rf"|\d{{2}}\)?{_SEP}\d{{3}}{_SEP}\d{{4}}"  # 0161 496 0000, 0300 123 4567, 0770 090 0123
    rf"|\d{{3}}\)?{_SEP}(?:\d{{6}}|\d{{3}}{_SEP}\d{{3}}))"  # 07700 900123, 07700 900 123
    rf"(?![\w/])"
)


def _has_phone_number(text: str) -> bool:
    return _PHONE.search(text) is not None


# ---------------------------------------------------------------- e-mail addresses

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_EMAIL = re.compile(rf"(?<![\w.+'-])[\w.+'-]+@(?P<domain>{_DOMAIN.pattern})", re.IGNORECASE)


def domain_name(value: str) -> str:
    """`value` as a lower-case domain name (at least two labels, like sch.uk); ValueError if it is not one."""
    domain = value.strip().lower()
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        raise ValueError(f"{value!r} is not a domain name like croydon.gov.uk")
    return domain


def within_domains(domain: str, allowed: Iterable[str]) -> bool:
    domain = domain.lower()
    return any(domain == d or domain.endswith("." + d) for d in allowed)


# ---------------------------------------------------------------- the check


def refuse_identifiers(value: str, field: str, allowed_email_domains: Iterable[str]) -> None:
    """Raise Refused at `field` if `value` holds a child's identifier; otherwise nothing.

    allowed_email_domains: e-mail addresses at these domains or their subdomains are
    professionals' work addresses and pass; any other e-mail address is refused.
    """
    allowed = tuple(d.lower() for d in allowed_email_domains)

    def outside_work_domains(text: str) -> bool:
        return any(not within_domains(m.group("domain"), allowed) for m in _EMAIL.finditer(text))

    work_example = f" Work addresses such as name@{allowed[0]} are fine." if allowed else ""
    checks: list[tuple[Callable[[str], bool], str]] = [
        (_has_nhs_number, "This looks like an NHS number: please remove it. Your case reference is enough."),
        (_has_postcode, "This looks like a postcode: please remove it."),
        (_has_date_of_birth, "This looks like a date of birth: please remove it, or give an age instead."),
        (_has_phone_number, "This looks like a phone number: please remove it."),
        (outside_work_domains, "This looks like a personal e-mail address: please remove it." + work_example),
    ]
    for found, advice in checks:
        if found(value):
            raise Refused(f"{RULE} {advice}", field=field)
