"""What the clknetsim benches share: ending a simulation's clients, and reading its stats."""
import os
import subprocess


def wait_clients(server, clients):
    """Waits for clknetsim's server, then for each client (killed after 10 s more)."""
    server.wait()
    for c in clients:
        try:
            c.wait(timeout=10)
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait()


def rms_by_node(d):
    """The RMS offset clknetsim's `stats` file gives each node, by node number."""
    rms = {}
    node = None
    for line in open(os.path.join(d, "stats")):
        if line.startswith("---") and "Node" in line:
            node = int(line.split("Node")[1].split()[0])
        elif line.startswith("RMS offset") and node is not None:
            rms[node] = float(line.split()[-1])
    return rms
