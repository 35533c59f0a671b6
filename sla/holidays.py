"""The office's entries in the working calendar: single days it sets (holidays, swapped working
weekends) and the years whose official schedule it has entered in full. The working-day
arithmetic that reads them is `sla.calendar`; `sla.models` re-exports both models."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 50
NOTICE_MAX_LENGTH = 200


class CalendarOverride(models.Model):
    """One day whose status the office sets by hand, winning over the package data.

    Entered from the State Council's yearly notice (国务院办公厅关于××年部分节假日安排的通知):
    each holiday day (休息) and each swapped working weekend day (调休上班).
    Whoever writes these rows must call `sla.calendar.calendar_changed()` afterwards.
    """

    date = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(
        _("上班"), help_text=_("勾选表示当天上班（含调休上班），不勾选表示当天放假休息。")
    )
    name = models.CharField(
        _("名称"),
        max_length=NAME_MAX_LENGTH,
        blank=True,
        help_text=_("例如：春节、国庆节、调休上班。"),
    )
    notice = models.CharField(
        _("依据文件"), max_length=NOTICE_MAX_LENGTH, help_text=_("例如：国办发明电〔2026〕X号。")
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        status = _("上班") if self.is_working_day else _("休息")
        label = f"{self.date.isoformat()} {status}"
        return f"{label}（{self.name}）" if self.name else label


class CalendarYear(models.Model):
    """The office's statement that a year's official schedule has been entered in full.

    Years covered by the `chinesecalendar` package are confirmed without a row.
    Whoever writes these rows must call `sla.calendar.calendar_changed()` afterwards.
    """

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    confirmed = models.BooleanField(
        _("已确认"),
        default=False,
        help_text=_("录入该年度全部放假和调休上班日期后勾选。"),
    )
    notice = models.CharField(
        _("依据文件"),
        max_length=NOTICE_MAX_LENGTH,
        blank=True,
        help_text=_("例如：国办发明电〔2026〕X号。"),
    )

    class Meta:
        verbose_name = _("节假日安排年度")
        verbose_name_plural = _("节假日安排年度")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)
