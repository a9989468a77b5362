package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/localca"
)

const caUsage = `Usage:
  openrunner ca [--data-dir DIR]

Prints the root certificate of the local certificate authority that signs
the router's HTTPS certificates, in PEM, for clients to trust:

  curl --cacert <(openrunner ca) https://<ServiceUrl>/

It reads the data directory (--data-dir, OPENRUNNER_DATA_DIR, as serve does);
the CA is created there when openrunner serve first starts its router. The
private key is never printed.
`

func runCA(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, caUsage) }
	dataDir := getenv("OPENRUNNER_DATA_DIR")
	if dataDir == "" {
		dataDir = defaultDataDir(getenv)
	}
	fs.StringVar(&dataDir, "data-dir", dataDir, "the server's data directory (env OPENRUNNER_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("ca takes no arguments, got %q", fs.Args())
	}
	pem, err := localca.ReadRootPEM(filepath.Join(dataDir, daemon.CADir))
	if err != nil {
		return err
	}
	_, err = stdout.Write(pem)
	return err
}
