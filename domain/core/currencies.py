"""Currencies (issue 15): the active ISO 4217 codes a document may be in, in one place. Pure.

The list is ISO 4217's current currencies (list one of the standard, 2024), without the codes that are
not money a document is kept in: precious metals (XAU, XAG, XPT, XPD), the testing and "no currency"
codes (XTS, XXX), units of account and bond-market units (XBA–XBD, XDR, XSU, XUA), and fund codes
(BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW). The API takes the code as ISO writes it (upper case:
`usd` is refused, not guessed); a web form upper-cases what a person types before it hands it on."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

ISO_4217: frozenset[str] = frozenset(["AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG"])


def check_currency(code: str) -> str:
    if code not in ISO_4217:
        hint = " (ISO codes are upper case)" if code.upper() in ISO_4217 else ""
        raise PydanticCustomError("currency", "{code} is not an ISO 4217 currency a document can be kept in{hint}",
                                  {"code": repr(code[:10]), "hint": hint})
    return code


Currency = Annotated[str, Field(min_length=3, max_length=3, json_schema_extra={"enum": sorted(ISO_4217)}),
                     AfterValidator(check_currency)]
