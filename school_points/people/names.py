"""Personal names: the part of a student's name a shared growth record may show (docs/PRODUCT.md).

A shared record shows the given name only, so someone who sees a share cannot tell whose child it
is from the family name. The rule, in order:

1. Whitespace of any kind (ASCII, full-width U+3000, no-break) separates parts; runs count as one.
2. A name with a separator dot (`·` `•` `・`, transliterated names like 迪丽热巴·迪力木拉提) shows
   its first part: those names put the personal name first.
3. A name written in parts whose first part is Chinese (`王 思远`, `欧阳 娜娜`) shows every part but
   the first (the family name), joined without spaces.
4. A name written in parts in Latin letters (`Tom Smith`) shows the first part (Western order).
5. A Chinese name in one piece drops a compound family name (欧阳, 司马, ... the list below) when
   it has at least three characters, otherwise its first character. A one-character name is
   shown as it is: there is nothing else to show.
6. Anything else (a one-word Latin name) is shown as it is.
"""

import re
import unicodedata

# The compound (two-character) family names in use today, from 百家姓 and the census's common ones.
COMPOUND_SURNAMES = frozenset(
    """
欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 独孤 南宫 西门 轩辕 呼延
澹台 公冶 太史 申屠 闻人 万俟 赫连 钟离 宗政 濮阳 淳于 单于 太叔 仲孙 鲜于 闾丘 司空 亓官 司寇
子车 颛孙 拓跋 百里 东郭 南门 梁丘 左丘 第五 公羊 公良 乐正 壤驷 漆雕 巫马 谷梁 羊舌 微生 梁丘
""".split()
)  # noqa: SIM905 - a table of names reads better as text than as a list literal

_SEPARATOR_DOTS = "·•・‧"
_SPACES = re.compile(r"\s+")


def is_han(ch) -> bool:
    """A CJK ideograph (the basic block, extension A and the compatibility block) or 〇."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff" or ch == "\u3007"


def given_name(full_name) -> str:
    """The part of a full name a shared record may show (see the module's rule)."""
    # NFKC turns full-width letters and the ideographic space into their plain forms.
    name = _SPACES.sub(" ", unicodedata.normalize("NFKC", full_name or "")).strip()
    if not name:
        return ""
    for dot in _SEPARATOR_DOTS:
        if dot in name:
            first = name.split(dot)[0].strip()
            return first or name
    parts = name.split(" ")
    if len(parts) > 1:
        if all(is_han(ch) for ch in parts[0]):
            return "".join(parts[1:])
        return parts[0]
    if all(is_han(ch) for ch in name):
        if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
            return name[2:]
        return name[1:] if len(name) >= 2 else name
    return name
