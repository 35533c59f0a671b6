"""Words of an appeal for search and for finding similar appeals (issue #18). Pure: imports
nothing of ours, touches no database.

Why a segmenter feeding PostgreSQL's full-text search, and not pg_trgm or a Chinese parser:
- Chinese has no spaces, so PostgreSQL's parsers see a whole sentence as one "word". The
  Chinese parsers (zhparser, pg_jieba) are extensions that are neither in PostgreSQL's contrib
  nor on managed databases; pg_trgm is, but trigrams miss two-character words (电费, 欠款),
  which is most Chinese words, and it needs a database-wide locale that classifies CJK
  characters.
- So the segmenting happens here, in Python, with jieba (a maintained dictionary segmenter,
  pure Python). The words of an appeal are stored joined by spaces in `Appeal.search_text`,
  and PostgreSQL keeps `to_tsvector('simple', search_text)` as a stored column with a GIN
  index (migration 0023): the
  'simple' configuration only splits on spaces and lowercases, so it keeps our words as they
  are, Chinese or English. A query is segmented the same way and becomes `word & word`.
- SQLite (the demo and the tests) has no full-text index; it looks for " word " in the same
  column, which finds exactly the rows the tsquery finds.

Documents are cut in jieba's search mode (a long word and the shorter words inside it:
电力接入 → 电力, 接入), queries in its precise mode; so a query word is found whether the
filer wrote the long word or its parts. Traditional characters are mapped to simplified ones
first (a small table of the characters common in appeals, not a full converter), and text is
NFKC-normalised and lowercased, so 電費 finds 电费 and ＡＢＣ finds abc.
"""

import re
import unicodedata
from collections.abc import Iterable

import jieba
import jieba.analyse

jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on first use

# Traditional → simplified for the characters that appear in appeals about business: money,
# permits, land, power, tax, staff. A full converter (OpenCC) needs a C library; for matching
# words this table is enough, and a character missing from it only costs that one word.
_TRADITIONAL = (
    "電电費费貨货錢钱銀银帳账賬账稅税務务關关係系實实場场廠厂區区縣县鎮镇鄉乡東东車车"
    "門门開开發发許许證证辦办處处單单據据質质監监檢检驗验營营業业產产資资補补貼贴項项"
    "專专環环條条規规劃划設设計计劃划請请認认識识議议論论話话說说讓让還还進进運运達达"
    "過过續续維维總总務务機机構构設设備备報报審审書书記记錄录範范圍围價价額额數数據据"
    "應应對对於于為为與与會会個个們们來来時时間间問问題题點点無无長长當当後后從从兩两"
    "權权歸归違违約约擴扩滯滞緩缓遲迟難难結结餘余貸贷險险納纳欠欠償偿債债諾诺織织聯联"
    "絡络網网線线號号碼码傳传遞递轉转換换頭头員员職职級级勞劳動动獎奖罰罚訴诉訟讼經经濟济"
    "濟济農农園园藝艺廣广電电熱热氣气燈灯馬马鐵铁橋桥灣湾層层樓楼房房屋屋裡里裏里鋪铺壓压"
    "決决淨净滿满補补齊齐優优惠惠準准衛卫護护紅红黃黄綠绿陽阳陰阴號号徵征收收購购銷销"
    "採采裝装擬拟響响須须鄰邻積积築筑簽签據据辦办這这裡里麼么嗎吗沒没見见覺觉聽听買买賣卖盡尽將将並并辦办遺遗漏漏錯错誤误準准確确"
)
_SIMPLIFY = {ord(t): s for t, s in zip(_TRADITIONAL[::2], _TRADITIONAL[1::2], strict=True)}

# Words too common to tell appeals apart; never query words on their own.
_STOP_WORDS = (
    "的 了 和 与 及 或 在 是 有 为 对 把 被 就 也 都 而 我 我们 我司 你 您 他 她 它 贵 这 那 之 "
    "其 等 请 已 又 再 并 但 因 由 向 从 到 给 将 后 前 中 上 下 个 一 不 没有 问题 情况 相关 "
    "the a an of to and or in on for is are was be with by at as this that it"
)
_STOP = frozenset(_STOP_WORDS.split())


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), traditional to simplified, lower case."""
    return unicodedata.normalize("NFKC", text or "").translate(_SIMPLIFY).lower()


def _is_word(token: str) -> bool:
    # Letters and digits only: punctuation and spaces are never words, and a token made of
    # word characters can never carry tsquery syntax (& | ! : ( ) ').
    return bool(token) and all(c.isalnum() for c in token)


_SPLIT = re.compile(r"[\W_]+")


def _pieces(text: str) -> Iterable[str]:
    # Mixed tokens such as "e-mail" or "3.5万" arrive from jieba as one token with punctuation
    # in it; split them so that only word characters remain.
    for piece in _SPLIT.split(text):
        if piece:
            yield piece


def document_words(*texts: str) -> list[str]:
    """Every word of the texts, in order, for the stored search column (search mode)."""
    words: list[str] = []
    for text in texts:
        for token in jieba.cut_for_search(normalise(text), HMM=False):
            words.extend(p for p in _pieces(token) if _is_word(p))
    return words


def search_text(*texts: str) -> str:
    """The stored column: the words joined by single spaces, with a space at each end, so
    that `contains(" word ")` (SQLite) finds whole words only, like the tsquery does."""
    words = document_words(*texts)
    return f" {' '.join(words)} " if words else ""


def query_words(text: str) -> list[str]:
    """The words of a search query (precise mode), without duplicates or stop words. Single
    characters are dropped when the query has longer words, since a single character matches
    half the appeals."""
    seen: dict[str, None] = {}
    for token in jieba.cut(normalise(text), HMM=False):
        for piece in _pieces(token):
            if _is_word(piece) and piece not in _STOP:
                seen.setdefault(piece, None)
    words = list(seen)
    if any(len(w) > 1 for w in words):
        words = [w for w in words if len(w) > 1 or w.isdigit()]
    return words


def content_words(text: str) -> set[str]:
    """The distinct words of a stored search column that tell appeals apart: two characters
    or more, no stop words, no bare numbers (amounts and dates differ between two letters
    about the same matter). What the similarity of two appeals is measured on."""
    return {w for w in text.split() if len(w) > 1 and w not in _STOP and not w.isdigit()}


def keywords(*texts: str, k: int = 10) -> list[str]:
    """The k words that best tell these texts from others: frequent here, rare in Chinese at
    large (tf × jieba's idf table; a word unknown to the table counts as rare)."""
    table = jieba.analyse.default_tfidf
    idf, unknown = table.idf_freq, table.median_idf * 1.5
    counts: dict[str, int] = {}
    for word in document_words(*texts):
        if len(word) > 1 and word not in _STOP and not word.isdigit():
            counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w] * idf.get(w, unknown), w))
    return ranked[:k]


def highlight_pattern(words: Iterable[str]) -> "re.Pattern[str] | None":
    """A pattern that finds the words in displayed text (longest first), for highlighting."""
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(re.escape(w) for w in ordered), re.IGNORECASE)


def simplified(text: str) -> str:
    """Traditional characters mapped to simplified, one character for one: positions in the
    result are positions in the text, so highlighting can mark the text as written."""
    return text.translate(_SIMPLIFY)


def dice(a: set[str], b: set[str]) -> float:
    """How much two sets of words overlap, 0 to 1 (Sørensen–Dice)."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def appeal_search_text(
    *, title: str, content: str, enterprise_name: str, is_anonymous: bool, replies: Iterable[str]
) -> str:
    """The stored search column of one appeal. An appeal filed without a name (无署名) is not
    found by the name its filer may still have typed."""
    name = "" if is_anonymous else enterprise_name
    return search_text(title, content, name, *replies)
