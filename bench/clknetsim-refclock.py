#!/usr/bin/env python3
"""The Stratum-1 discipline beside chronyd at refclock poll 1 to 4 under clknetsim
(bench/discipline.md, "Fast frequency changes and late PPS samples").

Each run is one clknetsim simulation of five nodes, each on its own copy of the cell's model
(10 ms and 20 ppm off, plus the cell's frequency changes, and the cell's sample noise on the
SHM refclock): nodes 1-4 are Debian's chronyd with `refclock SHM 0 poll P`, P = 1, 2, 3, 4
(its other options the defaults), node 5 is horloge-clknetsim-harness reading the same SHM
unit. clknetsim writes the SHM samples (one a second) from the cell's `refclock` expression:
that is the bench's PPS source, the same for every daemon. clknetsim prints the RMS offset of
each node after the reset time.

clknetsim is not part of this repository and nothing here builds it: --clknetsim is a
directory where it was built by hand (bench/discipline.md). The daemons adjust only the clocks
clknetsim simulates.

    bench/clknetsim-refclock.py --clknetsim DIR --harness build/bin/horloge-clknetsim-harness \\
        [--seeds 4] [--first-seed 1] [--limit 20000] [--reset 2000] [--cells all] \\
        [--jobs 2] [--work DIR] [--harness-args "--wander 1e-9 ..."]
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

J = 1e-6   # Gaussian jitter of every PPS sample, s

# A late interrupt: the sample's receive stamp is late, so the offset reads high by the delay.
# (equal E E (uniform)) is 1 with probability 2E: 1 % of samples 0-20 us late and, drawn
# independently, 5 % 0-100 us late (a loaded Pi's interrupt latency).
GAUSS = f"(* {J} (normal))"
LATE = (f"(+ {GAUSS} (* 20e-6 (uniform) (equal 0.005 0.005 (uniform)))"
        f" (* 100e-6 (uniform) (equal 0.025 0.025 (uniform))))")


def walk(w):
    return f"(sum (* {w} (normal)))"


# Frequency error on top of 20 ppm: a random walk, load steps (a 1.25 ppm jump, 5 degC at
# 0.25 ppm/degC, every 30 min, with no thermal lag: the worst case), or fast ramps (a triangle
# of 1.25 ppm peak to peak and 600 s period: 4.2 ppb/s, 17 degC an hour).
STEPS = f"(+ (* 0.625e-6 (pulse 1800 1800)) {walk('1e-10')})"
RAMPS = f"(+ (* 0.625e-6 (triangle 600)) {walk('1e-10')})"

# name: (frequency beyond 20 ppm, sample noise, wander for the Kalman floor or None)
CELLS = {
    "rw9": (walk("1e-9"), GAUSS, 1e-9),
    "rw10": (walk("1e-10"), GAUSS, 1e-10),
    "rw9-late": (walk("1e-9"), LATE, None),
    "steps": (STEPS, GAUSS, None),
    "steps-late": (STEPS, LATE, None),
    "ramps": (RAMPS, GAUSS, None),
    "ramps-late": (RAMPS, LATE, None),
}
POLLS = (1, 2, 3, 4)
HARNESS_NODE = 5


def floor(jitter, wander):
    """One-step prediction error of the Kalman filter that knows the model (bench/discipline.md)."""
    p00, p01, p11 = 1e-6, 0.0, 1e-8
    for _ in range(200000):
        s = p00 + jitter ** 2
        k0, k1 = p00 / s, p01 / s
        p00, p01, p11 = p00 - k0 * p00, p01 - k0 * p01, p11 - k1 * p01
        p00, p01, p11 = p00 + 2 * p01 + p11, p01 + p11, p11 + wander ** 2
    return math.sqrt(p00)


def simulate(a, cell, seed):
    d = os.path.join(a.work, f"{cell}-{seed}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    freq, noise, _ = CELLS[cell]
    with open(os.path.join(d, "conf"), "w") as f:
        for node in range(1, HARNESS_NODE + 1):
            f.write(f"node{node}_offset = 0.01\n")
            f.write(f"node{node}_freq = (+ 20e-6 {freq})\n")
            f.write(f"node{node}_refclock = {noise}\n")
    for node, poll in enumerate(POLLS, 1):
        with open(os.path.join(d, f"chrony.{node}.conf"), "w") as f:
            f.write(f"refclock SHM 0 poll {poll}\npidfile {d}/chronyd.{node}.pid\n")
    sock = os.path.join(d, "sock")
    env = dict(os.environ, CLKNETSIM_RANDOM_SEED=str(seed))
    server = subprocess.Popen([os.path.join(a.clknetsim, "clknetsim"), "-l", str(a.limit), "-r",
                               str(a.reset), "-o", os.path.join(d, "offsets"), "-s", sock,
                               os.path.join(d, "conf"), str(HARNESS_NODE)],
                              stdout=open(os.path.join(d, "stats"), "w"), stderr=subprocess.STDOUT,
                              env=env)
    preload = dict(os.environ, LD_PRELOAD=os.path.join(a.clknetsim, "clknetsim.so"),
                   CLKNETSIM_SOCKET=sock)
    clients = []
    for node in range(1, len(POLLS) + 1):
        clients.append(subprocess.Popen(
            ["chronyd", "-d", "-u", "root", "-f", os.path.join(d, f"chrony.{node}.conf")],
            stdout=open(os.path.join(d, f"log.{node}"), "w"), stderr=subprocess.STDOUT,
            env=dict(preload, CLKNETSIM_NODE=str(node))))
    clients.append(subprocess.Popen([a.harness] + a.harness_args.split(),
                                    stdout=open(os.path.join(d, f"log.{HARNESS_NODE}"), "w"),
                                    stderr=subprocess.STDOUT,
                                    env=dict(preload, CLKNETSIM_NODE=str(HARNESS_NODE))))
    wait_clients(server, clients)
    rms = rms_by_node(d)
    return [rms[n] for n in range(1, HARNESS_NODE + 1)]


def ns(x):
    return f"{x * 1e6:.2f} µs" if x >= 1e-6 else f"{x * 1e9:.0f} ns"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clknetsim", required=True)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--reset", type=int, default=2000)
    ap.add_argument("--cells", default="all")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", default=None)
    ap.add_argument("--harness-args", default="", help="more options for the harness")
    a = ap.parse_args()
    if shutil.which("chronyd") is None:
        sys.exit("chronyd is needed (Debian's chrony package)")
    a.work = a.work or tempfile.mkdtemp(prefix="clknetsim-refclock-")
    a.harness = os.path.abspath(a.harness)
    cells = list(CELLS) if a.cells == "all" else a.cells.split(",")
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    jobs = [(c, s) for c in cells for s in seeds]
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        results = dict(zip(jobs, ex.map(lambda j: simulate(a, *j), jobs)))
    print(f"J {J * 1e6:g} us, 10 ms and 20 ppm off; {a.limit} s, RMS after {a.reset} s, pooled "
          f"over seeds {a.first_seed}-{a.first_seed + a.seeds - 1}; runs in {a.work}")
    print("| cell | chronyd poll 1 | poll 2 | poll 3 | poll 4 | horloge | **/ chronyd best** "
          "| per seed (/ best poll) | floor | / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in cells:
        rs = [results[(c, s)] for s in seeds]
        pooled = [math.sqrt(sum(r[k] ** 2 for r in rs) / len(rs)) for k in range(HARNESS_NODE)]
        chrony, ours = pooled[:len(POLLS)], pooled[-1]
        best = min(range(len(POLLS)), key=lambda k: chrony[k])
        w = CELLS[c][2]
        fl = floor(J, w) if w is not None else None
        cols = " | ".join(ns(x) + (" *" if k == best else "") for k, x in enumerate(chrony))
        print(f"| {c} | {cols} | {ns(ours)} | **{ours / chrony[best]:.2f}** "
              f"| {' '.join(f'{r[-1] / r[best]:.2f}' for r in rs)} "
              f"| {ns(fl) if fl else '–'} | {f'{ours / fl:.2f}' if fl else '–'} |")


if __name__ == "__main__":
    main()
