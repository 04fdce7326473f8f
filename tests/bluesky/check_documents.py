"""Checks a run's Bluesky event-model documents (JSON lines of [name, doc]): each against the event-model JSON
schemas, and the rules a consumer relies on: start first and stop last, one run_start uid throughout, a descriptor
before its events, seq_num from 1 without gaps per descriptor, event keys as the descriptor declares them, stream
datums that resolve to their resource, descriptor and events and to a stored frame of the run file's HDF5 dataset,
and the stop's num_events. With a second file (what a ZeroMQ subscriber received), the same documents in the same
order. Prints the counts per document name and per stream; exits 1 with the first problem."""
import collections
import json
import os
import re
import sys
import urllib.parse

import h5py
import jsonschema

SCHEMAS = {"start": "run_start", "descriptor": "event_descriptor", "event": "event",
           "stream_resource": "stream_resource", "stream_datum": "stream_datum", "stop": "run_stop"}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def fail(where, why):
    print(f"{where}: {why}")
    sys.exit(1)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def validators(schema_dir):
    out = {}
    for name, schema_name in SCHEMAS.items():
        with open(os.path.join(schema_dir, schema_name + ".json")) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        out[name] = cls(schema)
    return out


def check_frame(resource, index, files):
    url = urllib.parse.urlparse(resource["uri"])
    if url.scheme != "file" or url.netloc not in ("", "localhost"):
        fail("stream_resource", f"uri {resource['uri']} is not a local file")
    if url.path not in files:
        files[url.path] = h5py.File(url.path, "r")
    dataset = files[url.path].get(resource["parameters"]["dataset"])
    if dataset is None:
        fail("stream_resource", f"{resource['parameters']['dataset']} is not in {url.path}")
    if index >= dataset.shape[0]:
        fail("stream_datum", f"row {index} beyond {dataset.name} of {dataset.shape[0]} rows")
    if not dataset[index].any():
        fail("stream_datum", f"row {index} of {dataset.name} holds no frame")


def check(docs, schema_dir):
    valid = validators(schema_dir)
    if not docs or docs[0][0] != "start":
        fail("line 1", "the first document is not the start")
    if docs[-1][0] != "stop" or [n for n, _ in docs].count("stop") != 1:
        fail(f"line {len(docs)}", "the last document is not the only stop")
    start_uid = docs[0][1]["uid"]
    descriptors, resources, events, uids = {}, {}, collections.defaultdict(dict), set()
    frames_checked, files = 0, {}
    for line, (name, doc) in enumerate(docs, 1):
        where = f"line {line} ({name})"
        errors = sorted(valid[name].iter_errors(doc), key=str)
        if errors:
            fail(where, f"schema: {errors[0].message} at {list(errors[0].absolute_path)}")
        if doc["uid"] in uids:
            fail(where, f"uid {doc['uid']} used twice")
        uids.add(doc["uid"])
        if name != "stream_datum" and not UUID4.match(doc["uid"]):
            fail(where, f"uid {doc['uid']} is not a UUID4")
        if name in ("descriptor", "stream_resource", "stop") and doc["run_start"] != start_uid:
            fail(where, "run_start is not the start's uid")
        if name == "descriptor":
            descriptors[doc["uid"]] = doc
        elif name == "stream_resource":
            resources[doc["uid"]] = doc
        elif name == "event":
            descriptor = descriptors.get(doc["descriptor"])
            if descriptor is None:
                fail(where, "event before (or without) its descriptor")
            seen = events[doc["descriptor"]]
            if doc["seq_num"] != len(seen) + 1:
                fail(where, f"seq_num {doc['seq_num']} after {len(seen)} events of {descriptor['name']}")
            declared = {k for k, v in descriptor["data_keys"].items() if not v.get("external")}
            if set(doc["data"]) != declared or set(doc["timestamps"]) != declared:
                fail(where, f"keys {sorted(doc['data'])} are not the descriptor's {sorted(declared)}")
            seen[doc["seq_num"]] = doc
        elif name == "stream_datum":
            resource = resources.get(doc["stream_resource"])
            if resource is None or doc["descriptor"] not in descriptors:
                fail(where, "stream_datum before (or without) its resource or descriptor")
            if resource["data_key"] not in descriptors[doc["descriptor"]]["data_keys"]:
                fail(where, f"{resource['data_key']} is not a key of its descriptor")
            for seq_num in range(doc["seq_nums"]["start"], doc["seq_nums"]["stop"]):
                if seq_num not in events[doc["descriptor"]]:
                    fail(where, f"seq_num {seq_num} has no event")
            for index in range(doc["indices"]["start"], doc["indices"]["stop"]):
                check_frame(resource, index, files)
                frames_checked += 1
    stop = docs[-1][1]
    per_stream = {descriptors[uid]["name"]: len(seen) for uid, seen in events.items()}
    if stop["num_events"] != per_stream:
        fail("stop", f"num_events {stop['num_events']} but the events were {per_stream}")
    names = collections.Counter(n for n, _ in docs)
    print("documents " + " ".join(f"{n}={c}" for n, c in names.items()))
    print("events " + " ".join(f"{s}={c}" for s, c in sorted(per_stream.items())))
    print(f"frames resolved {frames_checked}")
    print(f"exit_status {stop['exit_status']} ({stop['insitu_exit_status']})")


def main():
    jsonl, schema_dir = sys.argv[1], sys.argv[2]
    docs = load(jsonl)
    check(docs, schema_dir)
    if len(sys.argv) > 3:
        received = load(sys.argv[3])
        if [(n, d["uid"]) for n, d in received] != [(n, d["uid"]) for n, d in docs]:
            fail(sys.argv[3], f"{len(received)} documents received, not the {len(docs)} of {jsonl} in order")
        print(f"zmq received {len(received)}")


main()
