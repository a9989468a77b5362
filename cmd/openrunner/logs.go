package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
)

const logsUsage = `Usage:
  openrunner logs --endpoint-url URL [--follow] [--application] SERVICE_ARN

Prints a service's event log ([AppRunner] lines of its operations), or with
--application its instances' stdout and stderr. --follow keeps printing new
lines until interrupted. The call is signed with the AWS credentials in the
environment, like the AWS CLI; the Region comes from the ARN.
`

// followPoll is how often --follow asks for new lines.
const followPoll = time.Second

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, logsUsage) }
	endpoint := fs.String("endpoint-url", os.Getenv("AWS_ENDPOINT_URL_APPRUNNER"), "OpenRunner API URL (env AWS_ENDPOINT_URL_APPRUNNER)")
	follow := fs.Bool("follow", false, "keep printing new lines")
	application := fs.Bool("application", false, "the application log instead of the service events")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *endpoint == "" {
		fs.Usage()
		return errors.New("give --endpoint-url and one SERVICE_ARN")
	}
	arn := fs.Arg(0)
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return errors.New(openrunner.ErrorMessage(err))
	}
	creds := aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return errors.New("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to sign the call")
	}
	in := api.GetServiceLogsInput{ServiceArn: arn, Application: *application}
	for {
		body, _ := json.Marshal(in)
		raw, err := callExtension(ctx, strings.TrimRight(*endpoint, "/"), "GetServiceLogs", body, creds, a.Region)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var out api.GetServiceLogsOutput
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Errorf("unexpected response: %w", err)
		}
		for _, e := range out.Events {
			ts := ""
			if e.Timestamp != nil {
				ts = e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z")
			}
			fmt.Fprintf(stdout, "%s %s %s\n", ts, e.Stream, e.Message)
		}
		in.NextToken = out.NextToken
		if len(out.Events) > 0 {
			continue // more may be waiting
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}
