"""Answer wordings that survey tools use for the same point of an agreement scale.

Qualtrics' stock 7-point agreement scale reads Strongly disagree, Disagree, Somewhat disagree,
**Neither agree nor disagree**, Somewhat agree, Agree, Strongly agree (the 5-point version drops
"Somewhat"), while the Jefferson Scale's conventional labels say "Neutral" for the midpoint.
:func:`label_variants` extends an instrument's labels with these standard equivalents; a user's
own wordings go into the instrument's ``response_scale.label_aliases``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SYNONYMS", "label_variants"]

#: Groups of wordings (folded: lower case, single spaces) that mean the same scale point.
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"neutral", "neither agree nor disagree", "neither agree or disagree",
               "neither disagree nor agree", "neither agree nor disagree (neutral)",
               "undecided", "neutral / undecided", "neutral/undecided"}),
    frozenset({"somewhat disagree", "slightly disagree", "mildly disagree",
               "tend to disagree", "disagree somewhat", "disagree slightly"}),
    frozenset({"somewhat agree", "slightly agree", "mildly agree", "tend to agree",
               "agree somewhat", "agree slightly"}),
    frozenset({"strongly disagree", "completely disagree", "totally disagree",
               "disagree strongly", "disagree completely", "strongly disagree (1)"}),
    frozenset({"strongly agree", "completely agree", "totally agree", "agree strongly",
               "agree completely", "strongly agree (7)"}),
)


def label_variants(label_codes: Mapping[str, int]) -> dict[str, int]:
    """Folded wording -> code: the instrument's labels plus the standard equivalents of each.

    An equivalent is added only when it is not already a label of another code, so an
    instrument's own labels always win and no wording maps to two codes.
    """
    out = dict(label_codes)
    for text, code in label_codes.items():
        for group in SYNONYMS:
            if text in group:
                for other in group:
                    out.setdefault(other, code)
    return out
