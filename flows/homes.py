"""Who has the bot's home view open, and with which filters: shared by every running instance."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import update
from sqlmodel import select

from flows.context import Context
from flows.queries import CaseFilter
from storage.models import HomeViewer


def remember_viewer(ctx: Context, platform: str, user_id: str, case_filter: CaseFilter) -> None:
    with ctx.db.transaction() as session:
        row = session.exec(
            select(HomeViewer).where(HomeViewer.platform == platform, HomeViewer.user_id == user_id)
        ).first()
        if row is None:
            row = HomeViewer(platform=platform, user_id=user_id, opened_at=ctx.clock.now())
        row.case_filter, row.opened_at = asdict(case_filter), ctx.clock.now()
        session.add(row)


def viewer_filter(ctx: Context, platform: str, user_id: str) -> CaseFilter | None:
    """The filters `user_id` last chose, if they have the home view open."""
    with ctx.db.read() as session:
        row = session.exec(
            select(HomeViewer).where(HomeViewer.platform == platform, HomeViewer.user_id == user_id)
        ).first()
    if row is None:
        return None
    known = CaseFilter.__dataclass_fields__
    return CaseFilter(**{k: v for k, v in row.case_filter.items() if k in known})


def viewers_among(ctx: Context, platform: str, user_ids: set[str]) -> list[str]:
    with ctx.db.read() as session:
        return sorted(
            session.exec(
                select(HomeViewer.user_id).where(HomeViewer.platform == platform, HomeViewer.user_id.in_(user_ids))
            ).all()
        )


def home_said(ctx: Context, platform: str, user_id: str) -> str:
    """The content hash (flows.posts.content_hash) of the home view last published to `user_id`, "" if none."""
    with ctx.db.read() as session:
        said = session.exec(
            select(HomeViewer.content_hash).where(HomeViewer.platform == platform, HomeViewer.user_id == user_id)
        ).first()
    return said or ""


def remember_home_said(ctx: Context, platform: str, user_id: str, said: str) -> None:
    with ctx.db.transaction() as session:
        session.execute(
            update(HomeViewer)
            .where(HomeViewer.platform == platform, HomeViewer.user_id == user_id)
            .values(content_hash=said)
        )
