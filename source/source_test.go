package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/source"
)

func newSim(t *testing.T) *providersim.Sim {
	t.Helper()
	s := providersim.New(providersim.Options{})
	t.Cleanup(s.Close)
	return s
}

func TestFetchSnapshotChanged(t *testing.T) {
	ctx := context.Background()
	for _, provider := range []string{"github", "bitbucket"} {
		t.Run(provider, func(t *testing.T) {
			sim := newSim(t)
			repo := sim.AddRepo(provider, "octo", "mono", "main")
			first, err := repo.Commit("main", map[string]string{"api/app.py": "print(1)\n", "web/index.js": "1\n", "run.sh": "#!/bin/sh\n"}, "first")
			if err != nil {
				t.Fatal(err)
			}
			var cred openrunner.ProviderCredential
			if provider == "github" {
				cred = openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: sim.IssueGitHubToken("octo", "repo")}
			} else {
				cred = openrunner.ProviderCredential{Provider: openrunner.ProviderBitbucket, Token: sim.IssueBitbucketToken("octo", "repository")}
			}
			f := &source.Fetcher{Dir: t.TempDir()}
			got, err := f.Fetch(ctx, "svc1", repo.CloneURL(), "main", cred)
			if err != nil {
				t.Fatal(err)
			}
			if got != first {
				t.Fatalf("Fetch = %s, want %s", got, first)
			}
			snap := filepath.Join(t.TempDir(), "snap")
			if _, err := f.Snapshot(ctx, "svc1", got, snap); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(snap, "api", "app.py"))
			if err != nil || string(b) != "print(1)\n" {
				t.Fatalf("snapshot api/app.py = %q, %v", b, err)
			}

			second, err := repo.Commit("main", map[string]string{"web/index.js": "2\n"}, "web only")
			if err != nil {
				t.Fatal(err)
			}
			if head, err := f.RemoteHead(ctx, repo.CloneURL(), "main", cred); err != nil || head != second {
				t.Fatalf("RemoteHead = %s, %v; want %s", head, err, second)
			}
			got, err = f.Fetch(ctx, "svc1", repo.CloneURL(), "main", cred)
			if err != nil || got != second {
				t.Fatalf("second Fetch = %s, %v; want %s", got, err, second)
			}
			for dir, want := range map[string]bool{"api": false, "web": true, "": true} {
				changed, err := f.Changed(ctx, "svc1", first, second, dir)
				if err != nil || changed != want {
					t.Errorf("Changed(%q) = %v, %v; want %v", dir, changed, err, want)
				}
			}
			// The first commit is still there for a later diff (kept by
			// ref although fetches are shallow) until forgotten.
			if err := f.Forget(ctx, "svc1", second); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Snapshot(ctx, "svc1", second, filepath.Join(t.TempDir(), "s2")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	repo := sim.AddRepo("github", "octo", "app", "main")
	if _, err := repo.Commit("main", map[string]string{"a": "a"}, "first"); err != nil {
		t.Fatal(err)
	}
	good := openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: sim.IssueGitHubToken("octo", "repo")}
	bad := openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: "ghp_not_a_token_of_the_sim"}
	stranger := openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: sim.IssueGitHubToken("mallory", "repo")}
	f := &source.Fetcher{Dir: t.TempDir()}

	_, err := f.Fetch(ctx, "k", repo.CloneURL(), "main", bad)
	if !errors.Is(err, source.ErrRejected) || openrunner.ErrorCode(err) != openrunner.EINVALID {
		t.Fatalf("bad token: %v", err)
	}
	if strings.Contains(openrunner.ErrorMessage(err), bad.Token) {
		t.Fatal("the error names the token")
	}
	if _, err := f.Fetch(ctx, "k", repo.CloneURL(), "nope", good); !strings.Contains(openrunner.ErrorMessage(err), "branch nope does not exist") {
		t.Fatalf("missing branch: %v", err)
	}
	if _, err := f.Fetch(ctx, "k", repo.CloneURL(), "main", stranger); !strings.Contains(openrunner.ErrorMessage(err), "does not exist, or the connection cannot read it") {
		t.Fatalf("stranger: %v", err)
	}
	for _, b := range []string{"-upload-pack=x", "a..b", "a b", "", "x:y"} {
		if _, err := f.Fetch(ctx, "k", repo.CloneURL(), b, good); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("branch %q: %v", b, err)
		}
	}
	if _, err := f.Fetch(ctx, "../escape", repo.CloneURL(), "main", good); err == nil {
		t.Fatal("a key with .. was accepted")
	}
	// Nothing under the fetcher's directory holds the token.
	_ = filepath.Walk(f.Dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), good.Token) {
				t.Errorf("%s holds the token", p)
			}
		}
		return nil
	})
}

// TestFetchOtherBranch: a service moved from branch "feat" to "feat/x"
// (names that cannot both be refs; here of two repositories) still
// fetches.
func TestFetchOtherBranch(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	one, two := sim.AddRepo("github", "octo", "one", "main"), sim.AddRepo("github", "octo", "two", "main")
	a, _ := one.Commit("feat", map[string]string{"a": "1"}, "feat")
	b, _ := two.Commit("feat/x", map[string]string{"a": "2"}, "feat/x")
	cred := openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: sim.IssueGitHubToken("octo", "repo")}
	f := &source.Fetcher{Dir: t.TempDir()}
	if got, err := f.Fetch(ctx, "k", one.CloneURL(), "feat", cred); err != nil || got != a {
		t.Fatalf("feat: %s, %v; want %s", got, err, a)
	}
	if got, err := f.Fetch(ctx, "k", two.CloneURL(), "feat/x", cred); err != nil || got != b {
		t.Fatalf("feat/x: %s, %v; want %s", got, err, b)
	}
}
