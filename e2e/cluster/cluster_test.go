// Package cluster_test runs several "openrunner serve" processes on one
// PostgreSQL database, as a team would run them on several machines, and
// checks that they behave as one OpenRunner: writes through one are read
// through the others, names stay unique, a killed server's services are
// taken over, and a database restart is survived.
package cluster_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/openrunner/openrunner/internal/pgtest"
	"github.com/openrunner/openrunner/internal/testutil"
)

var ctx = context.Background()

// bin is the openrunner binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openrunner-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "openrunner")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/openrunner/openrunner/cmd/openrunner")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	pgtest.Main(m)
}

// cluster is a PostgreSQL database and the servers that share it.
type cluster struct {
	dbURL   string
	db      *sql.DB
	pg      *pgtest.Server
	key     string
	servers []*server
	extra   []string // flags every server gets
}

// server is one "openrunner serve" process with its own data directory
// and ports.
type server struct {
	i          int
	dir        string
	api        string // host:port
	router     string // host:port
	cmd        *exec.Cmd
	exited     chan struct{}
	client     *apprunner.Client
	id         string
	clusterRef *cluster
}

// newCluster starts n servers on a fresh database of the test binary's
// PostgreSQL server, with the process runtime, and stops them when the
// test ends. extra flags go to every server.
func newCluster(t testing.TB, n int, extra ...string) *cluster {
	t.Helper()
	return newClusterWith(t, n, func([]*server) []string { return extra })
}

// newClusterWith is newCluster with flags made from the servers'
// addresses, which are chosen before any starts.
func newClusterWith(t testing.TB, n int, flags func([]*server) []string) *cluster {
	t.Helper()
	pg := pgtest.Shared(t)
	url, err := pg.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cl := &cluster{dbURL: url, db: db, pg: pg, key: hex.EncodeToString(key)}
	for i := range n {
		s := &server{i: i, dir: t.TempDir(), api: freeAddr(t), router: freeAddr(t), clusterRef: cl}
		cl.servers = append(cl.servers, s)
	}
	cl.extra = flags(cl.servers)
	// Start them together: they migrate the empty database at once.
	errs := make(chan error, n)
	for _, s := range cl.servers {
		go func() { errs <- s.start(t) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return cl
}

// start runs the server's process and waits until it is healthy.
func (s *server) start(t testing.TB) error {
	cl := s.clusterRef
	args := append([]string{"serve", "--listen", s.api, "--router-listen", s.router, "--router-tls-listen", "127.0.0.1:0", "--data-dir", s.dir,
		"--database-url", cl.dbURL, "--runtime", "process", "--log-level", "warn",
		"--max-connections", "100000", "--max-services", "1000"}, cl.extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OPENRUNNER_SECRET_KEY="+cl.key)
	cmd.Stderr = &prefixWriter{prefix: fmt.Sprintf("[server %d] ", s.i)}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.stop() })
	s.client = testutil.Client("http://"+s.api, testutil.ClientOptions{})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if h, err := s.health(); err == nil && h.Status == "ok" {
			s.id = h.Server
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server %d exited: %v", s.i, cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("server %d did not become healthy", s.i)
}

// stop ends the server with SIGTERM (a graceful shutdown), unless it has
// exited already.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// kill ends the server with SIGKILL, as a machine failure would.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// health is what GET /_openrunner/health reports.
type health struct {
	Status string `json:"status"`
	Store  string `json:"store"`
	Server string `json:"server"`
	Leases int    `json:"leases"`
}

func (s *server) health() (health, error) {
	var h health
	resp, err := http.Get("http://" + s.api + "/_openrunner/health")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// serverOf returns the server whose id is id, or nil.
func (cl *cluster) serverOf(id string) *server {
	for _, s := range cl.servers {
		if s.id == id {
			return s
		}
	}
	return nil
}

// leaseHolder returns the id of the server holding the service's lease,
// read from the database; "" when no unexpired lease is held.
func (cl *cluster) leaseHolder(t testing.TB, arn string) string {
	t.Helper()
	var holder string
	err := cl.db.QueryRowContext(ctx, `SELECT holder FROM leases WHERE key = $1 AND expires_at > $2`,
		"service/"+arn, time.Now().UnixNano()).Scan(&holder)
	if err == sql.ErrNoRows {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return holder
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// prefixWriter copies a server's log lines to the test's stderr, each
// line prefixed, when OPENRUNNER_TEST_LOG is set.
type prefixWriter struct{ prefix string }

func (w *prefixWriter) Write(p []byte) (int, error) {
	if os.Getenv("OPENRUNNER_TEST_LOG") != "" {
		for _, line := range strings.SplitAfter(string(p), "\n") {
			if line != "" {
				fmt.Fprint(os.Stderr, w.prefix+line)
			}
		}
	}
	return len(p), nil
}
