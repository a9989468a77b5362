package openrunner_test

import (
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
)

func TestCheckRepositoryURL(t *testing.T) {
	for _, ok := range []string{"https://github.com/octo/app", "https://github.com/octo/app.git", "http://127.0.0.1:8080/github/octo/app.git", "https://ghe.example.com/org/repo"} {
		if err := openrunner.CheckRepositoryURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"file:///etc", "ext::sh -c touch% /tmp/x", "ssh://git@github.com/o/r", "git@github.com:o/r.git",
		"https://user:tok@github.com/o/r", "https://github.com", "https://github.com/o/r?x=1", "/srv/repo", ""} {
		if err := openrunner.CheckRepositoryURL(bad); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("%q: %v, want EINVALID", bad, err)
		} else if strings.Contains(openrunner.ErrorMessage(err), "tok") {
			t.Errorf("%q: the message shows the credential", bad)
		}
	}
}
