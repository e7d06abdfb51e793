#!/usr/bin/python3
"""Golden values for kanari's canonical JSON (RFC 8785, JCS), computed
independently of the C++.

    python3 tests/data/gen_canonical_golden.py

rewrites canonical_json_golden.json next to this script. Nothing here runs at
test time; tests/core/test_canonical_golden.cpp reads the committed file.

Where the two agree, the expected bytes are Python's own
    json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
(the script asserts that they agree for every case marked "python"). Where
JCS differs from Python the expected bytes come from a small JCS serialiser
written here from the RFC's text, and are checked against values copied
from RFC 8785 itself:

- numbers: JCS prints an IEEE double as ECMAScript's Number.prototype.toString
  (RFC 8785 §3.2.2.3). Python's repr() gives the shortest round-trip digits
  (David Gay's algorithm); es_number() below lays them out by ECMA-262's
  rules. Appendix B's table (IEEE bits -> text) is reproduced exactly.
- key order: JCS sorts keys by their UTF-16 code units (§3.2.3); Python sorts
  by code point. They differ only for keys mixing U+E000..U+FFFF with astral
  characters. The §3.2.3 example is reproduced exactly.
- kanari's one deliberate difference from RFC 8785: integers within
  int64/uint64 are printed exactly (as Python does) instead of through a
  double; integers outside that range go through a double (docs/hashing.md).
"""
import json
import os
import struct
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))

INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1


def es_number(x: float) -> str:
    """ECMA-262 Number::toString(x) for a finite double, from Python's repr."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("JCS cannot represent NaN or Infinity")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() is the shortest string that round-trips; Decimal splits it into
    # its digits and a power of ten exactly.
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    while digits.endswith("0"):
        digits = digits[:-1]
        exponent += 1
    k = len(digits)
    n = k + exponent  # the decimal point sits after n digits
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def jcs(v) -> str:
    """RFC 8785 serialisation, with kanari's integer rule."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v) if INT64_MIN <= v <= UINT64_MAX else es_number(float(v))
    if isinstance(v, float):
        return es_number(v)
    if isinstance(v, str):
        # Python escapes exactly what JCS escapes: " \ and U+0000..U+001F,
        # with \b \f \n \r \t short forms and lowercase \u00xx otherwise.
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(jcs(e) for e in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def python_form(v) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# RFC 8785 Appendix B: IEEE 754 bits -> JCS text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]

# RFC 8785 §3.2.2 (the main example) and §3.2.3 (sorting), as given there.
RFC_MAIN_INPUT = (
    '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
    '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
    '  "literals": [null, true, false]\n}'
)
RFC_MAIN_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)
RFC_SORT_INPUT = (
    '{\n  "\\u20ac": "Euro Sign",\n  "\\r": "Carriage Return",\n'
    '  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "1": "One",\n'
    '  "\\ud83d\\ude00": "Emoji: Grinning Face",\n  "\\u0080": "Control",\n'
    '  "\\u00f6": "Latin Small Letter O With Diaeresis"\n}'
)
RFC_SORT_ORDER = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"]

# (name, JSON input text, "python" if json.dumps must agree, else "jcs")
CASES = [
    # strings and escapes
    ("ascii string", '"hello"', "python"),
    ("empty string", '""', "python"),
    ("two-char escapes", '"q\\" b\\\\ bs\\b ff\\f nl\\n cr\\r tab\\t"', "python"),
    ("other controls as lowercase \\u00xx", '"\\u0000\\u0001\\u001f\\u000B\\u001A"', "python"),
    ("solidus is not escaped", '"a\\/b"', "python"),
    ("U+007F and U+2028/U+2029 stay literal", '"del\\u007f ls\\u2028 ps\\u2029"', "python"),
    ("non-ASCII escaped input becomes literal UTF-8", '"caf\\u00e9 \\u4e2d\\u6587"', "python"),
    ("non-ASCII literal input", '"été — naïve 中文"', "python"),
    ("astral from a surrogate pair", '"rocket \\ud83d\\ude80"', "python"),
    ("astral literal", '"🚀 𝄞"', "python"),
    ("C1 control U+0080 literal", '"\\u0080\\u009f"', "python"),
    # integers
    ("zero", "0", "python"),
    ("minus zero integer", "-0", "python"),
    ("small integers", "[1,-1,42,-42,1000000]", "python"),
    ("2^53 + 1 kept exact", "9007199254740993", "jcs"),
    ("int64 max", "9223372036854775807", "python"),
    ("int64 min", "-9223372036854775808", "python"),
    ("uint64 max", "18446744073709551615", "python"),
    ("beyond uint64 goes through a double", "18446744073709551616", "jcs"),
    ("below int64 min goes through a double", "-9223372036854775809", "jcs"),
    # floats (ECMAScript Number.prototype.toString)
    ("0.1", "0.1", "python"),
    ("123.456", "123.456", "python"),
    ("1e21 is exponential", "1e21", "jcs"),
    ("1e20 is plain", "1e20", "jcs"),
    ("1e-7 is exponential", "1e-7", "jcs"),
    ("0.000001 is plain", "0.000001", "jcs"),
    ("1.5e-7", "1.5e-7", "jcs"),
    ("smallest subnormal", "5e-324", "python"),
    ("largest double", "1.7976931348623157e308", "jcs"),
    ("minus largest double", "-1.7976931348623157e308", "jcs"),
    ("minus zero float", "-0.0", "jcs"),
    ("1.0 is 1", "1.0", "jcs"),
    ("100.0 is 100", "100.0", "jcs"),
    ("exponent integer 1E2", "1E2", "jcs"),
    ("negative fraction", "-0.5", "python"),
    ("shortest round trip", "0.30000000000000004", "python"),
    ("extra digits are rounded", "333333333.33333329", "jcs"),
    ("4.50", "4.50", "python"),
    ("1E30", "1E30", "jcs"),
    # literals, arrays, objects
    ("literals", "[null,true,false]", "python"),
    ("empty containers", '{"a":[],"b":{}}', "python"),
    ("whitespace removed", ' {\n "b" : [ 1 , 2 ] ,\t"a" : { } }\r\n', "python"),
    ("keys sorted", '{"b":1,"a":2,"c":3,"aa":4,"A":5,"":6}', "python"),
    ("nested keys sorted at every level", '{"z":{"y":[{"d":1,"c":2}],"x":null},"a":{"b":{"d":0,"c":0}}}', "python"),
    ("array order kept", '[3,1,2,"b","a"]', "python"),
    ("non-ASCII keys sorted by code point below U+E000", '{"é":1,"e":2,"z":3,"中":4,"Ω":5}', "python"),
    ("U+E000 key before astral key under Python, after under JCS", '{"\\ue000":1,"\\ud83d\\ude00":2}', "jcs"),
    ("U+FFFF, U+FB33 and astral keys by UTF-16 code units",
     '{"\\uffff":"ffff","\\ud800\\udc00":"10000","\\ufb33":"fb33","\\ud7ff":"d7ff","a":"a"}', "jcs"),
    ("mixed nested with E000+ and astral keys", '{"o":{"\\uf8ff":1,"\\ud83d\\ude80":2,"b":3}}', "jcs"),
    ("model config", '{"model":"m-1","temperature":0.2,"max_tokens":1024,"stop":["\\n\\n","END"],"top_p":1.0}', "jcs"),
    ("RFC 8785 section 3.2.2 example", RFC_MAIN_INPUT, "jcs"),
    ("RFC 8785 section 3.2.3 sorting example", RFC_SORT_INPUT, "jcs"),
]


def main():
    # The serialiser here must reproduce the RFC's own values first.
    for bits, text in APPENDIX_B:
        value = struct.unpack(">d", bytes.fromhex(bits))[0]
        assert es_number(value) == text, (bits, es_number(value), text)
    assert jcs(json.loads(RFC_MAIN_INPUT)) == RFC_MAIN_OUTPUT, jcs(json.loads(RFC_MAIN_INPUT))
    sort_pairs = json.loads(jcs(json.loads(RFC_SORT_INPUT)), object_pairs_hook=lambda pairs: pairs)
    assert [k for k, _ in sort_pairs] == RFC_SORT_ORDER, sort_pairs

    cases = []
    for name, text, rule in CASES:
        value = json.loads(text)
        expected = jcs(value)
        if rule == "python":
            assert expected == python_form(value), (name, expected, python_form(value))
        else:
            assert rule == "jcs"
        cases.append({"name": name, "input": text, "canonical": expected, "rule": rule})
    doubles = [{"bits": bits, "canonical": text} for bits, text in APPENDIX_B]
    out = {
        "generator": "tests/data/gen_canonical_golden.py",
        "rule": "RFC 8785 (JCS); integers within int64/uint64 exact. 'python' cases equal "
                "json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)",
        "cases": cases,
        "appendix_b_doubles": doubles,
    }
    with open(os.path.join(HERE, "canonical_json_golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
