package webhook

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Provider names as they appear in delivery URLs and Push.Provider.
const (
	GitHub    = "github"
	Bitbucket = "bitbucket"
)

// Push is one branch update that a provider reported.
type Push struct {
	// Provider is GitHub or Bitbucket.
	Provider string
	// DeliveryID is the provider's ID of the delivery (X-GitHub-Delivery or
	// X-Request-UUID), the same for a redelivery. One Bitbucket delivery
	// may carry several pushes, which then share it.
	DeliveryID string
	// Repository is "owner/name" (GitHub) or "workspace/slug" (Bitbucket),
	// spelled as the provider spells it.
	Repository string
	// CloneURLs are the repository's http(s) clone URLs as the payload
	// gives them: GitHub's repository.clone_url; Bitbucket's https clone
	// link when present, else its web link with ".git" appended (push
	// payloads carry no clone links; the web URL plus ".git" is Bitbucket
	// Cloud's clone URL).
	CloneURLs []string
	// Branch is the branch name, without "refs/heads/".
	Branch string
	// Before is the commit the branch pointed at before the push, empty
	// when the push created the branch. After is the commit it points at
	// now, empty when the push deleted the branch (Deleted).
	Before, After string
	Deleted       bool
	// Files are the paths the pushed commits added, modified or removed,
	// sorted and without duplicates, as far as the payload lists them.
	// FilesComplete reports whether they are known to be every path that
	// changed between Before and After. It is false for Bitbucket (push
	// payloads list no files), for a created, deleted or force-pushed
	// branch, and when GitHub may have truncated the lists (2048 commits
	// per payload, 3000 files per commit, or a commit with no file listed).
	// When it is false, a caller that filters on paths must ask the
	// provider (GitHub's compare API, Bitbucket's diffstat) or assume that
	// anything changed.
	Files         []string
	FilesComplete bool
}

// GitHub's documented limits on a push payload ("Webhook events and
// payloads", push): at most 2048 commits, and at most 3000 changed files
// reported per commit.
const (
	ghMaxCommits     = 2048
	ghMaxCommitFiles = 3000
)

const branchRefPrefix = "refs/heads/"

var errMalformed = errors.New("malformed push payload")

// ghPushPayload is the part of GitHub's push payload that OpenRunner reads.
type ghPushPayload struct {
	Ref     string `json:"ref"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`
	Forced  bool   `json:"forced"`
	Commits []struct {
		Added    []string `json:"added"`
		Removed  []string `json:"removed"`
		Modified []string `json:"modified"`
	} `json:"commits"`
	Repository struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
	} `json:"repository"`
}

// parseGitHubPush reads a GitHub push payload (JSON). It returns ok false,
// and no error, for a push that updates no branch (a tag).
func parseGitHubPush(payload []byte) (p Push, ok bool, err error) {
	var v ghPushPayload
	if err := json.Unmarshal(payload, &v); err != nil {
		return Push{}, false, errMalformed
	}
	branch, isBranch := strings.CutPrefix(v.Ref, branchRefPrefix)
	if !isBranch {
		if v.Ref == "" {
			return Push{}, false, errMalformed
		}
		return Push{}, false, nil
	}
	if !validBranch(branch) || !validRepository(v.Repository.FullName) {
		return Push{}, false, errMalformed
	}
	before, okBefore := commitSHA(v.Before)
	after, okAfter := commitSHA(v.After)
	if !okBefore || !okAfter {
		return Push{}, false, errMalformed
	}
	p = Push{
		Provider:   GitHub,
		Repository: v.Repository.FullName,
		Branch:     branch,
		Before:     before,
		After:      after,
		// An all-zero "after" is how a deletion looks even without the flag.
		Deleted: v.Deleted || after == "",
	}
	if p.Deleted {
		p.After = ""
	} else if after == "" {
		return Push{}, false, errMalformed
	}
	if u := v.Repository.CloneURL; httpURL(u) {
		p.CloneURLs = []string{u}
	}
	if p.Deleted {
		return p, true, nil
	}
	complete := !v.Created && !v.Forced && p.Before != "" &&
		len(v.Commits) > 0 && len(v.Commits) < ghMaxCommits
	seen := map[string]bool{}
	for _, c := range v.Commits {
		n := len(c.Added) + len(c.Removed) + len(c.Modified)
		// "A maximum of 3000 changed files will be reported per commit", and
		// the lists "may be empty" for very large commits: a commit with no
		// file listed cannot be told from one whose lists were dropped.
		if n == 0 || n >= ghMaxCommitFiles {
			complete = false
		}
		for _, list := range [][]string{c.Added, c.Removed, c.Modified} {
			for _, f := range list {
				if f != "" && !seen[f] {
					seen[f] = true
					p.Files = append(p.Files, f)
				}
			}
		}
	}
	slices.Sort(p.Files)
	p.FilesComplete = complete
	return p, true, nil
}

// bbRef is a Bitbucket push change's "old" or "new" reference.
type bbRef struct {
	Type   string `json:"type"` // "branch", "tag" (or Mercurial's "named_branch", "bookmark")
	Name   string `json:"name"`
	Target struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

type bbLink struct {
	Name string `json:"name"`
	Href string `json:"href"`
}

// bbPushPayload is the part of Bitbucket Cloud's repo:push payload that
// OpenRunner reads.
type bbPushPayload struct {
	Repository struct {
		FullName string `json:"full_name"`
		Links    struct {
			HTML  bbLink   `json:"html"`
			Clone []bbLink `json:"clone"`
		} `json:"links"`
	} `json:"repository"`
	Push struct {
		Changes []struct {
			Old    *bbRef `json:"old"`
			New    *bbRef `json:"new"`
			Forced bool   `json:"forced"`
		} `json:"changes"`
	} `json:"push"`
}

// parseBitbucketPush reads a Bitbucket Cloud repo:push payload and returns
// one Push per branch change: a "new" reference of type branch, or a
// deleted branch ("new" null, "old" a branch). Tag changes are skipped.
func parseBitbucketPush(payload []byte) ([]Push, error) {
	var v bbPushPayload
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, errMalformed
	}
	if !validRepository(v.Repository.FullName) {
		return nil, errMalformed
	}
	var clone []string
	for _, l := range v.Repository.Links.Clone {
		if l.Name == "https" && httpURL(l.Href) {
			clone = append(clone, l.Href)
		}
	}
	if h := v.Repository.Links.HTML.Href; len(clone) == 0 && httpURL(h) {
		clone = append(clone, strings.TrimSuffix(h, "/")+".git")
	}
	var out []Push
	for _, c := range v.Push.Changes {
		p := Push{Provider: Bitbucket, Repository: v.Repository.FullName, CloneURLs: slices.Clone(clone)}
		switch {
		case c.New != nil && c.New.Type == "branch":
			after, ok := commitSHA(c.New.Target.Hash)
			if !ok || after == "" || !validBranch(c.New.Name) {
				return nil, errMalformed
			}
			p.Branch, p.After = c.New.Name, after
			if c.Old != nil && c.Old.Type == "branch" {
				before, ok := commitSHA(c.Old.Target.Hash)
				if !ok {
					return nil, errMalformed
				}
				p.Before = before
			}
		case c.New == nil && c.Old != nil && c.Old.Type == "branch":
			before, ok := commitSHA(c.Old.Target.Hash)
			if !ok || !validBranch(c.Old.Name) {
				return nil, errMalformed
			}
			p.Branch, p.Before, p.Deleted = c.Old.Name, before, true
		default:
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// commitSHA checks a full commit object name (40 hex digits for SHA-1, 64
// for SHA-256 repositories) and returns it lower-cased, or "" for an empty
// or all-zero one ("no commit").
func commitSHA(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	if len(s) != 40 && len(s) != 64 {
		return "", false
	}
	zero := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '0':
		case '1' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			zero = false
		default:
			return "", false
		}
	}
	if zero {
		return "", true
	}
	return strings.ToLower(s), true
}

// validBranch reports whether name can be a branch name: not empty,
// bounded, and free of control characters (git's own rules are stricter;
// this only keeps nonsense out of logs and lookups).
func validBranch(name string) bool {
	if name == "" || len(name) > 1024 {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// validRepository reports whether s looks like "owner/name".
func validRepository(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.Contains(name, "/") && validBranch(s)
}

// httpURL reports whether s is an absolute http or https URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
