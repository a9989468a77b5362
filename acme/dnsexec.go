package acme

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/libdns/libdns"
	"github.com/mholt/acmez/v3/acme"
)

// ExecDNS is a libdns provider that runs an operator's program to create
// and remove the TXT records of the DNS-01 challenge, so any DNS service
// can be driven by a short script:
//
//	<program> present <fqdn> <value>
//	<program> cleanup <fqdn> <value>
//
// fqdn ends with a dot (e.g. _acme-challenge.example.com.). A non-zero exit
// is an error, with the program's output as its reason.
type ExecDNS struct {
	Program string
	// Timeout bounds one run; default 2 minutes.
	Timeout time.Duration
}

var _ certmagic.DNSProvider = ExecDNS{}

// AppendRecords implements libdns.RecordAppender.
func (e ExecDNS) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return e.each(ctx, "present", zone, recs)
}

// DeleteRecords implements libdns.RecordDeleter.
func (e ExecDNS) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return e.each(ctx, "cleanup", zone, recs)
}

func (e ExecDNS) each(ctx context.Context, verb, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	var done []libdns.Record
	for _, r := range recs {
		rr := r.RR()
		if rr.Type != "TXT" {
			return done, fmt.Errorf("acme dns exec: only TXT records, not %s", rr.Type)
		}
		fqdn := libdns.AbsoluteName(rr.Name, zone)
		if !strings.HasSuffix(fqdn, ".") {
			fqdn += "."
		}
		if err := e.run(ctx, verb, fqdn, rr.Data); err != nil {
			return done, err
		}
		done = append(done, r)
	}
	return done, nil
}

func (e ExecDNS) run(ctx context.Context, verb, fqdn, value string) error {
	t := e.Timeout
	if t <= 0 {
		t = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, e.Program, verb, fqdn, value)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("acme dns exec: %s %s %s: %v: %s", e.Program, verb, fqdn, err, strings.TrimSpace(limit(out.String(), 500)))
	}
	return nil
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// execSolver is the DNS-01 solver of an ExecDNS: the program gets the
// record's full name, so no zone need be looked up.
type execSolver struct{ dns ExecDNS }

// Present implements acmez.Solver.
func (s execSolver) Present(ctx context.Context, chal acme.Challenge) error {
	return s.dns.run(ctx, "present", chal.DNS01TXTRecordName()+".", chal.DNS01KeyAuthorization())
}

// CleanUp implements acmez.Solver.
func (s execSolver) CleanUp(ctx context.Context, chal acme.Challenge) error {
	return s.dns.run(ctx, "cleanup", chal.DNS01TXTRecordName()+".", chal.DNS01KeyAuthorization())
}
