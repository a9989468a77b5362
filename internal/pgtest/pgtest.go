// Package pgtest runs a throwaway PostgreSQL server for tests and
// benchmarks: Debian's PostgreSQL 15 (initdb and pg_ctl), in a temporary
// directory, on a free loopback port, as an unprivileged user (created
// when running as root, which initdb refuses).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// BinDir is where Debian installs PostgreSQL 15's server programs.
const BinDir = "/usr/lib/postgresql/15/bin"

// unprivileged is the user the server runs as when tests run as root.
const unprivileged = "openrunner-pg"

// Server is a running PostgreSQL server.
type Server struct {
	Dir  string // data directory (also holds the Unix socket)
	Port int

	cred *syscall.Credential // nil: run as this process's user
	seq  atomic.Int64
}

// Options configure Start.
type Options struct {
	// Fast turns fsync off: for tests that never crash the server. Leave it
	// false to measure durable writes.
	Fast bool
}

// Start initializes a cluster in a new temporary directory and starts it.
func Start(o Options) (_ *Server, err error) {
	if _, err := os.Stat(filepath.Join(BinDir, "initdb")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 is not installed (%w); apt-get install postgresql, or run scripts/install-deps", err)
	}
	s := &Server{}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivilegedUser(); err != nil {
			return nil, err
		}
	}
	if s.Dir, err = os.MkdirTemp("", "openrunner-pg-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(s.Dir)
		}
	}()
	if s.cred != nil {
		if err := os.Chown(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return nil, err
		}
	}
	if out, err := s.run("initdb", "-D", s.Dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 400\nshared_buffers = 64MB\n", s.Port, s.Dir)
	if o.Fast {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts the (stopped) server and waits until it accepts connections.
func (s *Server) Start() error {
	if out, err := s.run("pg_ctl", "-D", s.Dir, "-l", filepath.Join(s.Dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// Stop stops the server: mode "fast" disconnects every client (a restart
// as clients see it), "immediate" is a crash.
func (s *Server) Stop(mode string) error {
	if out, err := s.run("pg_ctl", "-D", s.Dir, "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	err := s.Stop("fast")
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// URL returns the connection string of database name.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// CreateDatabase creates a fresh database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("openrunner_%d_%d", os.Getpid(), s.seq.Add(1))
	if err := s.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return s.URL(name), nil
}

// CreateSchema creates a fresh schema in database postgres and returns a
// URL whose connections use it: cheaper than a database, for suites that
// open many stores.
func (s *Server) CreateSchema(ctx context.Context) (string, error) {
	name := fmt.Sprintf("s%d_%d", os.Getpid(), s.seq.Add(1))
	if err := s.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", err
	}
	return s.URL("postgres") + "&search_path=" + name, nil
}

// Exec runs statements in database postgres as the superuser.
func (s *Server) Exec(ctx context.Context, query string) error {
	cfg, err := pgx.ParseConfig(s.URL("postgres"))
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	_, err = db.ExecContext(ctx, query)
	return err
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(BinDir, prog), args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// unprivilegedUser returns the credential of the unprivileged user,
// creating it if needed.
func unprivilegedUser() (*syscall.Credential, error) {
	u, err := user.Lookup(unprivileged)
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", unprivileged).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd %s: %v\n%s", unprivileged, err, out)
		}
		if u, err = user.Lookup(unprivileged); err != nil {
			return nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var shared struct {
	once sync.Once
	s    *Server
	err  error
}

// Shared returns the test binary's one fast server, started on first use;
// the package's TestMain must call Main so that it stops. Without
// PostgreSQL the test is skipped, except when CI=true: then it fails.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() { shared.s, shared.err = Start(Options{Fast: true}) })
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL: %v", shared.err)
		}
		tb.Skipf("PostgreSQL: %v", shared.err)
	}
	return shared.s
}

// Main runs the tests and stops the shared server, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	if shared.s != nil {
		if err := shared.s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}
