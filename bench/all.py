"""Every benchmark, one after the other, and the performance page written from their output.

Run: python bench/all.py --write docs/performance.md
        [--postgres postgres://postgres@127.0.0.1:5432/bench_perf] [--runs 3] [--world-runs 3] [--quick]
Each benchmark prints its figures beside a ceiling measured in the same run, and the ratio;
this script collects the machine-readable lines (`@name {json}`) they print last, checks
them against issues 10's and 19's targets, and writes the page with the commands and full
outputs. `--quick`: 10,000 followers only, 1 run, the small world only (a smoke run, not
for the page).
`--save run.json` keeps what the benches printed; `--render run.json --write …` writes the
page again from it (after the page's wording changed) without running anything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, machine  # noqa: E402
from world_page import world_limits, world_section, world_targets  # noqa: E402


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[str, list[tuple[str, dict[str, Any]]], float]:
    """Run a bench; its output, its `@name {json}` lines, and how long it took."""
    print("$ " + " ".join(command), flush=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True,
                          env={**os.environ, **(env or {})})
    took = time.monotonic() - started
    human = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("@"))
    print(human, flush=True)
    data = [(line[1:].split(" ", 1)[0], json.loads(line.split(" ", 1)[1]))
            for line in done.stdout.splitlines() if line.startswith("@")]
    return human, data, took


def fmt_range(values: list[float], f: str = "{:.2f}") -> str:
    return f"{f.format(min(values))}–{f.format(max(values))}" if len(values) > 1 else f.format(values[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="the page to write (docs/performance.md)")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_perf",
                        help="a PostgreSQL database the benches may empty")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--world-runs", type=int, default=3, help="runs of each world (bench/world.py)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--save", type=Path, help="also keep the benches' output here (JSON)")
    parser.add_argument("--render", type=Path, help="write the page from a saved run; run nothing")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(args.render.read_text())
        outputs_saved = [(c, h, t) for c, h, t in saved["outputs"]]
        text = page(saved["data"], outputs_saved, saved["profile"], saved["command"], saved.get("generated"))
        if args.write:
            args.write.write_text(text)
            print(f"wrote {args.write}")
        return
    runs = "1" if args.quick else str(args.runs)
    sizes = "10000:1000" if args.quick else "10000:1000,100000:10000"
    outputs: list[tuple[str, str, float]] = []
    data: dict[str, list[dict[str, Any]]] = {}

    def bench(command: list[str], env: dict[str, str] | None = None) -> None:
        human, lines, took = run(command, env)
        outputs.append((" ".join(command), human, took))
        for name, value in lines:
            data.setdefault(name, []).append(value)
        if args.save:  # after each bench: a later one that fails loses nothing before it
            args.save.write_text(json.dumps({"data": data, "outputs": outputs, "profile": "(not yet)",
                                             "command": " ".join(sys.argv), "generated": _now()}))

    bench(["python", "bench/fanout.py", "--sizes", sizes, "--runs", runs])
    bench(["python", "bench/fanout.py", "--database", args.postgres, "--sizes", sizes, "--runs", runs])
    # Issue 10's config (concurrency 64, one host), for its targets and for comparison.
    bench(["python", "bench/fanout.py", "--config", "tuned", "--sizes", sizes, "--runs", runs])
    bench(["python", "bench/inbox.py", "--database", "sqlite", "--database", args.postgres, "--runs", runs])
    bench(["python", "bench/scaleout.py", "--database", args.postgres, "--runs", runs])
    bench(["python", "bench/read.py"])
    world_runs = "1" if args.quick else str(args.world_runs)
    world_sizes = "1000:20" if args.quick else "1000:20,10000:2000"
    # The worlds with dead servers: Fedify, which has no request timeout, may hold its slots on
    # them for Node's 300 s; the bound keeps the run finite (it is then reported as "> bound").
    bench(["python", "bench/world.py", "--size", world_sizes, "--dead", "0,0.1", "--runs", world_runs,
           "--bound", "180"])
    bench(["python", "bench/world.py", "--size", world_sizes, "--dead", "0,0.1", "--runs", world_runs,
           "--bound", "180", "--senders", "bridge", "--database", args.postgres])
    profile_file = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "fanout.txt"
    human, _lines, took = run(["python", "bench/fanout.py", "--sizes", "100000:10000" if not args.quick else sizes,
                               "--runs", "1"], env={"BENCH_PROFILE": str(profile_file)})
    profile = profile_file.read_text() if profile_file.exists() else "(no profile)"
    if args.save:
        args.save.write_text(json.dumps({"data": data, "outputs": outputs, "profile": profile,
                                         "command": " ".join(sys.argv), "generated": _now()}))
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(page(data, outputs, profile, " ".join(sys.argv)))
        print(f"wrote {args.write}")


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def page(data: dict[str, list[dict[str, Any]]], outputs: list[tuple[str, str, float]], profile: str,
         command: str, generated: str | None = None) -> str:
    shown = " ".join(word for word in command.removeprefix(str(ROOT) + "/").split()
                     if not word.endswith(".json") and word != "--save")  # where a run was kept is nobody's business
    out = ["# Performance", "",
           f"Generated by `python {shown}` on {generated or _now()}.",
           "", f"**Machine:** {machine()}: a 2-core VM. Nothing else ran on it during these runs, but its speed",
           "moves from run to run (the host's other guests), so absolute figures wobble; every ceiling is",
           "measured in the same run as the figure beside it (before and after it, the mean of both), which",
           "keeps the ratios steadier. Each figure is the median of the runs, with the spread (min–max) beside it.", ""]
    out += ["## Fan-out (`bench/fanout.py`)", "",
            "One post's fan-out (the actor's `Update`) to every follower's shared inbox on a sink in another process",
            "that verifies every signature: the CPU-bound case (the sink answers at once). The bridge runs in its own",
            "process (the queue Worker, the app's handlers and guarded HTTP client) with its **default config**",
            "(512 in flight, 8 per host, log level info to a file); the inboxes are spread over up to 1,000 hosts",
            "(loopback addresses of the sink), as a real blog's followers are. Ceiling: the same signed POSTs from",
            "a bare aiohttp client at 512 at once, signing in a thread pool, no queue, no database. CPU columns,",
            "per delivery: the sending process (all its threads), its event loop's thread alone, and the local",
            "PostgreSQL server during the bridge's run.", "",
            "| database | followers | inboxes | deliveries/s | time to last delivery | first delivery | peak memory | ceiling/s | ratio (spread) | CPU ms, process: bridge / ceiling | CPU ms, event loop: bridge / ceiling | CPU ms, PostgreSQL |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data.get("fanout", []):
        pg = f"{r['db_cpu_ms']:.2f}" if r["database"] == "postgres" else "–"
        config = "" if r.get("config", "tuned") == "defaults" else " (tuned: 64 at once, one host)"
        out.append(f"| {r['database']}{config} | {r['followers']:,} | {r['inboxes']:,} on {r.get('hosts', 1):,} host{'s' * (r.get('hosts', 1) != 1)} | {r['rate']:.0f} ({fmt_range(r['rates'], '{:.0f}')}) "
                   f"| {r['seconds']:.2f} s | {r['first_ms']:.0f} ms | {r['peak_rss_mb']:.0f} MB | {r['ceiling']:.0f} | {r['ratio']:.2f} "
                   f"({fmt_range(r['ratios'])}) | {r['cpu_ms']:.2f} / {r['ceiling_cpu_ms']:.2f} "
                   f"| {r['loop_cpu_ms']:.2f} / {r['ceiling_loop_cpu_ms']:.2f} | {pg} |")
    out += ["", "## Inbox (`bench/inbox.py`)", "",
            "Signed `Like` activities (draft-cavage, RSA 2048, 20 signers whose keys the bridge holds) sent by a load",
            "process, 64 at once, to the shared inbox of a real `bridge serve --no-workers`; each must be answered 202",
            "and stored with its job. Ceiling: a bare aiohttp handler verifying the same signatures with cached keys",
            "and committing one row per request with plain aiosqlite (WAL, synchronous=FULL, as the bridge).", "",
            "| database | accepted/s | p50 | p99 | ceiling/s (SQLite) | ratio (spread) |", "|---|---|---|---|---|---|"]
    for r in data.get("inbox", []):
        out.append(f"| {r['database']} | {r['rate']:.0f} ({fmt_range(r['rates'], '{:.0f}')}) | {r['p50_ms']:.1f} ms "
                   f"| {r['p99_ms']:.1f} ms | {r['ceiling']:.0f} | {r['ratio']:.2f} ({fmt_range(r['ratios'])}) |")
    out += ["", "## Scale-out (`bench/scaleout.py`)", "",
            "The fan-out with 1 and with 2 real `bridge worker` processes on one PostgreSQL database. The sink counts",
            "any inbox that receives a second request while the first is being answered (sent twice at once).", "",
            "| workers | followers | inboxes | deliveries/s | ceiling/s | ratio (spread) | sent twice at once | repeated |",
            "|---|---|---|---|---|---|---|---|"]
    for r in data.get("scaleout", []):
        out.append(f"| {r['workers']} | {r['followers']:,} | {r['inboxes']:,} | {r['rate']:.0f} ({fmt_range(r['rates'], '{:.0f}')}) "
                   f"| {r['ceiling']:.0f} | {r['ratio']:.2f} ({fmt_range(r['ratios'])}) | {r['concurrent']} | {r['repeated']} |")
    out += ["", "## Reading (`bench/read.py`)", "",
            "Milliseconds to turn each WordPress fixture post page into its AS2 object (parse, REST/oEmbed JSON,",
            "merge, AS2; no network), next to mf2py's plain parse of the same page (the ceiling). twentytwentyone",
            "marks posts up with legacy `hentry` classes only.", ""]
    for r in data.get("read", []):
        out += ["| | median ms |", "|---|---|",
                f"| read, every page | {r['median_ms']:.1f} |",
                *(f"| read, {theme} (max) | {ms:.1f} ({r['max_by_theme'][theme]:.1f}) |" for theme, ms in r["by_theme"].items()),
                f"| read, an unchanged page again | {r['again_ms']:.1f} |",
                f"| mf2py.parse, html5lib (its default) | {r['mf2py_ms']:.1f} |",
                f"| mf2py.parse, lxml | {r['lxml_ms']:.1f} |",
                f"| ratio read / mf2py | {r['ratio']:.2f} |"]
    out += world_section(data.get("world", []))
    out += ["", "## Targets (issue 10)", ""] + targets(data)
    out += ["", "## Targets (issue 19)", ""] + world_targets(data) + ["", "## What limits it", ""] + limits(data) + world_limits(data.get("world", []))
    out += ["", "## Profile of the bridge during a 100,000-follower fan-out (SQLite, pyinstrument)", "",
            "Where the fan-out's event loop spends its time: sending through aiohttp and handing signatures to",
            "the signing threads as the ceiling does, plus what only the bridge does (claims, completions, the job).",
            "", "```", *profile.strip().splitlines()[:90], "```"]
    out += ["", "## Commands and full outputs", ""]
    for command, human, took in outputs:
        out += [f"`{command}`" + (f" ({took:.0f} s)" if took is not None else " (run apart, not timed)"), "", "```", human.strip(), "```", ""]
    return "\n".join(out) + "\n"


def limits(data: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What bounds each figure on this machine, with the measurements that show it."""
    lines = []
    fan = data.get("fanout", [])
    if fan:
        cpu = ", ".join(f"{r['database']} {r['followers']:,}: {r['cpu_ms']:.2f} ms vs {r['ceiling_cpu_ms']:.2f} ms "
                        f"(event loop {r['loop_cpu_ms']:.2f} vs {r['ceiling_loop_cpu_ms']:.2f} ms)" for r in fan)
        pg = ", ".join(f"{r['followers']:,}: {r['db_cpu_ms']:.2f} ms" for r in fan if r["database"] == "postgres")
        first = ", ".join(f"{r['database']} {r['followers']:,}: {r['first_ms']:.0f} ms" for r in fan)
        lines += [
            "- **Fan-out** is CPU-bound: two cores run the sink (which verifies every signature), the sending",
            "  process (its event loop and signing threads) and the database. What the bridge spends beyond the",
            f"  ceiling, CPU per delivery, bridge vs ceiling: {cpu}. Its event loop does what",
            "  the ceiling's does plus the job around each POST: a task and a timeout, the claimed row, host",
            "  health and per-host limits, the answer's classification, metrics. Signing runs in SIGNING_THREADS",
            "  threads off the loop, as in the ceiling; uvloop was tried and did not help measurably here.",
            f"- **PostgreSQL's own CPU** shares the same two cores: {pg} per delivery (each delivery is a",
            "  job row inserted, claimed and marked done: three row versions with their index entries). That,",
            "  and a server process on the other end of every statement, is what separates the PostgreSQL figures",
            "  from SQLite's; the setup's bulk load of followers is vacuumed before the clock starts.",
            "- **A fan-out's first contact with many hosts** (issue 19): with the defaults the inboxes live on",
            "  1,000 hosts the bridge has never delivered to, and each host used to cost seven statements (its",
            "  record read, its signature scheme read, written and read back, its health reset): a ratio of 0.26",
            "  when first measured. Now the records of the hosts met in the same moment are read in one query",
            "  (`core/singleflight.Batched`), the scheme comes from that row, and nothing is written for a host",
            "  that accepted the scheme tried first and had no failure on record.",
            "- **The garbage collector**: with 512 jobs in flight the heap holds many live objects, and",
            "  CPython's default thresholds (a young collection every 700 allocations) cost a third of the CPU",
            "  per delivery at 100,000 followers. The daemon now freezes what is alive after start-up and collects",
            "  at 10,000/50/100 (`bridge/daemon.py` `tune_gc`; the benches call it as the daemon does).",
            "- **What is still left** beyond the ceiling on the event loop's thread: the job around each POST",
            "  (its task, timeout, lease and done mark), the per-host slots, the classification, two log lines",
            "  (`deliver.done`, `job.done`) and the metrics; the ceiling's client does none of it.",
            "- **Keeping the slots full** was issue 10's work. A profile of the worker then showed",
            "  its 64 slots on average 29 full on SQLite and 25 on PostgreSQL: each claim waited ~11 ms behind",
            "  the done records on the one connection while finished slots stood empty. Now the deliveries",
            "  finished since the worker's last round are recorded done in the same transaction that claims the",
            "  next jobs (one trip to the database; that commit does not wait for the disk, since a lost claim or",
            "  done mark only makes a job run again), and the worker holds one claim batch ahead of its free",
            "  slots (given back if every slot stays busy), so a freed slot starts the next job at once.",
            f"- **The start**: first delivery after {first}, while the ceiling sends at once: the fan-out job",
            "  builds the activity, stores it, reads the followers' distinct inboxes and inserts their jobs (64",
            "  first, then 500 a statement, so deliveries start while the rest is read), and the first deliveries",
            "  read the host's record and the activity once for the burst. This weighs more at 10,000 followers",
            "  (about a seventh of that run). The signing key is parsed and checked once per process when the",
            "  worker starts (`cryptography` checks an RSA key as it loads it, ~35 ms; four signing threads that",
            "  all missed the cache used to do it four times before the first delivery).",
            "- **Connections to PostgreSQL** go back to asyncpg's pool after each statement; its default reset",
            "  (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, one more round trip each time)",
            "  is replaced by nothing, since no session state is left on a pooled connection (bridge/db.py)."]
    if data.get("scaleout"):
        lines += [
            "- **Scale-out**: the 2 workers share the same 2 cores with the sink, PostgreSQL and each other, so",
            "  a second process brings no CPU here; the figure shows it costs little and that no delivery is sent",
            "  twice at once (leases claimed with `FOR UPDATE SKIP LOCKED`). On separate machines each worker",
            "  brings its own cores."]
    if data.get("inbox"):
        lines += [
            "- **Inbox**: accepted activities are committed in groups (one transaction for the requests that",
            "  arrived during the previous commit), each answered 202 only after its group is durable; signers'",
            "  keys come from memory. What is left is aiohttp's request handling and the signature check, as",
            "  in the ceiling, plus the app's checks (body cap, JSON, authorisation). p99 is higher than the",
            "  ceiling's: a request waits for the commit of its whole group. On PostgreSQL a group is one",
            "  statement (the activities' INSERT and their jobs' INSERT, built from the rows it returns, with the",
            "  rows as arrays so every batch size shares one prepared statement): one round trip and one commit",
            "  that waits for the disk. A burst on a cold cache reads the block list and each signer's key once",
            "  (concurrent requests share the read: bridge/core/singleflight.py) and writes a host's recovery once;",
            "  before, the first 64 requests each read them, which showed in p99 (82 ms on SQLite and 96 ms on",
            "  PostgreSQL when last measured without this, 2026-11-24)."]
    if data.get("read"):
        lines += [
            "- **Reading**: legacy-class (`hentry`) pages cost more because mf2py's backcompat copies each",
            "  legacy root's subtree before reading it (`Tag.__deepcopy__` under",
            "  `backcompat.apply_prop_rules_to_children` in a profile of bench/read.py). The fixture pages are",
            "  50–80 KB and stay under 20 ms at the median; cutting the document to the entry's subtree before",
            "  mf2py runs is not done yet. Parsing runs in a worker thread (the event loop keeps serving) and",
            "  an unchanged page is not parsed again."]
    return lines


def targets(data: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    inbox = {r["database"]: r for r in data.get("inbox", [])}
    if "sqlite" in inbox:
        lines.append(f"- inbox ≥ 0.6 of its ceiling on SQLite: {inbox['sqlite']['ratio']:.3f} — "
                     f"{verdict(inbox['sqlite']['ratio'] >= 0.6)}")
    if "sqlite" in inbox and "postgres" in inbox:
        lines.append(f"- inbox on PostgreSQL at least the SQLite figure: {inbox['postgres']['rate']:.0f}/s vs "
                     f"{inbox['sqlite']['rate']:.0f}/s — {verdict(inbox['postgres']['rate'] >= inbox['sqlite']['rate'])}")
    for r in data.get("fanout", []):
        if r.get("config", "tuned") != "tuned":
            continue  # issue 10's targets were set for its config (bench/fanout.py --config tuned)
        lines.append(f"- fan-out ≥ 0.7 of its ceiling, {r['database']}, {r['followers']:,} followers: {r['ratio']:.3f} "
                     f"(runs {fmt_range(r['ratios'])}) — {verdict(r['ratio'] >= 0.7)}")
        if r["followers"] >= 100_000:
            lines.append(f"- 100,000-follower fan-out under 300 MB ({r['database']}): peak {r['peak_rss_mb']:.0f} MB — "
                         f"{verdict(r['peak_rss_mb'] < 300)}")
    scale = {r["workers"]: r for r in data.get("scaleout", [])}
    if 1 in scale and 2 in scale:
        twice = scale[1]["concurrent"] + scale[2]["concurrent"]
        lines.append(f"- 2 workers on PostgreSQL, no delivery sent twice at once: {twice} — {verdict(twice == 0)}")
        lines.append(f"- 2 workers at least the throughput of 1: {scale[2]['rate']:.0f}/s vs {scale[1]['rate']:.0f}/s "
                     f"— {verdict(scale[2]['rate'] >= scale[1]['rate'])}. Here both share 2 cores with the sink and "
                     "PostgreSQL, so the second worker adds no CPU; across machines each brings its own.")
    for r in data.get("read", []):
        worst = max(r["by_theme"].values())
        lines.append(f"- read: median under 20 ms per fixture page: {r['median_ms']:.1f} ms (legacy-class pages' "
                     f"median {r['by_theme'].get('twentytwentyone', worst):.1f} ms) — {verdict(r['median_ms'] < 20 and worst < 20)}")
    return lines


if __name__ == "__main__":
    main()
