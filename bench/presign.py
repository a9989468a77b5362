"""Prints wrk's Lua preamble for one SigV4-signed App Runner request.

Usage: presign.py URL TARGET BODY_MODE
BODY_MODE "fixed:<json>" signs that body (header signature, replayable for 15
minutes); "unsigned" signs with X-Amz-Content-Sha256: UNSIGNED-PAYLOAD so the
Lua script may vary the body (used for unique CreateConnection names).
"""
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, target, mode = sys.argv[1], sys.argv[2], sys.argv[3]
body = mode[len("fixed:"):] if mode.startswith("fixed:") else ""
headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AppRunner." + target}
if mode == "unsigned":
    headers["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD"
req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
auth = SigV4Auth(Credentials("test", "test"), "apprunner", "us-east-1")
if mode == "unsigned":
    auth._should_sha256_sign_payload = lambda request: False  # sign UNSIGNED-PAYLOAD
auth.add_auth(req)
print('wrk.method = "POST"')
print("wrk.body = [[%s]]" % body)
for k, v in req.headers.items():
    print('wrk.headers["%s"] = "%s"' % (k, v))
