package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// TestMigrateFrom0003 opens a database written at migration 0003, before
// leases and desired and observed states, and reads its service back with
// empty states.
func TestMigrateFrom0003(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openrunner.db")
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	const last = "migration/0003_operation_commit.sql"
	i := slices.Index(names, last)
	if i < 0 {
		t.Fatalf("no %s in %v", last, names)
	}
	old := names[:i+1]

	// Build the old database the way an old server did: its migrations,
	// then its inserts.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(raw, old); err != nil {
		t.Fatal(err)
	}
	scope := openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"}
	cfg := openrunner.ServiceConfig{
		Source:   openrunner.SourceConfig{Image: &openrunner.ImageSource{Identifier: "nginx:latest", RepositoryType: "ECR_PUBLIC", Port: "80"}},
		Instance: openrunner.InstanceConfig{CPU: "1024", Memory: "2048"},
	}
	deployed := time.Date(2025, 3, 1, 12, 30, 45, 0, time.UTC)
	want := &openrunner.Service{
		Scope: scope, ID: openrunner.NewID(), Name: "legacy", Status: openrunner.ServiceRunning, URLPrefix: "abcdefghij",
		CreatedAt: deployed.Add(-time.Minute), UpdatedAt: deployed, Config: cfg,
		Active: &openrunner.Revision{ID: openrunner.NewID(), Config: cfg, ImageID: "sha256:abc", DeployedAt: deployed},
		Seq:    1,
	}
	config, _ := json.Marshal(want.Config)
	active, _ := json.Marshal(want.Active)
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO resources (arn, account_id, region, type) VALUES (?, ?, ?, ?)`,
			[]any{want.ARN(), scope.AccountID, scope.Region, openrunner.ResourceService}},
		// The 0003 server's qInsertService.
		{`INSERT INTO services (id, arn, account_id, region, name, status, url_prefix,
			created_at, updated_at, deleted_at, config, active_revision, asc_arn, kms_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{want.ID, want.ARN(), scope.AccountID, scope.Region, want.Name, want.Status, want.URLPrefix,
				toNanos(want.CreatedAt), toNanos(want.UpdatedAt), 0, string(config), string(active), "", ""}},
	} {
		if _, err := raw.Exec(q.query, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied []string
	rows, err := db.read.Query(`SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, name)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, names) {
		t.Fatalf("applied migrations = %v, want %v", applied, names)
	}

	services := NewServiceService(db)
	ctx := openrunner.NewContextWithScope(context.Background(), scope)
	got, err := services.FindServiceByARN(ctx, want.ARN())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated service:\ngot  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(got.Desired, openrunner.DesiredState{}) || !reflect.DeepEqual(got.Observed, openrunner.ObservedState{}) {
		t.Fatalf("migrated states = %+v, %+v; want empty", got.Desired, got.Observed)
	}

	// The migrated service takes states, and the new table works.
	got, err = services.UpdateServiceState(context.Background(), want.ARN(), func(svc *openrunner.Service) error {
		svc.Desired.Instances = 2
		return nil
	})
	if err != nil || got.Desired.Instances != 2 {
		t.Fatalf("UpdateServiceState = %+v, %v", got, err)
	}
	if ok, err := NewLeaseService(db).AcquireLease(context.Background(), "service/"+want.ARN(), "h1", time.Minute); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
}
