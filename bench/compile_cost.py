#!/usr/bin/env python3
"""What a user's build pays for meshkit: the compile time, peak compiler
memory and object size of one translation unit holding a full gossip-first
node on UDP (bench/compile_cost/gossip_first_node.cpp), at this checkout and
at earlier git revisions (each checked out into a temporary worktree), with
the same compiler and flags (g++ -std=c++20 -O2 -g, as RelWithDebInfo).

  bench/compile_cost.py [--ref REV]... [--runs N] [--json]

Prints a table, or JSON with the unit in every key. ccache is bypassed: each
run really compiles."""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TU = os.path.join(ROOT, "bench", "compile_cost", "gossip_first_node.cpp")
FLAGS = ["-std=c++20", "-O2", "-g", "-DNDEBUG", "-DASIO_STANDALONE", "-DASIO_NO_DEPRECATED", "-c"]


def compile_once(include_dir, out):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run([os.environ.get("CXX", "g++"), *FLAGS, "-I", include_dir, TU, "-o", out], check=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, after.ru_maxrss


def sizes(obj):
    # `size` prints text, data, bss: the code and data the linker keeps (debug info aside).
    fields = subprocess.run(["size", obj], check=True, capture_output=True, text=True).stdout.splitlines()[1].split()
    return int(fields[0]), int(fields[1]) + int(fields[2]), os.path.getsize(obj)


def measure(label, include_dir, runs, scratch):
    obj = os.path.join(scratch, label.replace("/", "_") + ".o")
    samples = [compile_once(include_dir, obj) for _ in range(runs)]
    text, data, file_size = sizes(obj)
    return {
        "revision": label,
        "compile_wall_s": round(min(s[0] for s in samples), 2),
        "compile_cpu_s": round(min(s[1] for s in samples), 2),
        "compiler_peak_rss_mib": round(max(s[2] for s in samples) / 1024, 1),
        "object_text_bytes": text,
        "object_data_bytes": data,
        "object_file_bytes": file_size,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", action="append", default=[], help="an earlier git revision to measure too")
    ap.add_argument("--runs", type=int, default=1, help="compiles per revision; the fastest counts")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for ref in args.ref:
            tree = os.path.join(scratch, "tree-" + ref.replace("/", "_"))
            subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", tree, ref], check=True)
            try:
                rows.append(measure(ref, os.path.join(tree, "include"), args.runs, scratch))
            finally:
                subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], check=False)
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip() or "working tree"
        rows.append(measure(head + " (working tree)", os.path.join(ROOT, "include"), args.runs, scratch))
    if args.json:
        json.dump({"tool": "meshkit-bench-compile-cost", "translation_unit": os.path.relpath(TU, ROOT),
                   "flags": " ".join(FLAGS), "runs": rows}, sys.stdout, indent=2)
        print()
        return
    cols = [("revision", "revision"), ("compile_wall_s", "wall (s)"), ("compile_cpu_s", "cpu (s)"),
            ("compiler_peak_rss_mib", "peak RSS (MiB)"), ("object_text_bytes", "text (B)"),
            ("object_data_bytes", "data+bss (B)"), ("object_file_bytes", "object file (B)")]
    widths = [max(len(h), *(len(str(r[k])) for r in rows)) for k, h in cols]
    print("Compile cost of a full gossip-first node TU (" + os.path.relpath(TU, ROOT) + ")")
    print("| " + " | ".join(h.ljust(w) for (k, h), w in zip(cols, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(r[k]).ljust(w) for (k, h), w in zip(cols, widths)) + " |")


if __name__ == "__main__":
    main()
