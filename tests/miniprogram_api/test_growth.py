"""Growth records over HTTP: check-in points, the shareable view, likes, shares, deletion."""

import pytest

from school_points.media import uploads
from school_points.models import GrowthRecord
from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from tests.conftest import balance_of


def test_posting_a_record_with_an_uploaded_image_earns_checkin_points(family, uploaded):
    mp, student = family(balance=0)
    url = uploaded(mp)
    response = mp.post("/growth-records", json={"student_id": student.id, "content": "练琴30分钟", "media": [url]})
    assert response.status_code == 201
    assert response.json["awarded"] == 5
    assert response.json["record"]["media"] == [url]
    second = mp.post("/growth-records", json={"student_id": student.id, "content": "又练了一次"})
    assert second.json["awarded"] == 0  # one counted check-in a day
    assert balance_of(student.id) == 5


@pytest.mark.parametrize(
    "bad",
    [
        "https://evil.example/x.png",
        "javascript:alert(document.cookie)",
        "data:image/png;base64,iVBORw0KGgo=",
        "{path}",  # relative: not the URL we gave out
        "https://evil.example{path}",  # our file's name under another host
        "http://localhost@evil.example{path}",
        "//evil.example{path}",
        "{url}?download=1",
        "{url}#x",
        "{base}/api/v1/uploads/../../../etc/passwd",
        "{base}/api/v1/uploads/..%2F..%2Fetc%2Fpasswd",
        "{base}/api/v1/uploads/{zeros}.png",  # a name we never issued
        "{base}/api/v1/uploads/{name}/../{zeros}.png",
        "{url}\u0000",
    ],
)
def test_media_other_than_our_own_upload_urls_is_422_invalid_media(family, uploaded, bad):
    mp, student = family(balance=0)
    url = uploaded(mp)
    base, _, name = url.partition("/api/v1/uploads/")
    value = bad.format(url=url, base=base, path="/api/v1/uploads/" + name, name=name, zeros="0" * 32)
    response = mp.post("/growth-records", json={"student_id": student.id, "content": "x", "media": [url, value]})
    assert response.status_code == 422, value
    assert response.json["error"]["code"] in ("invalid_media", "validation_error")
    if "\u0000" not in bad:
        assert response.json["error"]["code"] == "invalid_media"
        assert list(response.json["error"]["details"]["media"]) == ["1"]  # names the bad entry, not ours
    assert db.session.query(GrowthRecord).count() == 0 and balance_of(student.id) == 0


def test_another_parents_upload_cannot_be_attached(family, uploaded):
    mp, student = family()
    other, _ = family()
    theirs = uploaded(other)
    response = mp.post("/growth-records", json={"student_id": student.id, "content": "x", "media": [theirs]})
    assert (response.status_code, response.json["error"]["code"]) == (422, "invalid_media")


def test_a_deleted_upload_cannot_be_attached(family, uploaded):
    mp, student = family()
    url = uploaded(mp)
    (uploads.upload_dir() / url.rsplit("/", 1)[1]).unlink()
    response = mp.post("/growth-records", json={"student_id": student.id, "content": "x", "media": [url]})
    assert (response.status_code, response.json["error"]["code"]) == (422, "invalid_media")


def test_shared_views_show_only_our_uploads_whatever_a_record_stored(family, uploaded, login):
    """Records stored before media were checked (or while a WeChat photo is still being fetched)."""
    mp, student = family()
    url = uploaded(mp)
    name = url.rsplit("/", 1)[1]
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "x"}).json["record"]
    stored = db.session.get(GrowthRecord, record["id"])
    stored.media = [
        "https://evil.example/x.png",
        "javascript:alert(1)",
        "wechat-media:abc",
        "/api/v1/uploads/" + name,
        "https://old-domain.example/api/v1/uploads/" + name,
    ]
    db.session.commit()
    for viewer in (login(), mp):
        shown = viewer.get(f"/growth-records/{record['id']}").json["media"]
        assert shown == [url, url]  # our file, under this deployment's own address; nothing else
    assert mp.get("/growth-records", student_id=student.id).json["items"][0]["media"] == [url, url]


def test_with_public_base_url_media_must_use_it_not_the_request_host(family, uploaded, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://points.school.example")
    mp, student = family()
    url = uploaded(mp)
    assert url.startswith("https://points.school.example/api/v1/uploads/")
    forged = url.replace("https://points.school.example", "http://evil.example")
    response = mp.post(
        "/growth-records",
        json={"student_id": student.id, "content": "x", "media": [forged]},
        headers={"Host": "evil.example"},
    )
    assert (response.status_code, response.json["error"]["code"]) == (422, "invalid_media")
    assert (
        mp.post(
            "/growth-records",
            json={"student_id": student.id, "content": "x", "media": [url]},
            headers={"Host": "evil.example"},
        ).status_code
        == 201
    )


def test_empty_record_is_422(family):
    mp, student = family()
    assert mp.post("/growth-records", json={"student_id": student.id, "content": "  "}).status_code == 422


def test_list_shows_the_students_records_newest_first(family):
    mp, student = family()
    for text in ("一", "二", "三"):
        mp.post("/growth-records", json={"student_id": student.id, "content": text})
    body = mp.get("/growth-records", student_id=student.id, limit=2).json
    assert [r["content"] for r in body["items"]] == ["三", "二"]
    rest = mp.get("/growth-records", student_id=student.id, cursor=body["next_cursor"]).json
    assert [r["content"] for r in rest["items"]] == ["一"]


def test_shared_view_shows_the_given_name_only(family, login):
    mp, student = family(name="王小明")
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "画画"}).json["record"]
    friend = login()
    view = friend.get(f"/growth-records/{record['id']}")
    assert view.status_code == 200
    assert view.json["student_name"] == "小明"
    assert "王" not in view.data.decode()


def test_friends_likes_earn_points_once_each_and_guardians_likes_earn_nothing(family, login, make_guardian):
    mp, student = family(balance=0)
    update_settings({"checkin": {"points": 0}})
    db.session.commit()
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "跑步"}).json["record"]
    own = mp.post(f"/growth-records/{record['id']}/likes")
    assert own.json == {"liked": True, "like_count": 1, "awarded": 0}
    friend = login()
    assert friend.post(f"/growth-records/{record['id']}/likes").json == {"liked": True, "like_count": 2, "awarded": 1}
    assert friend.post(f"/growth-records/{record['id']}/likes").json == {"liked": True, "like_count": 2, "awarded": 0}
    assert balance_of(student.id) == 1
    assert friend.get(f"/growth-records/{record['id']}").json["liked_by_me"] is True


def test_like_cap_per_day_holds(family, login):
    mp, student = family(balance=0)
    update_settings({"checkin": {"points": 0}, "like": {"daily_cap": 2}})
    db.session.commit()
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "x"}).json["record"]
    awarded = [login().post(f"/growth-records/{record['id']}/likes").json["awarded"] for _ in range(3)]
    assert awarded == [1, 1, 0]
    assert balance_of(student.id) == 2


def test_shares_by_a_guardian_award_the_configured_points(family, login):
    mp, student = family(balance=0)
    update_settings({"checkin": {"points": 0}, "share": {"points": 2, "daily_cap": 1}})
    db.session.commit()
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "x"}).json["record"]
    assert mp.post(f"/growth-records/{record['id']}/shares").json == {"awarded": 2}
    assert mp.post(f"/growth-records/{record['id']}/shares").json == {"awarded": 0}
    assert login().post(f"/growth-records/{record['id']}/shares").status_code == 404


def test_deleting_todays_record_reverses_its_checkin_points(family):
    mp, student = family(balance=0)
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "x"}).json["record"]
    assert balance_of(student.id) == 5
    response = mp.delete(f"/growth-records/{record['id']}")
    assert response.status_code == 200 and response.json == {"id": record["id"], "deleted": True}
    assert balance_of(student.id) == 0
    assert mp.get(f"/growth-records/{record['id']}").status_code == 404
    assert mp.delete(f"/growth-records/{record['id']}").status_code == 404


def test_a_name_written_with_a_space_shows_the_given_name_on_a_shared_record(family, login):
    mp, student = family(name="王 思远")
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "练琴"}).json["record"]
    view = login().get(f"/growth-records/{record['id']}")
    assert view.json["student_name"] == "思远"
    assert "王" not in view.data.decode()
