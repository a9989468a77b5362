package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
)

const connectionUsage = `Usage:
  openrunner connection handshake --endpoint-url URL --connection-arn ARN --token-file FILE
  openrunner connection webhook --endpoint-url URL --connection-arn ARN

handshake completes a connection's handshake with a token instead of a
browser: a GitHub token, a Bitbucket access token, or a Bitbucket
"username:api-token" pair.

webhook prints the URL and secret of the connection's push webhook, for
adding it by hand in the provider's repository settings when OpenRunner
cannot register it (the service log says so).

Calls are signed with the AWS credentials in the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), like the AWS CLI.
`

func runConnection(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "handshake" && args[0] != "webhook") {
		fmt.Fprint(stderr, connectionUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("connection "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint-url", os.Getenv("AWS_ENDPOINT_URL_APPRUNNER"), "OpenRunner API URL (env AWS_ENDPOINT_URL_APPRUNNER)")
	arn := fs.String("connection-arn", "", "the connection")
	var tokenFile *string
	if args[0] == "handshake" {
		tokenFile = fs.String("token-file", "", `file holding the token ("-" for standard input)`)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "webhook" {
		return connectionWebhook(ctx, *endpoint, *arn, stdout)
	}
	if *endpoint == "" || *arn == "" || *tokenFile == "" {
		fs.Usage()
		return errors.New("--endpoint-url, --connection-arn and --token-file are required")
	}
	a, err := openrunner.ParseARN(*arn)
	if err != nil {
		return errors.New(openrunner.ErrorMessage(err))
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return err
	}
	creds, err := envCredentials()
	if err != nil {
		return err
	}

	body, _ := json.Marshal(api.CompleteConnectionHandshakeInput{ConnectionArn: *arn, Token: token})
	out, err := callExtension(ctx, strings.TrimRight(*endpoint, "/"), "CompleteConnectionHandshake", body, creds, a.Region)
	if err != nil {
		return err
	}
	var res api.CompleteConnectionHandshakeOutput
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("unexpected response: %w", err)
	}
	c := res.Connection
	fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", c.ConnectionName, c.ProviderType, c.Status, c.ProviderAccount)
	return nil
}

// envCredentials are the AWS credentials of the environment, which sign
// the calls.
func envCredentials() (aws.Credentials, error) {
	creds := aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return creds, errors.New("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to sign the call")
	}
	return creds, nil
}

// connectionWebhook prints the connection's webhook URL and secret.
func connectionWebhook(ctx context.Context, endpoint, arn string, stdout io.Writer) error {
	if endpoint == "" || arn == "" {
		return errors.New("--endpoint-url and --connection-arn are required")
	}
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return errors.New(openrunner.ErrorMessage(err))
	}
	creds, err := envCredentials()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(api.GetConnectionWebhookInput{ConnectionArn: arn})
	out, err := callExtension(ctx, strings.TrimRight(endpoint, "/"), "GetConnectionWebhook", body, creds, a.Region)
	if err != nil {
		return err
	}
	var res api.GetConnectionWebhookOutput
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("unexpected response: %w", err)
	}
	fmt.Fprintf(stdout, "Payload URL:  %s\nContent type: %s\nSecret:       %s\nEvents:       %s\n",
		res.Url, res.ContentType, res.Secret, strings.Join(res.Events, ", "))
	return nil
}

// readToken reads a token file (or standard input for "-"), trimming the
// surrounding white space an editor leaves.
func readToken(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", errors.New("the token file is empty")
	}
	return t, nil
}

// callExtension sends a SigV4-signed OpenRunner extension call and returns
// the response body, or an error carrying the server's message.
func callExtension(ctx context.Context, endpoint, op string, body []byte, creds aws.Credentials, region string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/_openrunner/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", api.ExtensionTargetPrefix+"."+op)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "apprunner", region, time.Now()); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string
		}
		_ = json.Unmarshal(out, &e)
		typ := e.Type[strings.LastIndex(e.Type, "#")+1:]
		if typ == "" {
			typ = resp.Status
		}
		return nil, fmt.Errorf("%s: %s", typ, e.Message)
	}
	return out, nil
}
