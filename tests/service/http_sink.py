"""A webhook endpoint for the notification tests (127.0.0.1, a free port).

Prints its port, then one JSON line per request as it arrives (monotonic time, path, content type, body, the status
it answers). --statuses: the status for each request in turn, the last repeating (e.g. 503,503,200).
--retry-after: the Retry-After header on 429 and 503. --reply: the body of error replies. --hang: read the request,
report it, and never answer.
"""
import argparse
import http.server
import json
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--statuses", default="200")
    parser.add_argument("--retry-after")
    parser.add_argument("--reply", default="")
    parser.add_argument("--hang", action="store_true")
    args = parser.parse_args()
    statuses = [int(s) for s in args.statuses.split(",")]
    lock = threading.Lock()
    served = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = statuses[min(served[0], len(statuses) - 1)]
                served[0] += 1
                print(json.dumps({"t": time.monotonic(), "path": self.path,
                                  "content_type": self.headers.get("Content-Type"),
                                  "body": body.decode(), "status": status}), flush=True)
            if args.hang:
                time.sleep(3600)
            reply = args.reply.encode() if status >= 400 else b"ok"
            self.send_response(status)
            if args.retry_after and status in (429, 503):
                self.send_header("Retry-After", args.retry_after)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


main()
