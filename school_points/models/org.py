"""The school itself: settings, campuses, classes, students, teachers, admins."""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db

class_teacher = Table(
    "class_teacher",
    db.metadata,
    Column("class_id", ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True),
    Column("teacher_id", ForeignKey("teacher.id", ondelete="CASCADE"), primary_key=True, index=True),
)

class_student = Table(
    "class_student",
    db.metadata,
    Column("class_id", ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("student.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class SchoolSetting(db.Model):
    """The school's settings document (docs/PRODUCT.md); a single row with id 1."""

    __tablename__ = "school_setting"
    id: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)
    updated_at = mapped_column(AwareDateTime, default=now_default, onupdate=now_default)


class Campus(db.Model):
    """A campus (校区) of the school."""

    __tablename__ = "campus"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64), unique=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)


class SchoolClass(db.Model):
    """A class (班级) at one campus, with its teachers and students."""

    __tablename__ = "school_class"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campus.id"), index=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)

    campus = relationship("Campus")
    teachers = relationship("Teacher", secondary=class_teacher, back_populates="classes", order_by="Teacher.id")
    students = relationship("Student", secondary=class_student, back_populates="classes", order_by="Student.id")


class Student(db.Model):
    """A student (学员); points belong to the student, never to a WeChat account."""

    __tablename__ = "student"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'archived', 'erased')", name="status"),
        Index("ix_student_campus_id_id", "campus_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campus.id"))
    birthday = mapped_column(db.Date, nullable=True)
    # 学号: the school's own number for the student (roster import matches on it); optional
    student_no = mapped_column(db.String(32), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(db.String(16), default="active")
    # when the student was last archived (the privacy retention job counts from it); NULL otherwise
    archived_at = mapped_column(AwareDateTime, nullable=True)
    # NULL once the student's data is erased (no family can bind to an erased student)
    bind_code: Mapped[str | None] = mapped_column(db.String(16), unique=True, nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)

    campus = relationship("Campus")
    classes = relationship("SchoolClass", secondary=class_student, back_populates="students", order_by="SchoolClass.id")
    account = relationship("PointsAccount", uselist=False, back_populates="student")


class Teacher(db.Model):
    """A teacher; a WeChat user takes this role with the one-time invite code."""

    __tablename__ = "teacher"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campus.id"), index=True)
    invite_code = mapped_column(db.String(16), unique=True, nullable=True)
    user_id = mapped_column(ForeignKey("wechat_user.id"), unique=True, nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)

    campus = relationship("Campus")
    classes = relationship("SchoolClass", secondary=class_teacher, back_populates="teachers", order_by="SchoolClass.id")
    user = relationship("WechatUser", back_populates="teacher")


class Admin(db.Model):
    """School staff using the admin API: `super` sees all campuses, `campus` one."""

    __tablename__ = "admin"
    __table_args__ = (CheckConstraint("role IN ('super', 'campus')", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(db.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(db.String(256))
    role: Mapped[str] = mapped_column(db.String(16), default="super")
    campus_id = mapped_column(ForeignKey("campus.id"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Carried in every token of this admin; bumped to end all of them at once (people/admins.py).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
