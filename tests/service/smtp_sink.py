"""A mail server for the notification tests (aiosmtpd on 127.0.0.1, a free port).

Prints its port, then one JSON line per message: the envelope, the raw message, and what Python's email package
reads from it (decoded subject and body, content type, defects). Arguments: the reply codes to give each DATA in
turn, the last repeating (e.g. `451 250`); default 250.
"""
import asyncio
import email
import email.policy
import email.utils
import json
import sys
import time

from aiosmtpd.smtp import SMTP

REPLIES = {"250": "250 OK", "451": "451 4.3.0 Try again later", "550": "550 5.7.1 Rejected"}


class Handler:
    def __init__(self, codes):
        self.codes = codes
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        code = self.codes[min(self.count, len(self.codes) - 1)]
        self.count += 1
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        try:
            date = email.utils.parsedate_to_datetime(message["Date"]).isoformat()
        except (TypeError, ValueError) as error:
            date = "invalid: " + str(error)
        defects = [repr(d) for d in message.defects]
        defects += [f"{name}: {d!r}" for name, value in message.items() for d in value.defects]
        print(json.dumps({
            "t": time.monotonic(),
            "reply": code,
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "raw": envelope.content.decode("ascii", "replace"),
            "headers": {name: str(value) for name, value in message.items()},
            "date": date,
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": message.get_content().replace("\r\n", "\n"),
            "defects": defects,
        }), flush=True)
        return REPLIES[code]


async def main(codes):
    loop = asyncio.get_running_loop()
    handler = Handler(codes)
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main(sys.argv[1:] or ["250"]))
