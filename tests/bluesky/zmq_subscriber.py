"""Receives a run's Bluesky documents over ZeroMQ as bluesky.callbacks.zmq.RemoteDispatcher does (a SUB socket
connected to the publisher, each frame split by b" " into prefix, name and the serialized document; see
bluesky/bluesky src/bluesky/callbacks/zmq.py, RemoteDispatcher._poll) and writes them as JSON lines until the
stop document. Prints "connected" once its socket is set up, then "received N" at the end."""
import json
import sys

import zmq

address, out_path, timeout_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
context = zmq.Context()
socket = context.socket(zmq.SUB)
socket.setsockopt(zmq.RECONNECT_IVL, 10)  # the publisher binds after this connects
socket.connect(address)
socket.setsockopt_string(zmq.SUBSCRIBE, "")
print("connected", flush=True)
count = 0
with open(out_path, "w") as out:
    while True:
        if not socket.poll(int(timeout_s * 1000)):
            print(f"timeout after {count} documents", flush=True)
            sys.exit(1)
        prefix, name, doc = socket.recv().split(b" ", 2)
        out.write(json.dumps([name.decode(), json.loads(doc)]) + "\n")
        count += 1
        if name == b"stop":
            break
print(f"received {count}", flush=True)
