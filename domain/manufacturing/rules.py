"""Production master data as it comes in: items, work centres and BOMs, checked field by field (the
API's bodies and the CSV imports share these), and turned into the pure BOM of domain.planning.bom.

Cost basis of a BOM (per one unit of the parent): labour = labour_hours × labour_rate, where the rate
is the BOM's own or else its work centre's hourly cost; overhead = labour_hours × overhead_rate (an
amount per labour hour, so a BOM with no labour carries no overhead)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT
from domain.core.numbers import PlainDecimal, PlainInt
from domain.manufacturing.bom import Bom, BomLine

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
MAX_HOURS = Decimal("100000")  # per unit: more is a typo
MAX_BOM_LINES = 1000


class ItemFields(BaseModel):
    """What describes an item, whichever way it arrives (JSON body or a CSV row)."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60, pattern=SKU_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["purchased", "manufactured"]
    uom: str = Field(default="ea", min_length=1, max_length=20)
    standard_cost: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT, decimal_places=4)
    lead_time_days: PlainInt = Field(default=0, ge=0, le=3650)
    safety_stock: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_QTY, decimal_places=4)
    min_order_qty: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_QTY, decimal_places=4)
    order_multiple: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_QTY, decimal_places=4,
                                    description="lots are a multiple of this; 0: any quantity")


class WorkCentreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    hourly_cost: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)


class BomLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    component_sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4, description="per one unit of the parent")
    scrap_pct: PlainDecimal = Field(default=Decimal(0), ge=0, lt=100, decimal_places=4)


class BomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_sku: str = Field(min_length=1, max_length=60)
    lines: list[BomLineIn] = Field(min_length=1, max_length=MAX_BOM_LINES)
    labour_hours: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_HOURS, decimal_places=4)
    labour_rate: PlainDecimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=4,
                                        description="per hour; none: the work centre's hourly cost")
    overhead_rate: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT, decimal_places=4,
                                   description="per labour hour")
    work_centre: str | None = Field(default=None, min_length=1, max_length=40)
    issue_method: Literal["kitted", "backflush"] = "kitted"

    def to_bom(self, labour_rate: Decimal) -> Bom:
        return Bom(item=self.item_sku,
                   lines=tuple(BomLine(ln.component_sku, ln.qty, ln.scrap_pct) for ln in self.lines),
                   labour_hours=self.labour_hours, issue_method=self.issue_method, labour_rate=labour_rate,
                   overhead_rate=self.overhead_rate, work_centre=self.work_centre)
