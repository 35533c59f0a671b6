"""The accountability list (问责线索清单) for 巡察 and 纪检: each department's lost points of a
quarter, one row per appeal behind them, with the indicator and the points that appeal cost.
Read from a published (frozen) result, or from a preview the page computed."""

from collections.abc import Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.assessment.scheme import Indicator
from reports.exports import Row, neutralise

# What an item records (a stable code), in the reader's language.
WHAT = {
    "late:sign": gettext_lazy("签收超时"),
    "late:opinion": gettext_lazy("配合意见超时"),
    "late:reply": gettext_lazy("答复超时"),
    "unsatisfied": gettext_lazy("企业不满意"),
    "returned": gettext_lazy("退回"),
    "escalated_to_leaders": gettext_lazy("提交领导督办"),
    "say_no_sent_back": gettext_lazy("说“不”答复被营商办退回"),
}


def accountability_rows(data: dict) -> Iterator[Row]:
    yield (_("季度"), _("单位"), _("得分"), _("考核指标"), _("登记号"), _("扣分事项"), _("扣分"))
    labels = dict(Indicator.choices)
    for dept in data["departments"]:
        for indicator in dept["indicators"]:
            for item in indicator["items"]:
                yield tuple(
                    neutralise(cell)
                    for cell in (
                        data["quarter"],
                        dept["name"],
                        dept["score"],
                        str(labels.get(indicator["indicator"], indicator["indicator"])),
                        item["appeal"],
                        str(WHAT.get(item["what"], item["what"])),
                        item["points"],
                    )
                )
