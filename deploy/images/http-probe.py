"""Container health probe: `python http-probe.py <port> <path>` exits 0 when
GET http://127.0.0.1:<port><path> answers 2xx within 2 s, 1 otherwise."""
import sys
import urllib.request

if len(sys.argv) != 3 or not sys.argv[1].isdigit() or not sys.argv[2].startswith("/"):
    sys.stderr.write("usage: http-probe.py <port> </path>\n")
    sys.exit(2)
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=2) as res:
        sys.exit(0 if 200 <= res.status < 300 else 1)
except Exception:
    sys.exit(1)
