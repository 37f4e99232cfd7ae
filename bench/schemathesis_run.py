"""Property-based run of both JSON APIs against their own OpenAPI documents (schemathesis).

    .venv/bin/python bench/schemathesis_run.py [--max-time 90] [--api miniprogram|admin|both] [--database-url URL]
        [--only-path REGEX]

Creates a throw-away database (SQLite in a temp dir unless --database-url names a PostgreSQL one),
seeds a school with a guardian, a teacher and a super admin, starts gunicorn on a free local port,
and runs schemathesis against /api/openapi.json with the guardian's token, then against
/api/admin/openapi.json with the admin's token. Fails (non-zero exit) on any 5xx, undocumented
status, wrong content type or response that does not match its schema. Each run is bounded by
--max-time seconds.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from servers import free_port, wait_for_url

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = {"miniprogram": "/api/openapi.json", "admin": "/api/admin/openapi.json"}
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def main():
    args = _parse()
    workdir = Path(tempfile.mkdtemp(prefix="sp-schemathesis-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'st.sqlite3'}",
        "UPLOAD_DIR": str(workdir / "uploads"),
        "SECRET_KEY": "schemathesis-only",
        "REDIS_URL": "",
    }
    # WeChat is the local fake (tests/fakewechat.py): unknown login codes answer 40029 → 401 invalid_code.
    wechat_port = free_port()
    wechat = subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "tests/fakewechat.py", str(wechat_port)],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    env.update(
        WECHAT_API_BASE_URL=f"http://127.0.0.1:{wechat_port}",
        WECHAT_MP_APP_ID="wx-mp-st",
        WECHAT_MP_APP_SECRET="st",
        WECHAT_OA_APP_ID="wx-oa-st",
        WECHAT_OA_APP_SECRET="st",
    )
    tokens = _seed(env)
    port = free_port()
    # --limit-request-line 0: let the app, not gunicorn's 4 KB request-line guard (a 414 in front of
    # the app), judge the very long query strings schemathesis generates.
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--limit-request-line",
            "0",
            "wsgi:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "gunicorn.log", "w"),  # noqa: SIM115 - the server's for its lifetime
    )
    try:
        wait_for_url(f"http://127.0.0.1:{port}/healthz")
        code = 0
        for name in ("miniprogram", "admin") if args.api == "both" else (args.api,):
            command = [
                str(ROOT / ".venv/bin/schemathesis"),
                "run",
                f"http://127.0.0.1:{port}{DOCUMENTS[name]}",
                "--url",
                f"http://127.0.0.1:{port}",
                "-H",
                f"Authorization: Bearer {tokens[name]}",
                "--checks",
                CHECKS,
                "--max-time",
                str(args.max_time),
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(args.max_examples),
                "--suppress-health-check",
                "all",
                "--request-timeout",
                "20",
                # Logging out would end the run's own token, and every later request would only
                # meet 401s; logout is covered by the tests (tests/*/test_auth.py).
                "--exclude-path-regex",
                "/auth/logout$",
            ]
            if args.only_path:
                command += ["--include-path-regex", args.only_path]
            print("+", " ".join(command), flush=True)
            code = subprocess.call(command, cwd=workdir, env={**env, "PYTHONPATH": str(ROOT)}) or code
    finally:
        for process in (server, wechat):
            process.terminate()
            process.wait(15)
    errors = (workdir / "gunicorn.log").read_text()
    if "Traceback" in errors:
        print(errors[-4000:], file=sys.stderr)
        code = code or 1
    return code


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=90, help="seconds per document")
    parser.add_argument("--api", choices=("miniprogram", "admin", "both"), default="both")
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only-path", default=None, help="a regex: fuzz only the paths it matches (students/import)")
    return parser.parse_args()


SEED = """
from wsgi import create_app
from school_points.accounts import ledger
from school_points.people import tokens
from school_points.people.admins import create_admin
from school_points.school.actors import SYSTEM
from school_points.platform.extensions import db
from school_points.models import Admin, Campus, Goods, Guardian, Notification, SchoolClass, Student, Teacher, WechatUser
import sqlalchemy as sa
RUN_ADMIN_ID = 7919
app = create_app()
with app.app_context():
    db.drop_all(); db.create_all()
    campus = Campus(name="总校区"); db.session.add(campus); db.session.flush()
    parent = WechatUser(mp_openid="st-parent", referral_code="STREF234")
    db.session.add(parent); db.session.flush()
    student = Student(name="王小明", campus_id=campus.id, bind_code="STBIND23"); db.session.add(student)
    db.session.flush()
    db.session.add(Guardian(user_id=parent.id, student_id=student.id, relation="妈妈"))
    parent.default_student_id = student.id
    teacher = Teacher(name="李老师", campus_id=campus.id, user_id=parent.id)
    db.session.add(teacher); db.session.flush()
    db.session.add(SchoolClass(name="一班", campus_id=campus.id, teachers=[teacher], students=[student]))
    db.session.add(Goods(name="铅笔", points=5, stock=1000, stock_received=1000, verify_code="8888"))
    ledger.credit(ledger.lock(student.id), 100000, "adjustment", key="st-seed", actor=SYSTEM)
    db.session.commit()
    # A super admin, so the admin run reaches every route (PATCH /settings, POST /campuses). The
    # admin accounts routes may disable or re-password whichever admin a generated id names, which
    # would end the run's own session: other admins hold the small ids the generators try first
    # (1, 2, ...), and the run's admin has an id of its own far from them.
    create_admin("st-other", "schemathesis-other-9")
    create_admin("st-desk", "schemathesis-desk-9", campus_id=campus.id)
    admin = create_admin("st-admin", "schemathesis-only-9")
    db.session.flush()
    db.session.execute(sa.update(Admin).where(Admin.id == admin.id).values(id=RUN_ADMIN_ID))
    # Something for the guardians and notifications routes to show.
    db.session.add(Notification(kind="points_awarded", dedupe_key="st-note", user_id=parent.id,
                                student_id=student.id, status="failed", attempts=3, last_error_code=43101,
                                last_error="wechat_error: errcode=43101 user refuse to accept the msg"))
    db.session.commit()
    print(tokens.issue("user", parent.id)[0], tokens.issue("admin", RUN_ADMIN_ID)[0])
"""


def _seed(env):
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    user_token, admin_token = out.stdout.strip().splitlines()[-1].split()
    return {"miniprogram": user_token, "admin": admin_token}


if __name__ == "__main__":
    sys.exit(main())
