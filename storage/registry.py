"""The model registry's tables (contenders with their lineage; the installation's one training slot) and
``RegistryStore``, the ``ContenderRegistry`` port's half of ``SqlAlchemyRepository``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Float, Integer, String, Text, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.registry import Contender, RegistryError
from storage.orm import NAME_LEN, Base, UtcDateTime
from storage.transactions import Transactions

HASH_LEN = 64
SLOT = "training"  # one run at a time per installation: the database is what every process shares


class ContenderRow(Base):
    __tablename__ = "contenders"

    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    parent: Mapped[str] = mapped_column(String(NAME_LEN))
    method: Mapped[str] = mapped_column(String(16))
    adapter: Mapped[str] = mapped_column(Text)
    adapter_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    base_model: Mapped[str] = mapped_column(Text)
    base_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    votes: Mapped[int] = mapped_column(Integer)
    votes_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    data_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    data_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    params: Mapped[str] = mapped_column(Text)  # JSON object
    curve: Mapped[str] = mapped_column(Text)  # JSON list of {step, loss, reward_margin}
    wall_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class TrainingSlotRow(Base):
    __tablename__ = "training_slot"

    slot: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(NAME_LEN))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())


CONTENDERS: Any = ContenderRow.__table__
SLOTS: Any = TrainingSlotRow.__table__
_COLUMNS = [c.name for c in ContenderRow.__table__.columns]


def _row(contender: Contender) -> dict[str, Any]:
    values = {name: getattr(contender, name) for name in _COLUMNS}
    values["params"] = json.dumps(dict(contender.params), sort_keys=True)
    values["curve"] = json.dumps([dict(point) for point in contender.curve])
    return values


def _contender(row: Any) -> Contender:
    values = dict(row._mapping)
    values["params"] = json.loads(values["params"])
    values["curve"] = tuple(json.loads(values["curve"]))
    return Contender(**values)


class RegistryStore:
    """Mixed into ``SqlAlchemyRepository``, which provides ``_transactions`` (storage/transactions.py)."""

    _transactions: Transactions

    async def contenders(self, include_retired: bool = False) -> list[Contender]:
        def work(connection: Connection) -> list[Contender]:
            query = select(CONTENDERS).order_by(CONTENDERS.c.created_at, CONTENDERS.c.name)
            if not include_retired:
                query = query.where(CONTENDERS.c.retired_at.is_(None))
            return [_contender(row) for row in connection.execute(query)]

        result: list[Contender] = await self._transactions.run(work)
        return result

    async def register_contender(self, contender: Contender) -> None:
        def work(connection: Connection) -> None:
            connection.execute(insert(CONTENDERS).values(_row(contender)))

        try:
            await self._transactions.run(work)
        except IntegrityError:
            raise RegistryError(f"A model named {contender.name} is already registered (retired names are "
                                f"not reused: its votes keep the name).") from None

    async def retire_contender(self, name: str, at: datetime) -> bool:
        def work(connection: Connection) -> bool:
            done: Any = connection.execute(update(CONTENDERS).where(CONTENDERS.c.name == name,
                                                                    CONTENDERS.c.retired_at.is_(None))
                                           .values(retired_at=at))
            return bool(done.rowcount)

        retired: bool = await self._transactions.run(work)
        return retired

    async def registry_version(self) -> str:
        def work(connection: Connection) -> str:
            # Rows are never deleted and a retirement is final: the two counts move on every change.
            total, retired = connection.execute(
                select(func.count(), func.count(CONTENDERS.c.retired_at)).select_from(CONTENDERS)).one()
            return f"{total}:{retired}"

        version: str = await self._transactions.run(work)
        return version

    async def claim_training(self, holder: str, at: datetime, stale_before: datetime) -> str | None:
        def work(connection: Connection) -> str | None:
            # Take over a dead run's claim first; then the insert either wins the slot or meets the live holder.
            connection.execute(delete(SLOTS).where(SLOTS.c.slot == SLOT, SLOTS.c.claimed_at < stale_before))
            current = connection.execute(select(SLOTS.c.holder).where(SLOTS.c.slot == SLOT)).scalar()
            if current == holder:  # the holder's heartbeat
                connection.execute(update(SLOTS).where(SLOTS.c.slot == SLOT).values(claimed_at=at))
                return None
            if current is not None:
                return str(current)
            connection.execute(insert(SLOTS).values(slot=SLOT, holder=holder, claimed_at=at))
            return None

        try:
            claimed: str | None = await self._transactions.run(work)
        except IntegrityError:  # another process inserted between our read and our insert
            return "another run"
        return claimed

    async def release_training(self, holder: str) -> None:
        await self._transactions.run(lambda connection: connection.execute(
            delete(SLOTS).where(SLOTS.c.slot == SLOT, SLOTS.c.holder == holder)))
