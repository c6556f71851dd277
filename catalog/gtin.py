"""GS1 check digits (GTIN-8/12/13/14): weights 3,1,3,... from the right, excluding the check digit."""


def gtin_check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_valid(code: str) -> bool:
    return (
        code.isdigit()
        and len(code) in (8, 12, 13, 14)
        and gtin_check_digit(code[:-1]) == int(code[-1])
    )


def gtin_kind(code: str) -> str:
    return {12: "upc", 13: "ean", 14: "gtin", 8: "ean"}.get(len(code), "other")
