"""Organisations: regions, departments, their staff, and the category tree with its routing."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    class Level(models.TextChoices):
        CITY = "city", _("市")
        COUNTY = "county", _("县（市、区）")
        TOWN = "town", _("乡镇（街道）")

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def lineage(self) -> list["Region"]:
        """This region and its ancestors, nearest first (a region tree is at most 3 deep)."""
        chain: list[Region] = []
        node: Region | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Department(models.Model):
    class Kind(models.TextChoices):
        MUNICIPAL = "municipal", _("市直部门")
        COUNTY_GOV = "county_gov", _("县市区政府")
        DEV_ZONE = "dev_zone", _("开发区管委会")
        TOWN = "town", _("乡镇街道")
        UTILITY = "utility", _("公用事业单位")

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    region = models.ForeignKey(Region, verbose_name=_("所在区划"), on_delete=models.PROTECT)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff user's place in a department. A user may belong to several departments."""

    class Role(models.TextChoices):
        HANDLER = "handler", _("承办人")
        HEAD = "head", _("单位负责人")
        LIAISON = "liaison", _("联络员")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices)

    class Meta:
        verbose_name = _("单位人员")
        verbose_name_plural = _("单位人员")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.user} · {self.get_role_display()}"


class Category(models.Model):
    """A node of the appeal category tree, with its default routing."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("默认牵头单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    co_departments = models.ManyToManyField(
        Department, verbose_name=_("默认配合单位"), blank=True, related_name="+"
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name


class RoutingRule(models.Model):
    """Overrides a category's default routing for one region (and the towns below it)."""

    category = models.ForeignKey(
        Category, verbose_name=_("分类"), on_delete=models.CASCADE, related_name="rules"
    )
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.CASCADE)
    lead_department = models.ForeignKey(
        Department, verbose_name=_("牵头单位"), on_delete=models.PROTECT, related_name="+"
    )
    co_departments = models.ManyToManyField(
        Department, verbose_name=_("配合单位"), blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("分办规则")
        verbose_name_plural = _("分办规则")
        constraints = [
            models.UniqueConstraint(fields=["category", "region"], name="routingrule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category} × {self.region} → {self.lead_department}"


class ApiToken(models.Model):
    """A key for systems and staff tools. It belongs to a user and acts in ONE of the user's
    roles only; only its hash is stored; the office revokes it in the admin."""

    name = models.CharField(_("用途"), max_length=100, help_text=_("例如：12345热线系统"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("所属用户"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    role = models.CharField(_("角色"), max_length=20)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditRecord(models.Model):
    """One line of the audit trail (等保: 安全审计): who did what to which object, when, and
    with what outcome. Written by departments.audit.audit_record in the same transaction as
    the change; kept at least six months (AUDIT_RETENTION_DAYS); never edited."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("成功")
        FAILURE = "failure", _("失败")
        LOCKED = "locked", _("已锁定")

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The login name as typed, for failed logins that match no user (never a password).
    actor_name = models.CharField(_("账号"), max_length=150, blank=True)
    event = models.CharField(_("事件"), max_length=60, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=40, blank=True)
    object_id = models.CharField(_("对象"), max_length=40, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-pk"]
        indexes = [
            # The admin's "what happened to this appeal" search.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.object_type}:{self.object_id}"
