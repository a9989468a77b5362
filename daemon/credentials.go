package daemon

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/openrunner/openrunner/sigv4"
)

// Default credentials: the convention users know from local AWS emulators.
// They are accepted only while no credentials file is configured, and only on
// a loopback listener.
const (
	DefaultAccessKeyID     = "test"
	DefaultSecretAccessKey = "test"
	DefaultAccountID       = "000000000000"
)

var (
	accessKeyRE = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{1,128}$`)
	accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// LoadCredentials reads a credentials file: one access key per line, as
// three whitespace-separated fields "ACCESS_KEY_ID SECRET_ACCESS_KEY
// ACCOUNT_ID"; blank lines and lines starting with # are ignored. Errors name
// the line but never quote a secret.
func LoadCredentials(path string) (sigv4.StaticCredentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	creds := sigv4.StaticCredentials{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID, got %d fields", path, n, len(fields))
		}
		id, secret, account := fields[0], fields[1], fields[2]
		switch {
		case !accessKeyRE.MatchString(id):
			return nil, fmt.Errorf("%s:%d: access key id %q has characters an access key id cannot have", path, n, id)
		case len(secret) < 8:
			return nil, fmt.Errorf("%s:%d: the secret access key of %s is shorter than 8 characters", path, n, id)
		case !accountIDRE.MatchString(account):
			return nil, fmt.Errorf("%s:%d: account id %q must be 12 digits", path, n, account)
		}
		if _, dup := creds[id]; dup {
			return nil, fmt.Errorf("%s:%d: access key id %s is listed twice", path, n, id)
		}
		creds[id] = sigv4.Credential{AccessKeyID: id, SecretAccessKey: secret, AccountID: account}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("%s: no credentials in file", path)
	}
	return creds, nil
}
