"""`flask seed-demo`: a small school to click through (two campuses, classes, teachers, students, goods)."""

from datetime import date

from flask import current_app
from sqlalchemy import select

from school_points.accounts import ledger
from school_points.models import Admin, Campus, Goods, SchoolClass, Student, Teacher
from school_points.people.admins import create_admin
from school_points.platform.codes import new_code
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM

DEMO_ADMIN = ("admin", "admin12345")

CAMPUSES = {
    "人民路校区": {
        "classes": {
            "钢琴启蒙班": ["张小雨", "王一诺", "李子涵", "赵梓萱"],
            "少儿美术A班": ["陈思远", "刘欣怡", "杨浩然"],
        },
        "teachers": {"周老师": ["钢琴启蒙班"], "吴老师": ["少儿美术A班"]},
    },
    "滨江校区": {
        "classes": {"围棋入门班": ["孙嘉怡", "黄子轩", "林沐阳"], "少儿英语B班": ["何雨桐", "郭俊熙"]},
        "teachers": {"郑老师": ["围棋入门班", "少儿英语B班"]},
    },
}

GOODS = [
    ("卡通铅笔套装", "一套 6 支 HB 铅笔", 30, 50, None),
    ("彩色橡皮擦", "可爱造型橡皮", 15, 100, None),
    ("精装笔记本", "A5 硬壳笔记本", 80, 20, 2),
    ("拼装积木", "200 颗粒创意积木", 300, 5, 1),
    ("校区定制水杯", "仅限人民路校区领取", 120, 10, 1),
]


class DemoRefused(RuntimeError):
    """The demo school must not be created here."""


def seed_demo() -> list[str]:
    """Create the demo school once; returns lines to print (URLs of interest, logins, codes).

    Refused under APP_ENV=production before anything is read or written: the demo admin's password
    is printed in this file, and a production school must never have an admin anyone can guess.
    """
    if current_app.config.get("APP_ENV") == "production":
        raise DemoRefused(
            "seed-demo refused: APP_ENV=production. The demo creates an admin with a published password "
            f"({DEMO_ADMIN[0]}); create real admins with 'flask admin create USERNAME --password ...'."
        )
    if db.session.scalars(select(Campus.id)).first() is not None:
        return ["seed-demo: the database already has a school; nothing added"] + _summary()
    campuses = {}
    for campus_name, spec in CAMPUSES.items():
        campus = Campus(name=campus_name)
        db.session.add(campus)
        db.session.flush()
        campuses[campus_name] = campus
        classes = {}
        for class_name, student_names in spec["classes"].items():
            klass = SchoolClass(name=class_name, campus_id=campus.id)
            klass.students = [
                Student(name=name, campus_id=campus.id, bind_code=new_code(8), birthday=date(2016, 1 + i % 12, 1 + i))
                for i, name in enumerate(student_names)
            ]
            db.session.add(klass)
            classes[class_name] = klass
        for teacher_name, class_names in spec["teachers"].items():
            teacher = Teacher(name=teacher_name, campus_id=campus.id, invite_code=new_code(8))
            teacher.classes = [classes[c] for c in class_names]
            db.session.add(teacher)
    db.session.flush()
    for name, description, points, stock, limit in GOODS:
        campus_id = campuses["人民路校区"].id if "人民路" in description else None
        db.session.add(
            Goods(
                name=name,
                description=description,
                points=points,
                stock=stock,
                stock_received=stock,
                limit_per_student=limit,
                campus_id=campus_id,
                verify_code="2468",
                sort=0,
            )
        )
    students = db.session.scalars(select(Student).order_by(Student.id)).all()
    accounts = ledger.lock_many([s.id for s in students])
    for student in students:
        ledger.credit(
            accounts[student.id],
            100,
            "welcome",
            key=f"demo:welcome:{student.id}",
            actor=SYSTEM,
            note="演示数据：入学欢迎积分",
        )
    create_admin(*DEMO_ADMIN)
    db.session.flush()
    return ["seed-demo: created the demo school"] + _summary()


def _summary():
    lines = []
    if db.session.scalars(select(Admin).where(Admin.username == DEMO_ADMIN[0])).first():
        lines.append(f"demo admin login: {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
    for student in db.session.scalars(select(Student).order_by(Student.id).limit(3)):
        lines.append(f"student {student.name}: bind code {student.bind_code}")
    for teacher in db.session.scalars(select(Teacher).order_by(Teacher.id).limit(3)):
        if teacher.invite_code:
            lines.append(f"teacher {teacher.name}: invite code {teacher.invite_code}")
    return lines
