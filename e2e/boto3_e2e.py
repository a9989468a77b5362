"""End-to-end check of the Connections and tagging API through boto3.

Run against a live OpenRunner at $OPENRUNNER_URL (default
http://127.0.0.1:4590) with the default test/test credentials.
"""
import os
import sys
import unittest

import boto3
import botocore.config
import botocore.exceptions

URL = os.environ.get("OPENRUNNER_URL", "http://127.0.0.1:4590")


def client(**kw):
    args = dict(endpoint_url=URL, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test")
    args.update(kw)
    return boto3.client("apprunner", **args)


class Connections(unittest.TestCase):
    def setUp(self):
        self.ar = client()
        self.name = "boto3-%d" % os.getpid()

    def code(self, cm):
        return cm.exception.response["Error"]["Code"]

    def test_lifecycle(self):
        c = self.ar.create_connection(ConnectionName=self.name, ProviderType="GITHUB",
                                      Tags=[{"Key": "k", "Value": "v"}])["Connection"]
        self.assertEqual(c["Status"], "PENDING_HANDSHAKE")
        self.assertEqual(c["ProviderType"], "GITHUB")
        self.assertRegex(c["ConnectionArn"], r"^arn:aws:apprunner:us-east-1:000000000000:connection/%s/[0-9a-f]{32}$" % self.name)
        self.assertIsNotNone(c["CreatedAt"].tzinfo)
        arn = c["ConnectionArn"]
        try:
            got = self.ar.list_connections(ConnectionName=self.name)["ConnectionSummaryList"]
            self.assertEqual([x["ConnectionArn"] for x in got], [arn])
            self.assertEqual(self.ar.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "k", "Value": "v"}])

            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.ar.create_connection(ConnectionName=self.name, ProviderType="BITBUCKET")
            self.assertEqual(self.code(cm), "InvalidRequestException")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
            self.assertTrue(cm.exception.response["ResponseMetadata"]["RequestId"])

            # Modeled exceptions are raised as their own classes; the
            # server validates what boto3's own checks would have caught.
            raw = client(config=botocore.config.Config(parameter_validation=False))
            with self.assertRaises(raw.exceptions.InvalidRequestException) as cm:
                raw.list_connections(MaxResults=0)
            self.assertIn("maxResults", cm.exception.response["Error"]["Message"])
        finally:
            d = self.ar.delete_connection(ConnectionArn=arn)["Connection"]
        self.assertEqual(d["Status"], "DELETED")
        with self.assertRaises(self.ar.exceptions.ResourceNotFoundException):
            self.ar.delete_connection(ConnectionArn=arn)

    def test_pagination(self):
        arns = []
        try:
            for i in range(5):
                arns.append(self.ar.create_connection(ConnectionName="%s-%d" % (self.name, i),
                                                      ProviderType="BITBUCKET")["Connection"]["ConnectionArn"])
            seen, token = [], None
            while True:
                kw = {"MaxResults": 2}
                if token:
                    kw["NextToken"] = token
                page = self.ar.list_connections(**kw)
                seen += [c["ConnectionArn"] for c in page["ConnectionSummaryList"]]
                token = page.get("NextToken")
                if not token:
                    break
            self.assertEqual([a for a in seen if a in arns], arns)
            with self.assertRaises(self.ar.exceptions.InvalidRequestException):
                self.ar.list_connections(NextToken="forged-token")
        finally:
            for a in arns:
                self.ar.delete_connection(ConnectionArn=a)

    def test_auth_errors(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client(aws_secret_access_key="wrong").list_connections()
        self.assertEqual(self.code(cm), "InvalidSignatureException")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client(aws_access_key_id="nobody").list_connections()
        self.assertEqual(self.code(cm), "UnrecognizedClientException")


if __name__ == "__main__":
    r = unittest.main(exit=False, verbosity=2).result
    print("boto3: %d passed, %d failed" % (r.testsRun - len(r.failures) - len(r.errors), len(r.failures) + len(r.errors)))
    sys.exit(0 if r.wasSuccessful() else 1)
