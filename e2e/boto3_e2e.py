"""End-to-end check of the Connections and tagging API, and of the embedded
Secrets Manager's and Parameter Store's errors, through boto3.

Run against a live OpenRunner at $OPENRUNNER_URL (default
http://127.0.0.1:4590) with the default test/test credentials. The
source-code service test runs against the second server scripts/test starts
($OPENRUNNER_SOURCE_URL, see SourceService).
"""
import http.client
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.request

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


SOURCE_VARS = ("OPENRUNNER_SOURCE_URL", "OPENRUNNER_SOURCE_ROUTER", "OPENRUNNER_BIN",
               "PROVIDERSIM_CLONE_URL", "PROVIDERSIM_TOKEN", "PROVIDERSIM_CONTROL_URL")


class SourceService(unittest.TestCase):
    """A service from a GitHub repository on a server building with host
    processes, whose GitHub is the provider simulator
    (internal/providersim/cmd/providersim); scripts/test starts both and
    sets SOURCE_VARS."""

    def setUp(self):
        missing = [v for v in SOURCE_VARS if not os.environ.get(v)]
        if missing:
            msg = "%s not set (scripts/test sets them)" % ", ".join(missing)
            if os.environ.get("CI") == "true":
                self.fail(msg)
            self.skipTest(msg)
        self.env = {v: os.environ[v] for v in SOURCE_VARS}
        self.url = self.env["OPENRUNNER_SOURCE_URL"]
        self.ar = client(endpoint_url=self.url)
        self.name = "boto3-src-%d" % os.getpid()

    def push(self, message):
        """Commits the sample app answering message to octo/hello's main."""
        req = urllib.request.Request(self.env["PROVIDERSIM_CONTROL_URL"] + "/commit", method="POST",
                                     data=json.dumps({"repo": "octo/hello", "branch": "main", "message": message}).encode())
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.load(resp)["sha"]

    def get(self, host):
        """What the service at host answers at / on the router: (status, body)."""
        c = http.client.HTTPConnection(self.env["OPENRUNNER_SOURCE_ROUTER"], timeout=10)
        try:
            c.request("GET", "/", headers={"Host": host})
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def wait(self, arn, timeout=120):
        deadline = time.time() + timeout
        while True:
            svc = self.ar.describe_service(ServiceArn=arn)["Service"]
            if svc["Status"] != "OPERATION_IN_PROGRESS" or time.time() > deadline:
                return svc
            time.sleep(0.2)

    def test_from_repository(self):
        message = "from boto3 %d" % os.getpid()
        self.push(message)  # the head of main answers message
        conn = self.ar.create_connection(ConnectionName=self.name, ProviderType="GITHUB")["Connection"]["ConnectionArn"]
        self.addCleanup(lambda: self.ar.delete_connection(ConnectionArn=conn))
        hs = subprocess.run([self.env["OPENRUNNER_BIN"], "connection", "handshake", "--endpoint-url", self.url,
                             "--connection-arn", conn, "--token-file", "-"],
                            input=self.env["PROVIDERSIM_TOKEN"], capture_output=True, text=True,
                            env=dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test"))
        self.assertEqual(hs.returncode, 0, hs.stderr)
        got = self.ar.list_connections(ConnectionName=self.name)["ConnectionSummaryList"]
        self.assertEqual(got[0]["Status"], "AVAILABLE")

        svc = self.ar.create_service(ServiceName=self.name, SourceConfiguration={
            "CodeRepository": {
                "RepositoryUrl": self.env["PROVIDERSIM_CLONE_URL"],
                "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
                "CodeConfiguration": {"ConfigurationSource": "REPOSITORY"},
            },
            "AuthenticationConfiguration": {"ConnectionArn": conn},
        })["Service"]
        arn, host = svc["ServiceArn"], svc["ServiceUrl"]
        deleted = False
        try:
            self.assertEqual(svc["Status"], "OPERATION_IN_PROGRESS")
            svc = self.wait(arn)
            self.assertEqual(svc["Status"], "RUNNING")
            self.assertEqual(svc["SourceConfiguration"]["CodeRepository"]["RepositoryUrl"], self.env["PROVIDERSIM_CLONE_URL"])
            self.assertTrue(svc["SourceConfiguration"]["AutoDeploymentsEnabled"])
            deadline = time.time() + 60
            while self.get(host) != (200, message + "\n") and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(self.get(host), (200, message + "\n"))

            with self.assertRaises(self.ar.exceptions.InvalidRequestException) as cm:
                self.ar.delete_connection(ConnectionArn=conn)
            self.assertIn(self.name, cm.exception.response["Error"]["Message"])

            self.ar.delete_service(ServiceArn=arn)
            deleted = True
            self.assertEqual(self.wait(arn)["Status"], "DELETED")
            self.assertEqual(self.get(host)[0], 404)
        finally:
            if not deleted:
                try:
                    self.ar.delete_service(ServiceArn=arn)
                    self.wait(arn)
                except botocore.exceptions.ClientError:
                    pass  # scripts/test stops what is left when it exits


class SecretErrors(unittest.TestCase):
    """The embedded Secrets Manager's and Parameter Store's error cases, as
    boto3 raises them."""

    def setUp(self):
        kw = dict(endpoint_url=URL, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
        self.sm = boto3.client("secretsmanager", **kw)
        self.ssm = boto3.client("ssm", **kw)
        # Without boto3's own checks, so that the server's are seen.
        self.raw = boto3.client("secretsmanager", config=botocore.config.Config(parameter_validation=False), **kw)
        self.name = "boto3-secret-%d" % os.getpid()

    def code(self, cm):
        return cm.exception.response["Error"]["Code"]

    def expect(self, code, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        self.assertEqual(self.code(cm), code)
        return cm.exception.response

    def test_secrets_manager(self):
        arn = self.sm.create_secret(Name=self.name, SecretString="v1")["ARN"]
        self.assertRegex(arn, r":secret:%s-[A-Za-z0-9]{6}$" % self.name)
        self.expect("ResourceExistsException", self.sm.create_secret, Name=self.name, SecretString="x")
        self.expect("InvalidParameterException", self.sm.create_secret, Name=self.name + "-2",
                    SecretString="x", SecretBinary=b"x")
        self.expect("ResourceNotFoundException", self.sm.get_secret_value, SecretId=self.name + "-nope")
        self.expect("ResourceNotFoundException", self.sm.get_secret_value, SecretId=self.name,
                    VersionStage="AWSPREVIOUS")
        self.expect("ResourceNotFoundException", self.sm.get_secret_value, SecretId=self.name,
                    VersionId="00000000-0000-4000-8000-000000000000")
        self.expect("InvalidParameterException", self.sm.delete_secret, SecretId=self.name, RecoveryWindowInDays=31)
        self.expect("InvalidParameterException", self.sm.delete_secret, SecretId=self.name,
                    RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
        self.expect("InvalidNextTokenException", self.sm.list_secrets, NextToken="!!")
        self.expect("ValidationException", self.raw.describe_secret, SecretId="")
        self.sm.delete_secret(SecretId=self.name, RecoveryWindowInDays=7)
        self.expect("InvalidRequestException", self.sm.get_secret_value, SecretId=self.name)
        self.expect("InvalidRequestException", self.sm.put_secret_value, SecretId=self.name, SecretString="v2")
        self.expect("InvalidRequestException", self.sm.create_secret, Name=self.name, SecretString="x")
        self.sm.restore_secret(SecretId=self.name)
        self.assertEqual(self.sm.get_secret_value(SecretId=self.name)["SecretString"], "v1")
        self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        self.expect("ResourceNotFoundException", self.sm.describe_secret, SecretId=arn)
        self.expect("ResourceNotFoundException", self.sm.restore_secret, SecretId=arn)

    def test_parameter_store(self):
        name = "/boto3/%d/password" % os.getpid()
        self.assertEqual(self.ssm.put_parameter(Name=name, Value="s3cret", Type="SecureString")["Version"], 1)
        self.expect("ParameterAlreadyExists", self.ssm.put_parameter, Name=name, Value="x", Type="SecureString")
        self.expect("ValidationException", self.ssm.put_parameter, Name=name, Value="x", Overwrite=True,
                    Tags=[{"Key": "k", "Value": "v"}])
        self.expect("ValidationException", self.ssm.put_parameter, Name="no/leading/slash", Value="x", Type="String")
        self.expect("ValidationException", self.ssm.put_parameter, Name="/aws/reserved", Value="x", Type="String")
        self.expect("ValidationException", self.ssm.put_parameter, Name=name + "-new", Value="x")
        self.expect("ParameterPatternMismatchException", self.ssm.put_parameter, Name=name + "-p", Value="abc",
                    Type="String", AllowedPattern="[0-9]+")
        self.expect("ParameterNotFound", self.ssm.get_parameter, Name=name + "-nope")
        self.expect("ParameterVersionNotFound", self.ssm.get_parameter, Name=name + ":7")
        got = self.ssm.get_parameters(Names=[name, name + "-nope"], WithDecryption=True)
        self.assertEqual([p["Value"] for p in got["Parameters"]], ["s3cret"])
        self.assertEqual(got["InvalidParameters"], [name + "-nope"])
        self.assertNotEqual(self.ssm.get_parameter(Name=name)["Parameter"]["Value"], "s3cret")
        self.expect("InvalidNextToken", self.ssm.get_parameters_by_path, Path="/boto3", NextToken="!!")
        self.expect("ValidationException", self.ssm.get_parameters_by_path, Path="boto3")
        self.expect("InvalidFilterKey", self.ssm.describe_parameters,
                    ParameterFilters=[{"Key": "tag:team"}])
        self.ssm.delete_parameter(Name=name)
        self.expect("ParameterNotFound", self.ssm.delete_parameter, Name=name)


if __name__ == "__main__":
    r = unittest.main(exit=False, verbosity=2).result
    bad, skipped = len(r.failures) + len(r.errors), len(r.skipped)
    print("boto3: %d passed, %d failed, %d skipped" % (r.testsRun - bad - skipped, bad, skipped))
    sys.exit(0 if r.wasSuccessful() else 1)
