"""Fill a benchmark database with a province's appeals, fast, with PostgreSQL COPY.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench DJANGO_DEBUG=true \
        .venv/bin/python bench/generate.py --appeals 1000000 [--seed 1]

What it writes (see bench/README.md for the figures): 20 regions (4 cities of 4 counties),
300 departments, 30 categories, 50,000 enterprises with valid credit codes, and N appeals filed
over the last three years, each with the rows the services would have left behind: assignments
(lead + 0-2 co-handlers, sometimes a returned first lead), clocks whose due dates, states and
colours follow sla.models.Clock.colour_on on the real working-day calendar (sla.calendar) —
the commissioner's triage clock (filing, or a lead's return, to routing or the decision not to
accept, merge or redirect), the departments' sign / opinion / reply clocks (each from its own
assignment), the promise to the enterprise (filing, or a reopening, to the published reply) and
the rating window —, escalations for the steps that would have fired (the triage and the
departments' clocks; "skipped" for the lower steps that fell due together during one simulated
outage of the sweep), opinions, replies (published, or under review for some open appeals),
ratings, timeline events, and two HistoricalAppeal rows per appeal (creation and current state;
the board never reads history).

This is a benchmark fixture, not a way to write appeals: it bypasses the services on purpose.
It refuses any database whose name does not start with "qihu_bench". Each run starts over: it
truncates the appeal-level tables and deletes the generated organisations (users are kept).

How it is fast: Python generates tab-separated rows and one thread per table streams them into a
long-running `COPY … FROM STDIN` on its own connection (psycopg2 `copy_expert`), so PostgreSQL
ingests on the second core while Python generates. Plain (non-constraint) indexes of the big
tables are dropped before the load and rebuilt after it (their definitions are saved to
bench/.saved-indexes-<db>.sql first and restored by the next run if this one dies); foreign-key
triggers are off during the load (`session_replication_role = replica`), so the script checks
the foreign keys itself afterwards with anti-joins. Then sequences are reset, and VACUUM ANALYZE
leaves the tables as autovacuum would in production (visibility map set, statistics fresh).
"""

# Table and column names in the SQL below come from this module's constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import os
import queue
import random
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from appeals.models import EventCode  # noqa: E402
from appeals.validators import CREDIT_CODE_CHARSET, credit_code_check_char  # noqa: E402
from sla.calendar import is_working_day  # noqa: E402
from sla.models import COLOUR_RANK, Clock, EscalationStep, Policy  # noqa: E402

# ------------------------------------------------------------------------------------------
# Tables and their COPY columns
# ------------------------------------------------------------------------------------------

COLUMNS = {
    "appeals_enterprise": "id name credit_code contact_name contact_phone created_at "
    "commissioner_id region_id",
    "appeals_enterprise_tags": "id enterprise_id enterprisetag_id",
    "appeals_appeal": "id number query_code_hash channel status priority is_anonymous "
    "enterprise_name credit_code contact_name contact_phone title content triage_explanation "
    "returned_count reopened_count filed_at closed_at category_id commissioner_id filed_by_id "
    "merged_into_id region_id enterprise_id awaiting_material_since blocked_reason is_blocked "
    "on_public_board colour sms_opt_in language",
    "appeals_historicalappeal": "id number channel status priority is_anonymous enterprise_name "
    "credit_code contact_name contact_phone title content triage_explanation returned_count "
    "reopened_count filed_at closed_at category_id commissioner_id filed_by_id merged_into_id "
    "region_id enterprise_id awaiting_material_since blocked_reason is_blocked on_public_board "
    "history_id history_date history_change_reason history_type history_user_id sms_opt_in language",
    "appeals_assignment": "id role state assigned_at signed_at done_at return_reason appeal_id "
    "assigned_by_id department_id signed_by_id",
    "sla_clock": "id obligation state started_on limit_days extension_days paused_days "
    "paused_on warn_days due_date met_at colour next_check_at appeal_id assignment_id "
    "department_id",
    "sla_escalation": "id created_at appeal_id clock_id step_id skipped",
    "appeals_opinion": "id content created_at appeal_id assignment_id author_id",
    "appeals_reply": "id outcome content state review_note created_at published_at appeal_id "
    "assignment_id author_id is_model_answer",
    "appeals_rating": "id score comment rehandle created_at appeal_id rated_by_id reply_id",
    # text_code empty and params {}: the note is the event's text as is, as for the events
    # written before stored text codes (issue #17; appeals.models.TimelineEvent).
    "appeals_timelineevent": (
        "id code note is_public created_at actor_id appeal_id department_id "
        "text_code params internal_note"
    ),
}
COLUMNS = {table: cols.split() for table, cols in COLUMNS.items()}
LOADED = list(COLUMNS)

# Emptied at the start of every run (TRUNCATE needs every table that references them too).
TRUNCATED = [
    "appeals_appeal",
    "appeals_historicalappeal",
    "appeals_assignment",
    "appeals_historicalassignment",
    "appeals_opinion",
    "appeals_reply",
    "appeals_historicalreply",
    "appeals_rating",
    "appeals_followup",
    "appeals_attachment",
    "appeals_timelineevent",
    "appeals_extensionrequest",
    "appeals_historicalextensionrequest",
    "appeals_notification",
    "appeals_idempotencykey",
    "appeals_numbersequence",
    "appeals_enterprise",
    "appeals_enterprise_tags",
    "appeals_enterprise_users",
    "sla_clock",
    "sla_historicalclock",
    "sla_escalation",
    "sla_boardsnapshot",
    "sla_leaguetable",
    # Rows of later apps that reference appeals, enterprises, departments or regions (none
    # generated; emptied so the reset's TRUNCATE and DELETE are allowed).
    "engagement_contact",
    "engagement_grid",
    "engagement_grid_commissioners",
    "engagement_gridmember",
    "engagement_meeting",
    "engagement_meeting_departments",
    "engagement_meeting_enterprises",
    "engagement_meetingappeal",
    "leads_lead",
    "leads_referral",
]
# Small organisation tables: deleted (sla_policy's default rows reference none of them, but
# its foreign key forbids TRUNCATE of departments_category).
DELETED = [
    "departments_routingrule_co_departments",
    "departments_routingrule",
    "departments_category_co_departments",
    "departments_membership",
    "departments_apitoken",
    "departments_category",
    "departments_department",
    "departments_region",
]
# Foreign keys checked after the load (child table, column, parent table).
FK_CHECKS = [
    ("appeals_appeal", "enterprise_id", "appeals_enterprise"),
    ("appeals_appeal", "category_id", "departments_category"),
    ("appeals_appeal", "region_id", "departments_region"),
    ("appeals_appeal", "merged_into_id", "appeals_appeal"),
    ("appeals_assignment", "appeal_id", "appeals_appeal"),
    ("appeals_assignment", "department_id", "departments_department"),
    ("sla_clock", "appeal_id", "appeals_appeal"),
    ("sla_clock", "assignment_id", "appeals_assignment"),
    ("sla_clock", "department_id", "departments_department"),
    ("sla_escalation", "clock_id", "sla_clock"),
    ("sla_escalation", "appeal_id", "appeals_appeal"),
    ("appeals_opinion", "assignment_id", "appeals_assignment"),
    ("appeals_reply", "appeal_id", "appeals_appeal"),
    ("appeals_reply", "assignment_id", "appeals_assignment"),
    ("appeals_rating", "reply_id", "appeals_reply"),
    ("appeals_rating", "appeal_id", "appeals_appeal"),
    ("appeals_timelineevent", "appeal_id", "appeals_appeal"),
    ("appeals_timelineevent", "department_id", "departments_department"),
    ("appeals_enterprise", "region_id", "departments_region"),
    ("appeals_enterprise_tags", "enterprise_id", "appeals_enterprise"),
]

N = "\\N"  # NULL in COPY's text format
LANGUAGE = "zh-hans"  # Appeal.language

# ------------------------------------------------------------------------------------------
# Words
# ------------------------------------------------------------------------------------------

CITIES = [
    ("云川市", "3401", ["东城区", "西湖区", "安宁县", "石门县"]),
    ("安平市", "3402", ["北关区", "龙湖区", "平乐县", "清河县"]),
    ("河阳市", "3403", ["南山区", "新城区", "阳谷县", "桃源县"]),
    ("青岭市", "3404", ["中山区", "滨江区", "白水县", "临泉县"]),
]
MUNICIPAL = [
    "发展和改革委员会",
    "经济和信息化局",
    "教育局",
    "科学技术局",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源和规划局",
    "生态环境局",
    "住房和城乡建设局",
    "交通运输局",
    "水利局",
    "农业农村局",
    "商务局",
    "文化和旅游局",
    "卫生健康委员会",
    "应急管理局",
    "审计局",
    "市场监督管理局",
    "统计局",
    "医疗保障局",
    "城市管理局",
    "林业局",
    "数据资源管理局",
    "政务服务管理局",
    "投资促进局",
    "地方金融管理局",
    "税务局",
    "住房公积金管理中心",
    "国有资产监督管理委员会",
    "退役军人事务局",
    "人民防空办公室",
    "供销合作社",
    "工商业联合会",
    "消防救援支队",
    "气象局",
    "粮食和物资储备局",
    "机关事务管理局",
]
COUNTY_SECTORS = [0, 1, 8, 9, 11, 15, 20]  # the bureaus every county has (indexes in MUNICIPAL)
UTILITY = -1  # "sector" of the power and gas company
CATEGORIES = [
    (
        "policy",
        "政策兑现",
        [
            (
                "subsidy",
                "奖补资金兑现",
                7,
                ["技改奖补资金迟迟未到账", "稳岗补贴申领", "首台套奖励兑现"],
            ),
            (
                "tax",
                "税费优惠落实",
                29,
                ["研发费用加计扣除", "增值税留抵退税进度", "小微企业减免税"],
            ),
            ("talent", "人才政策兑现", 8, ["人才安居补贴", "高层次人才认定", "引进人才子女入学"]),
            ("tech", "科技项目支持", 3, ["科技项目验收", "高新技术企业认定", "研发平台申报"]),
        ],
    ),
    (
        "factor",
        "要素保障",
        [
            ("land", "用地保障", 9, ["项目用地指标", "土地证办理", "厂房用地性质变更"]),
            ("power", "用电用气", UTILITY, ["新增用电报装", "天然气接入", "频繁停电影响生产"]),
            ("labour", "用工招聘", 8, ["季节性用工缺口", "技能人才招聘", "职业培训补贴"]),
            ("finance", "融资需求", 28, ["续贷过桥资金", "担保费率过高", "应收账款融资"]),
        ],
    ),
    (
        "approval",
        "审批服务",
        [
            ("project", "项目审批", 0, ["项目备案", "节能审查", "核准文件办理时限"]),
            ("build", "工程建设许可", 11, ["施工许可证办理", "竣工联合验收", "消防验收"]),
            ("eia", "环评审批", 10, ["环评批复", "排污许可证", "危废处置"]),
            ("licence", "证照办理", 20, ["食品经营许可", "营业执照变更", "特种设备登记"]),
        ],
    ),
    (
        "market",
        "市场监管与执法",
        [
            ("inspection", "涉企检查", 20, ["重复检查", "检查频次过多", "多头执法"]),
            ("penalty", "行政处罚", 6, ["处罚畸轻畸重", "首违不罚适用", "罚款缴纳方式"]),
            ("ip", "知识产权保护", 20, ["商标被抢注", "专利侵权", "假冒产品"]),
            ("competition", "公平竞争", 20, ["招投标限制外地企业", "指定交易", "政府采购门槛"]),
        ],
    ),
    (
        "infra",
        "基础设施",
        [
            ("road", "道路交通", 12, ["厂区道路破损", "货车通行证", "公交线路调整"]),
            ("water", "供水排水", 23, ["园区污水管网", "供水压力不足", "雨季内涝"]),
            ("network", "通信网络", 25, ["5G信号覆盖", "宽带接入", "政务数据共享"]),
            ("logistics", "物流仓储", 15, ["冷链仓储", "物流园区配套", "快递进园区"]),
        ],
    ),
    (
        "law",
        "法治与信用",
        [
            ("arrears", "拖欠账款", 31, ["政府工程款拖欠", "国企账款拖欠", "质保金返还"]),
            ("credit", "信用修复", 0, ["行政处罚信息修复", "失信记录移出", "信用报告更正"]),
            ("dispute", "涉企纠纷", 6, ["合同纠纷调解", "劳动争议", "相邻权纠纷"]),
            ("other", "其他诉求", 26, ["政策咨询", "办事指南不清", "窗口服务态度"]),
        ],
    ),
]
SENTENCES = [
    "我公司成立于{y}年，现有员工{n}人，主要从事制造业。",
    "该事项已多次向有关部门反映，但至今未得到答复。",
    "由于此事影响企业正常生产经营，恳请相关部门尽快协调解决。",
    "按照有关政策文件规定，我公司符合相关条件。",
    "相关材料已于上月提交，窗口告知需等待进一步审核。",
    "目前企业订单充足，但受此影响无法按期交货。",
    "希望政府部门能够明确办理时限和所需材料。",
    "我们理解相关工作需要时间，但希望能够告知办理进度。",
    "企业已按要求完成整改，申请尽快复核。",
    "此事涉及多个部门，企业不清楚应当向哪个部门申请。",
    "项目总投资约{n}万元，预计投产后新增就业岗位{m}个。",
    "园区内多家企业反映了类似问题。",
]
CHANNELS = (
    ["web"] * 55
    + ["hotline"] * 20
    + ["api"] * 10
    + ["meeting"] * 6
    + ["visit"] * 6
    + ["letter"] * 3
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉林"
FIRM_WORDS = "华宏泰鑫盛达恒瑞丰源兴隆博创新锐远航金诚信德中天鸿运嘉禾联"
INDUSTRIES = [
    "机械制造",
    "新材料",
    "电子科技",
    "食品",
    "纺织",
    "化工",
    "医药",
    "建材",
    "物流",
    "农业开发",
    "软件",
    "汽车零部件",
    "光伏科技",
    "包装",
    "环保科技",
]
REVIEW_NOTES = ["同意答复。", "答复口径已核实，同意。", "已补充政策依据，同意。"]
RETURN_REASONS = ["不属于本单位职责范围。", "诉求涉及区县事权，建议改派属地政府。"]

# ------------------------------------------------------------------------------------------
# Calendar arithmetic on day indexes (precomputed from sla.calendar, so it is the real one)
# ------------------------------------------------------------------------------------------


class Days:
    """Day i is BASE + i days. C[i] = working days in [BASE, day i]; W[k] = the (k+1)-th
    working day. Then working_days_between(a, b) = C[b] - C[a] and
    add_working_days(a, n) = W[C[a] + n - 1] (n >= 1), exactly as sla.calendar counts."""

    def __init__(self, first: date, last: date, tz_suffix: str) -> None:
        self.base = first
        n = (last - first).days + 1
        self.str = [(first + timedelta(days=i)).isoformat() for i in range(n)]
        self.C: list[int] = []
        self.W: list[int] = []
        count = 0
        for i in range(n):
            if is_working_day(first + timedelta(days=i)):
                count += 1
                self.W.append(i)
            self.C.append(count)
        # " HH:MM:SS+08" for each second of the day: a timestamp is a day string + this.
        self.tod = [
            f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{tz_suffix}" for s in range(86400)
        ]

    def index(self, d: date) -> int:
        return (d - self.base).days

    def add(self, d: int, n: int) -> int:
        return self.W[self.C[d] + n - 1] if n else d

    def is_working(self, d: int) -> bool:
        return self.C[d] != (self.C[d - 1] if d else 0)

    def due(self, d: int, n: int) -> int:
        """sla.models.Clock.compute_due for a clock started on d with n days in all: 0 days is
        "within the working day", so a clock started on a day off is due the next working day."""
        if n == 0 and not self.is_working(d):
            n = 1
        return self.W[self.C[d] + n - 1] if n else d

    def between(self, a: int, b: int) -> int:
        return self.C[b] - self.C[a]

    def shift(self, d: int, n: int) -> int:
        """The working day n working days from d (n may be negative); d itself counts as 0
        only if it is a working day."""
        return self.W[self.C[d] + n - 1]

    def yellow_from(self, due: int, warn: int) -> int:
        """sla.models.Clock.yellow_from: the first day with between(day, due) <= warn."""
        k = self.C[due] - warn
        return self.W[k - 1] if k >= 1 else 0

    def ts(self, t: int) -> str:
        return self.str[t // 86400] + self.tod[t % 86400]


# ------------------------------------------------------------------------------------------
# COPY streaming
# ------------------------------------------------------------------------------------------


class _QueueReader:
    """A file-like object for copy_expert: read() hands over the next chunk from the queue."""

    def __init__(self, q: queue.Queue) -> None:
        self.q = q
        self.ended = False  # the producer's end (None) was taken

    def read(self, size: int = -1) -> str:
        chunk = self.q.get()
        if chunk is None:
            self.ended = True
            return ""
        return chunk

    readline = read


class CopyStream:
    """One table: rows are appended to `rows`; flush() hands them to a thread that streams
    them into `COPY <table> FROM STDIN` on its own connection."""

    def __init__(self, dsn: dict, table: str) -> None:
        self.table = table
        self.rows: list[str] = []
        self.count = 0
        self.q: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(dsn,), daemon=True)
        self.thread.start()

    def _run(self, dsn: dict) -> None:
        reader = _QueueReader(self.q)
        try:
            conn = psycopg2.connect(**dsn)
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")
                cur.execute("SET synchronous_commit = off")
                cols = ", ".join(COLUMNS[self.table])
                cur.copy_expert(f"COPY {self.table} ({cols}) FROM STDIN", reader, size=1 << 20)
            conn.commit()
            conn.close()
        except BaseException as exc:  # reported by finish()
            self.error = exc
            # Unblock the producer until its end. psycopg2 reads the whole input before the
            # server's error comes back, so the end has usually been taken already: waiting
            # for another would hang the run (and finish() would never report the error).
            while not reader.ended and self.q.get() is not None:
                pass

    def flush(self) -> None:
        if self.rows:
            self.count += len(self.rows)
            self.rows.append("")  # trailing newline
            self.q.put("\n".join(self.rows))
            self.rows = []

    def finish(self) -> None:
        self.flush()
        self.q.put(None)
        self.thread.join()
        if self.error:
            raise RuntimeError(f"COPY into {self.table} failed") from self.error


# ------------------------------------------------------------------------------------------
# The generator
# ------------------------------------------------------------------------------------------


# The clocks the escalation ladder applies to (the triage and the departments' own).
ESCALATED = frozenset(o.value for o in Clock.ESCALATED_OBLIGATIONS)


def b(v: bool) -> str:
    return "t" if v else "f"


# random.randint and random.choice cost a microsecond each in pure Python; these do the same
# with one call to the C random() (the generator makes about a hundred draws per appeal).
_random = random.Random()  # noqa: S311 - benchmark data, not secrets
_R = _random.random


def ri(a: int, z: int) -> int:
    return a + int(_R() * (z - a + 1))


def ch(seq):
    return seq[int(_R() * len(seq))]


def rr(n: int) -> int:
    return int(_R() * n)


class Province:
    def __init__(self, *, appeals: int, seed: int, dsn: dict) -> None:
        self.n = appeals
        _random.seed(seed)
        self.rnd = _random
        self.dsn = dsn
        self.now = timezone.now()
        local = timezone.localtime(self.now)
        offset = local.utcoffset()
        hours, rem = divmod(int(offset.total_seconds()), 3600)
        suffix = f"{hours:+03d}" + (f":{rem // 60:02d}" if rem else "")
        self.today_date = local.date()
        self.start_date = self.today_date - timedelta(days=3 * 365)
        self.days = Days(
            self.start_date - timedelta(days=400), self.today_date + timedelta(days=200), suffix
        )
        self.today = self.days.index(self.today_date)
        self.now_t = self.today * 86400 + local.hour * 3600 + local.minute * 60 + local.second
        self.ids = dict.fromkeys(LOADED, 0)
        policies = {p.priority: p for p in Policy.objects.filter(category__isnull=True)}
        self.limits = {}
        for priority in ("normal", "urgent"):
            p = policies.get(priority if priority == "urgent" else "", policies.get(""))
            self.limits[priority] = {
                ob: (p.limit_for(ob), p.warn_days_for(p.limit_for(ob)))
                for ob in ("triage", "sign", "opinion", "reply", "promise", "rating")
            }
        # (step id, colour, after working days), as sla.models.EscalationStep.fires_on reads them,
        # lowest first, as sla.selectors.active_steps orders them.
        self.steps = [
            (s.pk, s.colour, s.after_working_days)
            for s in sorted(
                EscalationStep.objects.filter(is_active=True),
                key=lambda s: (COLOUR_RANK[s.colour], s.after_working_days),
            )
        ]
        # One outage of the deadline sweep, about eight months ago, from a Thursday at 22:00 to
        # the Saturday at 09:30: the steps that fell due meanwhile fire when it is back, and where
        # several fell due for one clock, only the highest fires and the lower ones are recorded
        # as skipped (sla.services._escalate_due). Clocks met meanwhile were never escalated.
        day = self.today - 240
        while not (
            (self.days.base + timedelta(days=day)).weekday() == 3
            and self.days.is_working(day)
            and self.days.is_working(day + 1)
        ):
            day -= 1
        self.outage = (day * 86400 + 22 * 3600, (day + 2) * 86400 + 9 * 3600 + 1800)

    # --- ids and times ---------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def at(self, d: int) -> int:
        """A moment during office hours on day d (before now, if d is today)."""
        if d >= self.today:
            hi = self.now_t - self.today * 86400 - 60
            return self.today * 86400 + ri(0, max(hi, 0))
        return d * 86400 + ri(30600, 64800)

    def later(self, t: int, lo: int, hi: int) -> int:
        """A moment lo..hi seconds after t, not after now."""
        return min(t + ri(lo, hi), self.now_t - 30)

    # --- organisations ---------------------------------------------------------------------

    def organisations(self) -> None:
        from appeals.models import EnterpriseTag
        from departments.models import Category, Department, Region

        self.regions = []  # (region, city index)
        self.counties = []
        for ci, (city, code, counties) in enumerate(CITIES):
            r = Region.objects.create(code=f"{code}00", name=city, level=Region.Level.CITY)
            self.regions.append((r, ci))
            for k, county in enumerate(counties, start=1):
                c = Region.objects.create(
                    code=f"{code}{k:02d}", name=county, level=Region.Level.COUNTY, parent=r
                )
                self.regions.append((c, ci))
                self.counties.append((c, ci))
        depts = []
        self.municipal = {}  # (city index, sector) -> department
        self.county_depts = {}  # (county id, sector) -> department; sector None = government
        self.utility = {}
        self.city_depts: dict[int, list] = {}
        for ci, (city, code, _counties) in enumerate(CITIES):
            region = self.regions[ci * 5][0]
            for k, name in enumerate(MUNICIPAL):
                d = Department(
                    code=f"m{code}-{k:02d}", name=f"{city}{name}", kind="municipal", region=region
                )
                depts.append(d)
                self.municipal[ci, k] = d
            for j, zone in enumerate(("经济技术开发区管委会", "高新技术产业开发区管委会")):
                depts.append(
                    Department(
                        code=f"z{code}-{j}", name=f"{city}{zone}", kind="dev_zone", region=region
                    )
                )
            self.utility[ci] = Department(
                code=f"u{code}", name=f"国网{city}供电公司", kind="utility", region=region
            )
            depts.append(self.utility[ci])
        for county, _ci in self.counties:
            gov = Department(
                code=f"c{county.code}-gov",
                name=f"{county.name}人民政府",
                kind="county_gov",
                region=county,
            )
            depts.append(gov)
            self.county_depts[county.pk, None] = gov
            for k in COUNTY_SECTORS:
                name = MUNICIPAL[k].replace("委员会", "局")
                d = Department(
                    code=f"c{county.code}-{k:02d}",
                    name=f"{county.name}{name}",
                    kind="municipal",
                    region=county,
                )
                depts.append(d)
                self.county_depts[county.pk, k] = d
        Department.objects.bulk_create(depts)
        if len(depts) != 300:
            raise RuntimeError(f"expected 300 departments, made {len(depts)}")
        self.departments = depts
        for d in depts:
            ci = next(i for i, (_, code, _c) in enumerate(CITIES) if d.code[1:5] == code)
            self.city_depts.setdefault(ci, []).append(d)
        self.dept_name = {d.pk: d.name for d in depts}

        self.categories = []  # (category, sector, titles)
        order = 0
        for code, name, children in CATEGORIES:
            parent = Category.objects.create(code=code, name=name, sort_order=order)
            order += 1
            for ccode, cname, sector, titles in children:
                lead = self.utility[0] if sector == UTILITY else self.municipal[0, sector]
                c = Category.objects.create(
                    code=f"{code}-{ccode}",
                    name=cname,
                    parent=parent,
                    sort_order=order,
                    lead_department=lead,
                )
                order += 1
                self.categories.append((c, sector, titles))
        # Where each category goes in each county: the county bureau, the city's bureau or
        # the county government, weighted the way a commissioner would route it.
        self.routes = {}
        for county, ci in self.counties:
            for cat, sector, _titles in self.categories:
                if sector == UTILITY:
                    cands = [self.utility[ci]] * 8 + [self.county_depts[county.pk, None]] * 2
                else:
                    local = self.county_depts.get((county.pk, sector))
                    cands = (
                        [local or self.county_depts[county.pk, None]] * 5
                        + [self.municipal[ci, sector]] * 4
                        + [self.county_depts[county.pk, None]]
                    )
                self.routes[county.pk, cat.pk] = [d.pk for d in cands]
        self.tags = list(EnterpriseTag.objects.values_list("pk", flat=True))

    def enterprises(self, count: int) -> None:
        rnd = self.rnd
        ents = CopyStream(self.dsn, "appeals_enterprise")
        tags = CopyStream(self.dsn, "appeals_enterprise_tags")
        self.ents = []  # (id, name, credit code, contact name, phone, county id, city index)
        seen = set()
        for i in range(1, count + 1):
            county, ci = self.counties[rr(len(self.counties))]
            while True:
                body = "".join(rnd.choices(CREDIT_CODE_CHARSET, k=9))
                first17 = f"91{county.code}{body}"
                if first17 not in seen:
                    seen.add(first17)
                    break
            # Upper-case characters of the alphabet only: the normalised form, the only one the
            # table's check constraint (enterprise_credit_code_normalised) lets COPY write.
            code = first17 + credit_code_check_char(first17)
            name = f"{county.name[:2]}{ch(FIRM_WORDS)}{ch(FIRM_WORDS)}{ch(INDUSTRIES)}有限公司"
            contact = ch(SURNAMES) + ch(GIVEN) + ch(GIVEN)
            phone = f"1{ch('3456789')}{rr(10**9):09d}"
            created = self.days.ts(self.at(self.today - ri(1200, 1600)))
            ents.rows.append(
                f"{i}\t{name}\t{code}\t{contact}\t{phone}\t{created}\t{N}\t{county.pk}"
            )
            self.ents.append((i, name, code, contact, phone, county.pk, ci))
            if rnd.random() < 0.12:
                for t in rnd.sample(self.tags, ri(1, 2)):
                    tags.rows.append(f"{self.next_id('appeals_enterprise_tags')}\t{i}\t{t}")
        self.ids["appeals_enterprise"] = count
        ents.finish()
        tags.finish()

    # --- appeals -----------------------------------------------------------------------------

    def plan(self) -> list[tuple]:
        """Decide each appeal's fate and filing moment, then sort by filing moment so that ids
        and registration numbers grow with time, as they do in production."""
        rnd = self.rnd
        days = self.days
        first = days.index(self.start_date)
        plans = []
        n_open = round(self.n * 0.07)
        for _ in range(n_open):
            stage = rnd.random()
            if stage < 0.06:
                plans.append(self._plan_triage())
            elif stage < 0.16:
                plans.append(self._plan_assigned())
            elif stage < 0.76:
                plans.append(self._plan_in_progress())
            else:
                plans.append(self._plan_replied())
        span = self.today - first
        for _ in range(self.n - n_open):
            x = rnd.random()
            kind = (
                "closed"
                if x < 0.947
                else ("not_accepted" if x < 0.979 else ("merged" if x < 0.99 else "redirected"))
            )
            d = first + int(rnd.random() * span)
            plans.append((self.at(d), kind, None))
        plans.sort(key=lambda p: p[0])
        return plans

    def _reply_due_for(self, r: int, limit: int) -> tuple[int, int]:
        """A reply clock that has r working days left today: (routing day, due day)."""
        days = self.days
        due = days.W[days.C[self.today] + r - 1]
        started = days.W[days.C[due] - limit - 1]
        return started, due

    def _plan_triage(self):
        # Waiting to be routed (one working day; urgent: within the working day): half filed
        # today, most of the rest on the last working day, a few left for days (late).
        x = self.rnd.random()
        if x < 0.5:
            d = self.today
        else:
            d = self.days.shift(self.today - 1, -(0 if x < 0.85 else ri(1, 3)))
        return (self.at(d), "triage", None)

    def _plan_assigned(self):
        rnd = self.rnd
        x = rnd.random()
        back = 0 if x < 0.3 else (1 if x < 0.7 else ri(2, 6))  # green / yellow / red
        routed = self.days.shift(self.today, -back) if back else self.today
        filed = self.days.shift(routed, -ri(0, 1)) if rnd.random() < 0.4 else routed
        t = self.at(filed)
        return (t, "assigned", (routed,))

    def _plan_in_progress(self):
        rnd = self.rnd
        priority = "urgent" if rnd.random() < 0.05 else "normal"
        limit, warn = self.limits[priority]["reply"]
        x = rnd.random()
        if x < 0.55:
            r = ri(warn + 1, limit - 1)
        elif x < 0.77:
            r = ri(0, warn)
        else:
            r = -min(int(rnd.expovariate(1 / 8)) + 1, 60)
        # The reply clock is the lead's own, from its assignment; the appeal was filed that day
        # or, as the routing of closed appeals goes, a working day or two before.
        routed, _due = self._reply_due_for(r, limit)
        routed = min(routed, self.today)
        y = rnd.random()
        filed = routed if y < 0.6 else self.days.shift(routed, -(1 if y < 0.9 else 2))
        return (self.at(filed), "in_progress", (priority, routed))

    def _plan_replied(self):
        published = self.days.shift(self.today, -ri(0, 4))
        filed = self.days.shift(published, -ri(2, 12))
        return (self.at(filed), "replied", (published,))

    # --- rows ---------------------------------------------------------------------------------

    def run(self) -> None:
        streams = {t: CopyStream(self.dsn, t) for t in LOADED[2:]}
        self.s = streams
        self.A = {t: s.rows.append for t, s in streams.items()}
        plans = self.plan()
        self.year_seq: dict[int, int] = {}
        progress = max(len(plans) // 20, 1)
        started = time.monotonic()
        for i, (t_f, kind, extra) in enumerate(plans, start=1):
            self.appeal(i, t_f, kind, extra)
            if i % 2000 == 0:
                for s in streams.values():
                    if len(s.rows) > 20000:
                        s.flush()
                        # re-bind: flush() replaced the list
                        self.A[s.table] = s.rows.append
                if i % progress == 0:
                    print(f"  {i:>9,} appeals  {time.monotonic() - started:6.1f} s", flush=True)
        for s in streams.values():
            s.finish()
        self.counts = {t: s.count for t, s in streams.items()}

    def appeal(self, pk: int, t_f: int, kind: str, extra) -> None:
        rnd = self.rnd
        days = self.days
        A = self.A
        d_f = t_f // 86400
        year = int(days.str[d_f][:4])
        seq = self.year_seq[year] = self.year_seq.get(year, 0) + 1
        number = f"SX-{year}-{seq:07d}"
        cat, _sector, titles = self.categories[rr(len(self.categories))]
        anonymous = rnd.random() < 0.03
        if anonymous:
            county, ci = self.counties[rr(len(self.counties))]
            ent = N
            ent_name = credit = contact = phone = ""
            region = county.pk
        else:
            e = self.ents[rr(len(self.ents))]
            ent, ent_name, credit, contact, phone, region, ci = e
        priority = "normal"
        if kind == "in_progress":
            priority = extra[0]
        elif rnd.random() < 0.05:
            priority = "urgent"
        lim = self.limits[priority]
        title = f"关于{ch(titles)}的诉求"
        content = "".join(
            s.format(y=ri(1995, 2022), n=ri(20, 900), m=ri(10, 300))
            for s in rnd.sample(SENTENCES, ri(2, 5))
        )
        content = f"{cat.name}：{title[2:-3]}。" + content
        self.pk = pk
        self.events = []  # (t, code, note, public, department id)
        self.colours = []
        self.region_county = region
        self.cat = cat
        self.ci = ci
        status = kind
        closed_at = N
        explanation = ""
        merged_into = N
        returned = reopened = 0
        awaiting = N
        blocked = False
        last_t, last_reason = t_f, None
        self.events.append((t_f, EventCode.FILED, f"诉求已登记，登记号{number}。", True, None))

        if kind in ("not_accepted", "redirected", "merged"):
            if kind == "merged" and pk < 2:
                kind = status = "not_accepted"
            t_end = self.later(t_f, 1800, 86400 * 2)
            closed_at = days.ts(t_end)
            explanation = {
                "not_accepted": "该事项属于司法程序，不予受理，请通过法定途径解决。",
                "redirected": "该事项已转12345热线按程序办理。",
                "merged": "与此前登记的诉求内容相同，已并案办理。",
            }[kind]
            if kind == "merged":
                merged_into = str(ri(max(1, pk - 3000), pk - 1))
            self.events.append((t_end, EventCode(kind), explanation, True, None))
            last_t, last_reason = t_end, kind
            # The commissioner decided (triage met) and the enterprise has its answer (promise
            # met).
            self.triage_clock(d_f, lim, t0=t_f, met_t=t_end)
            self.promise_clock(d_f, lim, met_t=t_end)
        elif kind == "triage":
            self.triage_clock(d_f, lim, t0=t_f)
            self.promise_clock(d_f, lim)
        else:
            state = self.handle(kind, t_f, lim, extra)
            status = state["status"]
            returned = state["returned"]
            reopened = state["reopened"]
            last_t, last_reason = state["last"]
            if state.get("closed_at"):
                closed_at = days.ts(state["closed_at"])
            if state.get("awaiting"):
                awaiting = days.ts(state["awaiting"])
        is_open = status in ("triage", "assigned", "in_progress", "replied")
        if is_open:
            if status != "triage" and rnd.random() < 0.01:
                blocked = True
            rank = max(self.colours, default=1)
            colour = "red" if blocked or returned >= 2 else ("", "green", "yellow", "red")[rank]
        else:
            colour = ""
        public_board = status == "closed" and rnd.random() < 0.002

        pks = str(pk)
        # A third of named filers asked to be told of every step by SMS (issue #19), as in the
        # demo; every filing's messages in Chinese.
        sms = not anonymous and pk % 3 == 0
        channel = CHANNELS[rr(len(CHANNELS))]
        common_a = f"{number}\t{channel}\t"
        tail_person = (
            f"{b(anonymous)}\t{ent_name}\t{credit}\t{contact}\t{phone}\t{title}\t{content}\t"
        )
        filed_s = days.ts(t_f)
        refs = (
            f"{cat.pk}\t{N}\t{N}\t{merged_into}\t{region}\t{ent}\t{awaiting}\t"
            f"{'企业反映的问题涉及多个部门，协调中' if blocked else ''}\t{b(blocked)}\t"
            f"{b(public_board)}"
        )
        A["appeals_appeal"](
            f"{pks}\t{number}\t{rnd.getrandbits(256):064x}\t{channel}\t{status}\t{priority}\t"
            f"{tail_person}{explanation}\t{returned}\t{reopened}\t{filed_s}\t{closed_at}\t"
            f"{refs}\t{colour}\t{b(sms)}\t{LANGUAGE}"
        )
        # History: the creation row and the current state (the board never reads history).
        hist = A["appeals_historicalappeal"]
        hist(
            f"{pks}\t{common_a}triage\t{priority}\t{tail_person}\t0\t0\t{filed_s}\t{N}\t"
            f"{cat.pk}\t{N}\t{N}\t{N}\t{region}\t{ent}\t{N}\t\tf\tf\t"
            f"{self.next_id('appeals_historicalappeal')}\t{filed_s}\t{N}\t+\t{N}\t"
            f"{b(sms)}\t{LANGUAGE}"
        )
        if last_reason:
            hist(
                f"{pks}\t{common_a}{status}\t{priority}\t{tail_person}{explanation}\t{returned}\t"
                f"{reopened}\t{filed_s}\t{closed_at}\t{refs}\t"
                f"{self.next_id('appeals_historicalappeal')}\t{days.ts(last_t)}\t{last_reason}"
                f"\t~\t{N}\t{b(sms)}\t{LANGUAGE}"
            )
        ev = A["appeals_timelineevent"]
        for t, code, note, public, dept in self.events:
            ev(
                f"{self.next_id('appeals_timelineevent')}\t{code}\t{note}\t{b(public)}\t"
                f"{days.ts(t)}\t{N}\t{pks}\t{dept if dept else N}\t\t{{}}\t"
            )

    # --- the handling loop ----------------------------------------------------------------

    def lead_for(self) -> int:
        county = self.region_county
        routes = self.routes.get((county, self.cat.pk))
        if routes is None:  # an appeal of a city region (not generated, kept for safety)
            return self.departments[0].pk
        return routes[rr(len(routes))]

    def co_for(self, lead: int, k: int) -> list[int]:
        pool = self.city_depts[self.ci]
        out = []
        while len(out) < k:
            d = pool[rr(len(pool))].pk
            if d != lead and d not in out:
                out.append(d)
        return out

    def assignment(self, role, state, t_a, t_s, t_done, dept, reason="") -> int:
        pk = self.next_id("appeals_assignment")
        ts = self.days.ts
        self.A["appeals_assignment"](
            f"{pk}\t{role}\t{state}\t{ts(t_a)}\t{ts(t_s) if t_s else N}\t"
            f"{ts(t_done) if t_done else N}\t{reason}\t{self.pk}\t{N}\t{dept}\t{N}"
        )
        return pk

    def clock(
        self,
        obligation,
        *,
        started,
        limit,
        warn,
        due,
        state,
        assignment=None,
        dept=None,
        met_t=None,
        extension=0,
        paused=0,
        paused_on=None,
        t0=0,
    ) -> int:
        """One clock row, its colour (sla.models.Clock.colour_on) and the escalations the sweep
        would have written for it (t0: the moment it started, before which nothing fires)."""
        days = self.days
        today = self.today
        if state == "cancelled":
            colour = ""
        elif state == "met":
            colour = "yellow" if met_t // 86400 > due else "green"
        else:
            on = paused_on if state == "paused" else today
            if on > due:
                colour = "red"
            elif days.between(on, due) <= warn:
                colour = "yellow"
            else:
                colour = "green"
            if state == "running" and colour == "red":
                state = "breached"
        pk = self.next_id("sla_clock")
        next_check = N
        if obligation in ESCALATED and state != "cancelled":
            end = met_t // 86400 if state == "met" else (paused_on if state == "paused" else today)
            yf = days.yellow_from(due, warn)
            upcoming = []
            caught_up = []
            out_from, out_to = self.outage
            esc = self.A["sla_escalation"]
            for step, step_colour, after in self.steps:
                fires = days.add(yf, after) if step_colour == "yellow" else days.add(due, after) + 1
                if fires > end:
                    upcoming.append(fires)
                    continue
                t = fires * 86400 + ri(5, 600)  # the sweep's check just after midnight
                if t < t0:  # due when it started: the first sweep after it
                    t = t0 + 60
                if met_t is not None and t >= met_t:
                    continue
                if out_from <= t < out_to:
                    caught_up.append(step)
                    continue
                esc(
                    f"{self.next_id('sla_escalation')}\t{days.ts(min(t, self.now_t - 5))}\t"
                    f"{self.pk}\t{pk}\t{step}\tf"
                )
            if caught_up and (met_t is None or met_t > out_to):
                # The sweep is back: the highest step fires, the lower ones are skipped.
                when = days.ts(out_to + ri(5, 120))
                *lower, highest = caught_up
                for step, skipped in ((highest, "f"), *((s, "t") for s in lower)):
                    esc(
                        f"{self.next_id('sla_escalation')}\t{when}\t{self.pk}\t{pk}\t{step}\t"
                        f"{skipped}"
                    )
            if state in ("running", "breached"):
                upcoming += [d for d in (yf, due + 1) if d > today]
                if upcoming:
                    next_check = days.str[min(upcoming)] + days.tod[0]
        elif state in ("running", "breached"):  # the promise and the rating window: no ladder
            upcoming = [d for d in (days.yellow_from(due, warn), due + 1) if d > today]
            if upcoming:
                next_check = days.str[min(upcoming)] + days.tod[0]
        if state != "cancelled":
            self.colours.append({"green": 1, "yellow": 2, "red": 3}[colour])
        self.A["sla_clock"](
            f"{pk}\t{obligation}\t{state}\t{days.str[started]}\t{limit}\t{extension}\t{paused}\t"
            f"{days.str[paused_on] if paused_on is not None else N}\t{warn}\t{days.str[due]}\t"
            f"{days.ts(met_t) if met_t else N}\t{colour}\t{next_check}\t{self.pk}\t"
            f"{assignment if assignment else N}\t{dept if dept else N}"
        )
        return pk

    def triage_clock(self, started: int, lim: dict, *, t0: int, met_t=None) -> None:
        """The commissioner's clock: from filing (or a lead's return) to routing or a decision."""
        limit, warn = lim["triage"]
        self.clock(
            "triage",
            started=started,
            limit=limit,
            warn=warn,
            due=self.days.due(started, limit),
            state="met" if met_t is not None else "running",
            met_t=met_t,
            t0=t0,
        )

    def promise_clock(
        self, started: int, lim: dict, *, met_t=None, extension=0, paused_on=None
    ) -> None:
        """The promise to the enterprise: from filing (or a reopening) to the published reply,
        paused with the material, moved by the lead's approved extensions."""
        limit, warn = lim["promise"]
        state = "met" if met_t is not None else ("paused" if paused_on is not None else "running")
        self.clock(
            "promise",
            started=started,
            limit=limit,
            warn=warn,
            due=self.days.due(started, limit + extension),
            state=state,
            met_t=met_t,
            extension=extension,
            paused_on=paused_on,
        )

    def event(self, t, code, note, public=True, dept=None):
        self.events.append((t, code, note, public, dept))

    def _sample(self, kind: str, t_f: int, lim: dict, extra) -> dict:
        """The moments of the loop for one appeal (no rows yet): routing, an optional returned
        first lead, signatures, opinions, published replies and ratings."""
        rnd = self.rnd
        days = self.days
        today = self.today
        d_f = t_f // 86400
        rep_limit = lim["reply"][0]
        rat_limit = lim["rating"][0]
        s = {"returned": None, "extension": 0}
        if kind == "assigned":
            d_r = extra[0]
        elif kind == "in_progress":
            d_r = extra[1]
        else:
            # Routing (the triage clock: one working day): 60 % the day of filing, 30 % the
            # next working day, 10 % the one after (late).
            x = rnd.random()
            d_r = d_f if x < 0.6 else days.add(d_f, 1 if x < 0.9 else 2)
            d_r = min(d_r, today)
        t_r = max(self.at(d_r), t_f + 60) if d_r > d_f else self.later(t_f, 600, 7200)
        lead = self.lead_for()
        if kind == "closed" and rnd.random() < 0.05:
            t_ret = t_r + ri(3600, 86400)
            s["returned"] = (lead, t_r, d_r, t_ret, ch(RETURN_REASONS))
            lead = self.lead_for()
            t_r = t_ret + ri(1800, 86400)
            d_r = t_r // 86400
        s["lead"], s["t_r"], s["d_r"] = lead, t_r, d_r
        k = 0 if rnd.random() < 0.55 else (1 if rnd.random() < 0.67 else 2)
        cos = self.co_for(lead, k)
        if kind == "assigned":
            s["cos"] = [(co, None, None) for co in cos]
            return s

        def sign_time(t0: int) -> int:
            x = rnd.random()
            if x < 0.7:
                return t0 + ri(300, 5 * 3600)
            d = days.add(t0 // 86400, 1 if x < 0.95 else ri(2, 4))
            return max(self.at(d) if d < today else d * 86400 + 36000, t0 + 60)

        s["t_sl"] = t_sl = sign_time(t_r)
        co_rows = []
        for co in cos:
            t_sc = sign_time(t_r)
            t_o = None
            if rnd.random() < 0.88:
                d_o = days.add(t_sc // 86400, ch((0, 0, 1, 1, 2, 3, 4)))
                t_o = max(self.at(d_o) if d_o < today else d_o * 86400 + 36000, t_sc + 600)
            co_rows.append((co, t_sc, t_o))
        s["cos"] = co_rows
        if kind == "in_progress":
            return s
        if kind == "replied":
            t_pub = max(self.at(extra[0]), t_sl + 600)
            if t_pub > self.now_t - 60:  # published just now; everything before it
                t_pub = self.now_t - 60
                s["t_sl"] = t_sl = min(t_sl, t_pub - 600)
                s["t_r"] = min(s["t_r"], t_sl - 60)
                s["d_r"] = s["t_r"] // 86400
        else:
            s["extension"] = 5 if rnd.random() < 0.03 else 0
            rep_due = days.add(s["d_r"], rep_limit + s["extension"])  # the lead's own deadline
            x = rnd.random()
            if x < 0.8:
                d_s = days.add(d_r, ri(1, max(rep_limit - 2, 1)))
            elif x < 0.92:
                d_s = days.add(rep_due, ri(-2, 0))
            else:
                d_s = days.add(rep_due, ri(1, 15))
            t_pub = max(d_s * 86400 + ri(30600, 64800), t_sl + 1800)
        # Opinions not in before the reply are never sent (the co-handler is cancelled).
        s["cos"] = [
            (co, t_sc, t_o if t_o is not None and t_o < t_pub - 600 else None)
            for co, t_sc, t_o in co_rows
        ]
        s["rounds"] = [t_pub]
        s["ratings"] = []
        if kind == "closed":
            t_rate, score, rehandle = self._rating(t_pub, rat_limit)
            s["ratings"].append((t_rate, score, rehandle))
            if rehandle:
                d2 = days.add(t_rate // 86400, ri(2, rep_limit))
                t_pub2 = max(d2 * 86400 + ri(30600, 64800), t_rate + 3600)
                s["rounds"].append(t_pub2)
                s["ratings"].append(self._rating(t_pub2, rat_limit, allow_rehandle=False))
        return s

    def _sample_closed(self, t_f: int, lim: dict) -> dict:
        """A closed appeal's moments, all before now: resampled when they run past now (an
        appeal filed last week can only be closed if it went quickly), else a same-day loop."""
        for _ in range(12):
            s = self._sample("closed", t_f, lim, None)
            if s["ratings"][-1][0] < self.now_t - 60:
                return s
        t_r = t_f + ri(600, 3600)
        t_sl = t_r + ri(300, 3600)
        t_pub = t_sl + ri(1800, 7200)
        return {
            "returned": None,
            "extension": 0,
            "lead": self.lead_for(),
            "t_r": t_r,
            "d_r": t_r // 86400,
            "cos": [],
            "t_sl": t_sl,
            "rounds": [t_pub],
            "ratings": [(t_pub + ri(600, 3600), "satisfied", False)],
        }

    def handle(self, kind: str, t_f: int, lim: dict, extra) -> dict:
        """Write the loop of one appeal: assignments, clocks, opinions, replies, ratings and
        events; stop where the appeal's state says."""
        rnd = self.rnd
        days = self.days
        today = self.today
        d_f = t_f // 86400
        sign_limit, sign_warn = lim["sign"]
        op_limit, op_warn = lim["opinion"]
        rep_limit, rep_warn = lim["reply"]
        rat_limit, rat_warn = lim["rating"]
        name = self.dept_name
        s = (
            self._sample_closed(t_f, lim)
            if kind == "closed"
            else self._sample(kind, t_f, lim, extra)
        )
        out = {"returned": 0, "reopened": 0}

        if s["returned"]:
            first_lead, t_r0, d_r0, t_ret, reason = s["returned"]
            # Routed once, returned, back in triage (a new triage clock) and routed again.
            self.triage_clock(d_f, lim, t0=t_f, met_t=t_r0)
            self.triage_clock(t_ret // 86400, lim, t0=t_ret, met_t=s["t_r"])
            first = self.assignment("lead", "returned", t_r0, None, t_ret, first_lead, reason)
            self.clock(
                "sign",
                started=d_r0,
                limit=sign_limit,
                warn=sign_warn,
                due=days.add(d_r0, sign_limit),
                state="cancelled",
                assignment=first,
                dept=first_lead,
            )
            self.clock(
                "reply",
                started=d_r0,
                limit=rep_limit,
                warn=rep_warn,
                due=days.add(d_r0, rep_limit),
                state="cancelled",
                assignment=first,
                dept=first_lead,
            )
            self.event(t_r0, EventCode.ROUTED, f"已交办{name[first_lead]}牵头办理。")
            self.event(
                t_ret, EventCode.RETURNED, f"{name[first_lead]}退回：{reason}", False, first_lead
            )
            out["returned"] = 1
        else:
            self.triage_clock(d_f, lim, t0=t_f, met_t=s["t_r"])
        lead, t_r, d_r = s["lead"], s["t_r"], s["d_r"]
        cos = s["cos"]
        self.event(
            t_r,
            EventCode.ROUTED,
            f"已交办{name[lead]}牵头办理" + (f"，{len(cos)}个单位配合。" if cos else "。"),
        )
        sign_due = days.add(d_r, sign_limit)
        op_due = days.add(d_r, op_limit)

        if kind == "assigned":
            a = self.assignment("lead", "assigned", t_r, None, None, lead)
            self.clock(
                "sign",
                started=d_r,
                limit=sign_limit,
                warn=sign_warn,
                due=sign_due,
                state="running",
                assignment=a,
                dept=lead,
            )
            self.clock(
                "reply",
                started=d_r,
                limit=rep_limit,
                warn=rep_warn,
                due=days.add(d_r, rep_limit),
                state="running",
                assignment=a,
                dept=lead,
            )
            for co, _t, _o in cos:
                c = self.assignment("co", "assigned", t_r, None, None, co)
                self.clock(
                    "sign",
                    started=d_r,
                    limit=sign_limit,
                    warn=sign_warn,
                    due=sign_due,
                    state="running",
                    assignment=c,
                    dept=co,
                )
                self.clock(
                    "opinion",
                    started=d_r,
                    limit=op_limit,
                    warn=op_warn,
                    due=op_due,
                    state="running",
                    assignment=c,
                    dept=co,
                )
            self.promise_clock(d_f, lim)
            out["status"] = "assigned"
            out["last"] = (t_r, "routed")
            return out

        now_t = self.now_t
        t_sl = s["t_sl"]
        rounds = s.get("rounds", [])
        ratings = s.get("ratings", [])
        extension = s["extension"]
        a_state = "signed" if kind == "in_progress" else "done"
        a = self.assignment("lead", a_state, t_r, t_sl, rounds[-1] if rounds else None, lead)
        if t_sl < now_t:
            self.clock(
                "sign",
                started=d_r,
                limit=sign_limit,
                warn=sign_warn,
                due=sign_due,
                state="met",
                met_t=t_sl,
                assignment=a,
                dept=lead,
            )
        else:  # planned in the future: it is signed, just now
            t_sl = now_t - 30
            self.clock(
                "sign",
                started=d_r,
                limit=sign_limit,
                warn=sign_warn,
                due=sign_due,
                state="met",
                met_t=t_sl,
                assignment=a,
                dept=lead,
            )
        self.event(t_sl, EventCode.SIGNED, f"{name[lead]}已签收。", True, lead)
        for co, t_sc, t_o in cos:
            # A co-handler that had not signed when the lead replied was cancelled unsigned.
            signed = t_sc < (now_t if kind == "in_progress" else rounds[0])
            if not signed and kind != "in_progress":
                c = self.assignment("co", "cancelled", t_r, None, None, co)
                for ob, lim_, warn_, due_ in (
                    ("sign", sign_limit, sign_warn, sign_due),
                    ("opinion", op_limit, op_warn, op_due),
                ):
                    self.clock(
                        ob,
                        started=d_r,
                        limit=lim_,
                        warn=warn_,
                        due=due_,
                        state="cancelled",
                        assignment=c,
                        dept=co,
                    )
                continue
            sent = t_o is not None and t_o < now_t
            if sent:
                c = self.assignment("co", "done", t_r, t_sc, t_o, co)
            elif kind == "in_progress":
                c = self.assignment(
                    "co",
                    "signed" if signed else "assigned",
                    t_r,
                    t_sc if signed else None,
                    None,
                    co,
                )
            else:
                c = self.assignment("co", "cancelled", t_r, t_sc, None, co)
            if signed or kind != "in_progress":
                self.clock(
                    "sign",
                    started=d_r,
                    limit=sign_limit,
                    warn=sign_warn,
                    due=sign_due,
                    state="met",
                    met_t=min(t_sc, now_t - 30),
                    assignment=c,
                    dept=co,
                )
            else:
                self.clock(
                    "sign",
                    started=d_r,
                    limit=sign_limit,
                    warn=sign_warn,
                    due=sign_due,
                    state="running",
                    assignment=c,
                    dept=co,
                )
            if sent:
                self.clock(
                    "opinion",
                    started=d_r,
                    limit=op_limit,
                    warn=op_warn,
                    due=op_due,
                    state="met",
                    met_t=t_o,
                    assignment=c,
                    dept=co,
                )
                self.A["appeals_opinion"](
                    f"{self.next_id('appeals_opinion')}\t我单位已按职责提出意见，请牵头单位统筹答复。"
                    f"\t{days.ts(t_o)}\t{self.pk}\t{c}\t{N}"
                )
                self.event(
                    t_o, EventCode.OPINION_SENT, f"{name[co]}已向牵头单位提交配合意见。", False, co
                )
            else:
                self.clock(
                    "opinion",
                    started=d_r,
                    limit=op_limit,
                    warn=op_warn,
                    due=op_due,
                    state="running" if kind == "in_progress" else "cancelled",
                    assignment=c,
                    dept=co,
                )

        if kind == "in_progress":
            paused_on = None
            if rnd.random() < 0.05:
                paused_on = max(days.shift(today, -ri(0, 5)), t_sl // 86400)
                t_p = self.at(paused_on) if paused_on < today else now_t - 60
                out["awaiting"] = t_p = max(t_p, t_sl + 60)
                self.event(
                    t_p, EventCode.MATERIAL_REQUESTED, "请企业补充相关证明材料。", True, lead
                )
            self.clock(
                "reply",
                started=d_r,
                limit=rep_limit,
                warn=rep_warn,
                due=days.add(d_r, rep_limit),
                state="paused" if paused_on is not None else "running",
                paused_on=paused_on,
                assignment=a,
                dept=lead,
            )
            self.promise_clock(d_f, lim, paused_on=paused_on)
            if paused_on is None and rnd.random() < 0.1:
                # A say-no reply waiting for review.
                t_s = min(t_sl + ri(3600, 86400 * 3), now_t - 60)
                self.A["appeals_reply"](
                    f"{self.next_id('appeals_reply')}\texplained\t经核实，该事项需按规定程序办理，"
                    f"已向企业说明。\t{ch(('pending_head', 'pending_office'))}\t\t"
                    f"{days.ts(t_s)}\t{N}\t{self.pk}\t{a}\t{N}\tf"
                )
                self.event(t_s, EventCode.REPLY_FOR_REVIEW, "办理反馈已提交审核。", False, lead)
            out["status"] = "in_progress"
            out["last"] = (t_sl, "signed")
            return out

        # The published replies, the reply clocks and promises they met, and the ratings.
        rep_started, promised = d_r, d_f
        for j, t_p in enumerate(rounds):
            x = rnd.random()
            outcome = (
                "resolved"
                if x < 0.65
                else "partly_resolved"
                if x < 0.8
                else "explained"
                if x < 0.95
                else "redirected"
            )
            t_s = t_p if outcome == "resolved" else max(t_p - ri(3600, 86400 * 2), t_sl + 300)
            ext = extension if j == 0 else 0
            self.clock(
                "reply",
                started=rep_started,
                limit=rep_limit,
                warn=rep_warn,
                due=days.add(rep_started, rep_limit + ext),
                state="met",
                met_t=t_p,
                assignment=a,
                dept=lead,
                extension=ext,
            )
            # The lead's approved extension also moved the promise.
            self.promise_clock(promised, lim, met_t=t_p, extension=ext)
            reply = self.next_id("appeals_reply")
            self.A["appeals_reply"](
                f"{reply}\t{outcome}\t经我单位研究并会同有关部门核实，现答复如下：已按政策规定办理。"
                f"\tpublished\t{'' if outcome == 'resolved' else ch(REVIEW_NOTES)}\t"
                f"{days.ts(t_s)}\t{days.ts(t_p)}\t{self.pk}\t{a}\t{N}\tf"
            )
            if outcome != "resolved":
                self.event(t_s, EventCode.REPLY_FOR_REVIEW, "办理反馈已提交审核。", False, lead)
            self.event(t_p, EventCode.REPLIED, "诉求已答复，请企业评价。", True, lead)
            rat_due = days.add(t_p // 86400, rat_limit)
            if j < len(ratings):
                t_rate, score, rehandle = ratings[j]
                self.clock(
                    "rating",
                    started=t_p // 86400,
                    limit=rat_limit,
                    warn=rat_warn,
                    due=rat_due,
                    state="met",
                    met_t=t_rate,
                )
                self.A["appeals_rating"](
                    f"{self.next_id('appeals_rating')}\t{score}\t"
                    f"{'希望重新办理。' if rehandle else ''}\t{b(rehandle)}\t{days.ts(t_rate)}\t"
                    f"{self.pk}\t{N}\t{reply}"
                )
                if score == "lapsed":
                    self.event(
                        t_rate, EventCode.RATING_LAPSED, "评价期限届满未评价，视为认可，诉求办结。"
                    )
                    out["last"] = (t_rate, "rating_lapsed")
                elif rehandle:
                    self.event(t_rate, EventCode.RATED, "企业评价：不满意。")
                    self.event(t_rate, EventCode.REOPENED, "企业不满意并申请重办。", True, lead)
                    out["reopened"] = 1
                    rep_started = promised = t_rate // 86400
                else:
                    self.event(t_rate, EventCode.RATED, "企业已评价。")
                    self.event(t_rate, EventCode.CLOSED, "诉求已办结。")
                    out["last"] = (t_rate, "rated")
            else:  # replied, waiting for the rating
                self.clock(
                    "rating",
                    started=t_p // 86400,
                    limit=rat_limit,
                    warn=rat_warn,
                    due=rat_due,
                    state="running",
                )
                out["last"] = (t_p, "replied")
        if kind == "closed":
            out["status"] = "closed"
            out["closed_at"] = ratings[-1][0]
        else:
            out["status"] = "replied"
        return out

    def _rating(self, t_pub: int, rat_limit: int, allow_rehandle: bool = True):
        rnd = self.rnd
        days = self.days
        x = rnd.random()
        if x < 0.15:  # lapsed: the sweep closes it the night after the window ends
            d = days.add(t_pub // 86400, rat_limit) + 1
            return d * 86400 + ri(60, 900), "lapsed", False
        d = days.add(t_pub // 86400, ri(0, rat_limit - 1))
        t = max(self.at(d), t_pub + 600)
        y = rnd.random()
        if y < 0.75:
            return t, "satisfied", False
        if y < 0.92:
            return t, "basically_satisfied", False
        return t, "unsatisfied", allow_rehandle and rnd.random() < 0.5


# ------------------------------------------------------------------------------------------
# Database steps
# ------------------------------------------------------------------------------------------


def dsn_from_settings() -> dict:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        sys.exit("bench/generate.py needs PostgreSQL (set DATABASE_URL).")
    if not db["NAME"].startswith("qihu_bench"):
        sys.exit(f"Refusing to fill {db['NAME']!r}: only databases named qihu_bench* are used.")
    out = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"] or None}
    if db["PORT"]:
        out["port"] = db["PORT"]
    if db["PASSWORD"]:
        out["password"] = db["PASSWORD"]
    return out


def saved_index_file(dbname: str) -> Path:
    return BASE_DIR / "bench" / f".saved-indexes-{dbname}.sql"


def restore_indexes(cur, path: Path) -> None:
    if path.exists():
        print(f"restoring indexes left in {path.name} by an interrupted run")
        for stmt in path.read_text().split(";\n"):
            if stmt.strip():
                cur.execute(
                    stmt.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1).replace(
                        "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1
                    )
                )
        path.unlink()


def plain_indexes(cur) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of the loaded tables that back no constraint."""
    cur.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.tablename, i.indexname
        """,
        (LOADED,),
    )
    return cur.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=10000)
    parser.add_argument("--enterprises", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only")
    parser.add_argument(
        "--keep-indexes", action="store_true", help="load with every index in place"
    )
    args = parser.parse_args()
    dsn = dsn_from_settings()
    timings = {}
    t0 = time.monotonic()

    conn = psycopg2.connect(**dsn)
    conn.autocommit = True
    cur = conn.cursor()
    path = saved_index_file(dsn["dbname"])
    restore_indexes(cur, path)

    mark = time.monotonic()
    cur.execute(f"TRUNCATE {', '.join(TRUNCATED)} RESTART IDENTITY")
    cur.execute("BEGIN")
    for table in DELETED:
        cur.execute(f"DELETE FROM {table}")
    cur.execute("COMMIT")
    indexes = [] if args.keep_indexes else plain_indexes(cur)
    path.write_text(";\n".join(d for _, d in indexes) + ";\n")
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    timings["reset"] = time.monotonic() - mark

    mark = time.monotonic()
    p = Province(appeals=args.appeals, seed=args.seed, dsn=dsn)
    with connection.cursor() as c:  # the Django connection writes the small tables
        c.execute("SELECT 1")
    p.organisations()
    p.enterprises(args.enterprises)
    timings["organisations and enterprises"] = time.monotonic() - mark

    mark = time.monotonic()
    print(f"generating {args.appeals:,} appeals (today {p.today_date}) …", flush=True)
    p.run()
    timings["appeals (generate + COPY)"] = time.monotonic() - mark

    mark = time.monotonic()
    cur.execute("SET maintenance_work_mem = '1GB'")
    for _name, definition in indexes:
        cur.execute(definition)
    path.unlink(missing_ok=True)
    timings[f"rebuild {len(indexes)} indexes"] = time.monotonic() - mark

    mark = time.monotonic()
    for child, column, parent in FK_CHECKS:
        cur.execute(
            f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
        )
        missing = cur.fetchone()[0]
        if missing:
            sys.exit(f"{missing} rows of {child}.{column} point nowhere")
    with connection.cursor() as c:
        for year, last in sorted(p.year_seq.items()):
            c.execute(
                "INSERT INTO appeals_numbersequence (prefix, year, last) VALUES ('SX', %s, %s)",
                [year, last],
            )
    for table in [*LOADED, "appeals_numbersequence", *DELETED]:
        column = (
            "history_id" if table.startswith(("appeals_historical", "sla_historical")) else "id"
        )
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce(max({column}), 0) + 1, false) FROM {table}"
        )
    timings["check foreign keys, reset sequences"] = time.monotonic() - mark

    mark = time.monotonic()
    if args.no_vacuum:
        cur.execute("ANALYZE")
        timings["ANALYZE"] = time.monotonic() - mark
    else:
        cur.execute("VACUUM (ANALYZE)")
        timings["VACUUM ANALYZE"] = time.monotonic() - mark
    total = time.monotonic() - t0

    cur.execute(
        "SELECT status, count(*), count(*) FILTER (WHERE colour='green'), "
        "count(*) FILTER (WHERE colour='yellow'), count(*) FILTER (WHERE colour='red') "
        "FROM appeals_appeal GROUP BY status ORDER BY 2 DESC"
    )
    status_rows = cur.fetchall()
    cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    size = cur.fetchone()[0]
    print("\nrows:")
    for table in LOADED:
        cur.execute(f"SELECT count(*) FROM {table}")
        print(f"  {table:<28} {cur.fetchone()[0]:>12,}")
    print("appeals by status (all, green, yellow, red):")
    for row in status_rows:
        print(f"  {row[0]:<13} {row[1]:>10,} {row[2]:>9,} {row[3]:>9,} {row[4]:>9,}")
    print("timings:")
    for k, v in timings.items():
        print(f"  {k:<40} {v:8.1f} s")
    print(f"  {'total':<40} {total:8.1f} s")
    print(f"database size: {size}")


if __name__ == "__main__":
    main()
