"""The given name a shared growth record shows (docs/PRODUCT.md): never the family name."""

import pytest

from school_points.people.names import given_name


@pytest.mark.parametrize(
    "full, shown",
    [
        ("王小明", "小明"),
        ("张三", "三"),
        ("王 思远", "思远"),  # written with a space: the old rule showed only "王"
        ("王\u3000思远", "思远"),  # a full-width (ideographic) space, as Chinese input methods type it
        ("王\u00a0思远", "思远"),  # a no-break space pasted from a spreadsheet
        ("  王   思远 ", "思远"),
        ("欧阳娜娜", "娜娜"),  # compound family names are dropped whole
        ("欧阳娜", "娜"),
        ("司马光", "光"),
        ("诸葛 亮", "亮"),
        ("王思远远", "思远远"),  # four characters with a one-character family name
        ("迪丽热巴·迪力木拉提", "迪丽热巴"),  # the personal name comes first in dotted names
        ("Tom Smith", "Tom"),
        ("Anna", "Anna"),
        ("李 Anna", "Anna"),
        ("王", "王"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_given_name(full, shown):
    assert given_name(full) == shown
