package openrunner

import (
	"net/url"
	"strings"
)

// CheckRepositoryURL accepts the http(s) URL of a repository, without
// credentials, query or fragment: the only kind OpenRunner fetches.
// Credentials come from the connection, never from the URL (where they
// would be written to logs).
func CheckRepositoryURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "":
		return Errorf(EINVALID, "The repository URL %q isn't valid: give the https:// URL of a GitHub or Bitbucket repository, such as https://github.com/owner/repo.", Truncate(s, 200))
	case u.User != nil:
		return Errorf(EINVALID, "The repository URL must not contain credentials: the connection provides them.")
	case u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") == "":
		return Errorf(EINVALID, "The repository URL %q isn't valid: give the https:// URL of a GitHub or Bitbucket repository, such as https://github.com/owner/repo.", Truncate(s, 200))
	}
	return nil
}

// OnProvider reports whether repoURL is a repository of the provider
// whose web URL is base (https://github.com, a GitHub Enterprise Server's
// URL, https://bitbucket.org): the connection's token is only ever sent
// there.
func OnProvider(repoURL, base string) bool {
	b, err1 := url.Parse(strings.TrimRight(base, "/"))
	u, err2 := url.Parse(repoURL)
	if err1 != nil || err2 != nil || b.Host == "" {
		return false
	}
	return strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host) &&
		strings.HasPrefix(u.Path, b.Path+"/") && len(u.Path) > len(b.Path)+1
}

// CheckBranch refuses branch names git would take for options or that are
// not valid ref names.
func CheckBranch(b string) error {
	if b == "" || strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") ||
		strings.HasSuffix(b, ".lock") || strings.Contains(b, "..") || strings.Contains(b, "@{") || strings.Contains(b, "//") ||
		strings.ContainsAny(b, " ~^:?*[\\\x7f") {
		return Errorf(EINVALID, "%q is not a valid branch name.", b)
	}
	for _, c := range b {
		if c < 0x20 {
			return Errorf(EINVALID, "%q is not a valid branch name.", b)
		}
	}
	return nil
}
