// Command openrunner is OpenRunner: an open-source, self-hostable AWS App
// Runner. "openrunner serve" runs the server; other subcommands are clients
// and tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/openrunner/openrunner/ingress"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "openrunner:", err)
		}
		os.Exit(1)
	}
}

const usage = `OpenRunner: an open-source AWS App Runner.

Usage:
  openrunner serve [flags]    run the server (API on --listen)
  openrunner connection handshake --endpoint-url URL --connection-arn ARN --token-file FILE
                              complete a connection's handshake with a token
  openrunner logs --endpoint-url URL [--follow] [--application] SERVICE_ARN
                              print a service's event or application log
  openrunner ca [--data-dir DIR]
                              print the local CA's root certificate (PEM), e.g.
                              curl --cacert <(openrunner ca) https://<ServiceUrl>/
  openrunner version          print the version

Run "openrunner serve -h" for the server's flags.
`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:])
	case "connection":
		return runConnection(ctx, args[1:], os.Stdout, os.Stderr)
	case "logs":
		return runLogs(ctx, args[1:], os.Stdout, os.Stderr)
	case "ca":
		return runCA(args[1:], os.Getenv, os.Stdout, os.Stderr)
	case "ingress-proxy":
		// Hidden: what the proxy containers of VPC ingress connections run.
		return ingress.Main(args[1:])
	case "version", "--version", "-version":
		return runVersion(args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
