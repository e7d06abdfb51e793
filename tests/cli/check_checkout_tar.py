#!/usr/bin/env python3
"""`kanari version checkout REF --to -` against two independent tar readers.

The stream must hold exactly the files a directory checkout writes, byte for
byte, read the same by Python's tarfile and by GNU tar (list and extract):
names past ustar's 100 bytes (split into prefix and name, or carried by a pax
header), a non-ASCII name, binary and empty files, directories 0755 before
their contents, files 0644, every mtime the version's creation time, and the
same bytes on every run. No directory named `-` is created.

Usage: check_checkout_tar.py KANARI_BINARY
"""
import datetime
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

KANARI = sys.argv[1]
TAR = shutil.which("tar")


def run(args, cwd, state):
    return subprocess.run([KANARI, "--state", state, *args], cwd=cwd, capture_output=True, check=False)


def ok(args, cwd, state):
    r = run(args, cwd, state)
    if r.returncode != 0:
        sys.exit(f"kanari {' '.join(args)} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
    return r


def tree(root):
    """{relative path: bytes} of every file under root, and the set of directories."""
    files, dirs = {}, set()
    for base, dirnames, filenames in os.walk(root):
        for d in dirnames:
            dirs.add(os.path.relpath(os.path.join(base, d), root))
        for f in filenames:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                files[os.path.relpath(p, root)] = fh.read()
    return files, dirs


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def main():
    check(TAR is not None, "GNU tar is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        ok(["init"], work, state)
        split_name = "p" * 120 + "/" + "q" * 90          # 211 bytes: ustar prefix + name
        pax_name = "x" * 200 + "/" + "y" * 55            # 256 bytes: no split fits, pax
        contents = {
            "roles/backend.md": b"You are the backend agent.\r\nNo final newline",
            "assets/blob.bin": bytes(range(256)) * 5,
            "empty.md": b"",
            split_name: b"split\n",
            pax_name: b"pax\n",
            "prompts/caf\u00e9.md": "caf\u00e9 cr\u00e8me\n".encode(),
            "a" * 100: b"exactly 100 bytes of name\n",
        }
        args = ["--json", "version", "add", "--param", "temperature=0.5"]
        for i, (name, data) in enumerate(contents.items()):
            src = os.path.join(tmp, f"in{i}")
            with open(src, "wb") as fh:
                fh.write(data)
            args += ["--file", f"{name}={src}"]
        version = json.loads(ok(args, work, state).stdout)["id"]
        created = json.loads(ok(["--json", "version", "show", version], work, state).stdout)["created_at"]
        mtime = int(datetime.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())

        # The directory checkout is the reference.
        ref_dir = os.path.join(tmp, "ref")
        ok(["version", "checkout", version, "--to", ref_dir], work, state)
        ref_files, ref_dirs = tree(ref_dir)
        check(set(ref_files) == set(contents) | {"model.json"}, f"directory checkout files: {sorted(ref_files)}")

        first = ok(["version", "checkout", version, "--to", "-"], work, state)
        stream = first.stdout
        check(first.stderr == b"", f"stderr not empty: {first.stderr!r}")
        check(os.listdir(work) == [], f"the working directory changed: {os.listdir(work)}")
        check(len(stream) % 10240 == 0, f"stream of {len(stream)} bytes is not whole 10240-byte records")
        check(ok(["version", "checkout", version, "--to", "-"], work, state).stdout == stream,
              "two runs gave different streams")

        # Python's tarfile.
        expected_names = sorted(list(ref_files) + [d + "/" for d in ref_dirs])
        with tarfile.open(fileobj=io.BytesIO(stream), mode="r:") as t:
            members = t.getmembers()
            names = [m.name + ("/" if m.isdir() else "") for m in members]
            check(names == expected_names, f"tarfile names {names} != {expected_names}")
            for m in members:
                check(m.mtime == mtime, f"{m.name}: mtime {m.mtime} != {mtime}")
                check(m.uid == 0 and m.gid == 0, f"{m.name}: owner {m.uid}:{m.gid}")
                if m.isdir():
                    check(m.mode == 0o755, f"{m.name}: directory mode {oct(m.mode)}")
                else:
                    check(m.isreg(), f"{m.name}: not a regular file")
                    check(m.mode == 0o644, f"{m.name}: file mode {oct(m.mode)}")
                    check(t.extractfile(m).read() == ref_files[m.name], f"{m.name}: content differs")
            by_name = {m.name: m for m in members}
            check(by_name[pax_name].pax_headers.get("path") == pax_name, "the 256-byte name has no pax path")
            check(by_name["a" * 100].pax_headers == {}, "a 100-byte name needs no pax header")
            check(by_name[split_name].pax_headers == {}, "a splittable name needs no pax header")
        # Strictly ustar where no pax header is needed: tarfile reads the
        # prefix field only in ustar/pax archives.
        check(stream[257:265] == b"ustar\x0000", "the first header is not ustar")

        # GNU tar: list, then extract and compare with the directory checkout.
        listed = subprocess.run([TAR, "-tf", "-"], input=stream, capture_output=True, check=True)
        check(listed.stderr == b"", f"tar -t warned: {listed.stderr!r}")
        gnu_names = sorted(listed.stdout.decode().splitlines())
        check(gnu_names == expected_names, f"tar -t names {gnu_names} != {expected_names}")
        out_dir = os.path.join(tmp, "extracted")
        os.mkdir(out_dir)
        extracted = subprocess.run([TAR, "-xf", "-", "-C", out_dir], input=stream, capture_output=True, check=True)
        check(extracted.stderr == b"", f"tar -x warned: {extracted.stderr!r}")
        got_files, got_dirs = tree(out_dir)
        check(got_files == ref_files, "tar -x files differ from the directory checkout")
        check(got_dirs == ref_dirs, f"tar -x directories {got_dirs} != {ref_dirs}")
        check(int(os.stat(os.path.join(out_dir, "model.json")).st_mtime) == mtime, "tar -x mtime")
        verbose = subprocess.run([TAR, "-tvf", "-"], input=stream, capture_output=True, check=True).stdout.decode()
        for line in verbose.splitlines():
            check(line.startswith("-rw-r--r-- 0/0") or line.startswith("drwxr-xr-x 0/0"), f"tar -tv: {line}")
    print("checkout --to -: tarfile and GNU tar agree with the directory checkout")


if __name__ == "__main__":
    main()
