#!/usr/bin/env python3
"""The relay's discipline beside chronyd under clknetsim (bench/relay.md).

Each run is one clknetsim simulation of five nodes: three NTP servers (Debian's chronyd with
`local stratum 1`, perfect clocks), node 4 chronyd and node 5 horloge-clknetsim-harness, both
clients of the three with the same options, each on its own copy of the sim model (10 ms and
20 ppm off, frequency wander W). Packets between a client and a server take the cell's delay
model, drawn for each packet. clknetsim prints the RMS offset of each node after the reset
time; the offsets file gives the time to converge.

clknetsim is not part of this repository and nothing here builds it: --clknetsim is a
directory where it was built by hand (bench/relay.md). Both clients adjust only the clocks
clknetsim simulates.

    bench/clknetsim-relay.py --clknetsim DIR --harness build/bin/horloge-clknetsim-harness \\
        [--seeds 8] [--first-seed 1] [--limit 40000] [--reset 2000] [--polls 4:4,4:6,6:6] \\
        [--cells all] [--wander 1e-9] [--offset 0.01] [--jobs 2] [--work DIR] \\
        [--harness-args "--wander 1e-9 ..."]
"""
import argparse
import concurrent.futures
import math
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clknetsim_common import rms_by_node, wait_clients  # noqa: E402


def exp(constant, scale):
    return f"(+ {constant} (* {scale} (exponential)))"


# Client -> server and server -> client delay, seconds: a constant plus exponential queueing.
CELLS = {
    "sym100u": (exp("1e-4", "1e-4"), exp("1e-4", "1e-4")),   # a LAN: 100 us each way
    "sym1m": (exp("1e-3", "1e-3"), exp("1e-3", "1e-3")),     # 1 ms of queueing each way
    "sym10m": (exp("5e-3", "1e-2"), exp("5e-3", "1e-2")),    # 10 ms of queueing each way
    "asymq": (exp("1e-3", "2e-3"), exp("1e-3", "2e-4")),     # queueing mostly on the way out
    "asymc": (exp("2e-3", "5e-4"), exp("1e-3", "5e-4")),     # a path 1 ms longer one way
}
SERVERS = ("192.168.123.1", "192.168.123.2", "192.168.123.3")


def simulate(a, cell, minpoll, maxpoll, seed):
    d = os.path.join(a.work, f"{cell}-{minpoll}{maxpoll}-{seed}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    out, back = CELLS[cell]
    with open(os.path.join(d, "conf"), "w") as f:
        for client in (4, 5):
            f.write(f"node{client}_offset = {a.offset}\n")
            f.write(f"node{client}_freq = (+ 20e-6 (sum (* {a.wander} (normal))))\n")
            for server in (1, 2, 3):
                f.write(f"node{client}_delay{server} = {out}\n")
                f.write(f"node{server}_delay{client} = {back}\n")
    for server in (1, 2, 3):
        with open(os.path.join(d, f"chrony.{server}.conf"), "w") as f:
            f.write(f"local stratum 1\nallow\npidfile {d}/chronyd.{server}.pid\n")
    with open(os.path.join(d, "chrony.4.conf"), "w") as f:
        for s in SERVERS:
            f.write(f"server {s} iburst minpoll {minpoll} maxpoll {maxpoll}\n")
        f.write(f"pidfile {d}/chronyd.4.pid\n")
    sock = os.path.join(d, "sock")
    env = dict(os.environ, CLKNETSIM_RANDOM_SEED=str(seed))
    server = subprocess.Popen([os.path.join(a.clknetsim, "clknetsim"), "-l", str(a.limit), "-r",
                               str(a.reset), "-o", os.path.join(d, "offsets"), "-s", sock,
                               os.path.join(d, "conf"), "5"],
                              stdout=open(os.path.join(d, "stats"), "w"), stderr=subprocess.STDOUT,
                              env=env)
    preload = dict(os.environ, LD_PRELOAD=os.path.join(a.clknetsim, "clknetsim.so"),
                   CLKNETSIM_SOCKET=sock)
    clients = []
    for node in (1, 2, 3, 4):
        clients.append(subprocess.Popen(
            ["chronyd", "-d", "-u", "root", "-f", os.path.join(d, f"chrony.{node}.conf")],
            stdout=open(os.path.join(d, f"log.{node}"), "w"), stderr=subprocess.STDOUT,
            env=dict(preload, CLKNETSIM_NODE=str(node))))
    harness = [a.harness, "--minpoll", str(minpoll), "--maxpoll", str(maxpoll), "--iburst"]
    harness += a.harness_args.split()
    for s in SERVERS:
        harness += ["--server", s]
    clients.append(subprocess.Popen(harness, stdout=open(os.path.join(d, "log.5"), "w"),
                                    stderr=subprocess.STDOUT,
                                    env=dict(preload, CLKNETSIM_NODE="5")))
    wait_clients(server, clients)
    rms = rms_by_node(d)
    offsets = [[float(x) for x in line.split()[3:5]] for line in open(os.path.join(d, "offsets"))]
    return rms[4], rms[5], offsets


def converged(offsets, column, threshold, window=300, step=10):
    """The first second t from which the RMS offset over [t, t + window) is under threshold."""
    n = len(offsets)
    for t in range(0, n - window, step):
        ms = sum(offsets[i][column] ** 2 for i in range(t, t + window)) / window
        if math.sqrt(ms) < threshold:
            return t
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clknetsim", required=True)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=40000)
    ap.add_argument("--reset", type=int, default=2000)
    ap.add_argument("--polls", default="4:4,4:6,6:6")
    ap.add_argument("--cells", default="all")
    ap.add_argument("--wander", default="1e-9")
    ap.add_argument("--offset", default="0.01")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", default=None)
    ap.add_argument("--harness-args", default="", help="more options for the harness")
    a = ap.parse_args()
    if shutil.which("chronyd") is None:
        sys.exit("chronyd is needed (Debian's chrony package)")
    a.work = a.work or tempfile.mkdtemp(prefix="clknetsim-relay-")
    a.harness = os.path.abspath(a.harness)
    cells = list(CELLS) if a.cells == "all" else a.cells.split(",")
    polls = [tuple(p.split(":")) for p in a.polls.split(",")]
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    jobs = [(c, mn, mx, s) for (mn, mx) in polls for c in cells for s in seeds]
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        results = dict(zip(jobs, ex.map(lambda j: simulate(a, *j), jobs)))
    print(f"offset {a.offset} s, 20 ppm, wander {a.wander}; {a.limit} s, RMS after {a.reset} s; "
          f"seeds {a.first_seed}-{a.first_seed + a.seeds - 1}; runs in {a.work}")
    print("| delay | poll | chronyd rms | horloge rms | rms ratio | per seed | converge chronyd "
          "| converge horloge | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (mn, mx) in polls:
        for c in cells:
            rs = [results[(c, mn, mx, s)] for s in seeds]
            chrony = math.sqrt(sum(r[0] ** 2 for r in rs) / len(rs))
            ours = math.sqrt(sum(r[1] ** 2 for r in rs) / len(rs))
            # Converged: the RMS over the next 300 s under twice chronyd's steady RMS.
            conv = [[converged(r[2], k, 2 * chrony) for r in rs] for k in (0, 1)]
            def worst(v):
                return "never" if any(x is None for x in v) else f"{max(v)} s"
            def mean(v):
                v = [x for x in v if x is not None]
                return sum(v) / len(v) if v else float("nan")
            ratio = mean(conv[1]) / mean(conv[0]) if mean(conv[0]) > 0 else float("nan")
            print(f"| {c} | {2 ** int(mn)}-{2 ** int(mx)} s | {chrony * 1e6:.1f} us | {ours * 1e6:.1f} us "
                  f"| **{ours / chrony:.2f}** | {' '.join(f'{r[1] / r[0]:.2f}' for r in rs)} "
                  f"| {mean(conv[0]):.0f} s (worst {worst(conv[0])}) "
                  f"| {mean(conv[1]):.0f} s (worst {worst(conv[1])}) | {ratio:.2f} |")


if __name__ == "__main__":
    main()
