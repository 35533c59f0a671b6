"""What a scheme may hold: the indicators (a closed set), their scoring rules and parameters,
and weights that add up to 100."""

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ServiceError


class Indicator(models.TextChoices):
    ON_TIME = "on_time", gettext_lazy("按期办结率")
    SATISFACTION = "satisfaction", gettext_lazy("满意率")
    RETURNS = "returns", gettext_lazy("退回")
    LEADER_ESCALATIONS = "leader_escalations", gettext_lazy("提交领导督办")
    SAY_NO_OVERTURNED = "say_no_overturned", gettext_lazy("说“不”答复被营商办退回")


class Rule(models.TextChoices):
    # weight × (rate − floor) ÷ (1 − floor), between 0 and the weight.
    RATE = "rate", gettext_lazy("按比率得分")
    # weight − points × count, at least 0.
    PER_ITEM = "per_item", gettext_lazy("每件扣分")


# Which rule each indicator is scored by: rates by their rate, counts by the item.
RULE_OF = {
    Indicator.ON_TIME: Rule.RATE,
    Indicator.SATISFACTION: Rule.RATE,
    Indicator.RETURNS: Rule.PER_ITEM,
    Indicator.LEADER_ESCALATIONS: Rule.PER_ITEM,
    Indicator.SAY_NO_OVERTURNED: Rule.PER_ITEM,
}

TOTAL_WEIGHT = 100

# The scheme the office starts from (seed 000: "明确较高权重分值"): what a page pre-fills.
DEFAULT_SCHEME = [
    {"indicator": Indicator.ON_TIME.value, "weight": 40, "rule": "rate", "floor": 0.6},
    {"indicator": Indicator.SATISFACTION.value, "weight": 30, "rule": "rate", "floor": 0.6},
    {"indicator": Indicator.RETURNS.value, "weight": 10, "rule": "per_item", "points": 2},
    {
        "indicator": Indicator.LEADER_ESCALATIONS.value,
        "weight": 10,
        "rule": "per_item",
        "points": 5,
    },
    {
        "indicator": Indicator.SAY_NO_OVERTURNED.value,
        "weight": 10,
        "rule": "per_item",
        "points": 5,
    },
]


def _refuse(message: str) -> ServiceError:
    return ServiceError("invalid_scheme", message, field="indicators")


def _number(value, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(_("%(field)s应为数字。") % {"field": label})
    return float(value)


def scheme_clean(indicators) -> list[dict]:
    """The scheme's indicators as stored, or a ServiceError saying what is wrong."""
    if not isinstance(indicators, list) or not indicators:
        raise _refuse(_("考核方案至少包含一项指标。"))
    cleaned: list[dict[str, Any]] = []
    seen: set[Indicator] = set()
    total = 0.0
    for item in indicators:
        if not isinstance(item, dict) or item.get("indicator") not in Indicator.values:
            raise _refuse(_("考核指标无效。"))
        indicator = Indicator(item["indicator"])
        if indicator in seen:
            raise _refuse(_("每项指标只能出现一次。"))
        seen.add(indicator)
        rule = RULE_OF[indicator]
        if item.get("rule", rule) != rule:
            raise _refuse(
                _("指标“%(i)s”只能采用“%(r)s”规则。") % {"i": indicator.label, "r": rule.label}
            )
        weight = _number(item.get("weight"), _("权重"))
        if weight <= 0:
            raise _refuse(_("权重应大于 0。"))
        total += weight
        row: dict[str, Any] = {"indicator": indicator.value, "weight": weight, "rule": rule.value}
        if rule == Rule.RATE:
            floor = _number(item.get("floor", 0), _("起评线"))
            if not 0 <= floor < 1:
                raise _refuse(_("起评线应不小于 0 且小于 1。"))
            row["floor"] = floor
        else:
            points = _number(item.get("points"), _("每件扣分"))
            if points <= 0:
                raise _refuse(_("每件扣分应大于 0。"))
            row["points"] = points
        cleaned.append(row)
    if abs(total - TOTAL_WEIGHT) > 1e-6:
        raise _refuse(_("各项指标权重之和应为 %(n)d。") % {"n": TOTAL_WEIGHT})
    return cleaned
