"""The sandbox's first process when the script may reach MLflow.

    python3 -I -S sandbox_init.py <port> <unix socket> -- <command> [args...]

The sandbox has a network namespace of its own: its 127.0.0.1 is not the host's. This
program listens on 127.0.0.1:<port> there and forwards every TCP connection, byte for byte,
to the Unix socket on which the runner's MLflow proxy listens (bound into the sandbox). It
then runs the command as its child, passes SIGTERM, SIGINT and SIGHUP on to it, and exits
with its status (128 + N when signal N killed it), so the sandbox reports what the script
did. Standard library only, so that any Python 3 runs it and nothing of the job's
environment is imported.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

CHUNK = 256 * 1024
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def pump(src, dst):
    """Copies src to dst until src ends, then ends dst's direction (HTTP half-close)."""
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve_connection(client, socket_path):
    with client:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with upstream:
            try:
                upstream.connect(socket_path)
            except OSError as exc:
                print(f"[asgard] MLflow proxy unreachable: {exc}", file=sys.stderr, flush=True)
                return
            replies = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            replies.start()
            pump(client, upstream)
            replies.join()


def serve(listener, socket_path):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            # Out of descriptors or threads (the script's own limits): try again shortly
            # rather than spin or give up on MLflow for the rest of the job.
            time.sleep(0.1)
            continue
        threading.Thread(target=serve_connection, args=(client, socket_path), daemon=True).start()


def exit_status(returncode):
    return 128 - returncode if returncode < 0 else returncode


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        print("usage: sandbox_init.py <port> <unix socket> -- <command> [args...]", file=sys.stderr)
        return 2
    port, socket_path, command = int(argv[1]), argv[2], argv[4:]

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    threading.Thread(target=serve, args=(listener, socket_path), daemon=True).start()

    child = None
    pending = []

    def forward(signum, _frame):
        if child is None:
            pending.append(signum)
            return
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)

    try:
        child = subprocess.Popen(command)
    except FileNotFoundError:
        print(f"[asgard] command not found: {command[0]}", file=sys.stderr, flush=True)
        return 127
    except PermissionError:
        print(f"[asgard] command not executable: {command[0]}", file=sys.stderr, flush=True)
        return 126
    for signum in pending:
        forward(signum, None)
    return exit_status(child.wait())


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stderr.flush()
    # Not sys.exit: forwarding threads may sit in recv(), and interpreter shutdown with
    # daemon threads still running is neither needed nor always clean.
    os._exit(status)
