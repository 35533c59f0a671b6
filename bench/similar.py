"""How good are the similar-appeal suggestions at triage (issue #18)? A labelled set, scored.

    DJANGO_DEBUG=true .venv/bin/python bench/similar.py [--matters 40] [--background 1000]
    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_search DJANGO_DEBUG=true \
        .venv/bin/python bench/similar.py          # the same on PostgreSQL (tsquery + GIN)

It builds a throw-away test database (Django's test database for the configured one, dropped at
the end) and files, through appeal_file:
- background appeals written like bench/generate.py's (its category titles and sentences), so
  that the near-duplicates have many look-alikes that are not the same matter;
- `--matters` original appeals, each about one concrete matter (a counterparty, a place, a
  project, an amount) on one of those same titles;
- for each original, two near-duplicates written as another enterprise (or the same one a
  month later) would: a paraphrase with its sentences in another order, and one of: typos
  (characters swapped for homophones), traditional characters, or a shortened retelling.

For each near-duplicate, `appeals_similar` (what the commissioner sees at triage) is asked for
its top 5; the relevant appeals are the original and the matter's other near-duplicate.
recall@5 = relevant appeals found in the top 5 / relevant appeals; precision@5 = relevant
appeals among the suggestions shown (at most 5; a suggestion is shown only above the likeness
threshold or with another reason, so fewer than 5 may be shown). Averaged over the queries;
results to bench/results/similar-<backend>.json and the terminal.
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from appeals import services  # noqa: E402
from appeals.search import appeals_similar  # noqa: E402
from appeals.text import _TRADITIONAL  # noqa: E402
from bench.generate import CATEGORIES, SENTENCES  # noqa: E402
from departments.roles import Role  # noqa: E402
from departments.services import user_grant_role  # noqa: E402

TITLES = [t for _c, _n, children in CATEGORIES for *_x, titles in children for t in titles]
COUNTERPARTIES = [
    "区住建局",
    "市供电公司",
    "开发区管委会",
    "县自然资源局",
    "市税务局",
    "区人社局",
    "镇政府",
    "市场监管局",
    "市水务集团",
    "区城管局",
]
PLACES = [
    "梅园路",
    "宛陵湖片区",
    "敬亭山大道",
    "昭亭北路",
    "叠嶂西路",
    "响山工业园",
    "鳌峰片区",
    "双桥街道",
    "飞彩路",
    "经开区三期",
]
OBJECTS = [
    "二期厂房",
    "仓储中心",
    "污水处理站",
    "研发楼",
    "员工宿舍",
    "配电房",
    "物流仓库",
    "展示中心",
    "冷链车间",
    "装配车间",
]
PROBLEMS = [
    "{cp}拖欠我司{obj}工程款{n}万元，多次催要无果",
    "{place}{obj}的用电增容报装已受理{m}天仍未接电",
    "{obj}的施工许可证在{cp}审批超过{m}个工作日没有结果",
    "{place}道路破损，货车进出{obj}十分困难",
    "{cp}承诺的{obj}奖补资金{n}万元一直没有兑现",
    "{obj}的不动产权证办理卡在{cp}，已等待{m}天",
]
# A paraphrase swaps words for others people use for the same thing.
SYNONYMS = {
    "拖欠": "欠付",
    "多次": "反复",
    "催要": "催讨",
    "无果": "没有结果",
    "一直": "始终",
    "十分": "非常",
    "困难": "不便",
    "没有": "未",
    "已等待": "等了",
    "仍未": "还没有",
    "我司": "我公司",
    "承诺": "答应",
    "恳请": "请求",
    "尽快": "早日",
}
HOMOPHONES = {
    "款": "欵",
    "程": "呈",
    "厂": "场",
    "施": "实",
    "审": "申",
    "证": "正",
    "资": "姿",
    "金": "今",
    "电": "点",
    "路": "鹿",
}
TO_TRADITIONAL = {s: t for t, s in zip(_TRADITIONAL[::2], _TRADITIONAL[1::2], strict=True)}


def matter(rnd: random.Random) -> tuple[str, str, str]:
    """A concrete matter: its title, the sentence that says what it is, and its category title."""
    facts = {
        "cp": rnd.choice(COUNTERPARTIES),
        "place": rnd.choice(PLACES),
        "obj": rnd.choice(OBJECTS),
        "n": rnd.randint(20, 900),
        "m": rnd.randint(30, 200),
    }
    core = rnd.choice(PROBLEMS).format(**facts)
    topic = rnd.choice(TITLES)
    return f"{topic}：{core[:24]}", core, topic


def filler(rnd: random.Random, k: int) -> list[str]:
    return [
        s.format(y=rnd.randint(1995, 2022), n=rnd.randint(20, 900), m=rnd.randint(10, 300))
        for s in rnd.sample(SENTENCES, k)
    ]


def paraphrase(text: str) -> str:
    for a, b in SYNONYMS.items():
        text = text.replace(a, b)
    return text


def typos(rnd: random.Random, text: str) -> str:
    chars = list(text)
    spots = [i for i, c in enumerate(chars) if c in HOMOPHONES]
    for i in rnd.sample(spots, min(3, len(spots))):
        chars[i] = HOMOPHONES[chars[i]]
    return "".join(chars)


def traditional(text: str) -> str:
    return "".join(TO_TRADITIONAL.get(c, c) for c in text)


def run(args) -> dict:
    rnd = random.Random(args.seed)  # noqa: S311 - a repeatable data set, not a secret
    office = get_user_model().objects.create(username="bench_similar_office")
    user_grant_role(user=office, role=Role.OFFICE)

    def file(title: str, content: str, name: str):
        return services.appeal_file(
            actor=office,
            channel="hotline",
            title=title[:100],
            content=content,
            enterprise_name=name,
            contact_name="王伟",
            contact_phone="13805630001",
        ).appeal

    t0 = time.perf_counter()
    for i in range(args.background):
        topic = rnd.choice(TITLES)
        file(
            f"关于{topic}的诉求",
            f"{topic}。" + "".join(filler(rnd, rnd.randint(2, 5))),
            f"宣城背景{i}有限公司",
        )
    groups = []
    for m in range(args.matters):
        title, core, topic = matter(rnd)
        body = [f"{core}。", *filler(rnd, 3)]
        original = file(title, "".join(body), f"宣城原件{m}有限公司")
        shuffled = body[:]
        rnd.shuffle(shuffled)
        first = file(paraphrase(title), paraphrase("".join(shuffled)), f"宣城甲{m}有限公司")
        kind = ("typos", "traditional", "short")[m % 3]
        if kind == "typos":
            second_title, second_body = typos(rnd, title), typos(rnd, "".join(body))
        elif kind == "traditional":
            second_title, second_body = traditional(title), traditional("".join(shuffled))
        else:
            second_title, second_body = f"{topic}问题", paraphrase(f"{core}，请帮忙协调。")
        second = file(second_title, second_body, f"宣城乙{m}有限公司")
        groups.append((kind, [original, first, second]))
    build = time.perf_counter() - t0

    now = timezone.now()
    rows, timings = [], []
    for kind, members in groups:
        for query in members[1:]:
            relevant = {a.pk for a in members if a.pk != query.pk}
            t = time.perf_counter()
            shown = appeals_similar(office, query, now=now, limit=5)
            timings.append(time.perf_counter() - t)
            found = {s.appeal.pk for s in shown} & relevant
            rows.append(
                {
                    "kind": "paraphrase" if query.pk == members[1].pk else kind,
                    "recall": len(found) / len(relevant),
                    "precision": len(found) / len(shown) if shown else 0.0,
                }
            )

    def mean(key, subset):
        return round(sum(r[key] for r in subset) / len(subset), 3) if subset else None

    by_kind = {
        k: {
            "queries": len(sub),
            "recall@5": mean("recall", sub),
            "precision@5": mean("precision", sub),
        }
        for k in ("paraphrase", "typos", "traditional", "short")
        if (sub := [r for r in rows if r["kind"] == k])
    }
    timings.sort()
    return {
        "backend": connection.vendor,
        "appeals": args.background + 3 * args.matters,
        "queries": len(rows),
        "recall@5": mean("recall", rows),
        "precision@5": mean("precision", rows),
        "by_kind": by_kind,
        "build_seconds": round(build, 1),
        "suggest_ms_p50": round(1000 * timings[len(timings) // 2], 1),
        "suggest_ms_p95": round(1000 * timings[int(len(timings) * 0.95)], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--matters", type=int, default=40)
    parser.add_argument("--background", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        result = run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    out = BASE_DIR / "bench" / "results" / f"similar-{result['backend']}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
