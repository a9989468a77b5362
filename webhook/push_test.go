package webhook

import (
	"reflect"
	"strings"
	"testing"
)

const (
	sha1a = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	sha1b = "c3ab8ff13720e8ad9047dd39466b3c8974e592c2"
	zero  = "0000000000000000000000000000000000000000"
)

// ghPushJSON is a GitHub push payload trimmed to what the parser reads,
// shaped like octokit/webhooks' payload examples.
func ghPushJSON(ref, before, after, extra, commits string) string {
	return `{"ref":"` + ref + `","before":"` + before + `","after":"` + after + `",` + extra +
		`"commits":[` + commits + `],` +
		`"repository":{"id":1,"full_name":"Octo-Cat/Hello-World","clone_url":"https://github.com/Octo-Cat/Hello-World.git"}}`
}

func TestParseGitHubPush(t *testing.T) {
	twoCommits := `{"id":"a","added":["b.txt"],"removed":[],"modified":["a.txt"]},{"id":"b","added":[],"removed":["c/d.txt"],"modified":["a.txt"]}`
	clone := []string{"https://github.com/Octo-Cat/Hello-World.git"}
	for _, tt := range []struct {
		name    string
		payload string
		want    Push
		wantOK  bool
		wantErr bool
	}{
		{
			name:    "OK",
			payload: ghPushJSON("refs/heads/main", sha1a, sha1b, `"created":false,"deleted":false,"forced":false,`, twoCommits),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "main",
				Before: sha1a, After: sha1b, Files: []string{"a.txt", "b.txt", "c/d.txt"}, FilesComplete: true},
			wantOK: true,
		},
		{
			name:    "OK_UppercaseSHA",
			payload: ghPushJSON("refs/heads/feature/x", strings.ToUpper(sha1a), sha1b, ``, twoCommits),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "feature/x",
				Before: sha1a, After: sha1b, Files: []string{"a.txt", "b.txt", "c/d.txt"}, FilesComplete: true},
			wantOK: true,
		},
		{
			name:    "OK_Created",
			payload: ghPushJSON("refs/heads/main", zero, sha1b, `"created":true,`, twoCommits),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "main",
				After: sha1b, Files: []string{"a.txt", "b.txt", "c/d.txt"}},
			wantOK: true,
		},
		{
			name:    "OK_Forced",
			payload: ghPushJSON("refs/heads/main", sha1a, sha1b, `"forced":true,`, twoCommits),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "main",
				Before: sha1a, After: sha1b, Files: []string{"a.txt", "b.txt", "c/d.txt"}},
			wantOK: true,
		},
		{
			name:    "OK_CommitWithoutFiles",
			payload: ghPushJSON("refs/heads/main", sha1a, sha1b, ``, `{"id":"a","added":[],"removed":[],"modified":[]}`),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "main",
				Before: sha1a, After: sha1b},
			wantOK: true,
		},
		{
			name:    "OK_NoCommits",
			payload: ghPushJSON("refs/heads/main", sha1a, sha1b, ``, ``),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "main",
				Before: sha1a, After: sha1b},
			wantOK: true,
		},
		{
			name:    "OK_Deleted",
			payload: ghPushJSON("refs/heads/old", sha1a, zero, `"deleted":true,`, ``),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "old",
				Before: sha1a, Deleted: true},
			wantOK: true,
		},
		{
			name:    "OK_DeletedWithoutFlag",
			payload: ghPushJSON("refs/heads/old", sha1a, zero, ``, ``),
			want: Push{Provider: GitHub, Repository: "Octo-Cat/Hello-World", CloneURLs: clone, Branch: "old",
				Before: sha1a, Deleted: true},
			wantOK: true,
		},
		{name: "IgnoredTag", payload: ghPushJSON("refs/tags/v1", zero, sha1b, ``, ``)},
		{name: "ErrNotJSON", payload: `payload=x`, wantErr: true},
		{name: "ErrNoRef", payload: ghPushJSON("", sha1a, sha1b, ``, ``), wantErr: true},
		{name: "ErrEmptyBranch", payload: ghPushJSON("refs/heads/", sha1a, sha1b, ``, ``), wantErr: true},
		{name: "ErrBadSHA", payload: ghPushJSON("refs/heads/main", "xyz", sha1b, ``, ``), wantErr: true},
		{name: "ErrShortSHA", payload: ghPushJSON("refs/heads/main", sha1a, sha1b[:12], ``, ``), wantErr: true},
		{name: "ErrNoRepository", payload: `{"ref":"refs/heads/main","before":"` + sha1a + `","after":"` + sha1b + `"}`, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := parseGitHubPush([]byte(tt.payload))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("push = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

func TestParseGitHubPush_FileLimits(t *testing.T) {
	files := make([]string, ghMaxCommitFiles)
	for i := range files {
		files[i] = `"f` + strings.Repeat("x", i%7) + `"`
	}
	big := `{"id":"a","added":[` + strings.Join(files, ",") + `],"removed":[],"modified":[]}`
	p, _, err := parseGitHubPush([]byte(ghPushJSON("refs/heads/main", sha1a, sha1b, ``, big)))
	if err != nil {
		t.Fatal(err)
	}
	if p.FilesComplete {
		t.Fatal("FilesComplete for a commit listing 3000 files, want false")
	}
	commits := make([]string, ghMaxCommits)
	for i := range commits {
		commits[i] = `{"added":["a"]}`
	}
	p, _, err = parseGitHubPush([]byte(ghPushJSON("refs/heads/main", sha1a, sha1b, ``, strings.Join(commits, ","))))
	if err != nil {
		t.Fatal(err)
	}
	if p.FilesComplete || !reflect.DeepEqual(p.Files, []string{"a"}) {
		t.Fatalf("2048 commits: FilesComplete=%v Files=%v, want false [a]", p.FilesComplete, p.Files)
	}
}

// bbChange renders one push change; old or new may be "null".
func bbRefJSON(typ, name, hash string) string {
	return `{"type":"` + typ + `","name":"` + name + `","target":{"type":"commit","hash":"` + hash + `"}}`
}

func bbPushJSON(changes ...string) string {
	return `{"actor":{"type":"user"},"repository":{"type":"repository","full_name":"team/svc","name":"svc",` +
		`"links":{"html":{"href":"https://bitbucket.org/team/svc"}}},"push":{"changes":[` + strings.Join(changes, ",") + `]}}`
}

func TestParseBitbucketPush(t *testing.T) {
	clone := []string{"https://bitbucket.org/team/svc.git"}
	for _, tt := range []struct {
		name    string
		payload string
		want    []Push
		wantErr bool
	}{
		{
			name:    "OK",
			payload: bbPushJSON(`{"old":` + bbRefJSON("branch", "main", sha1a) + `,"new":` + bbRefJSON("branch", "main", sha1b) + `,"created":false,"closed":false}`),
			want:    []Push{{Provider: Bitbucket, Repository: "team/svc", CloneURLs: clone, Branch: "main", Before: sha1a, After: sha1b}},
		},
		{
			name: "OK_SeveralChanges",
			payload: bbPushJSON(
				`{"old":null,"new":`+bbRefJSON("branch", "dev", sha1a)+`,"created":true}`,
				`{"old":null,"new":`+bbRefJSON("tag", "v1", sha1a)+`,"created":true}`,
				`{"old":`+bbRefJSON("branch", "gone", sha1b)+`,"new":null,"closed":true}`),
			want: []Push{
				{Provider: Bitbucket, Repository: "team/svc", CloneURLs: clone, Branch: "dev", After: sha1a},
				{Provider: Bitbucket, Repository: "team/svc", CloneURLs: clone, Branch: "gone", Before: sha1b, Deleted: true},
			},
		},
		{
			name: "OK_CloneLink",
			payload: `{"repository":{"full_name":"team/svc","links":{"html":{"href":"https://bitbucket.org/team/svc"},` +
				`"clone":[{"name":"ssh","href":"git@bitbucket.org:team/svc.git"},{"name":"https","href":"https://x@bitbucket.org/team/svc.git"}]}},` +
				`"push":{"changes":[{"new":` + bbRefJSON("branch", "main", sha1b) + `}]}}`,
			want: []Push{{Provider: Bitbucket, Repository: "team/svc", CloneURLs: []string{"https://x@bitbucket.org/team/svc.git"}, Branch: "main", After: sha1b}},
		},
		{name: "OK_OnlyTags", payload: bbPushJSON(`{"old":null,"new":` + bbRefJSON("tag", "v1", sha1a) + `}`)},
		{name: "OK_NoChanges", payload: bbPushJSON()},
		{name: "ErrNotJSON", payload: `<html>`, wantErr: true},
		{name: "ErrNoRepository", payload: `{"push":{"changes":[]}}`, wantErr: true},
		{name: "ErrBadHash", payload: bbPushJSON(`{"new":` + bbRefJSON("branch", "main", "abc") + `}`), wantErr: true},
		{name: "ErrZeroHash", payload: bbPushJSON(`{"new":` + bbRefJSON("branch", "main", zero) + `}`), wantErr: true},
		{name: "ErrEmptyBranch", payload: bbPushJSON(`{"new":` + bbRefJSON("branch", "", sha1a) + `}`), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBitbucketPush([]byte(tt.payload))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("pushes = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

// checkPush asserts the invariants every parsed Push keeps.
func checkPush(t *testing.T, p Push) {
	t.Helper()
	if p.Branch == "" || !validRepository(p.Repository) {
		t.Fatalf("push without branch or repository: %+v", p)
	}
	if p.Deleted != (p.After == "") {
		t.Fatalf("Deleted=%v with After=%q", p.Deleted, p.After)
	}
	if p.FilesComplete && (p.Deleted || p.Before == "") {
		t.Fatalf("FilesComplete for a created or deleted branch: %+v", p)
	}
	for i := 1; i < len(p.Files); i++ {
		if p.Files[i-1] >= p.Files[i] {
			t.Fatalf("Files not sorted and unique: %q", p.Files)
		}
	}
}

func FuzzParseGitHubPush(f *testing.F) {
	f.Add([]byte(ghPushJSON("refs/heads/main", sha1a, sha1b, `"forced":false,`, `{"added":["a"],"modified":["b","a"]}`)))
	f.Add([]byte(ghPushJSON("refs/heads/old", sha1a, zero, `"deleted":true,`, ``)))
	f.Add([]byte(ghPushJSON("refs/tags/v1", zero, sha1b, `"created":true,`, ``)))
	f.Add([]byte(`{"ref":"refs/heads/x","commits":null,"repository":null}`))
	f.Add([]byte(`{"ref":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, ok, err := parseGitHubPush(payload)
		if err != nil || !ok {
			return
		}
		checkPush(t, p)
	})
}

func FuzzParseBitbucketPush(f *testing.F) {
	f.Add([]byte(bbPushJSON(`{"old":` + bbRefJSON("branch", "main", sha1a) + `,"new":` + bbRefJSON("branch", "main", sha1b) + `}`)))
	f.Add([]byte(bbPushJSON(`{"old":` + bbRefJSON("branch", "gone", sha1b) + `,"new":null}`)))
	f.Add([]byte(bbPushJSON(`{"old":null,"new":` + bbRefJSON("tag", "v1", sha1a) + `}`)))
	f.Add([]byte(`{"repository":{"full_name":"a/b"},"push":{"changes":[{"new":{"type":"branch"}}]}}`))
	f.Add([]byte(`{"push":{"changes":[null]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		pushes, err := parseBitbucketPush(payload)
		if err != nil {
			return
		}
		for _, p := range pushes {
			checkPush(t, p)
		}
	})
}
