#!/usr/bin/env python3
# kanari routing (docs/routing.md). Usage: routing_reference.py SALT KEY... | --check VECTORS.json
import hashlib, json, sys
def bucket(salt: str, key: str) -> int:
    digest = hashlib.sha256((salt + ":" + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10000
def is_canary(salt: str, key: str, percent: str) -> bool:
    return bucket(salt, key) < round(float(percent) * 100)  # basis points (<= 2 decimals)
if __name__ == "__main__" and sys.argv[1] == "--check":
    for v in json.load(open(sys.argv[2], encoding="utf-8"))["vectors"]:
        assert bucket(v["salt"], v["key"]) == v["bucket"] and all(
            is_canary(v["salt"], v["key"], p) == c for p, c in v["canary_at_percent"].items()), v
    print("all vectors reproduced")
elif __name__ == "__main__":
    for key in sys.argv[2:]: print(f"{key}\t{bucket(sys.argv[1], key)}")
